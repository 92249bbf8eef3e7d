#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "analysis/metrics.hpp"
#include "analysis/pca.hpp"
#include "analysis/svm_classifier.hpp"

namespace genmem {
namespace {

// Four Gaussian clusters in 20 dimensions, `per_class` points each, centres 6 standard
// deviations apart.
std::pair<at::Tensor, at::Tensor> clusters(std::int64_t per_class, double separation) {
  const at::Tensor centres = at::randn({4, 20}, at::kFloat) * separation;
  const at::Tensor labels = at::arange(4, at::kLong).repeat_interleave(per_class);
  const at::Tensor features = centres.index_select(0, labels) + at::randn({4 * per_class, 20});
  return {features, labels};
}

TEST(SvmClassifier, SeparatedClustersDecodedPerfectly) {
  auto [features, labels] = clusters(400, 6.0);
  EXPECT_DOUBLE_EQ(decoding_accuracy(features, labels, DecodingOptions{200, 750, 1}), 1.0);
}

TEST(SvmClassifier, RandomLabelsNearChance) {
  const at::Tensor features = at::randn({1500, 20});
  const at::Tensor labels = at::randint(4, {1500}, at::kLong);
  const double accuracy = decoding_accuracy(features, labels, DecodingOptions{200, 750, 1});
  // Chance is 0.25; 750 test items give a standard error of about 0.016.
  EXPECT_GT(accuracy, 0.18);
  EXPECT_LT(accuracy, 0.32);
}

TEST(SvmClassifier, TooFewItemsRejected) {
  auto [features, labels] = clusters(10, 6.0);
  EXPECT_THROW(decoding_accuracy(features, labels, DecodingOptions{200, 750, 1}), std::exception);
}

TEST(SvmClassifier, ProbabilitiesFollowSortedLabels) {
  auto [features, labels] = clusters(100, 6.0);
  // Labels 3, 2, 1, 0 in place of 0, 1, 2, 3, so libsvm meets them in descending order.
  const at::Tensor reversed = labels.neg().add(3);
  const SvmClassifier classifier(features, reversed, /*probability=*/true);
  const at::Tensor probabilities = classifier.predict_probability(features);
  ASSERT_EQ(probabilities.size(1), 4);
  EXPECT_TRUE(probabilities.sum(1).sub(1.0).abs().lt(1e-6).all().item<bool>());
  // Column k is the probability of label k, so the most probable column is the true label.
  EXPECT_TRUE(probabilities.argmax(1).eq(reversed).all().item<bool>());
  EXPECT_TRUE(classifier.predict(features).eq(reversed).all().item<bool>());
  EXPECT_DOUBLE_EQ(classifier.score(features, reversed), 1.0);
}

TEST(SvmClassifier, ProbabilityNeedsProbabilityFit) {
  auto [features, labels] = clusters(20, 6.0);
  const SvmClassifier classifier(features, labels);
  EXPECT_THROW(classifier.predict_probability(features), ModelError);
}

TEST(Pca, RecoversDominantAxis) {
  // Points along (3, 4) / 5 with small noise: the first component is that line.
  const at::Tensor t = at::linspace(-10, 10, 101, at::kFloat).unsqueeze(1);
  const at::Tensor direction = at::tensor({0.6F, 0.8F}).unsqueeze(0);
  const at::Tensor points = t * direction + 0.01 * at::randn({101, 2});
  const at::Tensor projected = pca_project(points, 1);
  const at::Tensor expected = t.squeeze(1);
  EXPECT_LT((projected.squeeze(1).abs() - expected.abs()).abs().max().item<float>(), 0.05);
}

TEST(Metrics, ReconstructionErrorSumsChannelMeans) {
  // One 2-channel 1x2 image: channel-mean errors 0.5 and 0.25 per pixel give 0.75.
  const at::Tensor images = at::zeros({1, 2, 1, 2});
  const at::Tensor outputs = at::tensor({1.0F, 0.5F, 0.0F, 0.0F}).reshape({1, 2, 1, 2});
  EXPECT_DOUBLE_EQ(reconstruction_error(images, outputs), 0.75);
}

TEST(Metrics, NearestPatternFindsClosestRow) {
  const at::Tensor patterns = at::tensor({0.0F, 0.0F, 10.0F, 0.0F, 0.0F, 10.0F}).reshape({3, 2});
  const at::Tensor queries =
      at::tensor({9.0F, 1.0F, 1.0F, 1.0F, 1.0F, 8.0F, 6.0F, 0.0F}).reshape({4, 2});
  const at::Tensor nearest = nearest_pattern(queries, patterns, /*chunk=*/3);
  EXPECT_EQ(nearest[0].item<std::int64_t>(), 1);
  EXPECT_EQ(nearest[1].item<std::int64_t>(), 0);
  EXPECT_EQ(nearest[2].item<std::int64_t>(), 2);
  EXPECT_EQ(nearest[3].item<std::int64_t>(), 1);
}

TEST(Metrics, ZeroNoiseZeroesExactFraction) {
  const at::Tensor images = at::ones({5, 1, 10, 10});
  auto generator = at::detail::createCPUGenerator(3);
  const at::Tensor noisy = zero_noise(images, 0.1, generator);
  for (std::int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(noisy[i].eq(0).sum().item<std::int64_t>(), 10);
  }
}

}  // namespace
}  // namespace genmem
