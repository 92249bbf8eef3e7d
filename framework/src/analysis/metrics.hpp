#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Reconstruction error of the original code: per image, the sum over pixels of the
/// channel-mean absolute error; returns the mean over images. Both inputs are `[N, C, H, W]`.
double reconstruction_error(const at::Tensor& images, const at::Tensor& reconstructions);

/// For each row of `queries [B, D]`, the index of the nearest row of `patterns [N, D]` by
/// Euclidean distance, int64 `[B]`. Works in chunks of `chunk` queries.
at::Tensor nearest_pattern(
    const at::Tensor& queries, const at::Tensor& patterns, std::int64_t chunk = 1024);

/// Sets a random `fraction` of each image's values to 0, as the original noise function does.
/// `images` is `[N, ...]`; the result has the same shape.
at::Tensor zero_noise(const at::Tensor& images, double fraction, at::Generator generator);

}  // namespace genmem
