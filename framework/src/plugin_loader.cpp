#include "plugin_loader.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <elf.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "guarded_models.hpp"
#include "scenario.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPluginPrefix = "libgenmem_plugin_";
constexpr const char* kPluginSuffix = ".so";

// Libraries are kept here for the life of the process and never closed.
void keep_loaded(boost::dll::shared_library library) {
  static std::mutex mutex;
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  std::lock_guard<std::mutex> lock(mutex);
  libraries->push_back(std::move(library));
}

std::vector<fs::path> split_path_list(const char* text) {
  std::vector<fs::path> paths;
  if (text == nullptr) {
    return paths;
  }
  std::string list(text);
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find(':', start);
    if (end == std::string::npos) {
      end = list.size();
    }
    if (end > start) {
      paths.emplace_back(list.substr(start, end - start));
    }
    start = end + 1;
  }
  return paths;
}

// Checks that `path` is a complete 64-bit ELF shared object: the header, and every program and
// section header table and segment it declares, lie inside the file. dlopen maps a truncated file
// and the process dies of SIGBUS on first access, so truncation must be caught before it.
// Returns "" when the file is complete, else what is wrong.
std::string check_elf_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  Elf64_Ehdr header{};
  file.read(reinterpret_cast<char*>(&header), sizeof(header));
  if (file.gcount() < 4 || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    return "it is not a shared library";
  }
  if (file.gcount() != sizeof(header) || header.e_ident[EI_CLASS] != ELFCLASS64) {
    return "it is not a complete 64-bit shared library";
  }

  if (header.e_type != ET_DYN) {
    return "it is an ELF file but not a shared library";
  }

  std::error_code error;
  const std::uint64_t size = fs::file_size(path, error);
  const auto fits = [&](std::uint64_t offset, std::uint64_t length) {
    return offset <= size && length <= size - offset;
  };
  if (!fits(header.e_phoff, std::uint64_t{header.e_phnum} * header.e_phentsize)
      || !fits(header.e_shoff, std::uint64_t{header.e_shnum} * header.e_shentsize)) {
    return fmt::format("it is truncated ({} bytes, shorter than its headers declare)", size);
  }

  for (std::uint16_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    file.seekg(static_cast<std::streamoff>(header.e_phoff + std::uint64_t{i} * header.e_phentsize));
    file.read(reinterpret_cast<char*>(&segment), sizeof(segment));
    if (file.gcount() != sizeof(segment) || !fits(segment.p_offset, segment.p_filesz)) {
      return fmt::format("it is truncated ({} bytes, shorter than its segments declare)", size);
    }
  }
  return "";
}

void check_descriptor(const fs::path& path, const PluginDescriptor* descriptor) {
  const std::string file = path.string();
  if (descriptor == nullptr) {
    throw PluginLoadError(fmt::format(
        "plugin '{}': its descriptor entry returned null; rebuild it with GENMEM_MEMORY_PLUGIN or "
        "GENMEM_GENERATIVE_PLUGIN",
        file));
  }
  if (descriptor->abi_version != GENMEM_PLUGIN_ABI_VERSION) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' was built for genmem plugin ABI {}, but this genmem uses ABI {}; rebuild the "
        "plugin against this genmem's headers",
        file,
        descriptor->abi_version,
        GENMEM_PLUGIN_ABI_VERSION));
  }
  if (descriptor->descriptor_size != sizeof(PluginDescriptor)) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' has a descriptor of {} bytes, but this genmem expects {}; rebuild the plugin "
        "against this genmem's headers",
        file,
        descriptor->descriptor_size,
        sizeof(PluginDescriptor)));
  }
  const char* torch_version = descriptor->torch_version != nullptr ? descriptor->torch_version : "";
  if (std::strcmp(torch_version, TORCH_VERSION) != 0) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' was built against LibTorch {}, but genmem runs LibTorch {}; rebuild the plugin "
        "with the same LibTorch (-DCMAKE_PREFIX_PATH)",
        file,
        torch_version,
        TORCH_VERSION));
  }
  if (descriptor->cxx11_abi != _GLIBCXX_USE_CXX11_ABI) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' was built with _GLIBCXX_USE_CXX11_ABI={}, but genmem uses {}; rebuild the "
        "plugin with LibTorch's compile flags (link it to the torch CMake target)",
        file,
        descriptor->cxx11_abi,
        _GLIBCXX_USE_CXX11_ABI));
  }
  const bool is_memory = descriptor->role == PluginRole::kAssociativeMemory;
  const bool is_model = descriptor->role == PluginRole::kGenerativeModel;
  if (descriptor->name == nullptr || descriptor->parameters == nullptr || (!is_memory && !is_model)
      || (is_memory && descriptor->create_memory == nullptr)
      || (is_model && descriptor->create_generative_model == nullptr)) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' has an incomplete descriptor (name, role, parameters and a factory are "
        "required); export it with GENMEM_MEMORY_PLUGIN or GENMEM_GENERATIVE_PLUGIN",
        file));
  }
}

// Runs a plugin's factory. An invalid parameter combination stays a ConfigError; anything else
// the factory throws means the plugin cannot be used and becomes a PluginLoadError.
template <typename Factory>
auto call_factory(const LoadedPlugin& plugin, Factory&& factory) -> decltype(factory()) {
  try {
    auto* created = factory();
    if (created == nullptr) {
      throw PluginLoadError(fmt::format(
          "plugin '{}' ({}) returned no model from its factory",
          plugin.name,
          plugin.path.string()));
    }
    return created;
  } catch (const PluginLoadError&) {
    throw;
  } catch (const ConfigError& error) {
    throw ConfigError(fmt::format("plugin '{}': {}", plugin.name, error.what()));
  } catch (const std::exception& error) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' ({}) failed to create its model: {}",
        plugin.name,
        plugin.path.string(),
        first_line(error.what())));
  }
}

}  // namespace

const char* plugin_role_name(PluginRole role) {
  return role == PluginRole::kAssociativeMemory ? "associative memory" : "generative model";
}

std::string plugin_role_with_article(PluginRole role) {
  return std::string(role == PluginRole::kAssociativeMemory ? "an " : "a ")
      + plugin_role_name(role);
}

std::string plugin_file_name(const std::string& name) {
  return kPluginPrefix + name + kPluginSuffix;
}

namespace {

// Returns the files in `folder` named like plugin files, sorted, or none when it is no folder.
std::vector<fs::path> plugin_files_in(const fs::path& folder) {
  std::vector<fs::path> files;
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    return files;
  }
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string file_name = entry.path().filename().string();
    if (file_name.starts_with(kPluginPrefix) && file_name.ends_with(kPluginSuffix)) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

PluginLoader::PluginLoader(std::vector<fs::path> search_path)
    : search_path_(std::move(search_path)) {}

std::vector<fs::path> PluginLoader::default_search_path(
    const std::vector<fs::path>& command_line, const std::vector<fs::path>& scenario) {
  std::vector<fs::path> paths = command_line;
  for (auto& path : split_path_list(std::getenv("GENMEM_PLUGIN_PATH"))) {
    paths.push_back(std::move(path));
  }
  paths.insert(paths.end(), scenario.begin(), scenario.end());
  // Folders a user named are expected to exist; the build tree and install prefix may not. A
  // command builds the search path more than once, so each folder is warned about once.
  static std::set<std::string> warned;
  static std::mutex warned_mutex;
  const std::lock_guard<std::mutex> lock(warned_mutex);
  for (const auto& path : paths) {
    std::error_code error;
    if (!fs::is_directory(path, error) && warned.insert(path.string()).second) {
      spdlog::warn(
          "plugin folder '{}' {}; check --plugin-path, GENMEM_PLUGIN_PATH and the scenario's "
          "plugin_paths, which name folders that contain plugin files",
          path.string(),
          fs::exists(path, error) ? "is a file, not a folder" : "does not exist");
    }
  }
  // The plugin folder of the prefix the program runs from comes before the build tree, so an
  // installed genmem loads its own plugins even while the build tree it came from still exists.
  // A program in the build tree has no such folder and falls through to the build tree.
  std::error_code error;
  const fs::path program = boost::dll::program_location(error);
  if (!error) {
    paths.push_back(program.parent_path().parent_path() / GENMEM_INSTALL_PLUGIN_SUBDIR);
  }
  paths.emplace_back(GENMEM_BUILD_PLUGIN_DIR);
  return paths;
}

LoadedPlugin PluginLoader::load_file(const fs::path& path) {
  const std::string file = path.string();
  if (!fs::exists(path)) {
    throw PluginLoadError(fmt::format("plugin file '{}' does not exist", file));
  }
  if (!fs::is_regular_file(path)) {
    throw PluginLoadError(fmt::format(
        "'{}' is not a genmem plugin: it is not a regular file; remove it from the plugin folder",
        file));
  }
  if (const std::string problem = check_elf_file(path); !problem.empty()) {
    throw PluginLoadError(fmt::format(
        "'{}' is not a genmem plugin: {}; remove it from the plugin folder or rebuild it with "
        "genmem_add_plugin()",
        file,
        problem));
  }

  boost::dll::shared_library library;
  try {
    library.load(boost::dll::fs::path(file), boost::dll::load_mode::rtld_lazy);
  } catch (const std::exception& error) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' could not be opened ({}); check that it was built on this machine against the "
        "same LibTorch",
        file,
        error.what()));
  }
  if (!library.has(kPluginEntryName)) {
    throw PluginLoadError(fmt::format(
        "'{}' is not a genmem plugin: it does not export '{}'; build it with genmem_add_plugin() "
        "and export it with GENMEM_MEMORY_PLUGIN or GENMEM_GENERATIVE_PLUGIN",
        file,
        kPluginEntryName));
  }

  // Only the plain-C head of the descriptor is read until every compatibility check has passed.
  auto entry = library.get<const PluginDescriptor*()>(kPluginEntryName);
  const PluginDescriptor* descriptor = entry();
  check_descriptor(path, descriptor);

  LoadedPlugin plugin;
  plugin.name = descriptor->name;
  plugin.version = descriptor->version != nullptr ? descriptor->version : "";
  plugin.summary = descriptor->summary != nullptr ? descriptor->summary : "";
  plugin.role = descriptor->role;
  plugin.path = fs::absolute(path);
  plugin.descriptor = descriptor;
  try {
    plugin.parameters = descriptor->parameters();
  } catch (const std::exception& error) {
    throw PluginLoadError(fmt::format(
        "plugin '{}' ({}) failed to declare its parameters: {}", plugin.name, file, error.what()));
  }
  keep_loaded(std::move(library));
  return plugin;
}

const LoadedPlugin& PluginLoader::load(const std::string& name) {
  for (const auto& plugin : loaded_) {
    if (plugin->name == name) {
      return *plugin;
    }
  }
  // A name becomes part of a file path, so it may not contain '/' or '..'.
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
  if (!valid) {
    throw PluginLoadError(fmt::format(
        "plugin name '{}' is invalid: a name has only letters, digits, '_' and '-', such as "
        "'modern_hopfield'; run 'genmem plugins' to list the available plugins",
        name));
  }

  std::string tried;
  for (const auto& folder : search_path_) {
    const fs::path candidate = folder / plugin_file_name(name);
    tried += (tried.empty() ? "" : ", ") + candidate.string();
    if (!fs::exists(candidate)) {
      continue;
    }
    auto plugin = std::make_unique<LoadedPlugin>(load_file(candidate));
    if (plugin->name != name) {
      throw PluginLoadError(fmt::format(
          "plugin file '{}' declares the name '{}', expected '{}'; rename the file or the plugin",
          candidate.string(),
          plugin->name,
          name));
    }
    spdlog::debug("loaded plugin {} {} from {}", plugin->name, plugin->version, candidate.string());
    loaded_.push_back(std::move(plugin));
    return *loaded_.back();
  }
  const std::string suggestion = closest_name(name, plugin_file_names());
  throw PluginLoadError(fmt::format(
      "plugin '{}' was not found{}; run 'genmem plugins' to list the available plugins, or add "
      "its folder with --plugin-path or GENMEM_PLUGIN_PATH (tried {})",
      name,
      suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion),
      tried));
}

std::vector<std::string> PluginLoader::plugin_file_names() const {
  std::vector<std::string> names;
  for (const auto& folder : search_path_) {
    for (const auto& file : plugin_files_in(folder)) {
      const std::string file_name = file.filename().string();
      names.push_back(file_name.substr(
          std::strlen(kPluginPrefix),
          file_name.size() - std::strlen(kPluginPrefix) - std::strlen(kPluginSuffix)));
    }
  }
  return names;
}

std::vector<LoadedPlugin> PluginLoader::discover() {
  std::vector<LoadedPlugin> plugins;
  // File names of skipped files. `load` stops at the first file of a name in search order, so a
  // later file of the same name cannot be used either.
  std::set<std::string> blocked;
  for (const auto& folder : search_path_) {
    for (const auto& file : plugin_files_in(folder)) {
      const std::string file_name = file.filename().string();
      if (blocked.count(file_name) > 0) {
        spdlog::warn(
            "skipped '{}': an unusable file of the same name comes earlier in the plugin search "
            "path and hides it; remove or rename that file",
            file.string());
        continue;
      }
      try {
        LoadedPlugin plugin = load_file(file);
        if (plugin_file_name(plugin.name) != file_name) {
          spdlog::warn(
              "skipped '{}': it declares the name '{}', so 'genmem' would look for it as '{}'",
              file.string(),
              plugin.name,
              plugin_file_name(plugin.name));
          blocked.insert(file_name);
          continue;
        }
        const bool seen = std::any_of(plugins.begin(), plugins.end(), [&](const LoadedPlugin& p) {
          return p.name == plugin.name;
        });
        if (!seen) {
          plugins.push_back(std::move(plugin));
        }
      } catch (const PluginLoadError& error) {
        spdlog::warn("skipped a plugin file: {}", error.what());
        blocked.insert(file_name);
      }
    }
  }
  return plugins;
}

std::unique_ptr<AssociativeMemory> create_memory(
    const LoadedPlugin& plugin, const PluginContext& context) {
  if (plugin.role != PluginRole::kAssociativeMemory) {
    throw ConfigError(fmt::format(
        "plugin '{}' is {}, but an associative memory is required here; choose a memory plugin "
        "such as modern_hopfield",
        plugin.name,
        plugin_role_with_article(plugin.role)));
  }
  AssociativeMemory* memory =
      call_factory(plugin, [&] { return plugin.descriptor->create_memory(context); });
  return make_guarded_memory(plugin.name, std::unique_ptr<AssociativeMemory>(memory));
}

std::unique_ptr<GenerativeModel> create_generative_model(
    const LoadedPlugin& plugin, const PluginContext& context) {
  if (plugin.role != PluginRole::kGenerativeModel) {
    throw ConfigError(fmt::format(
        "plugin '{}' is {}, but a generative model is required here; choose a generative "
        "plugin such as vae",
        plugin.name,
        plugin_role_with_article(plugin.role)));
  }
  GenerativeModel* model =
      call_factory(plugin, [&] { return plugin.descriptor->create_generative_model(context); });
  return make_guarded_model(plugin.name, std::unique_ptr<GenerativeModel>(model));
}

}  // namespace genmem
