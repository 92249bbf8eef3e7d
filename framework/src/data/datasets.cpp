#include "data/datasets.hpp"

#include <cstdlib>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "data/idx.hpp"
#include "data/shapes3d_source.hpp"
#include "scenario_schema.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

Dataset load_mnist_file_pair(
    const fs::path& dir, const std::string& images, const std::string& labels) {
  Dataset dataset;
  const at::Tensor pixels = read_idx_images(dir / images);
  dataset.labels = read_idx_labels(dir / labels);
  if (pixels.size(0) != dataset.labels.size(0)) {
    throw IoError(fmt::format(
        "MNIST files '{}' and '{}' disagree: {} images but {} labels; fetch them again with "
        "scripts/setup",
        (dir / images).string(),
        (dir / labels).string(),
        pixels.size(0),
        dataset.labels.size(0)));
  }
  if (dataset.labels.max().item<std::int64_t>() > 9) {
    throw IoError(fmt::format(
        "MNIST label file '{}' has labels above 9; it is not an MNIST label file",
        (dir / labels).string()));
  }
  if (pixels.size(1) != 28 || pixels.size(2) != 28) {
    throw IoError(fmt::format(
        "MNIST image file '{}' contains {}x{} images, expected 28x28; it is not an MNIST file",
        (dir / images).string(),
        pixels.size(1),
        pixels.size(2)));
  }
  dataset.images = pixels.unsqueeze(1).to(at::kFloat).div_(255.0);
  dataset.label_name = "digit";
  dataset.num_classes = 10;
  return dataset;
}

Dataset select(
    const Dataset& dataset,
    std::int64_t count,
    bool shuffle,
    std::uint64_t seed,
    const char* what) {
  const at::Tensor index = choose_items(dataset.images.size(0), count, shuffle, seed, what);
  Dataset selected = dataset;
  selected.images = dataset.images.index_select(0, index).contiguous();
  selected.labels = dataset.labels.index_select(0, index).contiguous();
  return selected;
}

}  // namespace

at::Tensor choose_items(
    std::int64_t available,
    std::int64_t count,
    bool shuffle,
    std::uint64_t seed,
    const char* what) {
  if (count > available) {
    throw ConfigError(fmt::format(
        "[data] {} is {}, but the data set has only {} such images; lower it",
        what,
        count,
        available));
  }
  if (!shuffle) {
    return at::arange(count, at::kLong);
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randperm(available, generator, at::kLong).slice(0, 0, count);
}

fs::path resolve_data_dir(const Parameters& data, const fs::path& scenario_file) {
  const std::string& dir = data.get_string("dir");
  if (!dir.empty()) {
    const fs::path path(dir);
    return path.is_absolute() ? path : scenario_file.parent_path() / path;
  }
  if (const char* env = std::getenv("GENMEM_DATA_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return "data";
}

fs::path resolve_data_file(const Parameters& data, const fs::path& scenario_file) {
  const std::string& file = data.get_string("file");
  if (file.empty()) {
    return resolve_data_dir(data, scenario_file) / "shapes3d" / "3dshapes.h5";
  }
  const fs::path path(file);
  return path.is_absolute() ? path : scenario_file.parent_path() / path;
}

std::vector<std::int64_t> source_image_shape(const std::string& source) {
  if (source == "shapes3d" || source == "shapes3d_rendered") {
    return {3, 64, 64};
  }
  return {1, 28, 28};
}

DataSplit load_data(const Parameters& data, const fs::path& scenario_file, std::uint64_t seed) {
  const std::string& source = data.get_string("source");
  if (source == "shapes3d_rendered") {
    const fs::path cache = data.get_bool("render_cache")
        ? resolve_data_dir(data, scenario_file) / "shapes3d_rendered"
        : fs::path();
    return load_shapes3d_rendered(data, cache, seed);
  }
  if (source == "shapes3d") {
    return load_shapes3d_file(data, resolve_data_file(data, scenario_file), seed);
  }
  const fs::path dir = resolve_data_dir(data, scenario_file) / source;
  const bool shuffle = data.get_string("order") == "shuffled";
  if (data.get_int("subset") != default_parameters(data_section_parameters()).get_int("subset")) {
    spdlog::warn(
        "[data] subset applies to the Shapes3D sources only; the '{}' source ignores it", source);
  }

  DataSplit split;
  const Dataset train =
      load_mnist_file_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  const Dataset test =
      load_mnist_file_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  split.train = select(train, data.get_int("train_items"), shuffle, seed, "train_items");
  split.test = select(test, data.get_int("test_items"), shuffle, seed + 1, "test_items");
  return split;
}

Dataset load_shapes3d_records(
    const Parameters& data, const fs::path& scenario_file, const at::Tensor& records) {
  const std::string& source = data.get_string("source");
  if (source == "shapes3d_rendered") {
    return shapes3d_rendered_records(records);
  }
  if (source == "shapes3d") {
    return shapes3d_file_records(resolve_data_file(data, scenario_file), records);
  }
  throw ConfigError(fmt::format(
      "the '{}' source has no Shapes3D scenes; set [data] source to \"shapes3d_rendered\" or "
      "\"shapes3d\"",
      source));
}

at::Tensor images_to_patterns(const at::Tensor& images) {
  return images.reshape({images.size(0), -1}).mul(2.0).sub_(1.0).contiguous();
}

at::Tensor patterns_to_images(const at::Tensor& patterns, at::IntArrayRef shape) {
  std::vector<std::int64_t> full = {patterns.size(0)};
  full.insert(full.end(), shape.begin(), shape.end());
  return patterns.add(1.0).mul_(0.5).clamp_(0.0, 1.0).reshape(full).contiguous();
}

}  // namespace genmem
