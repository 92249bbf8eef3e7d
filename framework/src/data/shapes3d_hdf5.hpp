#pragma once

#include <cstdint>
#include <filesystem>

#include <ATen/core/Tensor.h>

namespace genmem {

/// DeepMind's `3dshapes.h5`, opened read-only: a dataset `images` of uint8 `[N, 64, 64, 3]` and
/// a dataset `labels` of floats `[N, 6]` holding each record's factor values (floor hue, wall hue,
/// object hue, scale, shape, orientation). The published file has N = 480,000.
class Shapes3dFile {
 public:
  /// Opens `path` and checks its layout. Throws IoError saying what differs from the layout
  /// above: a missing file, a file that is not HDF5, a missing dataset, or a wrong shape or type.
  explicit Shapes3dFile(const std::filesystem::path& path);
  ~Shapes3dFile();

  Shapes3dFile(const Shapes3dFile&) = delete;
  Shapes3dFile& operator=(const Shapes3dFile&) = delete;

  std::int64_t records() const { return records_; }

  /// Reads `records` (int64 `[M]`, each in [0, records())) as float32 images `[M, 3, 64, 64]` in
  /// [0, 1].
  at::Tensor read_images(const at::Tensor& records) const;

  /// Reads the labels of `records` as value indices int64 `[M, 6]`, in the renderer's factor
  /// order. Throws IoError naming the record and factor when a value is off its factor's grid.
  at::Tensor read_factors(const at::Tensor& records) const;

 private:
  std::filesystem::path path_;
  std::int64_t file_ = -1;
  std::int64_t records_ = 0;
};

}  // namespace genmem
