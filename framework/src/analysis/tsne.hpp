#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Settings for `tsne_embed`. The defaults match scikit-learn 1.2's
/// `TSNE(method="exact", init="pca", learning_rate="auto")`.
struct TsneOptions {
  /// Number of embedding dimensions.
  std::int64_t dimensions = 2;
  /// Effective number of neighbours: each point's conditional distribution over the other points
  /// gets an entropy of log(perplexity) nats. Must be at least 1 and less than N - 1.
  double perplexity = 30.0;
  /// Total gradient-descent iterations, including the `exaggeration_iterations`.
  std::int64_t iterations = 1000;
  /// Gradient-descent step size. -1 selects max(N / early_exaggeration / 4, 50).
  double learning_rate = -1.0;
  /// Factor on the joint probabilities during the first `exaggeration_iterations` iterations.
  double early_exaggeration = 12.0;
  /// Length of the early-exaggeration phase, which uses momentum 0.5. Later iterations use 0.8.
  std::int64_t exaggeration_iterations = 250;
  /// Seed for the random initial coordinates (standard deviation 1e-4) of the embedding
  /// dimensions that PCA cannot fill because the centred features have too low a rank.
  std::uint64_t seed = 1;
};

/// Calibrates one Gaussian per point to `perplexity`, given `squared_distances [N, N]`.
/// Returns float64 `[N, N]` whose row i is the conditional distribution p(j | i): it sums to 1,
/// has a zero diagonal and an entropy of log(perplexity) nats. A binary search on each row's
/// precision stops at an entropy error of 1e-5 nats or after 100 steps, as scikit-learn's does.
/// Throws ConfigError unless 1 <= perplexity < N - 1.
at::Tensor tsne_conditional_probabilities(const at::Tensor& squared_distances, double perplexity);

/// Computes the t-SNE input affinities of `features [N, F]`: float64 `[N, N]`,
/// (P + P^T) / (2N) for the conditional P of the squared Euclidean distances, with the
/// off-diagonal entries floored at 1e-12 and a zero diagonal. Throws ConfigError on invalid input.
at::Tensor tsne_joint_probabilities(const at::Tensor& features, double perplexity);

/// Computes KL(P || Q) in nats between the joint probabilities `joint [N, N]` and the Student-t
/// (one degree of freedom) affinities Q of `embedding [N, D]`.
double tsne_kl_divergence(const at::Tensor& joint, const at::Tensor& embedding);

/// Embeds `features [N, F]` with exact O(N^2) t-SNE (van der Maaten and Hinton, "Visualizing Data
/// using t-SNE", JMLR 2008), returning float32 `[N, options.dimensions]` on the CPU. The initial
/// embedding is the PCA projection scaled so that its first column has standard deviation 1e-4. The
/// optimiser is scikit-learn's gradient descent with momentum and per-coordinate gains, and it
/// restarts the momentum and gains when the exaggeration phase ends. When `kl_divergence` is not
/// null, it receives the final KL(P || Q). Throws ConfigError on invalid features or options. NOTE:
/// it always runs all `options.iterations`, without scikit-learn's early stops, and it keeps one
/// degree of freedom for every `dimensions` (scikit-learn uses dimensions - 1 above 2). Memory
/// grows as N^2: each [N, N] float64 matrix takes 8 N^2 bytes.
at::Tensor tsne_embed(
    const at::Tensor& features, const TsneOptions& options, double* kl_divergence = nullptr);

}  // namespace genmem
