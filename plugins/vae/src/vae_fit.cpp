// The training loop of `genmem::Vae`: the original's Keras `fit` with a custom `train_step`.

#include <chrono>
#include <cmath>
#include <exception>
#include <latch>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>
#include <omp.h>
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

/// Batch means of the loss terms of one training step.
struct StepFigures {
  double loss = 0.0;
  double reconstruction = 0.0;
  double kl = 0.0;
};

/// Sets OpenBLAS's thread count to 1 while it lives, when the process's BLAS is OpenBLAS, so
/// that the matrix products of concurrent batch parts each run on their caller's thread.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() {
    const Functions& functions = openblas();
    if (functions.set != nullptr && functions.get != nullptr) {
      set_ = functions.set;
      previous_ = functions.get();
      set_(1);
    }
  }

  ~SingleThreadedBlas() {
    if (set_ != nullptr) {
      set_(previous_);
    }
  }

  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  /// OpenBLAS's thread-count functions, or null pointers when another BLAS is loaded.
  struct Functions {
    void (*set)(int) = nullptr;
    int (*get)() = nullptr;
  };

  /// Looks the functions up once: a lookup per batch took 2% of `mnist_small`'s training time.
  static const Functions& openblas() {
    static const Functions functions{
        reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")),
        reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))};
    return functions;
  }

  void (*set_)(int) = nullptr;
  int previous_ = 1;
};

/// Holds the calling thread's OpenMP thread count at one while it lives. ATen and oneDNN size
/// their work by that count, so each operation then runs on the calling thread alone.
class OneIntraOpThread {
 public:
  OneIntraOpThread() {
    // ATen sets a thread's count to the global one on the thread's first parallel operation;
    // doing that first keeps it from undoing the change later.
    at::internal::lazy_init_num_threads();
    previous_ = omp_get_max_threads();
    omp_set_num_threads(1);
  }

  ~OneIntraOpThread() { omp_set_num_threads(previous_); }

  OneIntraOpThread(const OneIntraOpThread&) = delete;
  OneIntraOpThread& operator=(const OneIntraOpThread&) = delete;

 private:
  int previous_ = 1;
};

/// Accumulates the gradients of one batch's loss from `parts` slices of the batch, computed at
/// the same time: the first on the calling thread and the others on LibTorch's inter-op threads,
/// each with one intra-op thread. Each slice backpropagates its share of the batch-mean loss, so
/// the gradients add up to those of the whole batch, apart from rounding. Returns the batch
/// means.
StepFigures split_batch_gradients(
    vae::Networks& networks,
    const vae::VaeOptions& options,
    const at::Tensor& batch,
    const at::Tensor& noise,
    std::int64_t parts) {
  const std::int64_t size = batch.size(0);
  std::vector<StepFigures> figures(static_cast<std::size_t>(parts));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(parts));
  const auto run_part = [&](std::int64_t part) {
    try {
      const OneIntraOpThread one_thread;
      const std::int64_t first = part * size / parts;
      const std::int64_t length = (part + 1) * size / parts - first;
      const at::Tensor images = batch.narrow(0, first, length);
      const at::Tensor part_noise = noise.defined() ? noise.narrow(0, first, length) : noise;
      const vae::EncoderOutput posterior = networks.encoder->forward(images, nullptr);
      const vae::LossTerms terms =
          batch_loss(*networks.decoder, images, posterior, part_noise, options);
      const double share = static_cast<double>(length) / static_cast<double>(size);
      (terms.total * share).backward();
      figures[static_cast<std::size_t>(part)] = StepFigures{
          terms.total.item<double>() * share,
          terms.reconstruction.item<double>() * share,
          terms.kl.item<double>() * share};
    } catch (...) {
      errors[static_cast<std::size_t>(part)] = std::current_exception();
    }
  };

  const SingleThreadedBlas single_threaded_blas;
  std::latch others_done(parts - 1);
  for (std::int64_t part = 1; part < parts; ++part) {
    at::launch([&run_part, &others_done, part] {
      run_part(part);
      others_done.count_down();
    });
  }
  run_part(0);
  others_done.wait();

  for (const std::exception_ptr& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }
  StepFigures total;
  for (const StepFigures& figure : figures) {
    total.loss += figure.loss;
    total.reconstruction += figure.reconstruction;
    total.kl += figure.kl;
  }
  return total;
}

/// Raises glibc's allocation thresholds once per process, so that the activation buffers a
/// training step frees stay with the allocator for the next step. At the defaults, glibc returns
/// buffers of a few MiB to the kernel, and the kernel clears the pages again when the next step
/// asks for them: 15% of `shapes3d_large`'s training time.
void keep_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
    // 32 MiB is glibc's largest mmap threshold on 64-bit systems.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
  });
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
  const std::int64_t workers = vae::training_workers(options, at::get_num_threads());
  keep_freed_memory();

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

      // Either the whole batch at once on all intra-op threads, or its parts side by side.
      StepFigures figures;
      vae::LossTerms terms;
      const std::int64_t parts = std::min(workers, size);
      if (parts > 1) {
        state.optimizer->zero_grad();
        figures = split_batch_gradients(state.networks, options, batch, noise, parts);
      } else {
        const vae::EncoderOutput posterior = state.networks.encoder->forward(batch, nullptr);
        terms = batch_loss(*state.networks.decoder, batch, posterior, noise, options);
        figures.loss = terms.total.item<double>();
      }

      const double loss = figures.loss;
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

      if (parts <= 1) {
        state.optimizer->zero_grad();
        terms.total.backward();
        figures.reconstruction = terms.reconstruction.item<double>();
        figures.kl = terms.kl.item<double>();
      }
      state.optimizer->step();

      // Unweighted means over batches, like the original's running-mean loss trackers.
      totals.loss += loss;
      totals.reconstruction += figures.reconstruction;
      totals.kl += figures.kl;
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
