#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <genmem/associative_memory.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

namespace genmem {

/// Declarations of the modern Hopfield network's parameters: `beta`, `similarity_scale`,
/// `max_steps`, `tolerance`, `chunk_elements`, `precision`, `top_k`, `top_k_tolerance` and
/// `gram_cache_elements`.
std::vector<ParameterSpec> modern_hopfield_parameters();

/// Declarations of the sparse modern Hopfield network's parameters: those of
/// `modern_hopfield_parameters` and `separation`.
std::vector<ParameterSpec> sparse_hopfield_parameters();

/// The map from logits to retrieval weights over the stored patterns.
enum class Separation {
  /// Dense weights, as in Ramsauer et al. (2020).
  kSoftmax,
  /// Euclidean projection onto the simplex (Martins & Astudillo 2016): weights are exactly zero
  /// for patterns whose logit is far enough below the largest.
  kSparsemax,
  /// 1.5-entmax (Peters et al. 2019), between softmax and sparsemax in sparsity.
  kEntmax15,
};

/// Maps each row of `logits [B, N]` to weights that sum to one, in place, and returns it.
at::Tensor& separate_(at::Tensor& logits, Separation separation);

/// Minimum share of the rows of `top_k_mm_out` that must pass its test before it computes them
/// from their top k patterns. Below it, one plain product of all rows is about as fast or faster.
/// In hopfield_benchmark's BM_TopKProduct (N 10,000, a shared 2-core machine), a quarter of
/// passing rows took 0.87 to 1.05 times the plain product's time at D 784 and 0.80 at D 12,288,
/// and a tenth took 1.2 to 1.5 times. Those figures predate the embedding-bag sums, which made
/// the passing rows cheaper, so the break-even share may now be lower.
inline constexpr double kTopKMinShare = 0.25;

/// Ratio of the second, wider top-k test of `top_k_mm_out` to its first.
inline constexpr std::int64_t kTopKWideFactor = 4;

/// Rows of a weight matrix that pass the top-k test, with their top-k weights and pattern indices.
struct TopKRows {
  /// Row numbers, int64 `[P]`, in increasing order.
  at::Tensor rows;
  /// The k largest weights of each row, `[P, k]`, in no particular order.
  at::Tensor values;
  /// Pattern indices of `values`, int64 `[P, k]`.
  at::Tensor indices;
};

/// Computes `out [B, D] = weights [B, N] x patterns [N, D]`, taking a shortcut for rows whose
/// weights are concentrated.
///
/// A row whose weights outside its `top_k` largest sum to at most `tolerance` gets the sum of
/// those `top_k` weights times their patterns, without renormalising. Each of its values then
/// differs from the full product by at most `tolerance` times the largest absolute value in
/// `patterns`, apart from float rounding. The shortcut is used only when at least `min_share` of
/// the rows pass. Otherwise, and for `top_k = 0` or `top_k >= N`, every row gets the full
/// product. When the shortcut is used, the rows that fail it take the same test with
/// `kTopKWideFactor * top_k` weights, and only those that fail again get the full product. The
/// weights must be non-negative with rows summing to 1, as `separate_` returns them. `weights` is
/// modified during the call and restored before it returns. Returns the number of rows computed
/// from their top patterns. When `selected` is given, it receives those rows with their weights and
/// pattern indices, or undefined tensors when no row took the shortcut. When some rows passed the
/// wider test, every row there has that many weights, the narrow rows' extra weights being zeros.
std::int64_t top_k_mm_out(
    at::Tensor& out,
    at::Tensor& weights,
    const at::Tensor& patterns,
    std::int64_t top_k,
    double tolerance,
    double min_share = kTopKMinShare,
    TopKRows* selected = nullptr);

/// Largest number of new rows of `X X^T` that one step of `ModernHopfield::recall` computes, per
/// active cue. A new row costs as much as the logits of one cue from the plain product, and later
/// steps and chunks reuse it, so a step that computes new rows costs at most three times the
/// plain product.
inline constexpr std::int64_t kGramNewRowsPerCue = 2;

/// Returns the entropy term of each row of `weights [B, N]` that matches `separation`: Shannon
/// entropy for softmax, Gini entropy 0.5 (1 - sum p^2) for sparsemax, and Tsallis 1.5-entropy
/// (4/3)(1 - sum p^1.5) for 1.5-entmax.
at::Tensor separation_entropy(const at::Tensor& weights, Separation separation);

/// Continuous modern Hopfield network (Ramsauer et al. 2020, "Hopfield Networks is All You Need").
///
/// Patterns are stored in one shot as the rows of `X [N, D]`. Recall iterates
/// `xi <- X^T softmax(beta_eff * X xi)` from each cue, where `beta_eff` is `beta / sqrt(D)` when
/// `similarity_scale` is "inv_sqrt_dim" and `beta` when it is "none". All tensors are float32 on
/// the context's device, except energies, which are float64.
class ModernHopfield : public AssociativeMemory {
 public:
  /// Reads the parameters in `context`. A parameter that `context` lacks takes its default.
  /// Throws `ConfigError` for an invalid parameter value or device.
  explicit ModernHopfield(const PluginContext& context);

  /// Appends `patterns [N, D]` (any floating or integer dtype, converted to float32). Throws
  /// `ConfigError` unless they are 2-D, finite and have the stored `D`.
  void store(const at::Tensor& patterns) override;

  /// Recalls from `cues [B, D]`, processing at most `chunk_elements / N` cues at a time (at least
  /// one). A cue stops once no value changes by more than `tolerance` in one step, or after
  /// `max_steps`. Each step computes the next states with `top_k_mm_out`. A cue whose state is
  /// the sum of its top-k patterns gets its next logits from cached rows of `X X^T` (see
  /// `gram_cache_elements`). Throws `ModelError` when nothing is stored and `ConfigError` for
  /// invalid cues.
  RecallResult recall(const at::Tensor& cues, const RecallOptions& options) override;

  /// Returns the stored patterns as float32 `[N, D]`: a view, or a copy when `precision` is
  /// "float64". The tensor is undefined when nothing is stored.
  at::Tensor patterns() const override;

  /// Returns the number of stored patterns `N`.
  std::int64_t size() const override;

  /// Returns the pattern dimension `D`, or 0 when nothing is stored.
  std::int64_t pattern_dim() const override;

  /// Forgets every stored pattern and the dimension `D`.
  void clear() override;

  /// Writes the stored patterns, `beta`, `similarity_scale` and, for a sparse separation,
  /// `separation` to `path` with LibTorch's pickle format. Throws `IoError` when the file cannot
  /// be written.
  void save(const std::string& path) const override;

  /// Replaces the stored patterns with those saved at `path`. Throws `IoError` for a missing or
  /// malformed file or one another plugin saved, and `ConfigError` when the file's `beta`,
  /// `similarity_scale` or `separation` differs from this memory's parameters.
  void load(const std::string& path) override;

  /// Computes the energy of each state `[B, D]` as float64 `[B]`: Ramsauer et al. 2020, Eq. 2
  /// for softmax, and the same form with the matching entropy for sparse separations. Float64
  /// resolves the small energy differences between late steps. Throws like `recall`.
  at::Tensor energy(const at::Tensor& states) const;

  /// Returns the logit scale `beta_eff`: `beta / sqrt(D)` or `beta`. Requires stored patterns.
  double effective_beta() const;

  double beta() const { return beta_; }

  const std::string& similarity_scale() const { return similarity_scale_; }

  std::int64_t max_steps() const { return max_steps_; }

  double tolerance() const { return tolerance_; }

  std::int64_t chunk_elements() const { return chunk_elements_; }

  Separation separation() const { return separation_; }

  std::int64_t top_k() const { return top_k_; }

  double top_k_tolerance() const { return top_k_tolerance_; }

  /// Returns the number of cue updates in the latest `recall` that used only the `top_k` largest
  /// weights of the cue, summed over steps. Each update of one cue in one step counts once.
  std::int64_t top_k_updates() const { return top_k_updates_; }

  std::int64_t gram_cache_elements() const { return gram_cache_elements_; }

  /// Returns the number of cue updates in the latest `recall` whose logits came from cached rows
  /// of `X X^T` rather than from the product with all stored patterns.
  std::int64_t gram_updates() const { return gram_updates_; }

  /// Returns the number of rows of `X X^T` that the latest `recall` computed.
  std::int64_t gram_rows() const { return gram_rows_; }

 protected:
  /// Builds the memory of plugin `name` from the parameters `specs` declares. A `separation`
  /// parameter, when declared, selects the separation; otherwise it is softmax.
  ModernHopfield(
      const PluginContext& context, std::string name, const std::vector<ParameterSpec>& specs);

 private:
  /// Buffers that one recall reuses across chunks and steps.
  struct RecallWorkspace {
    /// Current states of the active cues, `[chunk, D]`.
    at::Tensor state;
    /// Next states of the active cues, `[chunk, D]`.
    at::Tensor next;
    /// Logits, then softmax weights, `[chunk, N]`.
    at::Tensor weights;
    /// Rows of `X X^T` computed so far, `[capacity, N]`; the first `gram_used` are filled.
    at::Tensor gram;
    std::int64_t gram_used = 0;
    /// Row of `gram` that contains each stored pattern's similarities, int64 `[N]`, -1 for none.
    at::Tensor gram_slot;
    /// Whether a first step whose weights fail the top-k test may compute all of `X X^T` and
    /// take the next logits from it (see `use_whole_gram`).
    bool whole_gram_allowed = false;
  };

  /// Numbers of cue updates that took each shortcut.
  struct ShortcutCounts {
    std::int64_t top_k = 0;
    std::int64_t gram = 0;
  };

  void check_rows(const char* operation, const char* what, const at::Tensor& rows) const;
  void check_not_empty(const char* operation) const;
  /// First element of a saved file's tuple: "genmem." and the plugin name.
  std::string file_kind() const;
  at::Tensor energy_of_chunk(const at::Tensor& states) const;
  /// Returns true when a recall of `batch` cues may compute all of `X X^T`: when the cache can
  /// hold it, N <= D, the cues number at least N / 2 and the first step's state can be left out
  /// (top-k on, two steps or more, no energies recorded).
  bool use_whole_gram(std::int64_t batch, std::int64_t max_steps, bool record_energy) const;
  /// Writes the logits `state [A, D] x X^T` into `weights [A, N]`, taking those of the rows
  /// `sparse.rows` from cached rows of `X X^T`. Each of those states is the sum of its top-k
  /// patterns weighted by `sparse.values`. The rows that `confirm`, bool `[A]` or undefined,
  /// marks get plain products `x_j . xi` for the logits of the patterns they mix. Sets `mixed`,
  /// bool `[A]`, to the rows whose logits summed more than one row, apart from those confirmed.
  /// Returns false, with `weights` unchanged, when the cache would exceed `gram_cache_elements`
  /// or need more than `kGramNewRowsPerCue` new rows per active cue.
  bool gram_logits(
      at::Tensor& weights,
      const at::Tensor& state,
      const TopKRows& sparse,
      RecallWorkspace& workspace,
      const at::Tensor& confirm,
      at::Tensor& mixed) const;
  /// Recalls the chunk `cues` into the rows of `result` from `first_row` on. Returns the number
  /// of cue updates that took each shortcut.
  ShortcutCounts recall_chunk(
      const at::Tensor& cues,
      std::int64_t first_row,
      std::int64_t max_steps,
      RecallWorkspace& workspace,
      RecallResult& result) const;

  /// Plugin name that starts every error message and names the saved file kind.
  std::string name_;
  double beta_ = 0.0;
  std::string similarity_scale_;
  Separation separation_ = Separation::kSoftmax;
  std::int64_t max_steps_ = 0;
  double tolerance_ = 0.0;
  /// Type of the stored patterns and of recall arithmetic: float32 or float64.
  at::ScalarType dtype_ = at::kFloat;
  std::int64_t chunk_elements_ = 0;
  c10::Device device_ = c10::Device(c10::kCPU);
  /// Stored patterns `X [N, D]`, float32 and contiguous, or undefined when nothing is stored.
  at::Tensor patterns_;
  /// Largest Euclidean norm of a stored pattern, `M` in the energy.
  double max_norm_ = 0.0;
  /// Number of largest weights from which a step may compute a cue's next state, 0 for never.
  std::int64_t top_k_ = 0;
  /// Largest total weight outside the `top_k` largest at which a step uses only those.
  double top_k_tolerance_ = 0.0;
  /// Cue updates of the latest recall that used the top-k shortcut.
  std::int64_t top_k_updates_ = 0;
  /// Largest number of values in the cache of `X X^T` rows of one recall, 0 for no cache.
  std::int64_t gram_cache_elements_ = 0;
  /// Cue updates of the latest recall whose logits came from the cache of `X X^T` rows.
  std::int64_t gram_updates_ = 0;
  /// Rows of `X X^T` that the latest recall computed.
  std::int64_t gram_rows_ = 0;
};

/// Sparse modern Hopfield network (Hu et al. 2023, "On Sparse Modern Hopfield Model"; Santos et
/// al. 2024, "Sparse and Structured Hopfield Networks"): the update of `ModernHopfield` with
/// sparsemax or 1.5-entmax in place of softmax, so each step mixes only the patterns in the
/// support of the weights.
class SparseHopfield : public ModernHopfield {
 public:
  explicit SparseHopfield(const PluginContext& context);
};

}  // namespace genmem
