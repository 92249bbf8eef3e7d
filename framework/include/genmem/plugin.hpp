#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/config.hpp>
#include <torch/version.h>

#include <genmem/associative_memory.hpp>
#include <genmem/generative_model.hpp>
#include <genmem/parameters.hpp>

/// Version of the binary interface between the core and its plugins. Raise it whenever the
/// descriptor, an interface or a type crossing the boundary changes layout.
#define GENMEM_PLUGIN_ABI_VERSION 3

namespace genmem {

/// The role a plugin fills in a scenario.
enum class PluginRole : std::int32_t {
  kAssociativeMemory = 1,
  kGenerativeModel = 2
};

/// Everything a plugin's factory receives.
struct PluginContext {
  /// The plugin's validated parameters, with defaults filled in.
  Parameters parameters;
  /// "cpu" or "cuda".
  std::string device = "cpu";
  std::uint64_t seed = 0;
};

/// Returned by the exported `genmem_plugin_descriptor` entry. The loader reads the fields up to
/// `cxx11_abi`, which are plain C, before it calls anything that passes C++ types.
struct PluginDescriptor {
  std::uint32_t abi_version;
  std::uint32_t descriptor_size;
  const char* name;
  const char* version;
  const char* summary;
  PluginRole role;
  /// LibTorch version the plugin was compiled against, for example "1.13.0".
  const char* torch_version;
  /// Value of `_GLIBCXX_USE_CXX11_ABI` the plugin was compiled with.
  std::int32_t cxx11_abi;

  std::vector<ParameterSpec> (*parameters)();
  /// Exactly one factory is set, matching `role`. The caller owns the returned object.
  AssociativeMemory* (*create_memory)(const PluginContext& context);
  GenerativeModel* (*create_generative_model)(const PluginContext& context);
};

/// Name of the symbol every plugin exports.
inline constexpr const char* kPluginEntryName = "genmem_plugin_descriptor";

}  // namespace genmem

#define GENMEM_DETAIL_PLUGIN(name, version, summary, parameters_fn, role, memory_fn, model_fn)  \
  extern "C" BOOST_SYMBOL_EXPORT const ::genmem::PluginDescriptor* genmem_plugin_descriptor() { \
    static const ::genmem::PluginDescriptor descriptor{                                         \
        GENMEM_PLUGIN_ABI_VERSION,                                                              \
        sizeof(::genmem::PluginDescriptor),                                                     \
        name,                                                                                   \
        version,                                                                                \
        summary,                                                                                \
        role,                                                                                   \
        TORCH_VERSION,                                                                          \
        _GLIBCXX_USE_CXX11_ABI,                                                                 \
        parameters_fn,                                                                          \
        memory_fn,                                                                              \
        model_fn};                                                                              \
    return &descriptor;                                                                         \
  }

/// Exports an associative-memory plugin. `Type` has a constructor taking `const PluginContext&`
/// and `parameters_fn` returns its `std::vector<ParameterSpec>`.
#define GENMEM_MEMORY_PLUGIN(name, version, summary, parameters_fn, Type)          \
  GENMEM_DETAIL_PLUGIN(                                                            \
      name,                                                                        \
      version,                                                                     \
      summary,                                                                     \
      parameters_fn,                                                               \
      ::genmem::PluginRole::kAssociativeMemory,                                    \
      [](const ::genmem::PluginContext& context) -> ::genmem::AssociativeMemory* { \
        return new Type(context);                                                  \
      },                                                                           \
      nullptr)

/// Exports a generative-model plugin; see `GENMEM_MEMORY_PLUGIN`.
#define GENMEM_GENERATIVE_PLUGIN(name, version, summary, parameters_fn, Type)    \
  GENMEM_DETAIL_PLUGIN(                                                          \
      name,                                                                      \
      version,                                                                   \
      summary,                                                                   \
      parameters_fn,                                                             \
      ::genmem::PluginRole::kGenerativeModel,                                    \
      nullptr,                                                                   \
      [](const ::genmem::PluginContext& context) -> ::genmem::GenerativeModel* { \
        return new Type(context);                                                \
      })
