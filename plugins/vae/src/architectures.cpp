#include "architectures.hpp"

#include <cmath>
#include <utility>

#include <torch/torch.h>

namespace genmem::vae {

namespace {

constexpr double kBatchNormEpsilon = 1e-3;
constexpr double kBatchNormMomentum = 0.01;
constexpr double kLeakyReluSlope = 0.3;
constexpr double kShapes3dDropout = 0.2;
constexpr double kMnistDropout = 0.1;

/// Applies Keras' input dropout: zeroes each value with probability `rate` and scales the rest by
/// `1 / (1 - rate)`, only while `training` and in `DropoutMode::kActive`.
at::Tensor input_dropout(
    const at::Tensor& x, double rate, DropoutMode mode, bool training, at::Generator& generator) {
  if (mode == DropoutMode::kInactive || !training) {
    return x;
  }
  // The mask is drawn on the CPU because the generator is a CPU generator.
  at::Tensor mask = at::empty(x.sizes(), x.options().device(at::kCPU));
  mask.bernoulli_(1.0 - rate, generator);
  return x * mask.to(x.device()) / (1.0 - rate);
}

/// Fills a weight with Keras' Glorot-uniform initialiser. For every weight layout used here
/// (Linear `[out, in]`, Conv2d `[out, in, k, k]`, ConvTranspose2d `[in, out, k, k]`), fan-in plus
/// fan-out is `(size(0) + size(1)) * k * k`, so one formula covers them all.
void glorot_uniform_(at::Tensor& weight, at::Generator& generator) {
  const double receptive_field =
      static_cast<double>(weight.numel()) / static_cast<double>(weight.size(0) * weight.size(1));
  const double fan_sum = static_cast<double>(weight.size(0) + weight.size(1)) * receptive_field;
  const double limit = std::sqrt(6.0 / fan_sum);
  weight.uniform_(-limit, limit, generator);
}

/// Initialises every `weight` and `bias` below `module` as Keras does. Batch-norm parameters are
/// named `gamma` and `beta` and keep their constructed values.
void initialise_like_keras(torch::nn::Module& module, at::Generator& generator) {
  torch::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& value = item.value();
    if (name.ends_with("bias")) {
      value.zero_();
    } else if (name.ends_with("weight")) {
      glorot_uniform_(value, generator);
    }
  }
}

/// Pads one row at the bottom and one column at the right, which is what TensorFlow's 'same'
/// padding adds for a 3x3 kernel with stride 2 on an even-sized input.
at::Tensor pad_same_stride2(const at::Tensor& x) {
  return at::constant_pad_nd(x, {/*left=*/0, /*right=*/1, /*top=*/0, /*bottom=*/1});
}

/// Reshapes a Dense output `[N, H * W * C]` to `[N, C, H, W]`, reading the vector in Keras'
/// channels-last order (index `(h * W + w) * C + c`), so weights converted from the original
/// Keras models keep their meaning.
at::Tensor reshape_channels_last(
    const at::Tensor& x, std::int64_t channels, std::int64_t height, std::int64_t width) {
  return x.view({x.size(0), height, width, channels}).permute({0, 3, 1, 2});
}

/// A convolution's weight and bias with the batch normalisation after it folded in, when the
/// normalisation is a fixed affine map. `normalised` is false when it uses batch statistics. The
/// weight and bias are then the convolution's own, and the normalisation still has to run.
struct FoldedConv {
  at::Tensor weight;
  at::Tensor bias;
  bool normalised = false;
};

/// Returns `conv` with `norm` folded in, or `conv` alone when `norm` uses batch statistics.
FoldedConv fold_norm(const torch::nn::Conv2d& conv, const KerasBatchNorm2d& norm) {
  if (norm->uses_batch_statistics()) {
    return {conv->weight, conv->bias, false};
  }
  const auto [scale, shift] = norm->scale_and_shift();
  return {conv->weight * scale.view({-1, 1, 1, 1}), conv->bias * scale + shift, true};
}

/// Turns a 3x3 kernel `[out, in, 3, 3]` into the 2x2 kernels `[4 * out, in, 2, 2]` that compute
/// nearest-neighbour upsampling by 2 followed by the 3x3 'same' convolution. Output channel
/// `(o * 2 + p) * 2 + q` contains the kernel of output rows of parity p and columns of parity q.
/// Along one axis, an even output row 2m reads upsampled rows 2m-1, 2m and 2m+1, which are input
/// rows m-1, m and m, so its taps are (w0, w1 + w2). An odd row reads input rows m, m and m+1,
/// so its taps are (w0 + w1, w2).
at::Tensor parity_kernels(const at::Tensor& weight) {
  const at::Tensor taps =
      torch::tensor({1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0})
          .to(weight.options())
          .view({2, 2, 3});
  return at::einsum("pai,qbj,oxij->opqxab", {taps, taps, weight})
      .reshape({4 * weight.size(0), weight.size(1), 2, 2});
}

/// Upsamples `x` `[N, in, H, W]` by 2 (nearest neighbour) and applies a 3x3 'same' convolution
/// with `weight` and `bias`, computed as one 2x2 convolution on `x` padded by 1. Returns
/// `[N, out, 2H, 2W]`.
at::Tensor upsample_then_conv(
    const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const std::int64_t batch = x.size(0);
  const std::int64_t out = weight.size(0);
  const std::int64_t height = x.size(2);
  const std::int64_t width = x.size(3);
  const at::Tensor parities =
      at::conv2d(x, parity_kernels(weight), bias.repeat_interleave(4), 1, 1).contiguous();

  // parities is [N, out, 2, 2, H + 1, W + 1] in memory. Output pixel (2m + p, 2k + q) of channel
  // o is parities[n][o][p][q][m + p][k + q], so one strided view [N, out, H, 2, W, 2] is the
  // output, and reshaping it copies the pixels into place.
  const std::int64_t plane = (height + 1) * (width + 1);
  return parities
      .as_strided(
          {batch, out, height, 2, width, 2},
          {parities.stride(0), 4 * plane, width + 1, 2 * plane + width + 1, 1, plane + 1},
          parities.storage_offset())
      .reshape({batch, out, 2 * height, 2 * width});
}

torch::nn::Conv2d make_conv(
    std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, std::int64_t pad) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad).bias(true));
}

class Shapes3dEncoder : public Encoder {
 public:
  Shapes3dEncoder(const NetworkOptions& options, at::Generator generator)
      : dropout_(options.dropout),
        fuse_layers_(options.fuse_layers),
        generator_(std::move(generator)) {
    const std::int64_t channels[] = {3, 32, 64, 128, 256};
    for (int i = 0; i < 4; ++i) {
      const std::string suffix = std::to_string(i + 1);
      convs_.push_back(register_module(
          "conv" + suffix, make_conv(channels[i], channels[i + 1], 4, /*stride=*/2, /*pad=*/0)));
      norms_.push_back(
          register_module("norm" + suffix, KerasBatchNorm2d(channels[i + 1], options.batch_norm)));
    }
    mean_ = register_module("mean", torch::nn::Linear(256, options.latent_dim));
    log_var_ = register_module("log_var", torch::nn::Linear(256, options.latent_dim));
    initialise_like_keras(*this, generator_);
  }

  EncoderOutput forward(const at::Tensor& images, Representations* representations) override {
    at::Tensor x = input_dropout(images, kShapes3dDropout, dropout_, is_training(), generator_);
    if (representations != nullptr) {
      (*representations)["input"] = images.flatten(1);
    }
    for (std::size_t i = 0; i < convs_.size(); ++i) {
      // The representations need each convolution's own output, so they take the unfused path.
      if (fuse_layers_ && representations == nullptr) {
        const FoldedConv folded = fold_norm(convs_[i], norms_[i]);
        x = at::conv2d(x, folded.weight, folded.bias, /*stride=*/2);
        if (!folded.normalised) {
          x = norms_[i]->forward(x);
        }
      } else {
        x = convs_[i]->forward(x);
        if (representations != nullptr) {
          (*representations)["conv" + std::to_string(i + 1)] = x.flatten(1);
        }
        x = norms_[i]->forward(x);
      }
      x = at::leaky_relu(x, kLeakyReluSlope);
    }

    // Global average pooling: [N, 256, 2, 2] -> [N, 256].
    x = x.mean({2, 3});
    EncoderOutput output{mean_->forward(x), log_var_->forward(x)};
    if (representations != nullptr) {
      (*representations)["latent_mean"] = output.mean;
    }
    return output;
  }

 private:
  DropoutMode dropout_;
  bool fuse_layers_;
  at::Generator generator_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<KerasBatchNorm2d> norms_;
  torch::nn::Linear mean_{nullptr};
  torch::nn::Linear log_var_{nullptr};
};

class Shapes3dDecoder : public Decoder {
 public:
  Shapes3dDecoder(const NetworkOptions& options, at::Generator generator)
      : fuse_layers_(options.fuse_layers) {
    dense_ = register_module("dense", torch::nn::Linear(options.latent_dim, 4 * 4 * 256));
    const std::int64_t channels[] = {256, 128, 64, 32};
    for (int i = 0; i < 3; ++i) {
      const std::string suffix = std::to_string(i + 1);
      convs_.push_back(register_module(
          "conv" + suffix, make_conv(channels[i], channels[i + 1], 3, /*stride=*/1, /*pad=*/1)));
      norms_.push_back(
          register_module("norm" + suffix, KerasBatchNorm2d(channels[i + 1], options.batch_norm)));
    }
    output_ = register_module("conv4", make_conv(32, 3, 3, /*stride=*/1, /*pad=*/1));
    initialise_like_keras(*this, generator);
  }

  at::Tensor forward(const at::Tensor& latents) override {
    at::Tensor x = reshape_channels_last(dense_->forward(latents), 256, 4, 4);
    if (fuse_layers_) {
      for (std::size_t i = 0; i < convs_.size(); ++i) {
        const FoldedConv folded = fold_norm(convs_[i], norms_[i]);
        x = upsample_then_conv(x, folded.weight, folded.bias);
        if (!folded.normalised) {
          x = norms_[i]->forward(x);
        }
        x = at::leaky_relu(x, kLeakyReluSlope);
      }
      return at::sigmoid(upsample_then_conv(x, output_->weight, output_->bias));
    }
    for (std::size_t i = 0; i < convs_.size(); ++i) {
      x = upsample(x);
      x = at::leaky_relu(norms_[i]->forward(convs_[i]->forward(x)), kLeakyReluSlope);
    }
    return at::sigmoid(output_->forward(upsample(x)));
  }

 private:
  /// Nearest-neighbour upsampling by 2, as Keras' UpSampling2D.
  static at::Tensor upsample(const at::Tensor& x) {
    return at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
  }

  bool fuse_layers_;
  torch::nn::Linear dense_{nullptr};
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<KerasBatchNorm2d> norms_;
  torch::nn::Conv2d output_{nullptr};
};

class MnistEncoder : public Encoder {
 public:
  MnistEncoder(const NetworkOptions& options, at::Generator generator)
      : dropout_(options.dropout), generator_(std::move(generator)) {
    conv1_ = register_module("conv1", make_conv(1, 32, 3, /*stride=*/2, /*pad=*/0));
    conv2_ = register_module("conv2", make_conv(32, 64, 3, /*stride=*/2, /*pad=*/0));
    hidden_ = register_module("hidden", torch::nn::Linear(7 * 7 * 64, 16));
    bottleneck_ = register_module("bottleneck", torch::nn::Linear(16, options.latent_dim));
    mean_ = register_module("mean", torch::nn::Linear(options.latent_dim, options.latent_dim));
    log_var_ =
        register_module("log_var", torch::nn::Linear(options.latent_dim, options.latent_dim));
    initialise_like_keras(*this, generator_);
  }

  EncoderOutput forward(const at::Tensor& images, Representations* representations) override {
    at::Tensor x = input_dropout(images, kMnistDropout, dropout_, is_training(), generator_);
    if (representations != nullptr) {
      (*representations)["input"] = images.flatten(1);
    }
    x = conv1_->forward(pad_same_stride2(x));
    if (representations != nullptr) {
      (*representations)["conv1"] = x.flatten(1);
    }
    x = conv2_->forward(pad_same_stride2(at::relu(x)));
    if (representations != nullptr) {
      (*representations)["conv2"] = x.flatten(1);
    }

    // Flatten in Keras' channels-last order, [N, 7, 7, 64] -> [N, 3136].
    x = at::relu(x).permute({0, 2, 3, 1}).flatten(1);
    x = bottleneck_->forward(at::relu(hidden_->forward(x)));
    EncoderOutput output{mean_->forward(x), log_var_->forward(x)};
    if (representations != nullptr) {
      (*representations)["latent_mean"] = output.mean;
    }
    return output;
  }

 private:
  DropoutMode dropout_;
  at::Generator generator_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::Conv2d conv2_{nullptr};
  torch::nn::Linear hidden_{nullptr};
  torch::nn::Linear bottleneck_{nullptr};
  torch::nn::Linear mean_{nullptr};
  torch::nn::Linear log_var_{nullptr};
};

class MnistDecoder : public Decoder {
 public:
  MnistDecoder(const NetworkOptions& options, at::Generator generator) {
    dense_ = register_module("dense", torch::nn::Linear(options.latent_dim, 7 * 7 * 64));
    deconv1_ = register_module("deconv1", make_transposed(64, 64, /*stride=*/2, /*pad=*/0));
    deconv2_ = register_module("deconv2", make_transposed(64, 32, /*stride=*/2, /*pad=*/0));
    output_ = register_module("deconv3", make_transposed(32, 1, /*stride=*/1, /*pad=*/1));
    initialise_like_keras(*this, generator);
  }

  at::Tensor forward(const at::Tensor& latents) override {
    at::Tensor x = at::relu(reshape_channels_last(dense_->forward(latents), 64, 7, 7));
    x = at::relu(crop_same_stride2(deconv1_->forward(x)));
    x = at::relu(crop_same_stride2(deconv2_->forward(x)));
    return at::sigmoid(output_->forward(x));
  }

 private:
  static torch::nn::ConvTranspose2d make_transposed(
      std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t pad) {
    return torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(in, out, 3).stride(stride).padding(pad));
  }

  /// Crops the full transposed-convolution output `2 * H + 1` to `2 * H`. TensorFlow's 'same'
  /// transposed convolution is the gradient of a 'same' convolution that padded only the bottom
  /// and right, so it drops the last row and column.
  static at::Tensor crop_same_stride2(const at::Tensor& x) {
    return x.slice(2, 0, x.size(2) - 1).slice(3, 0, x.size(3) - 1);
  }

  torch::nn::Linear dense_{nullptr};
  torch::nn::ConvTranspose2d deconv1_{nullptr};
  torch::nn::ConvTranspose2d deconv2_{nullptr};
  torch::nn::ConvTranspose2d output_{nullptr};
};

}  // namespace

KerasBatchNorm2dImpl::KerasBatchNorm2dImpl(std::int64_t channels, BatchNormMode mode)
    : mode_(mode) {
  gamma_ = register_parameter("gamma", torch::ones({channels}));
  beta_ = register_parameter("beta", torch::zeros({channels}));
  running_mean_ = register_buffer("running_mean", torch::zeros({channels}));
  running_var_ = register_buffer("running_var", torch::ones({channels}));
}

at::Tensor KerasBatchNorm2dImpl::forward(const at::Tensor& x) {
  return at::batch_norm(
      x,
      gamma_,
      beta_,
      running_mean_,
      running_var_,
      uses_batch_statistics(),
      kBatchNormMomentum,
      kBatchNormEpsilon,
      /*cudnn_enabled=*/true);
}

bool KerasBatchNorm2dImpl::uses_batch_statistics() const {
  return mode_ == BatchNormMode::kBatch && is_training();
}

std::pair<at::Tensor, at::Tensor> KerasBatchNorm2dImpl::scale_and_shift() const {
  at::Tensor scale = gamma_ * at::rsqrt(running_var_ + kBatchNormEpsilon);
  at::Tensor shift = beta_ - running_mean_ * scale;
  return {std::move(scale), std::move(shift)};
}

Networks make_networks(const NetworkOptions& options, at::Generator generator) {
  Networks networks;
  if (options.architecture == Architecture::kMnistSmall) {
    networks.encoder = std::make_shared<MnistEncoder>(options, generator);
    networks.decoder = std::make_shared<MnistDecoder>(options, generator);
  } else {
    networks.encoder = std::make_shared<Shapes3dEncoder>(options, generator);
    networks.decoder = std::make_shared<Shapes3dDecoder>(options, generator);
  }
  return networks;
}

std::int64_t count_weights(const torch::nn::Module& module, bool trainable_only) {
  std::int64_t count = 0;
  for (const auto& parameter : module.parameters(/*recurse=*/true)) {
    count += parameter.numel();
  }
  if (!trainable_only) {
    for (const auto& buffer : module.buffers(/*recurse=*/true)) {
      count += buffer.numel();
    }
  }
  return count;
}

}  // namespace genmem::vae
