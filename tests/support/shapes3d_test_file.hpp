#pragma once

#include <cstdint>
#include <filesystem>

namespace genmem::test_support {

/// Record i of a file written by write_shapes3d_test_file contains the factors of published
/// record kShapes3dTestStride * i modulo 480,000. Every byte of its image equals i % 256, so each
/// image identifies its record.
inline constexpr std::int64_t kShapes3dTestStride = 997;

/// Layout of a test file in 3dshapes.h5's format; the defaults give a valid file.
struct Shapes3dTestLayout {
  std::int64_t records = 200;
  std::int64_t image_side = 64;
  std::int64_t label_columns = 6;
  bool write_images = true;
  bool write_labels = true;
  /// Stores the images as float32 in place of uint8.
  bool float_images = false;
  /// Added to record 7's orientation, to move it off its grid.
  double label_offset = 0.0;
};

/// Writes `path` with the HDF5 C library: `images` uint8 `[N, side, side, 3]` and `labels`
/// float64 `[N, columns]`, as `layout` sets.
void write_shapes3d_test_file(const std::filesystem::path& path, const Shapes3dTestLayout& layout);

}  // namespace genmem::test_support
