// The shapes3d source against small files in 3dshapes.h5's layout, written here with the HDF5
// C library.

#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "data/datasets.hpp"
#include "data/shapes3d_hdf5.hpp"
#include "data/shapes3d_renderer.hpp"
#include "data/shapes3d_source.hpp"
#include "scenario_schema.hpp"
#include "shapes3d_test_file.hpp"
#include "test_support.hpp"

namespace genmem {
namespace {

using test_support::TempDir;
using ::testing::HasSubstr;

using test_support::kShapes3dTestStride;
using test_support::Shapes3dTestLayout;

std::filesystem::path write_shapes3d_file(const TempDir& dir, const Shapes3dTestLayout& layout) {
  const std::filesystem::path path = dir / "3dshapes.h5";
  test_support::write_shapes3d_test_file(path, layout);
  return path;
}

Parameters file_data(std::int64_t train_items, std::int64_t test_items) {
  Parameters data = default_parameters(data_section_parameters());
  data.set("source", std::string("shapes3d"));
  data.set("train_items", train_items);
  data.set("test_items", test_items);
  return data;
}

std::string load_error(const std::filesystem::path& path) {
  try {
    load_shapes3d_file(file_data(10, 5), path, 1);
  } catch (const IoError& error) {
    return error.what();
  }
  return "no error";
}

TEST(Shapes3dFile, ReadsImagesAndFactorsOfChosenRecords) {
  const TempDir dir;
  const auto path = write_shapes3d_file(dir, {});
  const DataSplit split = load_shapes3d_file(file_data(50, 20), path, 4);
  ASSERT_EQ(split.train.images.sizes(), at::IntArrayRef({50, 3, 64, 64}));
  ASSERT_EQ(split.test.images.sizes(), at::IntArrayRef({20, 3, 64, 64}));
  EXPECT_EQ(split.train.label_name, "shape");
  for (const Dataset* dataset : {&split.train, &split.test}) {
    for (std::int64_t i = 0; i < dataset->images.size(0); ++i) {
      // The image's pixel value names its record; the factors must be that record's.
      const auto record =
          static_cast<std::int64_t>(std::lround(dataset->images[i][0][0][0].item<float>() * 255));
      EXPECT_TRUE(at::all(dataset->images[i] == dataset->images[i][0][0][0]).item<bool>());
      const Shapes3dFactors expected =
          shapes3d_factors_of(record * kShapes3dTestStride % kShapes3dRecords);
      EXPECT_EQ(dataset->factors.at("floor_hue")[i].item<std::int64_t>(), expected.floor_hue);
      EXPECT_EQ(dataset->factors.at("wall_hue")[i].item<std::int64_t>(), expected.wall_hue);
      EXPECT_EQ(dataset->factors.at("object_hue")[i].item<std::int64_t>(), expected.object_hue);
      EXPECT_EQ(dataset->factors.at("scale")[i].item<std::int64_t>(), expected.scale);
      EXPECT_EQ(dataset->labels[i].item<std::int64_t>(), expected.shape);
      EXPECT_EQ(dataset->factors.at("orientation")[i].item<std::int64_t>(), expected.orientation);
    }
  }
}

TEST(Shapes3dFile, PoolsFollowSeededOrderWithTenthForTesting) {
  const TempDir dir;
  const auto path = write_shapes3d_file(dir, {});
  // 200 records: 180 in the training pool and 20 in the test pool, disjoint.
  const DataSplit split = load_shapes3d_file(file_data(180, 20), path, 4);
  const at::Tensor train = split.train.images.select(1, 0).select(1, 0).select(1, 0);
  const at::Tensor test = split.test.images.select(1, 0).select(1, 0).select(1, 0);
  const at::Tensor all = at::cat({train, test}).mul(255).round().to(at::kLong);
  EXPECT_EQ(std::get<0>(at::_unique(all)).size(0), 200);
  EXPECT_THROW(load_shapes3d_file(file_data(181, 20), path, 4), ConfigError);
  EXPECT_THROW(load_shapes3d_file(file_data(10, 21), path, 4), ConfigError);

  // The order does not depend on the scenario's seed when items are taken in file order.
  Parameters in_order = file_data(5, 5);
  in_order.set("order", std::string("file"));
  const DataSplit first = load_shapes3d_file(in_order, path, 1);
  const DataSplit second = load_shapes3d_file(in_order, path, 99);
  EXPECT_TRUE(first.train.images.equal(second.train.images));
}

TEST(Shapes3dFile, MissingFileSaysWhatToDo) {
  const TempDir dir;
  EXPECT_THAT(load_error(dir / "absent.h5"), HasSubstr("does not exist; put DeepMind's"));
}

TEST(Shapes3dFile, NonHdf5FileRejected) {
  const TempDir dir;
  test_support::write_text(dir / "3dshapes.h5", "not an HDF5 file at all");
  EXPECT_THAT(load_error(dir / "3dshapes.h5"), HasSubstr("is not an HDF5 file"));
}

TEST(Shapes3dFile, MissingDatasetNamed) {
  const TempDir dir;
  Shapes3dTestLayout layout;
  layout.write_labels = false;
  EXPECT_THAT(load_error(write_shapes3d_file(dir, layout)), HasSubstr("has no dataset 'labels'"));
}

TEST(Shapes3dFile, WrongImageTypeNamed) {
  const TempDir dir;
  Shapes3dTestLayout layout;
  layout.float_images = true;
  EXPECT_THAT(
      load_error(write_shapes3d_file(dir, layout)),
      HasSubstr("dataset 'images' should hold uint8 values"));
}

TEST(Shapes3dFile, WrongImageShapeNamed) {
  const TempDir dir;
  Shapes3dTestLayout layout;
  layout.image_side = 32;
  EXPECT_THAT(
      load_error(write_shapes3d_file(dir, layout)),
      HasSubstr("has shape [200, 32, 32, 3], expected [N, 64, 64, 3]"));
}

TEST(Shapes3dFile, WrongLabelShapeNamed) {
  const TempDir dir;
  Shapes3dTestLayout layout;
  layout.label_columns = 5;
  EXPECT_THAT(
      load_error(write_shapes3d_file(dir, layout)),
      HasSubstr("dataset 'labels' has shape [200, 5], expected [200, 6]"));
}

TEST(Shapes3dFile, OffGridLabelNamesRecordAndFactor) {
  const TempDir dir;
  Shapes3dTestLayout layout;
  layout.label_offset = 2.0;
  const auto path = write_shapes3d_file(dir, layout);
  const Shapes3dFile file(path);
  EXPECT_EQ(file.records(), 200);
  try {
    file.read_factors(at::tensor({3L, 7L}, at::kLong));
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("record 7 has orientation"));
    EXPECT_THAT(error.what(), HasSubstr("not one of its 15 values from -30 to 30"));
  }
}

TEST(Shapes3dFile, DataSourceReadsFileFromDataFolder) {
  const TempDir dir;
  std::filesystem::create_directories(dir / "shapes3d");
  const TempDir file_dir;
  const auto written = write_shapes3d_file(file_dir, {});
  std::filesystem::copy_file(written, dir / "shapes3d" / "3dshapes.h5");
  Parameters data = file_data(12, 6);
  data.set("dir", dir.path().string());
  const DataSplit split = load_data(data, dir / "scenario.toml", 1);
  EXPECT_EQ(split.train.images.size(0), 12);
  EXPECT_EQ(split.test.num_classes, 4);
}

}  // namespace
}  // namespace genmem
