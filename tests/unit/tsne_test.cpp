#include "analysis/tsne.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

// Four Gaussian clusters of unit variance in 20 dimensions, `per_class` points each. The centres
// sit on scaled coordinate axes, 10 standard deviations apart from each other.
std::pair<at::Tensor, at::Tensor> separated_clusters(std::int64_t per_class, std::uint64_t seed) {
  auto generator = at::detail::createCPUGenerator(seed);
  const at::Tensor centres = at::eye(4, 20, at::kFloat) * (10.0 / std::sqrt(2.0));
  const at::Tensor labels = at::arange(4, at::kLong).repeat_interleave(per_class);
  const at::Tensor noise = at::randn({4 * per_class, 20}, generator, at::kFloat);
  return {centres.index_select(0, labels) + noise, labels};
}

at::Tensor pairwise_distances(const at::Tensor& points) {
  const at::Tensor p = points.to(at::kDouble);
  return (p.unsqueeze(1) - p.unsqueeze(0)).square().sum(2).sqrt();
}

std::string config_error_message(const at::Tensor& features, const TsneOptions& options) {
  try {
    tsne_embed(features, options);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "no ConfigError";
}

TEST(Tsne, SeparatesGaussianClusters) {
  auto [features, labels] = separated_clusters(50, 7);
  double kl_divergence = -1.0;
  const at::Tensor embedding = tsne_embed(features, TsneOptions{}, &kl_divergence);

  EXPECT_EQ(embedding.sizes(), (std::vector<std::int64_t>{200, 2}));
  EXPECT_EQ(embedding.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(embedding).all().item<bool>());

  // Every point's nearest neighbour in the embedding comes from its own cluster.
  const at::Tensor distances = pairwise_distances(embedding);
  const at::Tensor nearest = (distances + at::eye(200, at::kDouble) * 1e30).argmin(1);
  const std::int64_t mismatches =
      labels.index_select(0, nearest).ne(labels).sum().item<std::int64_t>();
  EXPECT_EQ(mismatches, 0);

  const at::Tensor same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
  const at::Tensor off_diagonal = at::eye(200, at::kBool).logical_not();
  const double within = distances.masked_select(same & off_diagonal).mean().item<double>();
  const double between = distances.masked_select(same.logical_not()).mean().item<double>();
  // Seeds 1 to 12 of these clusters gave ratios of 20.8 to 23.2 on x86-64.
  EXPECT_GT(between / within, 15.0);

  const at::Tensor joint = tsne_joint_probabilities(features, 30.0);
  EXPECT_NEAR(kl_divergence, tsne_kl_divergence(joint, embedding), 1e-4);
  EXPECT_GT(kl_divergence, 0.0);
  // The same 12 seeds ended with KL divergences of 0.26 to 0.28 nats.
  EXPECT_LT(kl_divergence, 0.4);
}

TEST(Tsne, CalibratesPerplexity) {
  auto generator = at::detail::createCPUGenerator(11);
  const at::Tensor points = at::randn({150, 5}, generator, at::kDouble);
  const at::Tensor distances = pairwise_distances(points).square();
  // The 1e4 scale puts exp(-beta d) far below the smallest double at the initial beta of 1.
  for (const double scale : {1.0, 1e4}) {
    for (const double perplexity : {2.0, 10.0, 30.0, 100.0}) {
      SCOPED_TRACE(testing::Message() << "scale " << scale << ", perplexity " << perplexity);
      const at::Tensor conditional = tsne_conditional_probabilities(distances * scale, perplexity);
      const at::Tensor entropy = -at::xlogy(conditional, conditional).sum(1);
      const double worst = (entropy - std::log(perplexity)).abs().max().item<double>();
      EXPECT_LT(worst, 1e-4);
      EXPECT_LT((conditional.sum(1) - 1.0).abs().max().item<double>(), 1e-12);
      EXPECT_EQ(conditional.diagonal().abs().max().item<double>(), 0.0);
    }
  }
}

TEST(Tsne, JointProbabilitiesSymmetricAndNormalised) {
  auto [features, labels] = separated_clusters(10, 3);
  const at::Tensor joint = tsne_joint_probabilities(features, 5.0);
  EXPECT_TRUE(at::allclose(joint, joint.t(), 0.0, 1e-18));
  EXPECT_NEAR(joint.sum().item<double>(), 1.0, 1e-9);
  EXPECT_EQ(joint.diagonal().abs().max().item<double>(), 0.0);
  EXPECT_GE(joint.fill_diagonal_(1.0).min().item<double>(), 1e-12);
}

TEST(Tsne, SameSeedGivesIdenticalOutput) {
  auto [features, labels] = separated_clusters(15, 5);
  TsneOptions options;
  options.perplexity = 10.0;
  options.iterations = 300;
  EXPECT_TRUE(at::equal(tsne_embed(features, options), tsne_embed(features, options)));

  // One-dimensional features fill only the first PCA column, so the seed sets the second.
  const at::Tensor line = features.slice(1, 0, 1);
  const at::Tensor first = tsne_embed(line, options);
  EXPECT_TRUE(at::equal(first, tsne_embed(line, options)));
  options.seed = 2;
  EXPECT_FALSE(at::equal(first, tsne_embed(line, options)));
  EXPECT_GT(first.select(1, 1).std().item<float>(), 0.0F);
}

TEST(Tsne, EmbedsIntoRequestedDimensions) {
  auto [features, labels] = separated_clusters(10, 9);
  TsneOptions options;
  options.dimensions = 3;
  options.perplexity = 5.0;
  options.iterations = 100;
  options.exaggeration_iterations = 50;
  const at::Tensor embedding = tsne_embed(features, options);
  EXPECT_EQ(embedding.sizes(), (std::vector<std::int64_t>{40, 3}));
  EXPECT_TRUE(at::isfinite(embedding).all().item<bool>());
}

TEST(Tsne, RejectsInvalidInput) {
  const at::Tensor features = at::randn({10, 4});
  TsneOptions small;
  small.perplexity = 3.0;

  EXPECT_EQ(
      config_error_message(at::randn({10, 4, 1}), small),
      "t-SNE features must be a 2-D [N, F] tensor, but got shape [10, 4, 1]; reshape them to [N, F]");
  EXPECT_EQ(
      config_error_message(at::randn({2, 4}), small),
      "t-SNE needs at least 3 points, but the features have 2; pass more points");
  EXPECT_EQ(
      config_error_message(at::randn({10, 0}), small),
      "t-SNE features have shape [10, 0] with no columns; pass at least one feature per point");
  at::Tensor with_nan = features.clone();
  with_nan[3][1] = NAN;
  EXPECT_EQ(
      config_error_message(with_nan, small),
      "t-SNE features contain NaN or infinite values; remove or replace them");

  EXPECT_EQ(
      config_error_message(features, TsneOptions{}),
      "t-SNE perplexity is 30, but it must be at least 1 and less than N - 1 = 9 for N = 10 "
      "points; lower the perplexity or pass more points");
  TsneOptions options = small;
  options.perplexity = 0.5;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE perplexity is 0.5, but it must be at least 1 and less than N - 1 = 9 for N = 10 "
      "points; lower the perplexity or pass more points");

  options = small;
  options.dimensions = 0;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE dimensions is 0, but it must be at least 1; use 2 for a plot");
  options = small;
  options.iterations = -1;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE iterations is -1, but it must not be negative; the default is 1000");
  options = small;
  options.iterations = 100;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE exaggeration_iterations is 250, but it must be between 0 and iterations = 100; lower "
      "it or raise iterations");
  options = small;
  options.learning_rate = 0.0;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE learning_rate is 0, but it must be positive, or -1 for "
      "max(N / early_exaggeration / 4, 50); set it to -1");
  options = small;
  options.early_exaggeration = 0.5;
  EXPECT_EQ(
      config_error_message(features, options),
      "t-SNE early_exaggeration is 0.5, but it must be a finite number of at least 1; the default "
      "is 12");

  EXPECT_THROW(tsne_conditional_probabilities(at::zeros({4, 5}, at::kDouble), 2.0), ConfigError);
  EXPECT_THROW(tsne_joint_probabilities(features, 9.0), ConfigError);
}

}  // namespace
}  // namespace genmem
