// Parameter declarations of the `vae` plugin and their conversion to `vae::VaeOptions`.

#include <string>
#include <vector>

#include <genmem/error.hpp>

#include "vae.hpp"

namespace genmem {

std::vector<ParameterSpec> vae_parameters() {
  return {
      choice_parameter(
          "architecture",
          "mnist_small",
          {"mnist_small", "shapes3d_large"},
          "network layout: 'mnist_small' for 1x28x28 images, 'shapes3d_large' for 3x64x64"),
      int_parameter("latent_dim", 20, 1.0, std::nullopt, "number of latent variables"),
      choice_parameter(
          "loss",
          "l1",
          {"l1", "bce"},
          "reconstruction error per pixel, averaged over channels and summed over pixels: "
          "'l1' absolute error (the original) or 'bce' binary cross-entropy"),
      float_parameter(
          "kl_weight", 1.0, 0.0, std::nullopt, "weight of the KL divergence in the loss"),
      [] {
        ParameterSpec spec =
            float_parameter("learning_rate", 0.001, 0.0, std::nullopt, "Adam (AMSGrad) step size");
        spec.min_exclusive = true;
        return spec;
      }(),
      int_parameter("batch_size", 32, 1.0, std::nullopt, "images per gradient step", "images"),
      int_parameter("epochs", 10, 1.0, std::nullopt, "maximum passes over the data", "epochs"),
      int_parameter(
          "patience",
          3,
          0.0,
          std::nullopt,
          "epochs without a lower mean training loss before training stops; 0 disables early "
          "stopping",
          "epochs"),
      choice_parameter(
          "batch_norm",
          "frozen",
          {"frozen", "batch"},
          "'frozen' keeps batch normalisation in inference mode while training, as the "
          "original did (a learned per-channel scale and shift); 'batch' uses batch statistics"),
      choice_parameter(
          "dropout",
          "inactive",
          {"inactive", "active"},
          "'inactive' skips the input dropout while training, as the original did; 'active' "
          "applies it"),
      bool_parameter("shuffle", true, "shuffle the images before every epoch"),
      bool_parameter(
          "fuse_layers",
          true,
          "shapes3d_large only: compute each frozen batch normalisation inside the convolution "
          "before it, and each upsampling with the convolution after it. The function is the "
          "same up to float32 rounding and training takes about 3/4 of the time. false runs the "
          "layers one by one, as the original"),
      int_parameter(
          "batch_workers",
          0,
          0.0,
          std::nullopt,
          "parts each training batch is split into, computed at the same time on separate "
          "threads with one thread each; their gradients add up to the whole batch's. 0 uses "
          "one part per intra-op thread when batch_norm is 'frozen' and dropout 'inactive', and "
          "1 otherwise. 1 computes each batch at once on all intra-op threads, as PyTorch does",
          "threads"),
  };
}

vae::VaeOptions vae_options_from_context(const PluginContext& context) {
  // Fill in defaults for parameters the caller left out, then check every value.
  Parameters parameters = context.parameters;
  for (const ParameterSpec& spec : vae_parameters()) {
    if (!parameters.contains(spec.name)) {
      parameters.set(spec.name, spec.default_value);
    }
    const std::string problem = check_parameter_value(spec, parameters.values().at(spec.name));
    if (!problem.empty()) {
      throw ConfigError(
          "vae: parameter '" + spec.name + "' " + problem + "; set a valid value in the scenario");
    }
  }

  vae::VaeOptions options;
  options.architecture = parameters.get_string("architecture") == "mnist_small"
      ? vae::Architecture::kMnistSmall
      : vae::Architecture::kShapes3dLarge;
  options.latent_dim = parameters.get_int("latent_dim");
  options.loss = parameters.get_string("loss") == "l1"
      ? vae::ReconstructionLoss::kL1
      : vae::ReconstructionLoss::kBinaryCrossEntropy;
  options.kl_weight = parameters.get_float("kl_weight");
  options.learning_rate = parameters.get_float("learning_rate");
  options.batch_size = parameters.get_int("batch_size");
  options.epochs = parameters.get_int("epochs");
  options.patience = parameters.get_int("patience");
  options.batch_norm = parameters.get_string("batch_norm") == "frozen" ? vae::BatchNormMode::kFrozen
                                                                       : vae::BatchNormMode::kBatch;
  options.dropout = parameters.get_string("dropout") == "inactive" ? vae::DropoutMode::kInactive
                                                                   : vae::DropoutMode::kActive;
  options.shuffle = parameters.get_bool("shuffle");
  options.fuse_layers = parameters.get_bool("fuse_layers");
  options.batch_workers = parameters.get_int("batch_workers");
  if (options.batch_workers > 1
      && (options.batch_norm != vae::BatchNormMode::kFrozen
          || options.dropout != vae::DropoutMode::kInactive)) {
    throw ConfigError(
        "vae: parameter 'batch_workers' is " + std::to_string(options.batch_workers)
        + ", but parts of a batch can be computed apart only with batch_norm = \"frozen\" and "
          "dropout = \"inactive\"; set batch_workers to 0 or 1, or use those settings");
  }
  options.device = context.device;
  options.seed = context.seed;
  return options;
}

}  // namespace genmem
