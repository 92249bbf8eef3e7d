#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include <genmem/generative_model.hpp>

namespace genmem::test_support {

/// A generative model of 1x2x2 images for step tests. It does not train, and it encodes every
/// image to zeros and decodes every latent to a black image. Tests override what they need.
class TinyGenerativeModel : public GenerativeModel {
 public:
  explicit TinyGenerativeModel(std::int64_t latent_dim) : latent_dim_(latent_dim) {}

  FitSummary fit(
      const at::Tensor& /*images*/,
      const EpochCallback& /*on_epoch*/,
      const ProgressCallback& /*on_batch*/) override {
    return {};
  }

  Encoding encode(const at::Tensor& images) override {
    const at::Tensor mean = at::zeros({images.size(0), latent_dim_});
    return {mean, at::zeros_like(mean)};
  }

  at::Tensor decode(const at::Tensor& latents) override {
    return at::zeros({latents.size(0), 1, 2, 2});
  }

  at::Tensor sample(std::int64_t n) override { return at::zeros({n, 1, 2, 2}); }

  std::map<std::string, at::Tensor> representations(const at::Tensor& /*images*/) override {
    return {};
  }

  std::int64_t latent_dim() const override { return latent_dim_; }

  std::vector<std::int64_t> image_shape() const override { return {1, 2, 2}; }

  void save(const std::string& /*path*/) const override {}

  void load(const std::string& /*path*/) override {}

 private:
  std::int64_t latent_dim_;
};

}  // namespace genmem::test_support
