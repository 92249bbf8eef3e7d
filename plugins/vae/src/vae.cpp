#include "vae.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <zip.h>

#include <genmem/error.hpp>

#include "architectures.hpp"
#include "vae_state.hpp"

namespace genmem {

namespace {

/// Version of the file layout `Vae::save` writes, stored under `format_key`.
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

at::Device parse_device(const std::string& device, const std::string& model) {
  if (device == "cpu") {
    return at::kCPU;
  }
  if (device == "cuda") {
    if (!torch::cuda::is_available()) {
      throw ConfigError(
          model
          + ": device 'cuda' was requested but CUDA is not available in this LibTorch build or "
            "on this machine; set device = \"cpu\"");
    }
    return at::kCUDA;
  }
  throw ConfigError(
      model + ": device must be \"cpu\" or \"cuda\" (got \"" + device
      + "\"); fix the device setting");
}

/// Returns the archive key holding the file format version: "genmem_vae_format" or
/// "genmem_autoencoder_format". The key alone distinguishes the two kinds of file.
std::string format_key(const std::string& model) {
  return "genmem_" + model + "_format";
}

/// Returns "a vae model file" or "an autoencoder model file".
std::string describe_file_kind(const std::string& model) {
  return (model == "autoencoder" ? "an " : "a ") + model + " model file";
}

/// Returns whether the file at `path` begins as a zip archive does, as LibTorch's model files do.
bool starts_as_zip(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::array<char, 4> signature{};
  return file.read(signature.data(), signature.size())
      && signature == std::array<char, 4>{'P', 'K', '\x03', '\x04'};
}

/// Reads every entry of the zip archive at `path`, as LibTorch writes model files, and returns ""
/// when each entry is complete and matches its CRC-32, else what is wrong. LibTorch's own reader
/// skips the CRC checks, so without this a damaged copy of a file loads as other weights.
std::string archive_damage(const std::string& path) {
  int open_error = 0;
  const std::unique_ptr<zip_t, decltype(&zip_discard)> archive(
      zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &open_error), &zip_discard);
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, open_error);
    std::string description = zip_error_strerror(&error);
    zip_error_fini(&error);
    return "it is not a complete zip archive (" + description + ")";
  }
  std::vector<char> buffer(std::size_t{1} << 16);
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t index = 0; index < entries; ++index) {
    const char* name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(index), 0);
    const std::string entry = name == nullptr ? std::string("(unnamed)") : std::string(name);
    const std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(
        zip_fopen_index(archive.get(), static_cast<zip_uint64_t>(index), 0), &zip_fclose);
    if (!file) {
      return "its entry '" + entry + "' cannot be read (" + zip_strerror(archive.get()) + ")";
    }
    zip_int64_t read = 0;
    while ((read = zip_fread(file.get(), buffer.data(), buffer.size())) > 0) {
    }
    if (read < 0) {
      return "its entry '" + entry + "' does not read back intact (" + zip_file_strerror(file.get())
          + ")";
    }
  }
  return "";
}

/// Describes a model configuration for load errors.
std::string describe_configuration(
    const std::string& architecture, std::int64_t latent_dim, const std::string& batch_norm) {
  return "architecture '" + architecture + "', latent_dim " + std::to_string(latent_dim)
      + ", batch_norm '" + batch_norm + "'";
}

/// The code distribution stored in an autoencoder file; both tensors are undefined when the file
/// has none.
struct CodeDistribution {
  at::Tensor mean;
  at::Tensor std_dev;
};

/// Reads the optional `code_mean` and `code_std` of a deterministic model's file, float32
/// `[latent_dim]` on the CPU. Throws `IoError` when only one is present, either has the wrong
/// shape or a value that is not finite, or a standard deviation is negative. Returns undefined
/// tensors in VAE mode.
CodeDistribution read_code_distribution(
    torch::serialize::InputArchive& archive,
    const std::string& path,
    const vae::VaeOptions& options) {
  CodeDistribution codes;
  if (!options.deterministic) {
    return codes;
  }
  at::Tensor mean;
  at::Tensor std_dev;
  const bool has_mean = archive.try_read("code_mean", mean);
  const bool has_std = archive.try_read("code_std", std_dev);
  if (!has_mean && !has_std) {
    return codes;
  }
  const auto valid = [&](const at::Tensor& tensor) {
    return tensor.defined() && tensor.dim() == 1 && tensor.size(0) == options.latent_dim
        && tensor.is_floating_point() && at::isfinite(tensor).all().item<bool>();
  };
  if (!has_mean || !has_std || !valid(mean) || !valid(std_dev)
      || (std_dev < 0).any().item<bool>()) {
    throw IoError(
        "autoencoder: model file '" + path
        + "' has a missing or malformed code distribution (code_mean and code_std must both be "
          "finite [" + std::to_string(options.latent_dim)
        + "] tensors, code_std non-negative); write it again with the autoencoder plugin's save");
  }
  codes.mean = mean.to(at::kCPU, at::kFloat);
  codes.std_dev = std_dev.to(at::kCPU, at::kFloat);
  return codes;
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
  network_options.fuse_layers = options.fuse_layers;
  return network_options;
}

at::Tensor Vae::State::prepare_images(const at::Tensor& images, const char* caller) const {
  const std::vector<std::int64_t> expected = vae::architecture_image_shape(options.architecture);
  const bool shape_matches = images.defined() && images.dim() == 4 && images.size(1) == expected[0]
      && images.size(2) == expected[1] && images.size(3) == expected[2];
  if (!shape_matches) {
    const std::string got = images.defined() ? format_shape(images.sizes()) : "an undefined tensor";
    throw ConfigError(
        std::string(model_name()) + " " + caller + ": images must be [N, "
        + std::to_string(expected[0]) + ", " + std::to_string(expected[1]) + ", "
        + std::to_string(expected[2]) + "] for architecture '"
        + vae::architecture_name(options.architecture) + "' (got " + got
        + "); resize the images or choose the matching architecture");
  }
  if (!images.is_floating_point()) {
    throw ConfigError(
        std::string(model_name()) + " " + caller + ": images must be floating point in [0, 1] (got "
        + c10::toString(images.scalar_type()) + "); convert them to float32");
  }
  return images.to(device, at::kFloat).contiguous();
}

Vae::Vae(const PluginContext& context) : Vae(vae_options_from_context(context)) {}

Vae::Vae(const vae::VaeOptions& options) : state_(std::make_unique<State>()) {
  state_->options = options;
  state_->device = parse_device(options.device, state_->model_name());
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

vae::EncoderOutput Vae::State::encode_all(const at::Tensor& data) {
  std::vector<at::Tensor> means;
  std::vector<at::Tensor> log_vars;
  for_each_inference_batch(data, [&](const at::Tensor& batch) {
    vae::EncoderOutput output = networks.encoder->forward(batch, nullptr);
    means.push_back(output.mean);
    log_vars.push_back(output.log_var);
  });
  if (means.empty()) {
    const at::Tensor empty = at::empty({0, options.latent_dim}, data.options());
    return {empty, empty.clone()};
  }
  return {at::cat(means), at::cat(log_vars)};
}

void Vae::State::fit_code_distribution(const at::Tensor& data) {
  if (!options.deterministic) {
    return;
  }
  torch::NoGradGuard no_grad;
  const at::Tensor codes = encode_all(data).mean.to(at::kCPU);
  code_mean = codes.mean(/*dim=*/0);
  code_std = (codes - code_mean).square().mean(/*dim=*/0).sqrt();
}

Encoding Vae::encode(const at::Tensor& images) {
  const at::Tensor data = state_->prepare_images(images, "encode");
  vae::EncoderOutput output = state_->encode_all(data);
  if (state_->options.deterministic) {
    // The encoder's log-variance layer exists (the networks are the VAE's) but is never trained,
    // so its output is replaced by the documented constant.
    output.log_var = at::full_like(output.mean, vae::kDeterministicLogVariance);
  }
  return {output.mean, output.log_var};
}

at::Tensor Vae::decode(const at::Tensor& latents) {
  if (!latents.defined() || latents.dim() != 2 || latents.size(1) != latent_dim()) {
    const std::string got = latents.defined() ? format_shape(latents.sizes()) : "no tensor";
    throw ConfigError(
        std::string(state_->model_name()) + " decode: latents must be [N, "
        + std::to_string(latent_dim()) + "] (got " + got
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
  return decode(sample_latents(n));
}

at::Tensor Vae::sample_latents(std::int64_t n) {
  const std::string model = state_->model_name();
  if (n < 0) {
    throw ConfigError(
        model + " sample: the number of samples must be at least 0 (got " + std::to_string(n)
        + ")");
  }
  if (state_->options.deterministic && !state_->code_mean.defined()) {
    throw ModelError(
        "autoencoder sample: no code distribution to sample from, because an autoencoder has no "
        "prior and samples from a Gaussian fitted to the codes of its last fit's images; call "
        "fit or load a model saved after a fit first");
  }
  const at::Tensor noise = at::randn({n, latent_dim()}, state_->generator, at::kFloat);
  if (!state_->options.deterministic) {
    return noise;
  }
  return noise * state_->code_std + state_->code_mean;
}

at::Tensor Vae::code_mean() const {
  return state_->code_mean;
}

at::Tensor Vae::code_std() const {
  return state_->code_std;
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
  const std::string model = state_->model_name();
  torch::serialize::OutputArchive archive;
  archive.write(format_key(model), c10::IValue(kFileFormat));
  archive.write("architecture", c10::IValue(vae::architecture_name(state_->options.architecture)));
  archive.write("latent_dim", c10::IValue(state_->options.latent_dim));
  archive.write("batch_norm", c10::IValue(vae::batch_norm_mode_name(state_->options.batch_norm)));
  if (state_->code_mean.defined()) {
    archive.write("code_mean", state_->code_mean);
    archive.write("code_std", state_->code_std);
  }

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
        model + ": cannot write model file '" + path + "': " + error.what_without_backtrace()
        + "; check that the folder exists and is writable");
  }
}

void Vae::load(const std::string& path) {
  const std::string model = state_->model_name();
  std::error_code exists_error;
  if (std::filesystem::is_regular_file(path, exists_error) && starts_as_zip(path)) {
    if (const std::string damage = archive_damage(path); !damage.empty()) {
      throw IoError(
          model + ": model file '" + path + "' is damaged: " + damage
          + "; copy it again from its source, or write it again with the " + model
          + " plugin's save");
    }
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path, state_->device);
  } catch (const c10::Error& error) {
    // LibTorch ends some messages with a request to report them, which is not for our users.
    std::string reason = error.what_without_backtrace();
    reason = reason.substr(0, reason.find("  (Could this error message be improved?"));
    throw IoError(
        model + ": cannot read model file '" + path + "' (" + reason
        + "); check the path and that the file was written by the " + model + " plugin");
  }

  // A file of the other mode has the same layout under the other format key.
  const std::string other_model = vae::model_kind_name(!state_->options.deterministic);
  c10::IValue other_format;
  if (archive.try_read(format_key(other_model), other_format)) {
    throw IoError(
        model + ": '" + path + "' is " + describe_file_kind(other_model) + ", not "
        + describe_file_kind(model) + "; load it with the " + other_model + " plugin");
  }

  c10::IValue format;
  c10::IValue architecture;
  c10::IValue latent_dim;
  c10::IValue batch_norm;
  const bool has_header = archive.try_read(format_key(model), format)
      && archive.try_read("architecture", architecture)
      && archive.try_read("latent_dim", latent_dim) && archive.try_read("batch_norm", batch_norm);
  const bool header_valid = has_header && format.isInt() && format.toInt() == kFileFormat
      && architecture.isString() && latent_dim.isInt() && batch_norm.isString();
  if (!header_valid) {
    throw IoError(
        model + ": '" + path + "' is not " + describe_file_kind(model) + " of format "
        + std::to_string(kFileFormat) + "; write it with the " + model + " plugin's save");
  }

  const std::string configuration = describe_configuration(
      vae::architecture_name(state_->options.architecture),
      state_->options.latent_dim,
      vae::batch_norm_mode_name(state_->options.batch_norm));
  const std::string file = describe_configuration(
      architecture.toStringRef(), latent_dim.toInt(), batch_norm.toStringRef());
  if (file != configuration) {
    throw ConfigError(
        model + ": model file '" + path + "' contains " + file + " but this model has "
        + configuration + "; set the " + model + " parameters to match the file");
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
        model + ": model file '" + path + "' has missing or malformed weights: "
        + error.what_without_backtrace() + "; write it again with the " + model + " plugin's save");
  }
  const CodeDistribution codes = read_code_distribution(archive, path, state_->options);

  copy_weights(*loaded.encoder, *state_->networks.encoder);
  copy_weights(*loaded.decoder, *state_->networks.decoder);
  state_->code_mean = codes.mean;
  state_->code_std = codes.std_dev;
  state_->reset_optimizer();
}

}  // namespace genmem
