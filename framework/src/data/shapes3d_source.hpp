#pragma once

#include <cstdint>

#include <genmem/parameters.hpp>

#include "data/datasets.hpp"

namespace genmem {

/// Renders the `shapes3d_rendered` source's split. As in the original protocol, a fixed seeded
/// order of all 480,000 factor combinations is cut to its first 15,000 records. The first 13,500
/// are the training pool and the last 1,500 the test pool, and `train_items` and `test_items` are
/// taken from each pool in the way `[data] order` selects. Labels are the object's shape (4
/// classes), and `Dataset::factors` has all six factors.
DataSplit load_shapes3d_rendered(const Parameters& data, std::uint64_t seed);

}  // namespace genmem
