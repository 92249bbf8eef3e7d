#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include <genmem/progress.hpp>

namespace genmem {

/// Per-call settings of `AssociativeMemory::recall`; unset fields take the plugin's parameters.
struct RecallOptions {
  std::optional<std::int64_t> max_steps;
  /// When true, `RecallResult::energy` is filled.
  bool record_energy = false;
  /// Progress callback, called after each chunk with the cues recalled so far and the number of
  /// cues. May be empty.
  ProgressCallback on_progress;
};

/// The result of one batched recall.
struct RecallResult {
  /// Final states, float32 `[B, D]`.
  at::Tensor states;
  /// Update steps each cue took, int64 `[B]`.
  at::Tensor steps;
  /// Whether each cue met the convergence tolerance before `max_steps`, bool `[B]`.
  at::Tensor converged;
  /// Energy of the cue (column 0) and after each step, float64 `[B, max_steps + 1]`. A cue that
  /// stopped early repeats its last energy. Undefined unless `RecallOptions::record_energy`.
  at::Tensor energy;
};

/// The hippocampus role: stores patterns after one exposure and recalls them from cues.
///
/// Patterns and cues are float32 rows `[N, D]`; image data is passed as `2x - 1` in [-1, 1].
class AssociativeMemory {
 public:
  virtual ~AssociativeMemory();

  /// Stores `patterns [N, D]` in one shot; a later call adds to what is stored.
  virtual void store(const at::Tensor& patterns) = 0;

  /// Iterates the update rule from each cue `[B, D]`, in batches whose working memory stays
  /// within the plugin's configured chunk size.
  virtual RecallResult recall(const at::Tensor& cues, const RecallOptions& options) = 0;

  /// Returns the stored patterns `[N, D]` (a view, not a copy).
  virtual at::Tensor patterns() const = 0;

  virtual std::int64_t size() const = 0;
  virtual std::int64_t pattern_dim() const = 0;
  virtual void clear() = 0;
  virtual void save(const std::string& path) const = 0;
  virtual void load(const std::string& path) = 0;
};

}  // namespace genmem
