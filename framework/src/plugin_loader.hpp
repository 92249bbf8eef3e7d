#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <genmem/plugin.hpp>

namespace genmem {

/// A plugin whose descriptor passed every check.
struct LoadedPlugin {
  std::string name;
  std::string version;
  std::string summary;
  PluginRole role = PluginRole::kAssociativeMemory;
  std::filesystem::path path;
  std::vector<ParameterSpec> parameters;
  const PluginDescriptor* descriptor = nullptr;
};

/// Returns "associative memory" or "generative model".
const char* plugin_role_name(PluginRole role);

/// Returns the role name with its indefinite article: "an associative memory", "a generative
/// model".
std::string plugin_role_with_article(PluginRole role);

/// Returns the file name a plugin called `name` is built as: `libgenmem_plugin_<name>.so`.
std::string plugin_file_name(const std::string& name);

/// Finds, opens and checks plugin libraries. Opened libraries stay loaded until the process ends:
/// LibTorch-linked libraries crash at exit when unloaded, and objects they created may outlive
/// the loader.
class PluginLoader {
 public:
  explicit PluginLoader(std::vector<std::filesystem::path> search_path);

  /// Builds the search path in priority order: `--plugin-path` folders, `GENMEM_PLUGIN_PATH`
  /// (colon-separated), the scenario's `plugin_paths`, the build tree, the install prefix.
  static std::vector<std::filesystem::path> default_search_path(
      const std::vector<std::filesystem::path>& command_line,
      const std::vector<std::filesystem::path>& scenario);

  /// Loads a plugin by name from the first search-path folder that has its file.
  const LoadedPlugin& load(const std::string& name);

  /// Opens one library file and checks its descriptor (ABI, LibTorch version, C++11 ABI flag).
  static LoadedPlugin load_file(const std::filesystem::path& path);

  /// Loads every plugin file found in the search path; files that fail are skipped with a warning.
  std::vector<LoadedPlugin> discover();

  /// Returns the plugin names that the files in the search path are named for, without loading
  /// them.
  std::vector<std::string> plugin_file_names() const;

  const std::vector<std::filesystem::path>& search_path() const { return search_path_; }

 private:
  std::vector<std::filesystem::path> search_path_;
  std::vector<std::unique_ptr<LoadedPlugin>> loaded_;
};

/// Creates the plugin's associative memory, with every later call guarded so that an exception
/// escaping the plugin is rethrown as a genmem error naming the plugin and the call.
std::unique_ptr<AssociativeMemory> create_memory(
    const LoadedPlugin& plugin, const PluginContext& context);

/// Creates the plugin's generative model; see `create_memory`.
std::unique_ptr<GenerativeModel> create_generative_model(
    const LoadedPlugin& plugin, const PluginContext& context);

}  // namespace genmem
