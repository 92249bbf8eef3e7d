#include "autoencoder.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <genmem/error.hpp>

namespace genmem {

namespace {

/// `vae` parameters that only a model with a KL term uses.
constexpr const char* kVaeOnlyParameters[] = {"kl_weight"};

bool is_vae_only(const std::string& name) {
  return std::find(std::begin(kVaeOnlyParameters), std::end(kVaeOnlyParameters), name)
      != std::end(kVaeOnlyParameters);
}

vae::VaeOptions make_deterministic(vae::VaeOptions options) {
  options.deterministic = true;
  options.kl_weight = 0.0;
  return options;
}

}  // namespace

std::vector<ParameterSpec> autoencoder_parameters() {
  std::vector<ParameterSpec> specs = vae_parameters();
  std::erase_if(specs, [](const ParameterSpec& spec) { return is_vae_only(spec.name); });
  return specs;
}

vae::VaeOptions autoencoder_options_from_context(const PluginContext& context) {
  // Check the values here, so errors name the autoencoder; the vae reader then finds them valid.
  PluginContext vae_context = context;
  Parameters& parameters = vae_context.parameters;
  for (const ParameterSpec& spec : autoencoder_parameters()) {
    if (!parameters.contains(spec.name)) {
      parameters.set(spec.name, spec.default_value);
    }
    const std::string problem = check_parameter_value(spec, parameters.values().at(spec.name));
    if (!problem.empty()) {
      throw ConfigError(
          "autoencoder: parameter '" + spec.name + "' " + problem
          + "; set a valid value in the scenario");
    }
  }
  parameters.set("kl_weight", 0.0);
  return make_deterministic(vae_options_from_context(vae_context));
}

Autoencoder::Autoencoder(const PluginContext& context)
    : Vae(autoencoder_options_from_context(context)) {}

Autoencoder::Autoencoder(vae::VaeOptions options) : Vae(make_deterministic(std::move(options))) {}

}  // namespace genmem
