#pragma once

#include <cstdint>
#include <filesystem>

#include <genmem/parameters.hpp>

#include "data/datasets.hpp"

namespace genmem {

/// Renders the `shapes3d_rendered` source's split. As in the original protocol, a fixed seeded
/// order of all 480,000 factor combinations is cut to its first `[data] subset` records (15,000
/// by default). The first nine tenths (13,500) are the training pool and the last tenth (1,500)
/// the test pool, and `train_items` and `test_items` are
/// taken from each pool in the way `[data] order` selects. Labels are the object's shape (4
/// classes), and `Dataset::factors` has all six factors. When `cache_dir` is not empty, the
/// rendered images of each pool's selection are kept there and reused by later loads.
DataSplit load_shapes3d_rendered(
    const Parameters& data, const std::filesystem::path& cache_dir, std::uint64_t seed);

/// Reads the `shapes3d` source's split from DeepMind's `3dshapes.h5` at `file`, with the same
/// record order, pools and selection as load_shapes3d_rendered. A file with fewer records than
/// the published 480,000 is cut to its first min(subset, N) records in the seeded order, and
/// the last tenth of those form the test pool.
DataSplit load_shapes3d_file(
    const Parameters& data, const std::filesystem::path& file, std::uint64_t seed);

/// Renders the scenes of int64 record indices `records [N]`, labelled with their factors.
Dataset shapes3d_rendered_records(const at::Tensor& records);

/// Reads the scenes of `records [N]` from DeepMind's `3dshapes.h5` at `file`.
Dataset shapes3d_file_records(const std::filesystem::path& file, const at::Tensor& records);

}  // namespace genmem
