#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner.hpp"
#include "scenario.hpp"

namespace genmem {

/// Command-line settings of `genmem compare`.
struct CompareOptions {
  /// The scenario, `--set` overrides, plugin paths and threads shared by every run. Its
  /// `output_dir` and `seed` are ignored: each run gets its own folder and seed.
  RunOptions run;
  /// `--vary` axes; each replaces the scenario's `[compare.vary]` axis of the same key.
  std::vector<CompareAxis> vary;
  std::optional<std::int64_t> seeds;
  /// `--metric` keys; when given they replace the scenario's `compare.metrics`.
  std::vector<std::string> metrics;
  /// Folder of the comparison; when empty, runs/<scenario name>-compare.
  std::filesystem::path output_dir;
};

/// One combination of the varied values, after plugin-aware filtering.
struct CompareVariant {
  /// For example "plugin=classical_hopfield, beta=10"; "base" when nothing is varied.
  std::string label;
  /// Folder name derived from the label.
  std::string slug;
  /// `key=value` assignments applied on top of the command line's `--set`.
  std::vector<std::string> assignments;
  /// Model keys dropped because the variant's plugin does not declare them.
  std::vector<std::string> removals;
};

/// The outcome of one run of one variant with one seed.
struct CompareRun {
  std::string variant;
  std::int64_t seed = 0;
  std::filesystem::path folder;
  /// "completed" (run now), "reused" (completed in an earlier comparison with the same settings)
  /// or "failed".
  std::string status;
  std::string error;
  /// Every number in the run's summary.json, by dotted key.
  std::map<std::string, double> metrics;
};

struct CompareOutcome {
  std::filesystem::path folder;
  std::vector<CompareVariant> variants;
  std::vector<CompareRun> runs;
};

/// Builds the variants: the cartesian product of the axes in order. When a variant sets
/// `models.ROLE.plugin`, the scenario's parameters of that role that the new plugin does not
/// declare are removed, and varied parameters it does not declare are left out. Variants that
/// end up with the same assignments are kept once. `declared` returns a plugin's parameter names
/// (none for a plugin that cannot be loaded), and `known` the names any plugin found declares.
/// Throws ConfigError for a varied model key that is not in `known`, and for varying
/// `scenario.seed`.
std::vector<CompareVariant> build_variants(
    const Scenario& base,
    const std::vector<CompareAxis>& axes,
    const std::function<std::vector<std::string>(const std::string&)>& declared,
    const std::vector<std::string>& known);

/// Returns every number of a summary by dotted key ("replay.distinct_patterns"); booleans count
/// as 0 or 1, arrays and strings are skipped.
std::map<std::string, double> flatten_summary(const nlohmann::json& summary);

/// Splits the text of one `--vary key=v1,v2` option. Throws ConfigError for a malformed one.
CompareAxis parse_vary(const std::string& text);

/// Runs every variant with every seed, each in `<folder>/<variant slug>/seed-<seed>`, and writes
/// comparison.csv, comparison.md, comparison.json and a bar chart per headline metric. A run that
/// completed before with the same resolved scenario is reused; any other earlier run folder is
/// renamed to `seed-<seed>.replaced-<n>`. A failing run is recorded and the others go on. Throws
/// ConfigError when the base scenario or the command line is invalid, and InterruptedError on
/// SIGINT.
CompareOutcome run_comparison(const CompareOptions& options);

}  // namespace genmem
