#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <genmem/associative_memory.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>
#include <genmem/progress.hpp>

namespace genmem {

/// Helpers shared by the binary-state memories `classical_hopfield` and `dense_associative`.
namespace binary_state {

/// Number of cues one thread updates together, so that each row of `X^T` it reads serves several
/// cues while it is in cache.
inline constexpr std::int64_t kTileCues = 8;

/// Number of cues between two progress reports of `for_each_cue_tile`, a multiple of `kTileCues`.
inline constexpr std::int64_t kProgressCues = 256;
static_assert(kProgressCues % kTileCues == 0);

/// Binarised stored patterns: float32 rows of +1 and -1 `X [N, D]`, and an int8 copy of `X^T
/// [D, N]` whose row `i` is unit `i`'s value in every pattern.
///
/// Values are binarised by sign, with 0 mapped to +1. Error messages start with the plugin name,
/// and saved files are tagged "genmem.<plugin>".
class BinaryPatterns {
 public:
  explicit BinaryPatterns(std::string plugin);

  /// Binarises and appends `rows [N, D]`. Throws `ConfigError` unless they are 2-D, real,
  /// finite and have the stored `D`, and when `D` is 0.
  void append(const at::Tensor& rows);

  /// Returns `cues [B, D]` binarised as a new int8 tensor of +1 and -1. Throws `ModelError` when
  /// nothing is stored and `ConfigError` for cues that `append` would reject.
  at::Tensor binarize_cues(const char* operation, const at::Tensor& cues) const;

  /// Returns the stored patterns, float32 `[N, D]`, or an undefined tensor when nothing is stored.
  const at::Tensor& values() const { return values_; }

  /// Returns the start of `X^T`, int8 `[D, N]` and contiguous. Requires stored patterns.
  const std::int8_t* transposed_data() const { return transposed_.data_ptr<std::int8_t>(); }

  std::int64_t size() const { return values_.defined() ? values_.size(0) : 0; }

  std::int64_t dim() const { return values_.defined() ? values_.size(1) : 0; }

  void clear();

  /// Throws `ModelError` naming `operation` when nothing is stored.
  void check_not_empty(const char* operation) const;

  /// Writes the tuple ("genmem.<plugin>", 1, patterns) to `path` with LibTorch's pickle format.
  /// Throws `IoError` when the file cannot be written.
  void save(const std::string& path) const;

  /// Replaces the stored patterns with those saved at `path`. Throws `IoError` for a missing or
  /// malformed file, a file of another plugin, or values other than +1 and -1.
  void load(const std::string& path);

 private:
  void check_rows(const char* operation, const char* what, const at::Tensor& rows) const;
  void set_values(at::Tensor values);

  std::string plugin_;
  at::Tensor values_;
  at::Tensor transposed_;
};

/// Returns each declared parameter's value from `configured`, or its default. Throws
/// `ConfigError` naming `plugin` for a value outside its declaration.
Parameters resolve_parameters(
    const char* plugin, const std::vector<ParameterSpec>& specs, const Parameters& configured);

/// Throws `ConfigError` unless `device` is "cpu", because the binary-state updates run as CPU
/// loops.
void require_cpu_device(const char* plugin, const std::string& device);

/// Returns `max_steps` with `options.max_steps` applied. Throws `ConfigError` when it is below 1.
std::int64_t resolve_max_steps(
    const char* plugin, std::int64_t max_steps, const RecallOptions& options);

/// Random unit orders of successive asynchronous sweeps, from a generator seeded with `seed`.
/// Every instance with the same seed and `dim` draws the same sequence of orders, so each tile of
/// cues draws its own and all tiles use the same order in the same sweep.
class SweepOrders {
 public:
  SweepOrders(std::uint64_t seed, std::int64_t dim);

  /// Draws the order of the next sweep and returns its `dim` unit indices, valid until the next
  /// call.
  const std::int64_t* next();

 private:
  at::Generator generator_;
  std::int64_t dim_;
  at::Tensor order_;
};

/// Returns a result for `batch` cues with every cue at `max_steps` steps and not converged, and
/// an energy table `[batch, max_steps + 1]` when `record_energy`. `states` is left undefined.
RecallResult make_recall_result(std::int64_t batch, std::int64_t max_steps, bool record_energy);

/// One tile of cues: its first row in the batch, its number of cues, and its rows of the chunk's
/// overlap buffer (int32 `[count, N]`).
struct CueTile {
  std::int64_t first_row = 0;
  std::int64_t count = 0;
  std::int32_t* overlaps = nullptr;
};

/// Calls `recall_tile` for every tile of up to `kTileCues` of the `batch` cues, in parallel over
/// the tiles. The cues go in chunks of `max(1, chunk_elements / patterns)` cues, whose overlaps
/// share one int32 `[chunk, patterns]` buffer, so that buffer bounds the working memory.
/// When `on_progress` is set, it is called on the calling thread after every `kProgressCues`
/// cues and at the end of each chunk, with the cues done and `batch`.
void for_each_cue_tile(
    std::int64_t batch,
    std::int64_t patterns,
    std::int64_t chunk_elements,
    const ProgressCallback& on_progress,
    const std::function<void(const CueTile&)>& recall_tile);

/// Pointers into the `RecallResult` that the tiles fill, each tile only its own rows.
struct RecallTargets {
  std::int64_t* steps = nullptr;
  bool* converged = nullptr;
  /// Energy table `[batch, max_steps + 1]`, or null when energies are not recorded.
  double* energy = nullptr;
  std::int64_t max_steps = 0;
};

/// Returns pointers into `result`, which `make_recall_result` created.
RecallTargets recall_targets(RecallResult& result, std::int64_t max_steps);

/// Sets the overlaps of each cue of `tile` to `X s`, where `states` are the tile's binary states
/// `[tile.count, D]` and `transposed` is `X^T [D, N]`.
void compute_overlaps(
    const std::int8_t* transposed,
    std::int64_t count,
    std::int64_t dim,
    const std::int8_t* states,
    const CueTile& tile);

/// Runs up to `targets.max_steps` sweeps for the cues of `tile` and fills their rows of
/// `targets`. `sweep(active, flips)` updates every unit of each cue in `active` (indices within
/// the tile) once and adds each cue's number of changed units to `flips[cue]`.
/// `energy(cue)` returns a cue's current energy. A cue stops after a sweep that changes no unit.
void run_sweeps(
    const CueTile& tile,
    const RecallTargets& targets,
    const std::function<
        void(const std::vector<std::int64_t>& active, std::vector<std::int64_t>& flips)>& sweep,
    const std::function<double(std::int64_t cue)>& energy);

}  // namespace binary_state

/// Declarations of the classical Hopfield network's parameters: `update`, `max_steps` and
/// `chunk_elements`.
std::vector<ParameterSpec> classical_hopfield_parameters();

/// Classical binary Hopfield network (Hopfield 1982) with Hebbian weights.
///
/// Patterns are binarised by sign and stored as the rows of `X [N, D]`. The weights are
/// `W = (1/D) X^T X` with a zero diagonal, never formed: each cue keeps its overlaps `m = X s`
/// `[N]`, so that `D (W s)_i = (X^T m)_i - N s_i`. A unit takes the sign of its local field and
/// keeps its value when the field is 0. A sweep updates all `D` units, one at a time in a random
/// order ("asynchronous") or all at once ("synchronous"), and a cue has converged after a sweep
/// that changes no unit. Energies are float64, computed exactly from the integer overlaps.
class ClassicalHopfield : public AssociativeMemory {
 public:
  /// Reads the parameters and seed in `context`. A parameter that `context` lacks takes its
  /// default. Throws `ConfigError` for an invalid parameter value or a device other than "cpu".
  explicit ClassicalHopfield(const PluginContext& context);

  /// Binarises and appends `patterns [N, D]` (any real dtype). Throws `ConfigError` unless they
  /// are 2-D, finite and have the stored `D`.
  void store(const at::Tensor& patterns) override;

  /// Binarises `cues [B, D]` and runs up to `max_steps` sweeps from each. Asynchronous sweep `k`
  /// visits the units in the same seeded order for every cue and every call. Throws
  /// `ModelError` when nothing is stored and `ConfigError` for invalid cues.
  RecallResult recall(const at::Tensor& cues, const RecallOptions& options) override;

  /// Returns the binarised stored patterns, float32 `[N, D]`, or an undefined tensor when
  /// nothing is stored.
  at::Tensor patterns() const override { return patterns_.values(); }

  std::int64_t size() const override { return patterns_.size(); }

  /// Returns the pattern dimension `D`, or 0 when nothing is stored.
  std::int64_t pattern_dim() const override { return patterns_.dim(); }

  void clear() override { patterns_.clear(); }

  /// Writes the stored patterns to `path` with LibTorch's pickle format. Throws `IoError` when
  /// the file cannot be written.
  void save(const std::string& path) const override { patterns_.save(path); }

  /// Replaces the stored patterns with those saved at `path`. Throws `IoError` for a missing or
  /// malformed file.
  void load(const std::string& path) override { patterns_.load(path); }

  /// Computes `E = -1/2 s^T W s = -(|X s|^2 - N D) / (2 D)` of each binarised state `[B, D]` as
  /// float64 `[B]`. Throws like `recall`.
  at::Tensor energy(const at::Tensor& states) const;

  /// Returns "asynchronous" or "synchronous".
  const std::string& update() const { return update_; }

  std::int64_t max_steps() const { return max_steps_; }

  std::int64_t chunk_elements() const { return chunk_elements_; }

  std::uint64_t seed() const { return seed_; }

 private:
  std::string update_;
  std::int64_t max_steps_ = 0;
  std::int64_t chunk_elements_ = 0;
  std::uint64_t seed_ = 0;
  binary_state::BinaryPatterns patterns_;
};

}  // namespace genmem
