// Exports the modern Hopfield network as the "modern_hopfield" associative-memory plugin.

#include <genmem/plugin.hpp>

#include "modern_hopfield.hpp"

GENMEM_MEMORY_PLUGIN(
    "modern_hopfield",
    "1.1.0",
    "Modern Hopfield network (Ramsauer et al. 2020) with one-shot storage",
    genmem::modern_hopfield_parameters,
    genmem::ModernHopfield)
