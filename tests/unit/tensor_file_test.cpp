#include "outputs/tensor_file.hpp"

#include <fstream>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "data/shapes3d_source.hpp"
#include "scenario_schema.hpp"
#include "test_support.hpp"

namespace genmem {
namespace {

using test_support::TempDir;

TEST(StableHash, MatchesPublishedFnv1aValues) {
  // FNV-1a 64 reference values: the empty string and "a".
  EXPECT_EQ(stable_hash(""), "cbf29ce484222325");
  EXPECT_EQ(stable_hash("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(stable_hash("foobar"), "85944171f73967e8");
}

TEST(TensorFile, RoundTripsEachType) {
  const TempDir dir;
  const at::Tensor floats = at::arange(24, at::kFloat).reshape({2, 3, 4}).div(7.0);
  const at::Tensor bytes = at::arange(200, at::kInt).to(at::kByte);
  const at::Tensor longs = at::tensor({-5L, 0L, 1L << 40}, at::kLong);
  write_tensor_file(dir / "f.bin", "floats", floats);
  write_tensor_file(dir / "b.bin", "bytes", bytes);
  write_tensor_file(dir / "l.bin", "longs", longs);
  EXPECT_TRUE(read_tensor_file(dir / "f.bin", "floats")->equal(floats));
  EXPECT_TRUE(read_tensor_file(dir / "b.bin", "bytes")->equal(bytes));
  EXPECT_TRUE(read_tensor_file(dir / "l.bin", "longs")->equal(longs));
}

TEST(TensorFile, OtherTagOrMissingFileGivesNothing) {
  const TempDir dir;
  write_tensor_file(dir / "f.bin", "key one", at::ones({3}));
  EXPECT_FALSE(read_tensor_file(dir / "f.bin", "key two").has_value());
  EXPECT_FALSE(read_tensor_file(dir / "absent.bin", "key one").has_value());
}

TEST(TensorFile, TruncatedFileReportedAsDamaged) {
  const TempDir dir;
  write_tensor_file(dir / "f.bin", "tag", at::ones({100}));
  std::filesystem::resize_file(dir / "f.bin", std::filesystem::file_size(dir / "f.bin") - 4);
  try {
    read_tensor_file(dir / "f.bin", "tag");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("is damaged (its size does not match"));
  }
  test_support::write_text(dir / "g.bin", "GENMEMXXsomething");
  EXPECT_THROW(read_tensor_file(dir / "g.bin", "tag"), IoError);
}

TEST(RenderCache, SecondLoadReadsCacheAndMatches) {
  const TempDir dir;
  Parameters data = default_parameters(data_section_parameters());
  data.set("source", std::string("shapes3d_rendered"));
  data.set("train_items", std::int64_t{20});
  data.set("test_items", std::int64_t{6});
  const DataSplit rendered = load_shapes3d_rendered(data, dir.path(), 5);
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    files.push_back(entry.path());
  }
  ASSERT_EQ(files.size(), 2U);  // one per pool

  // Marking the cached training images shows that the second load reads the cache.
  const std::filesystem::path train_file =
      std::filesystem::file_size(files[0]) > std::filesystem::file_size(files[1]) ? files[0]
                                                                                  : files[1];
  {
    std::fstream out(train_file, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(-1, std::ios::end);
    out.put(static_cast<char>(7));
  }
  const DataSplit cached = load_shapes3d_rendered(data, dir.path(), 5);
  EXPECT_FLOAT_EQ(cached.train.images[19][2][63][63].item<float>(), 7.0F / 255.0F);
  EXPECT_TRUE(cached.test.images.equal(rendered.test.images));

  // A damaged cache file is rendered again and replaced.
  std::filesystem::resize_file(train_file, 100);
  const DataSplit again = load_shapes3d_rendered(data, dir.path(), 5);
  EXPECT_TRUE(again.train.images.equal(rendered.train.images));
  EXPECT_GT(std::filesystem::file_size(train_file), 20U * 3 * 64 * 64);
}

}  // namespace
}  // namespace genmem
