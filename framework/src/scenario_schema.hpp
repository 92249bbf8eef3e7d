#pragma once

#include <cstdint>
#include <vector>

#include <genmem/parameters.hpp>

namespace genmem {

/// Largest number of LibTorch threads that a scenario or `--threads` may request.
inline constexpr std::int64_t kMaxThreads = 256;

/// Keys of the scenario's `[scenario]` table, except `plugin_paths` (an array of folders).
const std::vector<ParameterSpec>& scenario_section_parameters();

/// Keys of the scenario's `[data]` table.
const std::vector<ParameterSpec>& data_section_parameters();

}  // namespace genmem
