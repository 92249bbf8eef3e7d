// The training loop of `genmem::Vae`: the original's Keras `fit` with a custom `train_step`.

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <genmem/error.hpp>

#include "training.hpp"
#include "vae.hpp"
#include "vae_state.hpp"

namespace genmem {

namespace {

/// Copies of every parameter and buffer, taken at the start of an epoch.
struct Snapshot {
  std::vector<at::Tensor> saved;
  std::vector<at::Tensor> live;
};

Snapshot take_snapshot(const vae::Networks& networks) {
  torch::NoGradGuard no_grad;
  Snapshot snapshot;
  for (const torch::nn::Module* module :
       {static_cast<const torch::nn::Module*>(networks.encoder.get()),
        static_cast<const torch::nn::Module*>(networks.decoder.get())}) {
    for (const auto& tensor : module->parameters()) {
      snapshot.live.push_back(tensor);
    }
    for (const auto& tensor : module->buffers()) {
      snapshot.live.push_back(tensor);
    }
  }
  snapshot.saved.reserve(snapshot.live.size());
  for (const auto& tensor : snapshot.live) {
    snapshot.saved.push_back(tensor.detach().clone());
  }
  return snapshot;
}

void restore_snapshot(Snapshot& snapshot) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < snapshot.live.size(); ++i) {
    snapshot.live[i].copy_(snapshot.saved[i]);
  }
}

/// Decodes one batch's latents and returns its loss. With `noise` (VAE mode) the latents are the
/// reparameterised samples `z = mean + exp(0.5 * log_var) * eps`, eps ~ N(0, I), and the loss is
/// `vae_loss`. Without it (deterministic mode) the latents are the means and the loss is
/// `autoencoder_loss`.
vae::LossTerms batch_loss(
    vae::Decoder& decoder,
    const at::Tensor& batch,
    const vae::EncoderOutput& posterior,
    const at::Tensor& noise,
    const vae::VaeOptions& options) {
  if (!noise.defined()) {
    return vae::autoencoder_loss(batch, decoder.forward(posterior.mean), options.loss);
  }
  const at::Tensor z = posterior.mean + (0.5 * posterior.log_var).exp() * noise.to(batch.device());
  return vae::vae_loss(
      batch,
      decoder.forward(z),
      posterior.mean,
      posterior.log_var,
      options.loss,
      options.kl_weight);
}

/// Running sums of one epoch's batch figures.
struct EpochTotals {
  double loss = 0.0;
  double reconstruction = 0.0;
  double kl = 0.0;
  std::int64_t batches = 0;
};

}  // namespace

FitSummary Vae::fit(
    const at::Tensor& images, const EpochCallback& on_epoch, const ProgressCallback& on_batch) {
  State& state = *state_;
  const vae::VaeOptions& options = state.options;
  const at::Tensor data = state.prepare_images(images, "fit");
  const std::int64_t count = data.size(0);
  if (count == 0) {
    throw ConfigError(
        std::string(state.model_name())
        + " fit: images must contain at least one image (got N = 0); pass a non-empty batch");
  }

  FitSummary summary;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (on_epoch && on_epoch(EpochReport{0, nan, nan, nan, 0.0}) == EpochDecision::kStop) {
    summary.stopped_by_caller = true;
    state.fit_code_distribution(data);
    return summary;
  }

  // Buffers reused by every batch: the batch images and the sampling noise. The noise is drawn
  // on the CPU because the model's generator is a CPU generator. Deterministic mode draws none,
  // so the generator advances only for shuffling and dropout.
  const std::int64_t batch_size = std::min(options.batch_size, count);
  at::Tensor batch_buffer =
      at::empty({batch_size, data.size(1), data.size(2), data.size(3)}, data.options());
  at::Tensor noise_buffer = options.deterministic
      ? at::Tensor()
      : at::empty({batch_size, options.latent_dim}, at::kFloat);
  vae::EarlyStopping early_stopping(options.patience);

  for (std::int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start_time = std::chrono::steady_clock::now();
    Snapshot snapshot = take_snapshot(state.networks);
    const at::Tensor order = options.shuffle
        ? at::randperm(count, state.generator, at::kLong).to(state.device)
        : at::arange(count, at::TensorOptions(at::kLong).device(state.device));

    state.set_training(true);
    EpochTotals totals;
    for (std::int64_t first = 0; first < count; first += batch_size) {
      const std::int64_t size = std::min(batch_size, count - first);
      at::Tensor batch = batch_buffer.narrow(0, 0, size);
      at::index_select_out(batch, data, 0, order.narrow(0, first, size));
      at::Tensor noise;
      if (!options.deterministic) {
        noise = noise_buffer.narrow(0, 0, size);
        noise.normal_(0.0, 1.0, state.generator);
      }

      const vae::EncoderOutput posterior = state.networks.encoder->forward(batch, nullptr);
      const vae::LossTerms terms =
          batch_loss(*state.networks.decoder, batch, posterior, noise, options);

      const double loss = terms.total.item<double>();
      if (!std::isfinite(loss)) {
        // The last step may already have written NaN into the weights, so return to the
        // weights of the last complete epoch, and drop the optimiser moments with them. The code
        // distribution described the weights before this fit, so it goes too.
        restore_snapshot(snapshot);
        state.reset_optimizer();
        state.set_training(false);
        state.code_mean = at::Tensor();
        state.code_std = at::Tensor();
        throw TrainingDivergedError(
            std::string("loss became ") + (std::isnan(loss) ? "NaN" : "infinite") + " at epoch "
            + std::to_string(epoch) + ", batch " + std::to_string(totals.batches + 1)
            + "; lower learning_rate or check the input data for NaN or infinite values");
      }

      state.optimizer->zero_grad();
      terms.total.backward();
      state.optimizer->step();

      // Unweighted means over batches, like the original's running-mean loss trackers.
      totals.loss += loss;
      totals.reconstruction += terms.reconstruction.item<double>();
      totals.kl += terms.kl.item<double>();
      ++totals.batches;
      if (on_batch) {
        on_batch(first + size, count);
      }
    }
    state.set_training(false);
    summary.epochs = epoch;

    const double batches = static_cast<double>(totals.batches);
    const EpochReport report{
        epoch,
        totals.loss / batches,
        totals.reconstruction / batches,
        totals.kl / batches,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count()};
    if (on_epoch && on_epoch(report) == EpochDecision::kStop) {
      summary.stopped_by_caller = true;
      break;
    }
    if (early_stopping.update(report.loss)) {
      summary.stopped_early = true;
      break;
    }
  }
  state.fit_code_distribution(data);
  return summary;
}

}  // namespace genmem
