// Exports the classical Hopfield network as the "classical_hopfield" associative-memory plugin.

#include <genmem/plugin.hpp>

#include "classical_hopfield.hpp"

GENMEM_MEMORY_PLUGIN(
    "classical_hopfield",
    "1.0.0",
    "Classical binary Hopfield network (Hopfield 1982) with Hebbian weights",
    genmem::classical_hopfield_parameters,
    genmem::ClassicalHopfield)
