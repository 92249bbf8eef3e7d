// Exports the `autoencoder` generative-model plugin. This unit includes no <torch/torch.h>; the
// model is compiled into genmem_vae_impl and genmem_autoencoder_impl.

#include <genmem/plugin.hpp>

#include "autoencoder.hpp"

GENMEM_GENERATIVE_PLUGIN(
    "autoencoder",
    "1.0.0",
    "Deterministic convolutional autoencoder with the vae networks (mnist_small, shapes3d_large)",
    genmem::autoencoder_parameters,
    genmem::Autoencoder)
