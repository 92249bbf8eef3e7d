#pragma once

// The VAE objective and the early-stopping rule, kept apart from the model so tests can check
// them directly.

#include <cstdint>
#include <limits>

#include <ATen/core/Tensor.h>

#include "options.hpp"

namespace genmem::vae {

/// The batch means of the terms of the negative ELBO, each a scalar tensor with the dtype of the
/// inputs. `total` keeps the autograd graph of its inputs.
struct LossTerms {
  at::Tensor total;
  at::Tensor reconstruction;
  at::Tensor kl;
};

/// Returns `reconstruction_n` of every image, `[N]`: the per-value error of `kind`, averaged over
/// channels and summed over pixels. `images` and `reconstructions` are `[N, C, H, W]`.
at::Tensor reconstruction_error(
    const at::Tensor& images, const at::Tensor& reconstructions, ReconstructionLoss kind);

/// Computes the deterministic autoencoder's loss, the batch mean of `reconstruction_error` alone.
/// `total` and `reconstruction` are that mean and `kl` is a zero scalar.
LossTerms autoencoder_loss(
    const at::Tensor& images, const at::Tensor& reconstructions, ReconstructionLoss kind);

/// Computes the VAE loss of Kingma & Welling (2014) as the original code weights it:
///
///   reconstruction_n = sum over pixels (h, w) of the mean over channels of the pixel error,
///   kl_n = -0.5 * sum over latents of (1 + log_var - mean^2 - exp(log_var)),
///   total = mean over n of (reconstruction_n + kl_weight * kl_n).
///
/// `images` and `reconstructions` are `[N, C, H, W]`; `mean` and `log_var` are `[N, latent_dim]`.
LossTerms vae_loss(
    const at::Tensor& images,
    const at::Tensor& reconstructions,
    const at::Tensor& mean,
    const at::Tensor& log_var,
    ReconstructionLoss kind,
    double kl_weight);

/// Returns how many parts `fit` splits each batch into: `options.batch_workers` when positive,
/// else `threads` (the intra-op thread count) when batch norm is frozen and dropout inactive, else
/// 1. Only in that case does no layer couple the images of a batch or draw random numbers.
std::int64_t training_workers(const VaeOptions& options, std::int64_t threads);

/// Keras' `EarlyStopping(monitor='loss', patience=patience, min_delta=0)`: training stops once
/// the monitored loss has not fallen below its best value for `patience` consecutive epochs.
/// `patience` 0 disables the rule. Keras documents patience as the number of epochs with no
/// improvement after which training stops, so its patience 0 stops at the first such epoch.
class EarlyStopping {
 public:
  explicit EarlyStopping(std::int64_t patience) : patience_(patience) {}

  /// Records the loss of a finished epoch; returns true when training should stop.
  bool update(double loss);

  std::int64_t epochs_without_improvement() const { return wait_; }

 private:
  std::int64_t patience_;
  std::int64_t wait_ = 0;
  double best_ = std::numeric_limits<double>::infinity();
};

}  // namespace genmem::vae
