#include "analysis/pca.hpp"

#include <ATen/ATen.h>

namespace genmem {

at::Tensor pca_project(const at::Tensor& features, std::int64_t components) {
  at::NoGradGuard no_grad;
  const at::Tensor data = features.to(at::kDouble).reshape({features.size(0), -1});
  const at::Tensor centred = data - data.mean(0, /*keepdim=*/true);
  auto [u, s, vh] = at::linalg_svd(centred, /*full_matrices=*/false);
  at::Tensor axes = vh.slice(0, 0, components);
  const at::Tensor largest = axes.abs().argmax(1, /*keepdim=*/true);
  const at::Tensor signs = axes.gather(1, largest).sign();
  axes = axes * signs;
  return centred.matmul(axes.t()).to(at::kFloat);
}

}  // namespace genmem
