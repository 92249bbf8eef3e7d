// Exports the dense associative memory as the "dense_associative" associative-memory plugin.

#include <genmem/plugin.hpp>

#include "dense_associative.hpp"

GENMEM_MEMORY_PLUGIN(
    "dense_associative",
    "1.0.0",
    "Dense associative memory (Krotov & Hopfield 2016; Demircigil et al. 2017) with binary states",
    genmem::dense_associative_parameters,
    genmem::DenseAssociative)
