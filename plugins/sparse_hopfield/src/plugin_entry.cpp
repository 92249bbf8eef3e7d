// Exports the sparse modern Hopfield network as the "sparse_hopfield" associative-memory plugin.

#include <genmem/plugin.hpp>

#include "modern_hopfield.hpp"

GENMEM_MEMORY_PLUGIN(
    "sparse_hopfield",
    "1.1.0",
    "Sparse modern Hopfield network: sparsemax or 1.5-entmax retrieval (Hu et al. 2023)",
    genmem::sparse_hopfield_parameters,
    genmem::SparseHopfield)
