#include "data/shapes3d_source.hpp"

#include <set>
#include <tuple>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "scenario_schema.hpp"

namespace genmem {
namespace {

Parameters shapes3d_data(std::int64_t train_items, std::int64_t test_items) {
  Parameters data = default_parameters(data_section_parameters());
  data.set("source", std::string("shapes3d_rendered"));
  data.set("train_items", train_items);
  data.set("test_items", test_items);
  return data;
}

using FactorTuple =
    std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t>;

std::set<FactorTuple> factor_tuples(const Dataset& dataset) {
  std::set<FactorTuple> tuples;
  for (std::int64_t i = 0; i < dataset.images.size(0); ++i) {
    tuples.emplace(
        dataset.factors.at("floor_hue")[i].item<std::int64_t>(),
        dataset.factors.at("wall_hue")[i].item<std::int64_t>(),
        dataset.factors.at("object_hue")[i].item<std::int64_t>(),
        dataset.factors.at("scale")[i].item<std::int64_t>(),
        dataset.factors.at("shape")[i].item<std::int64_t>(),
        dataset.factors.at("orientation")[i].item<std::int64_t>());
  }
  return tuples;
}

TEST(Shapes3dSource, ImagesAndFactorsHaveExpectedShapes) {
  const DataSplit split = load_shapes3d_rendered(shapes3d_data(40, 12), {}, /*seed=*/3);
  EXPECT_EQ(split.train.images.sizes(), at::IntArrayRef({40, 3, 64, 64}));
  EXPECT_EQ(split.test.images.sizes(), at::IntArrayRef({12, 3, 64, 64}));
  EXPECT_GE(split.train.images.min().item<float>(), 0.0F);
  EXPECT_LE(split.train.images.max().item<float>(), 1.0F);
  EXPECT_EQ(split.train.factors.size(), 6U);
  EXPECT_EQ(split.train.label_name, "shape");
  EXPECT_EQ(split.train.num_classes, 4);
  EXPECT_TRUE(split.train.labels.equal(split.train.factors.at("shape")));
  EXPECT_LE(split.train.labels.max().item<std::int64_t>(), 3);
  EXPECT_LE(split.train.factors.at("orientation").max().item<std::int64_t>(), 14);
}

TEST(Shapes3dSource, TrainAndTestPoolsAreDisjoint) {
  const DataSplit split = load_shapes3d_rendered(shapes3d_data(300, 300), {}, /*seed=*/3);
  const auto train = factor_tuples(split.train);
  const auto test = factor_tuples(split.test);
  EXPECT_EQ(train.size(), 300U);
  EXPECT_EQ(test.size(), 300U);
  for (const auto& tuple : test) {
    EXPECT_EQ(train.count(tuple), 0U);
  }
}

TEST(Shapes3dSource, SameSeedSameImages) {
  const DataSplit first = load_shapes3d_rendered(shapes3d_data(8, 4), {}, /*seed=*/9);
  const DataSplit second = load_shapes3d_rendered(shapes3d_data(8, 4), {}, /*seed=*/9);
  EXPECT_TRUE(first.train.images.equal(second.train.images));
  EXPECT_TRUE(first.test.labels.equal(second.test.labels));
}

TEST(Shapes3dSource, TrainPoolLimitEnforced) {
  try {
    load_shapes3d_rendered(shapes3d_data(13'501, 10), {}, /*seed=*/1);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_THAT(
        error.what(),
        ::testing::HasSubstr("train_items is 13501, but the data set has only 13500"));
  }
}

}  // namespace
}  // namespace genmem
