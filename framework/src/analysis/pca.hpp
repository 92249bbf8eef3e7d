#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Projects `features [N, F]` onto their first `components` principal axes, returning
/// `[N, components]`. Each axis's sign is fixed so that its largest loading is positive.
at::Tensor pca_project(const at::Tensor& features, std::int64_t components);

}  // namespace genmem
