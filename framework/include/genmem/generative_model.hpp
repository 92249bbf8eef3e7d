#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <genmem/progress.hpp>

namespace genmem {

/// Training figures for one epoch. Epoch 0 is the untrained model, before any update, and
/// carries NaN for the training figures.
struct EpochReport {
  std::int64_t epoch = 0;
  /// Means over the epoch's batches, as optimised (reconstruction plus weighted KL).
  double loss = 0.0;
  double reconstruction = 0.0;
  double kl = 0.0;
  double seconds = 0.0;
};

/// The caller's decision after an epoch of `GenerativeModel::fit`.
enum class EpochDecision {
  kContinue,
  kStop
};

/// Called once before the first epoch and once after each epoch.
using EpochCallback = std::function<EpochDecision(const EpochReport&)>;

/// The outcome of a call to `GenerativeModel::fit`.
struct FitSummary {
  std::int64_t epochs = 0;
  /// True when the training loss stopped improving for `patience` epochs.
  bool stopped_early = false;
  /// True when the callback asked to stop.
  bool stopped_by_caller = false;
};

/// Posterior parameters of the latent variables, float32 `[N, latent_dim]` each.
struct Encoding {
  at::Tensor mean;
  at::Tensor log_var;
};

/// The neocortex role: a generative model trained on replayed experiences.
///
/// Images are float32 `[N, C, H, W]` in [0, 1]. Methods other than `fit` compute no gradients.
class GenerativeModel {
 public:
  virtual ~GenerativeModel();

  /// Trains on `images`. Calls `on_batch`, when set, after each batch with the images done in
  /// the current epoch and the images per epoch. Throws `TrainingDivergedError` when the loss
  /// becomes NaN or infinite.
  virtual FitSummary fit(
      const at::Tensor& images,
      const EpochCallback& on_epoch,
      const ProgressCallback& on_batch) = 0;

  virtual Encoding encode(const at::Tensor& images) = 0;

  /// Maps latents `[N, latent_dim]` to images `[N, C, H, W]` in [0, 1].
  virtual at::Tensor decode(const at::Tensor& latents) = 0;

  /// Draws `n` latents from the prior and decodes them.
  virtual at::Tensor sample(std::int64_t n) = 0;

  /// Returns intermediate activations by layer name, each `[N, ...]`, in encoder order.
  virtual std::map<std::string, at::Tensor> representations(const at::Tensor& images) = 0;

  virtual std::int64_t latent_dim() const = 0;

  /// Returns the image shape `{C, H, W}` the model accepts.
  virtual std::vector<std::int64_t> image_shape() const = 0;

  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
};

}  // namespace genmem
