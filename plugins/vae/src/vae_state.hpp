#pragma once

// The private state of `genmem::Vae`, shared by vae.cpp (construction, inference, files) and
// vae_fit.cpp (training).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "architectures.hpp"
#include "vae.hpp"

namespace genmem {

struct Vae::State {
  /// Images per forward pass outside training, which bounds the memory of `encode`,
  /// `decode` and `representations`.
  static constexpr std::int64_t kInferenceBatch = 500;

  vae::VaeOptions options;
  at::Device device = at::kCPU;
  /// CPU generator for initial weights, shuffling, sampling noise and dropout masks.
  at::Generator generator;
  vae::Networks networks;
  std::unique_ptr<torch::optim::Adam> optimizer;
  /// Deterministic mode only: the per-dimension mean and standard deviation, float32 `[latent_dim]`
  /// on the CPU, of the codes of the last `fit`'s images. Undefined before the first `fit` that
  /// returns normally and after a diverged `fit`.
  at::Tensor code_mean;
  at::Tensor code_std;

  /// Returns "autoencoder" or "vae", the prefix of every error message.
  const char* model_name() const { return vae::model_kind_name(options.deterministic); }

  /// Returns the encoder and decoder settings from `options`.
  vae::NetworkOptions network_options() const;

  /// Creates a fresh AMSGrad Adam over the encoder and decoder parameters, with no moments.
  void reset_optimizer();

  void set_training(bool training) {
    networks.encoder->train(training);
    networks.decoder->train(training);
  }

  /// Checks `images` against the architecture and returns them as contiguous float32 on the
  /// device. `caller` names the method in the error message.
  at::Tensor prepare_images(const at::Tensor& images, const char* caller) const;

  /// Encodes prepared images `[N, C, H, W]` in inference batches; returns `[N, latent_dim]` each.
  vae::EncoderOutput encode_all(const at::Tensor& data);

  /// In deterministic mode, fits the diagonal Gaussian of `code_mean` and `code_std` to the codes
  /// of prepared images `[N, C, H, W]`, N >= 1, by maximum likelihood (the standard deviation
  /// divides by N). Does nothing in VAE mode.
  void fit_code_distribution(const at::Tensor& data);

  /// Runs `function` on consecutive slices of at most `kInferenceBatch` rows, in evaluation mode
  /// and without gradients.
  template <typename Function>
  void for_each_inference_batch(const at::Tensor& data, Function&& function) {
    // NoGradGuard rather than InferenceMode, so callers may modify the outputs in place or train
    // on them later.
    torch::NoGradGuard no_grad;
    set_training(false);
    for (std::int64_t start = 0; start < data.size(0); start += kInferenceBatch) {
      const std::int64_t end = std::min(start + kInferenceBatch, data.size(0));
      function(data.slice(/*dim=*/0, start, end));
    }
  }
};

}  // namespace genmem
