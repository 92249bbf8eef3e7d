#include "vae.hpp"

#include <sstream>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <genmem/error.hpp>

#include "architectures.hpp"
#include "vae_state.hpp"

namespace genmem {

namespace {

/// Version of the file layout `Vae::save` writes.
constexpr std::int64_t kFileFormat = 1;

// Keras' Adam defaults, which the original used.
constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEpsilon = 1e-7;

std::string format_shape(at::IntArrayRef shape) {
  std::ostringstream text;
  text << shape;
  return text.str();
}

at::Device parse_device(const std::string& device) {
  if (device == "cpu") {
    return at::kCPU;
  }
  if (device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw ConfigError(
          "vae: device 'cuda' was requested but CUDA is not available in this LibTorch build or "
          "on this machine; set device = \"cpu\"");
    }
    return at::kCUDA;
  }
  throw ConfigError(
      "vae: device must be \"cpu\" or \"cuda\" (got \"" + device + "\"); fix the device setting");
}

/// Describes a model configuration for load errors.
std::string describe_configuration(
    const std::string& architecture, std::int64_t latent_dim, const std::string& batch_norm) {
  return "architecture '" + architecture + "', latent_dim " + std::to_string(latent_dim)
      + ", batch_norm '" + batch_norm + "'";
}

/// Copies every parameter and buffer of `source` into the same-named tensor of `target`, keeping
/// the target tensors (which the optimiser refers to) in place.
void copy_weights(const torch::nn::Module& source, torch::nn::Module& target) {
  torch::NoGradGuard no_grad;
  const auto source_parameters = source.named_parameters();
  for (auto& item : target.named_parameters()) {
    item.value().copy_(source_parameters[item.key()]);
  }
  const auto source_buffers = source.named_buffers();
  for (auto& item : target.named_buffers()) {
    item.value().copy_(source_buffers[item.key()]);
  }
}

}  // namespace

void Vae::State::reset_optimizer() {
  std::vector<at::Tensor> parameters = networks.encoder->parameters();
  for (const auto& parameter : networks.decoder->parameters()) {
    parameters.push_back(parameter);
  }
  optimizer = std::make_unique<torch::optim::Adam>(
      parameters,
      torch::optim::AdamOptions(options.learning_rate)
          .betas({kAdamBeta1, kAdamBeta2})
          .eps(kAdamEpsilon)
          .amsgrad(true));
}

vae::NetworkOptions Vae::State::network_options() const {
  vae::NetworkOptions network_options;
  network_options.architecture = options.architecture;
  network_options.latent_dim = options.latent_dim;
  network_options.batch_norm = options.batch_norm;
  network_options.dropout = options.dropout;
  return network_options;
}

at::Tensor Vae::State::prepare_images(const at::Tensor& images, const char* caller) const {
  const std::vector<std::int64_t> expected = vae::architecture_image_shape(options.architecture);
  const bool shape_matches = images.defined() && images.dim() == 4 && images.size(1) == expected[0]
      && images.size(2) == expected[1] && images.size(3) == expected[2];
  if (!shape_matches) {
    const std::string got = images.defined() ? format_shape(images.sizes()) : "an undefined tensor";
    throw ConfigError(
        std::string("vae ") + caller + ": images must be [N, " + std::to_string(expected[0]) + ", "
        + std::to_string(expected[1]) + ", " + std::to_string(expected[2]) + "] for architecture '"
        + vae::architecture_name(options.architecture) + "' (got " + got
        + "); resize the images or choose the matching architecture");
  }
  if (!images.is_floating_point()) {
    throw ConfigError(
        std::string("vae ") + caller + ": images must be floating point in [0, 1] (got "
        + c10::toString(images.scalar_type()) + "); convert them to float32");
  }
  return images.to(device, at::kFloat).contiguous();
}

Vae::Vae(const PluginContext& context) : Vae(vae_options_from_context(context)) {}

Vae::Vae(const vae::VaeOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->device = parse_device(options.device);
  state_->generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  state_->networks = vae::make_networks(state_->network_options(), state_->generator);
  state_->networks.encoder->to(state_->device);
  state_->networks.decoder->to(state_->device);
  state_->set_training(false);
  state_->reset_optimizer();
}

Vae::~Vae() = default;

const vae::VaeOptions& Vae::options() const {
  return state_->options;
}

std::int64_t Vae::latent_dim() const {
  return state_->options.latent_dim;
}

std::vector<std::int64_t> Vae::image_shape() const {
  return vae::architecture_image_shape(state_->options.architecture);
}

Encoding Vae::encode(const at::Tensor& images) {
  const at::Tensor data = state_->prepare_images(images, "encode");
  std::vector<at::Tensor> means;
  std::vector<at::Tensor> log_vars;
  state_->for_each_inference_batch(data, [&](const at::Tensor& batch) {
    vae::EncoderOutput output = state_->networks.encoder->forward(batch, nullptr);
    means.push_back(output.mean);
    log_vars.push_back(output.log_var);
  });
  if (means.empty()) {
    const at::Tensor empty = at::empty({0, latent_dim()}, data.options());
    return {empty, empty.clone()};
  }
  return {at::cat(means), at::cat(log_vars)};
}

at::Tensor Vae::decode(const at::Tensor& latents) {
  if (!latents.defined() || latents.dim() != 2 || latents.size(1) != latent_dim()) {
    const std::string got = latents.defined() ? format_shape(latents.sizes()) : "no tensor";
    throw ConfigError(
        "vae decode: latents must be [N, " + std::to_string(latent_dim()) + "] (got " + got
        + "); pass latents of the model's latent_dim");
  }
  const at::Tensor data = latents.to(state_->device, at::kFloat).contiguous();
  std::vector<at::Tensor> images;
  state_->for_each_inference_batch(data, [&](const at::Tensor& batch) {
    images.push_back(state_->networks.decoder->forward(batch));
  });
  if (images.empty()) {
    std::vector<std::int64_t> shape = image_shape();
    shape.insert(shape.begin(), 0);
    return at::empty(shape, data.options());
  }
  return at::cat(images);
}

at::Tensor Vae::sample(std::int64_t n) {
  if (n < 0) {
    throw ConfigError(
        "vae sample: the number of samples must be at least 0 (got " + std::to_string(n) + ")");
  }
  const at::Tensor latents = at::randn({n, latent_dim()}, state_->generator, at::kFloat);
  return decode(latents);
}

std::map<std::string, at::Tensor> Vae::representations(const at::Tensor& images) {
  const at::Tensor data = state_->prepare_images(images, "representations");
  std::map<std::string, std::vector<at::Tensor>> parts;
  state_->for_each_inference_batch(data, [&](const at::Tensor& batch) {
    vae::Representations layers;
    state_->networks.encoder->forward(batch, &layers);
    for (auto& [name, activation] : layers) {
      parts[name].push_back(activation);
    }
  });

  std::map<std::string, at::Tensor> result;
  for (auto& [name, pieces] : parts) {
    result[name] = at::cat(pieces);
  }
  return result;
}

void Vae::save(const std::string& path) const {
  torch::serialize::OutputArchive archive;
  archive.write("genmem_vae_format", c10::IValue(kFileFormat));
  archive.write("architecture", c10::IValue(vae::architecture_name(state_->options.architecture)));
  archive.write("latent_dim", c10::IValue(state_->options.latent_dim));
  archive.write("batch_norm", c10::IValue(vae::batch_norm_mode_name(state_->options.batch_norm)));

  torch::serialize::OutputArchive encoder_archive;
  state_->networks.encoder->save(encoder_archive);
  archive.write("encoder", encoder_archive);
  torch::serialize::OutputArchive decoder_archive;
  state_->networks.decoder->save(decoder_archive);
  archive.write("decoder", decoder_archive);

  try {
    archive.save_to(path);
  } catch (const c10::Error& error) {
    throw IoError(
        "vae: cannot write model file '" + path + "': " + error.what_without_backtrace()
        + "; check that the folder exists and is writable");
  }
}

void Vae::load(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, state_->device);
  } catch (const c10::Error& error) {
    throw IoError(
        "vae: cannot read model file '" + path + "': " + error.what_without_backtrace()
        + "; check the path and that the file was written by the vae plugin");
  }

  c10::IValue format;
  c10::IValue architecture;
  c10::IValue latent_dim;
  c10::IValue batch_norm;
  const bool has_header = archive.try_read("genmem_vae_format", format)
      && archive.try_read("architecture", architecture)
      && archive.try_read("latent_dim", latent_dim) && archive.try_read("batch_norm", batch_norm);
  const bool header_valid = has_header && format.isInt() && format.toInt() == kFileFormat
      && architecture.isString() && latent_dim.isInt() && batch_norm.isString();
  if (!header_valid) {
    throw IoError(
        "vae: '" + path + "' is not a vae model file of format " + std::to_string(kFileFormat)
        + "; write it with the vae plugin's save");
  }

  const std::string model = describe_configuration(
      vae::architecture_name(state_->options.architecture),
      state_->options.latent_dim,
      vae::batch_norm_mode_name(state_->options.batch_norm));
  const std::string file = describe_configuration(
      architecture.toStringRef(), latent_dim.toInt(), batch_norm.toStringRef());
  if (file != model) {
    throw ConfigError(
        "vae: model file '" + path + "' contains " + file + " but this model has " + model
        + "; set the vae parameters to match the file");
  }

  // Read into fresh networks first, so a malformed file leaves the model unchanged. Their initial
  // weights come from a separate generator, so loading does not advance the model's own.
  vae::Networks loaded = vae::make_networks(
      state_->network_options(), at::make_generator<at::CPUGeneratorImpl>(/*seed_in=*/0));
  try {
    torch::serialize::InputArchive encoder_archive;
    archive.read("encoder", encoder_archive);
    loaded.encoder->load(encoder_archive);
    torch::serialize::InputArchive decoder_archive;
    archive.read("decoder", decoder_archive);
    loaded.decoder->load(decoder_archive);
  } catch (const c10::Error& error) {
    throw IoError(
        "vae: model file '" + path + "' has missing or malformed weights: "
        + error.what_without_backtrace() + "; write it again with the vae plugin's save");
  }
  copy_weights(*loaded.encoder, *state_->networks.encoder);
  copy_weights(*loaded.decoder, *state_->networks.decoder);
  state_->reset_optimizer();
}

}  // namespace genmem
