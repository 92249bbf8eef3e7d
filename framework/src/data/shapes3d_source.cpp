#include "data/shapes3d_source.hpp"

#include <array>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "data/shapes3d_hdf5.hpp"
#include "data/shapes3d_renderer.hpp"
#include "outputs/tensor_file.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

// The record order is fixed, independent of the scenario's seed, so every scenario with the same
// `[data] subset` uses the same records and the same train/test pools.
constexpr std::uint64_t kRecordOrderSeed = 42;

constexpr std::array<const char*, kShapes3dFactorCount> kFactorNames = {
    "floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};

struct Pools {
  at::Tensor train;
  at::Tensor test;
};

// The seeded order of `records` records cut to its first min(subset, records), with the last
// tenth as the test pool: 13,500 and 1,500 records for the published file and subset 15,000.
Pools record_pools(std::int64_t records, std::int64_t subset) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(kRecordOrderSeed);
  const std::int64_t subset_size = std::min(subset, records);
  const at::Tensor chosen = at::randperm(records, generator, at::kLong).slice(0, 0, subset_size);
  const std::int64_t train_size = subset_size - subset_size / 10;
  return {chosen.slice(0, 0, train_size), chosen.slice(0, train_size)};
}

at::Tensor select_records(
    const at::Tensor& pool, const Parameters& data, const char* what, std::uint64_t seed) {
  const bool shuffle = data.get_string("order") == "shuffled";
  return pool.index_select(0, choose_items(pool.size(0), data.get_int(what), shuffle, seed, what));
}

Dataset labelled(at::Tensor images, const at::Tensor& factors) {
  Dataset dataset;
  dataset.images = std::move(images);
  for (std::size_t j = 0; j < kFactorNames.size(); ++j) {
    dataset.factors[kFactorNames[j]] = factors.select(1, static_cast<std::int64_t>(j)).contiguous();
  }
  dataset.labels = dataset.factors.at("shape");
  dataset.label_name = "shape";
  dataset.num_classes = kShapes;
  return dataset;
}

at::Tensor factors_of_records(const at::Tensor& records) {
  at::Tensor factors = at::empty({records.size(0), kShapes3dFactorCount}, at::kLong);
  const auto* record = records.data_ptr<std::int64_t>();
  auto* out = factors.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < records.size(0); ++i) {
    const Shapes3dFactors f = shapes3d_factors_of(record[i]);
    const std::array<int, kShapes3dFactorCount> indices = {
        f.floor_hue, f.wall_hue, f.object_hue, f.scale, f.shape, f.orientation};
    std::copy(indices.begin(), indices.end(), out + i * kShapes3dFactorCount);
  }
  return factors;
}

// Renders `records`, or reads them from a cache file in `cache_dir` named by a hash of the
// records and the renderer version. A damaged cache file is rendered again and replaced.
at::Tensor rendered_images(const at::Tensor& records, const fs::path& cache_dir) {
  if (cache_dir.empty()) {
    return render_shapes3d_records(records);
  }
  const std::string records_hash =
      stable_hash(std::string_view(static_cast<const char*>(records.data_ptr()), records.nbytes()));
  const std::string tag = fmt::format(
      "shapes3d_rendered renderer {} records {} hash {}",
      kShapes3dRendererVersion,
      records.size(0),
      records_hash);
  const fs::path file =
      cache_dir / fmt::format("scenes-r{}-{}.bin", kShapes3dRendererVersion, records_hash);
  try {
    if (std::optional<at::Tensor> cached = read_tensor_file(file, tag)) {
      spdlog::info("read {} rendered scenes from the cache '{}'", records.size(0), file.string());
      return cached->to(at::kFloat).div_(255.0);
    }
  } catch (const IoError& error) {
    spdlog::warn("{}; rendering the scenes again, which replaces it", error.what());
  }

  const at::Tensor images = render_shapes3d_records(records);
  std::error_code error;
  fs::create_directories(cache_dir, error);
  try {
    // The renderer's output is uint8 divided by 255, so storing bytes loses nothing.
    write_tensor_file(file, tag, images.mul(255.0).round_().to(at::kByte));
    spdlog::info("cached {} rendered scenes in '{}'", records.size(0), file.string());
  } catch (const IoError& failure) {
    spdlog::warn("{}; the scenes will be rendered again next time", failure.what());
  }
  return images;
}

}  // namespace

DataSplit load_shapes3d_rendered(
    const Parameters& data, const fs::path& cache_dir, std::uint64_t seed) {
  const Pools pools = record_pools(kShapes3dRecords, data.get_int("subset"));
  const at::Tensor train = select_records(pools.train, data, "train_items", seed);
  const at::Tensor test = select_records(pools.test, data, "test_items", seed + 1);
  DataSplit split;
  split.train = labelled(rendered_images(train, cache_dir), factors_of_records(train));
  split.test = labelled(rendered_images(test, cache_dir), factors_of_records(test));
  return split;
}

DataSplit load_shapes3d_file(const Parameters& data, const fs::path& file, std::uint64_t seed) {
  const Shapes3dFile shapes(file);
  if (shapes.records() != kShapes3dRecords) {
    spdlog::warn(
        "Shapes3D file '{}' has {} records, not the published {}; its pools are cut from those",
        file.string(),
        shapes.records(),
        kShapes3dRecords);
  }
  const Pools pools = record_pools(shapes.records(), data.get_int("subset"));
  const at::Tensor train = select_records(pools.train, data, "train_items", seed);
  const at::Tensor test = select_records(pools.test, data, "test_items", seed + 1);
  DataSplit split;
  split.train = labelled(shapes.read_images(train), shapes.read_factors(train));
  split.test = labelled(shapes.read_images(test), shapes.read_factors(test));
  return split;
}

Dataset shapes3d_rendered_records(const at::Tensor& records) {
  return labelled(render_shapes3d_records(records), factors_of_records(records));
}

Dataset shapes3d_file_records(const fs::path& file, const at::Tensor& records) {
  const Shapes3dFile shapes(file);
  return labelled(shapes.read_images(records), shapes.read_factors(records));
}

}  // namespace genmem
