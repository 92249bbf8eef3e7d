#include "analysis/metrics.hpp"

#include <cmath>

#include <ATen/ATen.h>

namespace genmem {

double reconstruction_error(const at::Tensor& images, const at::Tensor& reconstructions) {
  at::NoGradGuard no_grad;
  const at::Tensor per_pixel = (images - reconstructions).abs().mean(/*dim=*/1);
  return per_pixel.sum({1, 2}).mean().item<double>();
}

at::Tensor nearest_pattern(
    const at::Tensor& queries, const at::Tensor& patterns, std::int64_t chunk) {
  at::NoGradGuard no_grad;
  // argmin |q - x|^2 = argmax (2 q.x - |x|^2), so no B x N difference tensor is formed.
  const at::Tensor squared_norms = patterns.pow(2).sum(1);
  std::vector<at::Tensor> parts;
  for (std::int64_t start = 0; start < queries.size(0); start += chunk) {
    const at::Tensor block = queries.slice(0, start, start + chunk);
    const at::Tensor score = at::mm(block, patterns.t()).mul_(2.0).sub_(squared_norms);
    parts.push_back(score.argmax(1));
  }
  return at::cat(parts);
}

at::Tensor zero_noise(const at::Tensor& images, double fraction, at::Generator generator) {
  // Exactly round(fraction * values) values per image, chosen uniformly, are set to 0.
  const at::Tensor flat = images.reshape({images.size(0), -1});
  const auto zeroed =
      static_cast<std::int64_t>(std::llround(fraction * static_cast<double>(flat.size(1))));
  const at::Tensor order =
      at::rand(flat.sizes(), generator, flat.options()).argsort(/*dim=*/std::int64_t{1});
  at::Tensor noisy = flat.clone();
  noisy.scatter_(1, order.slice(1, 0, zeroed), 0.0);
  return noisy.reshape(images.sizes());
}

}  // namespace genmem
