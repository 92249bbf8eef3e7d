#pragma once

#include <vector>

#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "options.hpp"
#include "vae.hpp"

namespace genmem {

/// Declares the parameters of the `autoencoder` plugin: the `vae` parameters without
/// `kl_weight`, which a model with no KL term has no use for.
std::vector<ParameterSpec> autoencoder_parameters();

/// Reads and validates the `autoencoder` parameters of `context`; missing parameters take their
/// defaults. Returns `VaeOptions` with `deterministic` set and `kl_weight` 0. Throws `ConfigError`
/// naming the parameter when a value is invalid.
vae::VaeOptions autoencoder_options_from_context(const PluginContext& context);

/// A deterministic convolutional autoencoder, the non-generative control for the neocortex role.
/// It is `Vae` in deterministic mode: the same encoder and decoder, with the encoder's mean as
/// the code, no sampling noise and no KL term. `sample` decodes codes drawn from a diagonal
/// Gaussian fitted to the codes of the last `fit`'s images, and throws `ModelError` before that.
class Autoencoder final : public Vae {
 public:
  /// Builds an untrained model from the plugin parameters, device and seed.
  explicit Autoencoder(const PluginContext& context);

  /// Builds an untrained model from `options`, with `deterministic` forced on.
  explicit Autoencoder(vae::VaeOptions options);
};

}  // namespace genmem
