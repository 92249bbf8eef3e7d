#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <genmem/generative_model.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "options.hpp"

namespace genmem {

/// Declares the parameters of the `vae` plugin with their defaults and ranges.
std::vector<ParameterSpec> vae_parameters();

/// Reads and validates the `vae` parameters of `context`; missing parameters take their defaults.
/// Throws `ConfigError` naming the parameter when a value is invalid or the device is unusable.
vae::VaeOptions vae_options_from_context(const PluginContext& context);

/// A convolutional variational autoencoder (Kingma & Welling 2014) with the architectures, loss
/// and training loop of Spens & Burgess (2024). With `VaeOptions::deterministic` it is the plain
/// autoencoder of the `autoencoder` plugin, with the same networks and no sampling or KL term.
///
/// Images are float32 `[N, C, H, W]` in [0, 1] with `{C, H, W}` equal to `image_shape()`; latents
/// are float32 `[N, latent_dim()]`. Outputs live on the model's device.
class Vae : public GenerativeModel {
 public:
  /// Builds an untrained model from the plugin parameters, device and seed.
  explicit Vae(const PluginContext& context);
  explicit Vae(const vae::VaeOptions& options);
  ~Vae() override;

  Vae(const Vae&) = delete;
  Vae& operator=(const Vae&) = delete;

  /// Trains with AMSGrad Adam on shuffled mini-batches of `images` `[N, C, H, W]`. Calls
  /// `on_epoch` with epoch 0 before training and after every epoch, and `on_batch`, when set,
  /// after every batch with the images done in the epoch and N. Throws `ConfigError` for a
  /// wrong image shape and `TrainingDivergedError` when a batch loss is not finite, in which case
  /// the weights are restored to the end of the last complete epoch. In deterministic mode the
  /// decoder receives the encoder's mean and the loss is the reconstruction error alone. A
  /// deterministic fit that returns normally, also when stopped early or by the callback, then fits
  /// the code distribution of `sample` to the codes of all `images`. A diverged fit clears it.
  FitSummary fit(
      const at::Tensor& images,
      const EpochCallback& on_epoch,
      const ProgressCallback& on_batch) override;

  /// Returns the posterior mean and log-variance, `[N, latent_dim]` each. In deterministic mode
  /// the mean is the code and every log-variance is `vae::kDeterministicLogVariance`.
  Encoding encode(const at::Tensor& images) override;

  /// Maps latents `[N, latent_dim]` to images `[N, C, H, W]` in (0, 1).
  at::Tensor decode(const at::Tensor& latents) override;

  /// Decodes `sample_latents(n)`: `[n, C, H, W]`.
  at::Tensor sample(std::int64_t n) override;

  /// Draws `n` latents `[n, latent_dim]` on the CPU from the standard normal prior, or in
  /// deterministic mode from N(code_mean, diag(code_std^2)). Throws `ConfigError` when `n` < 0
  /// and, in deterministic mode, `ModelError` when no fit has set the code distribution.
  at::Tensor sample_latents(std::int64_t n);

  /// Returns "input", the raw output of each convolution ("conv1" to "conv4" for
  /// shapes3d_large, "conv1" and "conv2" for mnist_small) before normalisation and activation,
  /// and "latent_mean", each flattened to `[N, features]` in channel-first order.
  std::map<std::string, at::Tensor> representations(const at::Tensor& images) override;

  std::int64_t latent_dim() const override;

  /// Returns `{1, 28, 28}` for mnist_small and `{3, 64, 64}` for shapes3d_large.
  std::vector<std::int64_t> image_shape() const override;

  /// Writes the weights, batch-norm statistics, architecture, latent_dim and batch_norm mode, and
  /// in deterministic mode the code distribution when one is set. VAE and autoencoder files have
  /// different format keys. Throws `IoError` naming the path when the file cannot be written.
  void save(const std::string& path) const override;

  /// Reads weights written by `save`. Throws `IoError` when the file cannot be read or was written
  /// by the other mode (an autoencoder file given to a VAE, or the reverse), and `ConfigError` when
  /// it contains a different architecture, latent_dim or batch_norm mode. Resets the optimiser
  /// state.
  void load(const std::string& path) override;

  const vae::VaeOptions& options() const;

  /// Returns the per-dimension mean of the code distribution, float32 `[latent_dim]` on the CPU.
  /// The tensor is undefined in VAE mode. In deterministic mode a fit that returns normally sets
  /// it, a diverged fit clears it, and `load` sets or clears it as the file has it or not.
  at::Tensor code_mean() const;

  /// Returns the per-dimension standard deviation matching `code_mean()`.
  at::Tensor code_std() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace genmem
