#include "training.hpp"

#include <algorithm>

#include <torch/torch.h>

namespace genmem::vae {

namespace {

// Keras' backend epsilon, the clamp of binary cross-entropy predictions.
constexpr double kProbabilityClamp = 1e-7;

}  // namespace

at::Tensor reconstruction_error(
    const at::Tensor& images, const at::Tensor& reconstructions, ReconstructionLoss kind) {
  // Per-value error [N, C, H, W], then mean over channels and sum over pixels: [N].
  at::Tensor error;
  if (kind == ReconstructionLoss::kL1) {
    error = (images - reconstructions).abs();
  } else {
    const at::Tensor p = reconstructions.clamp(kProbabilityClamp, 1.0 - kProbabilityClamp);
    error = -(images * p.log() + (1.0 - images) * (1.0 - p).log());
  }
  return error.mean(/*dim=*/1).sum({1, 2});
}

LossTerms autoencoder_loss(
    const at::Tensor& images, const at::Tensor& reconstructions, ReconstructionLoss kind) {
  const at::Tensor reconstruction = reconstruction_error(images, reconstructions, kind).mean();
  return {reconstruction, reconstruction, at::zeros({}, reconstruction.options())};
}

LossTerms vae_loss(
    const at::Tensor& images,
    const at::Tensor& reconstructions,
    const at::Tensor& mean,
    const at::Tensor& log_var,
    ReconstructionLoss kind,
    double kl_weight) {
  const at::Tensor reconstruction = reconstruction_error(images, reconstructions, kind);

  // Closed-form KL divergence of N(mean, exp(log_var)) from N(0, I), summed over latents: [N].
  const at::Tensor kl = -0.5 * (1.0 + log_var - mean.square() - log_var.exp()).sum(/*dim=*/1);

  return {(reconstruction + kl_weight * kl).mean(), reconstruction.mean(), kl.mean()};
}

std::int64_t training_workers(const VaeOptions& options, std::int64_t threads) {
  if (options.batch_workers > 0) {
    return options.batch_workers;
  }
  const bool independent_images =
      options.batch_norm == BatchNormMode::kFrozen && options.dropout == DropoutMode::kInactive;
  return independent_images ? std::max<std::int64_t>(1, threads) : 1;
}

bool EarlyStopping::update(double loss) {
  if (loss < best_) {
    best_ = loss;
    wait_ = 0;
    return false;
  }
  ++wait_;
  return patience_ > 0 && wait_ >= patience_;
}

}  // namespace genmem::vae
