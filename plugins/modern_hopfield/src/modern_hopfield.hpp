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
/// `max_steps`, `tolerance` and `chunk_elements`.
std::vector<ParameterSpec> modern_hopfield_parameters();

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
  /// `max_steps`. Throws `ModelError` when nothing is stored and `ConfigError` for invalid cues.
  RecallResult recall(const at::Tensor& cues, const RecallOptions& options) override;

  /// Returns the stored patterns `[N, D]`, float32, or an undefined tensor when nothing is stored.
  /// Returns the stored patterns as float32 `[N, D]`: a view, or a copy when `precision` is
  /// "float64".
  at::Tensor patterns() const override;

  /// Returns the number of stored patterns `N`.
  std::int64_t size() const override;

  /// Returns the pattern dimension `D`, or 0 when nothing is stored.
  std::int64_t pattern_dim() const override;

  /// Forgets every stored pattern and the dimension `D`.
  void clear() override;

  /// Writes the stored patterns, `beta` and `similarity_scale` to `path` with LibTorch's pickle
  /// format. Throws `IoError` when the file cannot be written.
  void save(const std::string& path) const override;

  /// Replaces the stored patterns with those saved at `path`. Throws `IoError` for a missing or
  /// malformed file and `ConfigError` when the file's `beta` or `similarity_scale` differs from
  /// this memory's parameters.
  void load(const std::string& path) override;

  /// Computes the energy of each state `[B, D]` (Ramsauer et al. 2020, Eq. 2) as float64 `[B]`.
  /// Float64 resolves the small energy differences between late steps. Throws like `recall`.
  at::Tensor energy(const at::Tensor& states) const;

  /// Returns the logit scale `beta_eff`: `beta / sqrt(D)` or `beta`. Requires stored patterns.
  double effective_beta() const;

  double beta() const { return beta_; }

  const std::string& similarity_scale() const { return similarity_scale_; }

  std::int64_t max_steps() const { return max_steps_; }

  double tolerance() const { return tolerance_; }

  std::int64_t chunk_elements() const { return chunk_elements_; }

 private:
  /// Buffers that one recall reuses across chunks and steps.
  struct RecallWorkspace {
    /// Current states of the active cues, `[chunk, D]`.
    at::Tensor state;
    /// Next states of the active cues, `[chunk, D]`.
    at::Tensor next;
    /// Logits, then softmax weights, `[chunk, N]`.
    at::Tensor weights;
  };

  void check_rows(const char* operation, const char* what, const at::Tensor& rows) const;
  void check_not_empty(const char* operation) const;
  at::Tensor energy_of_chunk(const at::Tensor& states) const;
  void recall_chunk(
      const at::Tensor& cues,
      std::int64_t first_row,
      std::int64_t max_steps,
      RecallWorkspace& workspace,
      RecallResult& result) const;

  double beta_ = 0.0;
  std::string similarity_scale_;
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
};

}  // namespace genmem
