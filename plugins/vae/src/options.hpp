#pragma once

// Settings of the VAE plugin. This header includes no LibTorch headers, so the plugin entry point
// stays cheap to compile.

#include <cstdint>
#include <string>
#include <vector>

namespace genmem::vae {

/// The two image architectures of the original code.
enum class Architecture {
  /// 1x28x28 MNIST encoder and decoder with strided and transposed convolutions.
  kMnistSmall,
  /// 3x64x64 Shapes3D encoder (four strided convolutions) and upsampling decoder.
  kShapes3dLarge,
};

/// Training behaviour of the batch-normalisation layers of `kShapes3dLarge`.
enum class BatchNormMode {
  /// Inference mode throughout, as the original trained: running mean 0 and variance 1 are never
  /// updated, so each layer is the learned affine map `gamma * x / sqrt(1 + 0.001) + beta`.
  kFrozen,
  /// Ordinary batch normalisation: batch statistics while training, running statistics otherwise.
  kBatch,
};

/// Whether the input dropout layer drops anything while training. It never does outside `fit`.
enum class DropoutMode {
  /// The original's setting in effect: its dropout never ran because Keras called the layer in
  /// inference mode.
  kInactive,
  kActive,
};

/// The per-pixel reconstruction error.
enum class ReconstructionLoss {
  /// Channel-mean absolute error, as the original.
  kL1,
  /// Channel-mean binary cross-entropy with predictions clamped to [1e-7, 1 - 1e-7].
  kBinaryCrossEntropy,
};

/// Returns the parameter spelling of an architecture ("mnist_small" or "shapes3d_large").
inline std::string architecture_name(Architecture architecture) {
  return architecture == Architecture::kMnistSmall ? "mnist_small" : "shapes3d_large";
}

/// Returns the parameter spelling of a batch-normalisation mode ("frozen" or "batch").
inline std::string batch_norm_mode_name(BatchNormMode mode) {
  return mode == BatchNormMode::kFrozen ? "frozen" : "batch";
}

/// Returns the image shape `{C, H, W}` an architecture accepts.
inline std::vector<std::int64_t> architecture_image_shape(Architecture architecture) {
  if (architecture == Architecture::kMnistSmall) {
    return {1, 28, 28};
  }
  return {3, 64, 64};
}

/// The log-variance `encode` returns in deterministic mode. It is finite, so sums and products
/// with it stay finite, and its standard deviation exp(-40) is about 4.2e-18, so in float32
/// `mean + exp(0.5 * log_var) * eps` equals `mean` wherever |mean| > 1e-8 and |eps| < 10.
inline constexpr double kDeterministicLogVariance = -80.0;

/// Returns the plugin name of a model: "autoencoder" in deterministic mode, otherwise "vae".
inline const char* model_kind_name(bool deterministic) {
  return deterministic ? "autoencoder" : "vae";
}

/// Everything a `genmem::Vae` is built from, read from the plugin parameters of the same names.
struct VaeOptions {
  Architecture architecture = Architecture::kMnistSmall;
  std::int64_t latent_dim = 20;
  ReconstructionLoss loss = ReconstructionLoss::kL1;
  double kl_weight = 1.0;
  double learning_rate = 0.001;
  std::int64_t batch_size = 32;
  std::int64_t epochs = 10;
  /// Epochs without improvement of the training loss before `fit` stops; 0 disables the rule.
  std::int64_t patience = 3;
  BatchNormMode batch_norm = BatchNormMode::kFrozen;
  DropoutMode dropout = DropoutMode::kInactive;
  bool shuffle = true;
  /// Folds frozen batch normalisation and upsampling into the convolutions of `kShapes3dLarge`
  /// (see `make_networks`); false runs the layers one by one, as the original.
  bool fuse_layers = true;
  /// Parts each training batch is split into and computed at the same time, one thread each; 0
  /// chooses (see `training_workers`).
  std::int64_t batch_workers = 0;
  /// Runs the networks as a plain autoencoder, the `autoencoder` plugin: the encoder's mean is the
  /// code, training adds no sampling noise and no KL term (`kl_weight` is ignored), `encode`
  /// returns `kDeterministicLogVariance` as the log-variance, and `sample` draws codes from the
  /// Gaussian fitted to the codes of the last `fit`'s images. Model files record the mode.
  bool deterministic = false;
  /// "cpu" or "cuda".
  std::string device = "cpu";
  /// Seeds the initial weights, the shuffling, the sampling noise and the dropout masks.
  std::uint64_t seed = 0;
};

}  // namespace genmem::vae
