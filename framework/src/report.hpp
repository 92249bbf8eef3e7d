#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace genmem {

/// The set of plots a report draws again.
enum class PlotRedraw {
  /// Draws only the plots the report makes itself (training curves, latent map), as a run does
  /// when it ends: the steps have drawn theirs already.
  kReportPlots,
  /// Also runs every kept gnuplot script in `figures/` or `plots/` again, so edited scripts
  /// take effect. `genmem report` does this.
  kAll,
};

/// Writes `report.html` in the run folder `run_dir`: the scenario's name and description,
/// headline numbers, every figure with its caption, the metrics per epoch, versions and timing,
/// the resolved settings and links to every file. The page references only files that exist,
/// and works opened from disk with no network. Draws the training curves from `metrics.csv`
/// and the latent map from `latent_map.csv`. Without gnuplot it warns and leaves plots out.
/// Returns the report's path. Throws ConfigError when `run_dir` is not a run folder, and
/// IoError when a file cannot be read or written.
std::filesystem::path write_run_report(const std::filesystem::path& run_dir, PlotRedraw redraw);

/// Writes `report.html` in a folder made by `genmem compare`: the table of means and standard
/// errors per variant, a chart per metric, and each run with a link to its own report.
/// Throws as `write_run_report`.
std::filesystem::path write_comparison_report(
    const std::filesystem::path& compare_dir, PlotRedraw redraw);

/// Returns whether `folder` was written by `genmem compare` (it contains `comparison.csv`).
bool is_comparison_folder(const std::filesystem::path& folder);

/// Formats a number for reading in a table: whole numbers below 1e15 without a fraction, any
/// other number with 4 significant digits.
std::string format_display_number(double value);

/// Returns the scalar entries of `summary.json` as (dotted key, formatted value) pairs in the
/// order of their keys. Lists of up to 10 numbers are joined with commas; longer lists and lists of
/// objects are left out.
std::vector<std::pair<std::string, std::string>> headline_numbers(const nlohmann::json& summary);

}  // namespace genmem
