#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario.hpp"

namespace genmem {

/// Command-line settings of `genmem run`.
struct RunOptions {
  std::filesystem::path scenario_file;
  ScenarioOverrides overrides;
  /// The run folder itself; when empty, a new folder under `runs_root` is made.
  std::filesystem::path output_dir;
  std::filesystem::path runs_root = "runs";
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> threads;
  /// Replay steps recompute their replays even when an earlier run's can be reused.
  bool recompute_replays = false;
};

/// The folder and headline numbers of a finished run.
struct RunOutcome {
  std::filesystem::path folder;
  nlohmann::json summary;
  double seconds = 0.0;
  /// The run's report.html, or empty when it could not be written.
  std::filesystem::path report;
};

/// Reads and validates the scenario with the command line's overrides applied, including
/// `--seed` and `--threads`, and checks the device.
Scenario prepare_scenario(const RunOptions& options);

/// Loads the scenario's plugins, creates its models and checks that the neocortex takes the data
/// source's images. Throws ConfigError when the shapes differ, and PluginLoadError or ModelError
/// when a plugin cannot be loaded or its model cannot be created.
void check_models(const Scenario& scenario, const ScenarioOverrides& overrides);

/// Checks what the steps read from outside the scenario, such as a load step's checkpoint, as a
/// run does before it creates its folder. Returns one message per step that could not run now,
/// or none.
std::vector<std::string> check_step_inputs(
    const Scenario& scenario, const ScenarioOverrides& overrides);

/// Runs a scenario end to end: checks it, loads data and plugins, creates the run folder and
/// runs each step. When a step fails the manifest records the error before it is rethrown.
RunOutcome run_scenario(const RunOptions& options);

}  // namespace genmem
