#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <genmem/associative_memory.hpp>
#include <genmem/generative_model.hpp>

#include "data/datasets.hpp"
#include "outputs/metrics_table.hpp"
#include "outputs/run_folder.hpp"
#include "scenario.hpp"

namespace genmem {

struct RankCorrelation;

/// Everything the steps of one run share.
struct RunContext {
  /// Seeds `generator` with the scenario's seed.
  RunContext(const Scenario& scenario, const RunFolder& output, DataSplit data);

  const Scenario& scenario;
  const RunFolder& output;
  DataSplit data;
  AssociativeMemory* hippocampus = nullptr;
  GenerativeModel* neocortex = nullptr;
  /// Labels of the stored patterns, in storage order, int64 `[N]`.
  at::Tensor stored_labels;
  /// Generative factors of the stored patterns by name, int64 `[N]` each, in storage order. The
  /// map is empty unless every stored pattern came from a data set with factors (Shapes3D).
  std::map<std::string, at::Tensor> stored_factors;
  /// Images recalled by the last replay step, `[N, C, H, W]` in [0, 1].
  at::Tensor replays;
  /// For each of those replays, the row of `replayed_memory` it ended nearest, int64 `[N]`.
  at::Tensor replay_nearest;
  /// The hippocampus's stored patterns when the last replay step ran, `[M, D]`, kept because later
  /// steps may clear the hippocampus or store more. It is undefined unless a later train step has
  /// `on = "nearest_memories"`. NOTE: a plugin that changed its stored tensor in place would
  /// change this one too, but the built-in memories replace theirs instead.
  at::Tensor replayed_memory;
  /// Headline numbers, written to summary.json.
  nlohmann::json summary = nlohmann::json::object();
  /// One row per measurement, written to metrics.csv.
  MetricsTable metrics;
  /// Seeded generator for every random choice the steps make.
  at::Generator generator;
  /// Position of the running step, counting from 1, for messages.
  std::size_t step_number = 0;
  /// Plugin name and version of the hippocampus, for cache keys.
  std::string hippocampus_plugin;
  /// Folders whose runs may hold reusable replays: each is searched one and two levels deep.
  std::vector<std::filesystem::path> cache_roots;
  /// Set by `genmem run --recompute-replays`: replay steps never reuse earlier replays.
  bool recompute_replays = false;
};

/// Returns the hippocampus, or throws ConfigError saying the scenario needs one for `step`.
AssociativeMemory& require_hippocampus(RunContext& context, const char* step);

/// Returns the neocortex, or throws ConfigError saying the scenario needs one for `step`.
GenerativeModel& require_neocortex(RunContext& context, const char* step);

/// Returns a rank correlation as summary JSON: `rho`, `p_value` and `p_value_exact` (null when
/// the series is too long to enumerate).
nlohmann::json describe_correlation(const RankCorrelation& correlation);

}  // namespace genmem
