#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include <genmem/associative_memory.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "classical_hopfield.hpp"

namespace genmem {

/// Declarations of the dense associative memory's parameters: `interaction`, `degree`,
/// `max_steps` and `chunk_elements`.
std::vector<ParameterSpec> dense_associative_parameters();

/// Dense associative memory with binary states (Krotov & Hopfield 2016; Demircigil et al. 2017).
///
/// Patterns are binarised by sign and stored as the rows of `X [N, D]`. The energy of a binary
/// state `s` is `E = -sum_mu F(xi_mu . s)`, with `F(x) = x^n` ("polynomial"),
/// `max(x, 0)^n` ("rectified_polynomial") or `exp(x)` ("exponential"). A sweep visits the `D`
/// units in a seeded random order and sets each to the value of lower energy:
///
///     s_i <- sign(sum_mu [F(xi_mu,i + a_mu,i) - F(-xi_mu,i + a_mu,i)]),
///     a_mu,i = sum_{j != i} xi_mu,j s_j,
///
/// keeping `s_i` when the sum is 0. Each cue keeps its overlaps `m = X s` `[N]`, so that
/// `a_mu,i = m_mu - xi_mu,i s_i`. A cue has converged after a sweep that changes no unit.
class DenseAssociative : public AssociativeMemory {
 public:
  /// Reads the parameters and seed in `context`. A parameter that `context` lacks takes its
  /// default. Throws `ConfigError` for an invalid parameter value or a device other than "cpu".
  explicit DenseAssociative(const PluginContext& context);

  /// Binarises and appends `patterns [N, D]` (any real dtype). Throws `ConfigError` unless they
  /// are 2-D, finite and have the stored `D`.
  void store(const at::Tensor& patterns) override;

  /// Binarises `cues [B, D]` and runs up to `max_steps` asynchronous sweeps from each. Sweep `k`
  /// visits the units in the same seeded order for every cue and every call, the same order as
  /// `ClassicalHopfield` with the same seed. Throws `ModelError` when nothing is stored,
  /// `ConfigError` for invalid cues, and `ConfigError` when `F` overflows float64 at this `D`.
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

  /// Computes the energy of each binarised state `[B, D]` as float64 `[B]`: `-sum_mu F(m_mu)`
  /// for the polynomial interactions and `-log(sum_mu exp(m_mu))` for the exponential one. The
  /// latter is a monotone function of `E = -sum_mu exp(m_mu)`, which overflows float64 once an
  /// overlap exceeds 709. Throws like `recall`.
  at::Tensor energy(const at::Tensor& states) const;

  /// Returns "polynomial", "rectified_polynomial" or "exponential".
  const std::string& interaction() const { return interaction_; }

  /// Returns the exponent `n` of the polynomial interactions (unused by "exponential").
  std::int64_t degree() const { return degree_; }

  std::int64_t max_steps() const { return max_steps_; }

  std::int64_t chunk_elements() const { return chunk_elements_; }

  std::uint64_t seed() const { return seed_; }

 private:
  std::string interaction_;
  std::int64_t degree_ = 0;
  std::int64_t max_steps_ = 0;
  std::int64_t chunk_elements_ = 0;
  std::uint64_t seed_ = 0;
  binary_state::BinaryPatterns patterns_;
};

}  // namespace genmem
