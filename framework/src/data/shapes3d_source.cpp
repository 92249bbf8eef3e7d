#include "data/shapes3d_source.hpp"

#include <array>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "data/shapes3d_renderer.hpp"

namespace genmem {
namespace {

// The record order is fixed, independent of the scenario's seed, so every scenario uses the same
// 15,000-record subset and the same train/test pools.
constexpr std::uint64_t kRecordOrderSeed = 42;
constexpr std::int64_t kSubsetRecords = 15'000;
constexpr std::int64_t kTrainPoolRecords = 13'500;

constexpr std::array<const char*, 6> kFactorNames = {
    "floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};

Dataset render_pool(
    const at::Tensor& pool,
    std::int64_t count,
    bool shuffle,
    std::uint64_t seed,
    const char* what) {
  const at::Tensor records =
      pool.index_select(0, choose_items(pool.size(0), count, shuffle, seed, what));

  std::array<std::vector<std::int64_t>, 6> factors;
  const std::int64_t* values = records.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < records.size(0); ++i) {
    const Shapes3dFactors factor = shapes3d_factors_of(values[i]);
    const std::array<int, 6> indices = {
        factor.floor_hue,
        factor.wall_hue,
        factor.object_hue,
        factor.scale,
        factor.shape,
        factor.orientation};
    for (std::size_t j = 0; j < indices.size(); ++j) {
      factors[j].push_back(indices[j]);
    }
  }

  Dataset dataset;
  dataset.images = render_shapes3d_records(records);
  for (std::size_t j = 0; j < kFactorNames.size(); ++j) {
    dataset.factors[kFactorNames[j]] = at::tensor(factors[j], at::kLong);
  }
  dataset.labels = dataset.factors.at("shape");
  dataset.label_name = "shape";
  dataset.num_classes = 4;
  return dataset;
}

}  // namespace

DataSplit load_shapes3d_rendered(const Parameters& data, std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(kRecordOrderSeed);
  const at::Tensor subset =
      at::randperm(kShapes3dRecords, generator, at::kLong).slice(0, 0, kSubsetRecords);
  const bool shuffle = data.get_string("order") == "shuffled";

  DataSplit split;
  split.train = render_pool(
      subset.slice(0, 0, kTrainPoolRecords),
      data.get_int("train_items"),
      shuffle,
      seed,
      "train_items");
  split.test = render_pool(
      subset.slice(0, kTrainPoolRecords),
      data.get_int("test_items"),
      shuffle,
      seed + 1,
      "test_items");
  return split;
}

}  // namespace genmem
