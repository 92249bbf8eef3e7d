#pragma once

// The encoder and decoder networks of the two image VAEs, layer by layer as the original Keras
// models build them (Spens & Burgess 2024, code repository ellie-as/generative-memory).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "options.hpp"

namespace genmem::vae {

/// Construction options shared by the encoders and decoders.
struct NetworkOptions {
  Architecture architecture = Architecture::kMnistSmall;
  std::int64_t latent_dim = 20;
  BatchNormMode batch_norm = BatchNormMode::kFrozen;
  DropoutMode dropout = DropoutMode::kInactive;
  /// Computes each frozen batch normalisation inside the convolution before it, and each
  /// nearest-neighbour upsampling with the 3x3 convolution after it (see `make_networks`).
  bool fuse_layers = true;
};

/// Batch normalisation with Keras' defaults (epsilon 0.001, running-statistics momentum 0.01 in
/// PyTorch's convention, which is Keras' momentum 0.99) and the option to stay in inference mode
/// while training.
class KerasBatchNorm2dImpl : public torch::nn::Module {
 public:
  KerasBatchNorm2dImpl(std::int64_t channels, BatchNormMode mode);

  /// Normalises `[N, channels, H, W]` per channel; returns the same shape.
  at::Tensor forward(const at::Tensor& x);

  /// True while the layer normalises with the statistics of each batch, so it is not a fixed
  /// per-channel affine map.
  bool uses_batch_statistics() const;

  /// The per-channel scale `gamma / sqrt(running_var + epsilon)` and shift
  /// `beta - running_mean * scale` that `forward` applies when it does not use batch statistics.
  /// Both are differentiable functions of `gamma` and `beta`.
  std::pair<at::Tensor, at::Tensor> scale_and_shift() const;

 private:
  BatchNormMode mode_;
  at::Tensor gamma_;
  at::Tensor beta_;
  at::Tensor running_mean_;
  at::Tensor running_var_;
};

TORCH_MODULE(KerasBatchNorm2d);

/// Posterior parameters, `[N, latent_dim]` each.
struct EncoderOutput {
  at::Tensor mean;
  at::Tensor log_var;
};

/// Intermediate activations by layer name, each flattened to `[N, features]`.
using Representations = std::map<std::string, at::Tensor>;

/// An encoder: images `[N, C, H, W]` to the posterior mean and log-variance.
class Encoder : public torch::nn::Module {
 public:
  /// Runs the encoder. When `representations` is not null, it also receives the flattened input
  /// and the raw output of each convolution (before normalisation and activation) and the mean.
  virtual EncoderOutput forward(const at::Tensor& images, Representations* representations) = 0;
};

/// A decoder: latents `[N, latent_dim]` to images `[N, C, H, W]` in (0, 1).
class Decoder : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& latents) = 0;
};

/// Both networks of one VAE.
struct Networks {
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Decoder> decoder;
};

/// Builds the encoder and decoder of `options.architecture` with Keras' initialisation:
/// Glorot-uniform weights, zero biases, batch-norm gamma 1 and beta 0. Weights are drawn from
/// `generator` and so are the dropout masks of `DropoutMode::kActive`.
///
/// With `options.fuse_layers`, `kShapes3dLarge` computes the same functions in fewer passes.
/// A batch normalisation with fixed statistics is folded into the convolution before it: the
/// weight is multiplied by the scale and the bias becomes `bias * scale + shift`. Nearest-neighbour
/// upsampling by 2 followed by a 3x3 'same' convolution is one 2x2 convolution with four times the
/// output channels, one set per output-pixel parity, on the input padded by 1. Each parity's
/// 2x2 kernel sums the 3x3 taps that read the same input pixel. That takes 4 multiply-adds per
/// output value instead of 9. The results differ from the layer-by-layer computation only by
/// float32 rounding, and the parameters are the same, so model files serve both.
Networks make_networks(const NetworkOptions& options, at::Generator generator);

/// Counts the values of a module the way Keras' `count_params` does: every parameter plus the
/// batch-normalisation running mean and variance (which Keras stores as non-trainable weights).
/// With `trainable_only`, counts only the parameters.
std::int64_t count_weights(const torch::nn::Module& module, bool trainable_only);

}  // namespace genmem::vae
