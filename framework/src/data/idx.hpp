#pragma once

#include <filesystem>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Reads an IDX image file (magic 0x00000803) as uint8 `[N, rows, cols]`. Checks the magic
/// number, the dimensions and that the file size matches them exactly; throws IoError otherwise.
at::Tensor read_idx_images(const std::filesystem::path& path);

/// Reads an IDX label file (magic 0x00000801) as int64 `[N]`.
at::Tensor read_idx_labels(const std::filesystem::path& path);

}  // namespace genmem
