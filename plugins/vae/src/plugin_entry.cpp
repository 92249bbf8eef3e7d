// Exports the `vae` generative-model plugin. This unit includes no <torch/torch.h>; the model is
// compiled into genmem_vae_impl.

#include <genmem/plugin.hpp>

#include "vae.hpp"

GENMEM_GENERATIVE_PLUGIN(
    "vae",
    "1.0.0",
    "Convolutional variational autoencoder (mnist_small, shapes3d_large)",
    genmem::vae_parameters,
    genmem::Vae)
