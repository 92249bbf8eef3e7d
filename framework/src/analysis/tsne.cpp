#include "analysis/tsne.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <genmem/error.hpp>

#include "analysis/pca.hpp"

namespace genmem {

namespace {

constexpr double kEntropyTolerance = 1e-5;  // nats
constexpr std::int64_t kMaxSearchSteps = 100;
constexpr double kProbabilityFloor = 1e-12;
constexpr double kInitialScale = 1e-4;  // standard deviation of the first initial coordinate
constexpr double kExaggerationMomentum = 0.5;
constexpr double kFinalMomentum = 0.8;
constexpr double kGainIncrease = 0.2;
constexpr double kGainDecay = 0.8;
constexpr double kMinGain = 0.01;
// Below this many points tsne_embed runs on one intra-op thread, because each [N, N] operation
// then takes well under a millisecond and waiting for a second thread can cost more than it saves.
// NOTE: 1024 is an estimate. On a 2-core x86-64 machine that another build was also using,
// 800 points and 1000 iterations took 1.4 to 2.0 s on one thread and 1.3 to 24 s on two.
constexpr std::int64_t kMinPointsForThreads = 1024;

// Sets LibTorch's intra-op thread count for the life of the object, then restores the previous
// count.
class ScopedThreadCount {
 public:
  explicit ScopedThreadCount(int threads) : previous_(at::get_num_threads()) {
    at::set_num_threads(threads);
  }

  ~ScopedThreadCount() { at::set_num_threads(previous_); }

  ScopedThreadCount(const ScopedThreadCount&) = delete;
  ScopedThreadCount& operator=(const ScopedThreadCount&) = delete;

 private:
  int previous_;
};

void check_perplexity(double perplexity, std::int64_t points) {
  // Each row spreads over N - 1 other points, so its perplexity is at most N - 1 (uniform) and
  // at least 1 (all mass on one point).
  if (!(perplexity >= 1.0 && perplexity < static_cast<double>(points - 1))) {
    throw ConfigError(fmt::format(
        "t-SNE perplexity is {}, but it must be at least 1 and less than N - 1 = {} for N = {} "
        "points; lower the perplexity or pass more points",
        perplexity,
        points - 1,
        points));
  }
}

// Returns the features as CPU float64 [N, F] after rejecting shapes and values t-SNE cannot use.
at::Tensor checked_features(const at::Tensor& features) {
  if (features.dim() != 2) {
    throw ConfigError(fmt::format(
        "t-SNE features must be a 2-D [N, F] tensor, but got shape {}; reshape them to [N, F]",
        c10::str(features.sizes())));
  }
  if (features.size(0) < 3) {
    throw ConfigError(fmt::format(
        "t-SNE needs at least 3 points, but the features have {}; pass more points",
        features.size(0)));
  }
  if (features.size(1) < 1) {
    throw ConfigError(fmt::format(
        "t-SNE features have shape {} with no columns; pass at least one feature per point",
        c10::str(features.sizes())));
  }
  const at::Tensor data = features.to(at::kCPU, at::kDouble);
  if (!at::isfinite(data).all().item<bool>()) {
    throw ConfigError("t-SNE features contain NaN or infinite values; remove or replace them");
  }
  return data;
}

void check_options(const TsneOptions& options, std::int64_t points) {
  if (options.dimensions < 1) {
    throw ConfigError(fmt::format(
        "t-SNE dimensions is {}, but it must be at least 1; use 2 for a plot", options.dimensions));
  }
  check_perplexity(options.perplexity, points);
  if (options.iterations < 0) {
    throw ConfigError(fmt::format(
        "t-SNE iterations is {}, but it must not be negative; the default is 1000",
        options.iterations));
  }
  if (options.exaggeration_iterations < 0 || options.exaggeration_iterations > options.iterations) {
    throw ConfigError(fmt::format(
        "t-SNE exaggeration_iterations is {}, but it must be between 0 and iterations = {}; lower "
        "it or raise iterations",
        options.exaggeration_iterations,
        options.iterations));
  }
  if (!(options.learning_rate > 0.0 || options.learning_rate == -1.0)) {
    throw ConfigError(fmt::format(
        "t-SNE learning_rate is {}, but it must be positive, or -1 for "
        "max(N / early_exaggeration / 4, 50); set it to -1",
        options.learning_rate));
  }
  if (!(options.early_exaggeration >= 1.0 && std::isfinite(options.early_exaggeration))) {
    throw ConfigError(fmt::format(
        "t-SNE early_exaggeration is {}, but it must be a finite number of at least 1; the default "
        "is 12",
        options.early_exaggeration));
  }
}

// Squared Euclidean distances between the rows of `points [N, D]`, float64 [N, N] with a zero
// diagonal. The caller centres the points, which limits cancellation in |a|^2 + |b|^2 - 2 a.b.
at::Tensor squared_distances(const at::Tensor& points) {
  const at::Tensor norms = points.square().sum(1);
  at::Tensor distances = at::addmm(
      norms.unsqueeze(1) + norms.unsqueeze(0),
      points,
      points.t(),
      /*beta=*/1,
      /*alpha=*/-2);
  return distances.clamp_min_(0).fill_diagonal_(0);
}

// Student-t kernel 1 / (1 + |y_i - y_j|^2) of `embedding [N, D]`, float64 [N, N] with a zero
// diagonal. One matrix product forms 1 + |y_i|^2 + |y_j|^2 - 2 y_i.y_j from the augmented rows
// [y_i, |y_i|^2, 1] and [-2 y_j, 1, 1 + |y_j|^2], which saves passes over the [N, N] matrix.
at::Tensor student_t_kernel(const at::Tensor& embedding) {
  const at::Tensor norms = embedding.square().sum(1, /*keepdim=*/true);
  const at::Tensor ones = at::ones_like(norms);
  const at::Tensor left = at::cat({embedding, norms, ones}, 1);
  const at::Tensor right = at::cat({embedding * -2.0, ones, norms + 1.0}, 1);
  return left.matmul(right.t()).reciprocal_().fill_diagonal_(0);
}

// Gradient of KL(P || Q) with respect to `embedding [N, D]`:
// 4 sum_j (p_ij - q_ij) (y_i - y_j) / (1 + |y_i - y_j|^2). With K the Student-t kernel, Z its sum
// and M = (P - K / Z) * K, this is 4 (M 1 * Y - M Y). One product of M with [Y, 1] yields both
// M Y and the row sums M 1.
at::Tensor kl_gradient(const at::Tensor& joint, const at::Tensor& embedding) {
  const at::Tensor kernel = student_t_kernel(embedding);
  const double normaliser = kernel.sum().item<double>();
  const at::Tensor weights = (joint * kernel).addcmul_(kernel, kernel, -1.0 / normaliser);
  const std::int64_t dimensions = embedding.size(1);
  const at::Tensor products = weights.matmul(
      at::cat({embedding, at::ones({embedding.size(0), 1}, embedding.options())}, 1));
  const at::Tensor row_sums = products.slice(1, dimensions);
  return (row_sums * embedding - products.slice(1, 0, dimensions)).mul_(4.0);
}

// Scikit-learn's init="pca": the first `dimensions` principal components of `data [N, F]`,
// divided by the standard deviation of the first one and multiplied by 1e-4. Components that
// the data lack (rank below `dimensions`) get Gaussian noise of standard deviation 1e-4 instead,
// because a constant column would get a zero gradient and stay constant.
at::Tensor initial_embedding(const at::Tensor& data, std::int64_t dimensions, std::uint64_t seed) {
  const std::int64_t points = data.size(0);
  const std::int64_t available = std::min({dimensions, points, data.size(1)});
  at::Tensor embedding = at::zeros({points, dimensions}, at::kDouble);
  embedding.slice(1, 0, available).copy_(pca_project(data, available));

  at::Tensor deviations = embedding.std(0, /*unbiased=*/false);
  const double first_deviation = deviations[0].item<double>();
  // pca_project computes the scores in float64, so a component that the data lack keeps only
  // rounding error, many orders of magnitude below this cut-off.
  const at::Tensor missing = deviations <= first_deviation * 1e-8;
  if (first_deviation > 0.0) {
    embedding.mul_(kInitialScale / first_deviation);
  }

  auto generator = at::detail::createCPUGenerator(seed);
  const at::Tensor noise =
      at::randn({points, dimensions}, generator, at::TensorOptions().dtype(at::kDouble));
  return at::where(missing.unsqueeze(0), noise.mul_(kInitialScale), embedding);
}

// Runs `iterations` steps of scikit-learn's gradient descent on `embedding` in place. Every call
// starts with zero velocity and unit gains. A gain grows by 0.2 where the gradient and the
// previous update have opposite signs, and shrinks by 0.8 otherwise, down to 0.01.
void descend(
    const at::Tensor& joint,
    at::Tensor& embedding,
    std::int64_t iterations,
    double momentum,
    double learning_rate) {
  at::Tensor update = at::zeros_like(embedding);
  at::Tensor gains = at::ones_like(embedding);
  for (std::int64_t iteration = 0; iteration < iterations; ++iteration) {
    const at::Tensor gradient = kl_gradient(joint, embedding);
    const at::Tensor same_sign = (update * gradient) >= 0;
    gains = at::where(same_sign, gains * kGainDecay, gains + kGainIncrease).clamp_min_(kMinGain);
    update = update.mul_(momentum).sub_(gains * gradient, learning_rate);
    embedding.add_(update);
  }
}

}  // namespace

at::Tensor tsne_conditional_probabilities(const at::Tensor& squared_distances, double perplexity) {
  at::NoGradGuard no_grad;
  if (squared_distances.dim() != 2 || squared_distances.size(0) != squared_distances.size(1)) {
    throw ConfigError(fmt::format(
        "t-SNE squared distances must be a square [N, N] tensor, but got shape {}; pass the "
        "distances between every pair of points",
        c10::str(squared_distances.sizes())));
  }
  const std::int64_t points = squared_distances.size(0);
  check_perplexity(perplexity, points);

  const at::Tensor diagonal = at::eye(points, at::TensorOptions().dtype(at::kBool));
  const at::Tensor distances = squared_distances.to(at::kCPU, at::kDouble);
  // Subtracting each row's nearest-neighbour distance leaves the normalised row and its entropy
  // unchanged, and stops exp() from underflowing to an all-zero row when distances are large.
  const at::Tensor nearest =
      distances.masked_fill(diagonal, std::numeric_limits<double>::infinity())
          .amin(1, /*keepdim=*/true);
  const at::Tensor shifted = (distances - nearest).masked_fill_(diagonal, 0.0);

  // Every row runs scikit-learn's binary search on its precision beta at once. Beta doubles or
  // halves until the target entropy is bracketed, and then bisects. Converged rows keep their beta.
  const double target_entropy = std::log(perplexity);
  const double infinity = std::numeric_limits<double>::infinity();
  const auto column = at::TensorOptions().dtype(at::kDouble);
  at::Tensor beta = at::ones({points, 1}, column);
  at::Tensor beta_min = at::full({points, 1}, -infinity, column);
  at::Tensor beta_max = at::full({points, 1}, infinity, column);
  at::Tensor probabilities;
  for (std::int64_t step = 0; step < kMaxSearchSteps; ++step) {
    probabilities = at::exp(-shifted * beta).masked_fill_(diagonal, 0.0);
    const at::Tensor sums = probabilities.sum(1, /*keepdim=*/true);
    probabilities.div_(sums);
    const at::Tensor entropy = sums.log() + beta * (shifted * probabilities).sum(1, true);
    const at::Tensor error = entropy - target_entropy;
    const at::Tensor unconverged = error.abs() > kEntropyTolerance;
    if (!unconverged.any().item<bool>()) {
      break;
    }
    // Too high an entropy means too wide a Gaussian, so beta must grow.
    const at::Tensor raise = unconverged & (error > 0);
    const at::Tensor lower = unconverged & (error <= 0);
    beta_min = at::where(raise, beta, beta_min);
    beta_max = at::where(lower, beta, beta_max);
    const at::Tensor raised = at::where(beta_max.isinf(), beta * 2, (beta + beta_max) / 2);
    const at::Tensor lowered = at::where(beta_min.isinf(), beta / 2, (beta + beta_min) / 2);
    beta = at::where(raise, raised, at::where(lower, lowered, beta));
  }
  // NOTE: a row still outside the tolerance after 100 steps keeps its last distribution, as in
  // scikit-learn. Rows whose neighbours are all equally far stay uniform.
  return probabilities;
}

at::Tensor tsne_joint_probabilities(const at::Tensor& features, double perplexity) {
  at::NoGradGuard no_grad;
  const at::Tensor data = checked_features(features);
  const std::int64_t points = data.size(0);
  check_perplexity(perplexity, points);

  const at::Tensor centred = data - data.mean(0, /*keepdim=*/true);
  const at::Tensor conditional =
      tsne_conditional_probabilities(squared_distances(centred), perplexity);
  at::Tensor joint = (conditional + conditional.t()).div_(2.0 * static_cast<double>(points));
  return joint.clamp_min_(kProbabilityFloor).fill_diagonal_(0);
}

double tsne_kl_divergence(const at::Tensor& joint, const at::Tensor& embedding) {
  at::NoGradGuard no_grad;
  const at::Tensor p = joint.to(at::kCPU, at::kDouble);
  const at::Tensor kernel = student_t_kernel(embedding.to(at::kCPU, at::kDouble));
  const at::Tensor q = kernel / kernel.sum();
  // The floor only keeps log() finite; the zero diagonal of P cancels its terms.
  const double epsilon = std::numeric_limits<double>::epsilon();
  return (p * (p.clamp_min(epsilon).log() - q.clamp_min(epsilon).log())).sum().item<double>();
}

at::Tensor tsne_embed(
    const at::Tensor& features, const TsneOptions& options, double* kl_divergence) {
  at::NoGradGuard no_grad;
  const at::Tensor data = checked_features(features);
  const std::int64_t points = data.size(0);
  check_options(options, points);
  std::optional<ScopedThreadCount> single_thread;
  if (points < kMinPointsForThreads) {
    single_thread.emplace(1);
  }

  const double learning_rate = options.learning_rate > 0.0
      ? options.learning_rate
      : std::max(static_cast<double>(points) / options.early_exaggeration / 4.0, 50.0);
  const at::Tensor joint = tsne_joint_probabilities(data, options.perplexity);
  at::Tensor embedding = initial_embedding(data, options.dimensions, options.seed);

  descend(
      joint * options.early_exaggeration,
      embedding,
      options.exaggeration_iterations,
      kExaggerationMomentum,
      learning_rate);
  descend(
      joint,
      embedding,
      options.iterations - options.exaggeration_iterations,
      kFinalMomentum,
      learning_rate);

  if (kl_divergence != nullptr) {
    *kl_divergence = tsne_kl_divergence(joint, embedding);
  }
  return embedding.to(at::kFloat);
}

}  // namespace genmem
