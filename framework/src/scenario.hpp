#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <genmem/parameters.hpp>

namespace genmem {

class PluginLoader;

/// One entry of the scenario's `[models]` table: which plugin fills a role, with its parameters.
struct ModelSpec {
  std::string role;
  std::string plugin;
  Parameters parameters;
};

/// One entry of the scenario's `[[steps]]` array.
struct StepSpec {
  std::string kind;
  Parameters parameters;
};

/// One varied key of a comparison: a dotted scenario key and the values it takes, each written
/// as in `--set` (TOML, or a bare string).
struct CompareAxis {
  std::string key;
  std::vector<std::string> values;
};

/// The scenario's optional `[compare]` table, which `genmem compare` reads.
struct CompareSpec {
  /// Keys to vary; a comparison runs every combination of their values.
  std::vector<CompareAxis> vary;
  /// Seeds per variant: scenario.seed, scenario.seed + 1, and so on.
  std::int64_t seeds = 1;
  /// Dotted summary.json keys shown in the comparison's table; empty shows every number.
  std::vector<std::string> metrics;
};

/// A validated scenario with every default filled in.
struct Scenario {
  std::filesystem::path file;
  std::string name;
  std::string description;
  std::int64_t seed = 0;
  std::int64_t threads = 0;
  std::string device = "cpu";
  std::vector<std::filesystem::path> plugin_paths;
  Parameters data;
  std::map<std::string, ModelSpec> models;
  std::vector<StepSpec> steps;
  CompareSpec compare;
};

/// Options that change how a scenario file is read.
struct ScenarioOverrides {
  /// `key=value` assignments from `--set`; the value is TOML, or a bare string.
  std::vector<std::string> assignments;
  /// Folders from `--plugin-path`, searched before the scenario's own `plugin_paths`.
  std::vector<std::filesystem::path> plugin_paths;
  /// Dotted keys removed before the assignments apply, such as "models.hippocampus.beta"; a key
  /// the scenario does not have is ignored.
  std::vector<std::string> removals;
};

/// The model roles a scenario can fill, with the interface each needs.
/// Maximum number of seeds a comparison runs per variant, so that a mistyped --seeds is caught.
inline constexpr std::int64_t kMaxCompareSeeds = 1000;

inline constexpr const char* kHippocampus = "hippocampus";
inline constexpr const char* kNeocortex = "neocortex";

/// Reads `path`, applies the overrides and validates everything against the declarations of the
/// framework, the plugins and the steps. Throws ConfigError citing file, line and key.
Scenario load_scenario(const std::filesystem::path& path, const ScenarioOverrides& overrides);

/// Validates a scenario given as TOML text; `origin` names it in messages.
Scenario parse_scenario(
    const std::string& text,
    const std::filesystem::path& origin,
    const ScenarioOverrides& overrides);

/// Writes the resolved scenario as TOML: every key, defaults included.
std::string format_scenario(const Scenario& scenario);

/// Returns the name from `candidates` closest to `name` by edit distance, or "" when none is
/// close enough to be a plausible misspelling.
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

/// Checks that `assignment`, the value of one `--set`, has the form key=value. Throws ConfigError
/// naming it otherwise.
void check_assignment_syntax(const std::string& assignment);

/// Returns `text` without its leading and trailing spaces and tabs.
std::string trim_blanks(const std::string& text);

/// Returns the `--set` assignment `assignment` with the blanks around its key and value removed,
/// so that `--set 'scenario.seed = 2'` reads as `scenario.seed=2`.
std::string normalise_assignment(const std::string& assignment);

/// Returns the plugin search path for a scenario: command line, environment, scenario, build
/// tree and install prefix.
std::vector<std::filesystem::path> scenario_plugin_search_path(
    const Scenario& scenario, const ScenarioOverrides& overrides);

}  // namespace genmem
