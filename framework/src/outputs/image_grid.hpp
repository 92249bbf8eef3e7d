#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Writes images `[N, C, H, W]` in [0, 1] as a PNG grid of `columns` per row, each image scaled
/// up by `scale` with nearest-neighbour sampling and separated by a 2-pixel gap.
void write_image_grid(
    const std::filesystem::path& path,
    const at::Tensor& images,
    std::int64_t columns,
    std::int64_t scale = 2);

}  // namespace genmem
