#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <genmem/parameters.hpp>

namespace genmem {

/// Labelled images: float32 `[N, C, H, W]` in [0, 1] with int64 class labels `[N]`.
struct Dataset {
  at::Tensor images;
  at::Tensor labels;
  /// Name of the labelled quantity, for example "digit".
  std::string label_name;
  std::int64_t num_classes = 0;
  /// Every generative factor's value index by name, int64 `[N]` each, where the source has them
  /// (the Shapes3D sources: floor_hue, wall_hue, object_hue, scale, shape, orientation).
  std::map<std::string, at::Tensor> factors;
};

/// The experiences to store and the held-out images used to measure the neocortex.
struct DataSplit {
  Dataset train;
  Dataset test;
};

/// Returns the folder data files are read from: `[data] dir` relative to the scenario file,
/// else `$GENMEM_DATA_DIR`, else `./data`.
std::filesystem::path resolve_data_dir(
    const Parameters& data, const std::filesystem::path& scenario_file);

/// Returns the data file of the `shapes3d` source: `[data] file` relative to the scenario file,
/// else `shapes3d/3dshapes.h5` in the data folder.
std::filesystem::path resolve_data_file(
    const Parameters& data, const std::filesystem::path& scenario_file);

/// Returns the shape `{C, H, W}` of every image of the `[data]` source named `source`: MNIST
/// digits are 1x28x28 and Shapes3D scenes 3x64x64, as their readers require.
std::vector<std::int64_t> source_image_shape(const std::string& source);

/// Loads the `[data]` table's source and selects `train_items` and `test_items`, shuffled with
/// `seed` when `order = "shuffled"`.
DataSplit load_data(
    const Parameters& data, const std::filesystem::path& scenario_file, std::uint64_t seed);

/// Returns which `count` of `available` items to take: the first `count` of a permutation seeded
/// with `seed` when `shuffle`, else the first `count` in order. `what` names the `[data]` key in
/// the ConfigError thrown when `count` exceeds `available`.
at::Tensor choose_items(
    std::int64_t available, std::int64_t count, bool shuffle, std::uint64_t seed, const char* what);

/// Returns the Shapes3D scenes of int64 record indices `records [N]` (see shapes3d_record_of)
/// from the `[data]` table's source, rendered or read from the file, with all six factors.
/// Throws ConfigError when the source is not a Shapes3D one.
Dataset load_shapes3d_records(
    const Parameters& data, const std::filesystem::path& scenario_file, const at::Tensor& records);

/// Converts images `[N, C, H, W]` in [0, 1] to memory patterns `[N, C*H*W]` in [-1, 1].
at::Tensor images_to_patterns(const at::Tensor& images);

/// Converts patterns back to images of `shape {C, H, W}`, clamped to [0, 1].
at::Tensor patterns_to_images(const at::Tensor& patterns, at::IntArrayRef shape);

}  // namespace genmem
