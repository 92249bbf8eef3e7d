#pragma once

#include <memory>
#include <string>

#include <genmem/associative_memory.hpp>
#include <genmem/generative_model.hpp>

namespace genmem {

/// Returns the first line of an exception message; LibTorch appends multi-line backtraces.
std::string first_line(const char* message);

/// Wraps a plugin's memory so that every exception leaving a call is rethrown as a genmem error
/// that names the plugin and the call. genmem error types are kept; others become ModelError.
std::unique_ptr<AssociativeMemory> make_guarded_memory(
    std::string plugin, std::unique_ptr<AssociativeMemory> memory);

/// Wraps a plugin's generative model; see `make_guarded_memory`.
std::unique_ptr<GenerativeModel> make_guarded_model(
    std::string plugin, std::unique_ptr<GenerativeModel> model);

}  // namespace genmem
