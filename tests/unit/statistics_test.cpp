#include "analysis/statistics.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace genmem {
namespace {

// Reference values from scipy 1.10.1: scipy.stats.ttest_rel(after, before) and its
// confidence_interval(0.95); Cohen's d as mean(d) / numpy.std(d).
TEST(PairedTTest, MatchesScipyOnSmallSample) {
  const std::vector<double> before = {1, 2, 3, 4, 5};
  const std::vector<double> after = {2, 4, 5, 4, 7};
  const PairedTTest test = paired_t_test(before, after);
  EXPECT_EQ(test.pairs, 5);
  EXPECT_DOUBLE_EQ(test.mean_difference, 1.4);
  EXPECT_NEAR(test.sd_difference, 0.894427190999916, 1e-12);
  EXPECT_NEAR(test.t, 3.5, 1e-12);
  EXPECT_DOUBLE_EQ(test.degrees_of_freedom, 4.0);
  EXPECT_NEAR(test.p_value, 0.02489616346022276, 1e-12);
  EXPECT_NEAR(test.ci_low, 0.2894219579208803, 1e-12);
  EXPECT_NEAR(test.ci_high, 2.5105780420791195, 1e-12);
  EXPECT_NEAR(test.cohens_d, 1.75, 1e-12);
}

TEST(PairedTTest, SignFollowsAfterMinusBefore) {
  const PairedTTest test = paired_t_test({2, 4, 5, 4, 7}, {1, 2, 3, 4, 5});
  EXPECT_NEAR(test.t, -3.5, 1e-12);
  EXPECT_NEAR(test.ci_high, -0.2894219579208803, 1e-12);
  EXPECT_NEAR(test.p_value, 0.02489616346022276, 1e-12);
}

TEST(PairedTTest, InvalidInputRejected) {
  EXPECT_THROW(paired_t_test({1, 2}, {1}), std::invalid_argument);
  EXPECT_THROW(paired_t_test({1}, {2}), std::invalid_argument);
  EXPECT_THROW(paired_t_test({1, 2, 3}, {2, 3, 4}), std::invalid_argument);
}

TEST(MeanAndSem, UsesPopulationStandardDeviation) {
  double sem = 0.0;
  // Values 1 to 4: mean 2.5, population variance 1.25, so SEM = sqrt(1.25) / 2.
  EXPECT_DOUBLE_EQ(mean_and_sem({1, 2, 3, 4}, sem), 2.5);
  EXPECT_NEAR(sem, 0.5590169943749474, 1e-15);
}

// Reference values from scipy 1.10.1: scipy.stats.spearmanr(x, y).
TEST(SpearmanCorrelation, MatchesScipyWithTies) {
  const RankCorrelation result = spearman_correlation({1, 2, 3, 4, 5, 6}, {2, 1, 4, 4, 6, 5});
  // Ranks of y: 2, 1, 3.5, 3.5, 6, 5; Pearson's correlation of the ranks.
  EXPECT_NEAR(result.rho, 0.8696565534786727, 1e-12);
  EXPECT_GT(result.p_value, 0.0);
  EXPECT_LT(result.p_value, 0.05);
}

TEST(SpearmanCorrelation, MonotonicSeriesGiveOne) {
  const std::vector<double> thresholds = {0.01, 0.05, 0.1, 0.15, 0.2};
  EXPECT_DOUBLE_EQ(spearman_correlation(thresholds, {20, 115, 209, 359, 530}).rho, 1.0);
  const RankCorrelation falling = spearman_correlation(thresholds, {4693, 2168, 1299, 880, 691});
  EXPECT_DOUBLE_EQ(falling.rho, -1.0);
  EXPECT_DOUBLE_EQ(falling.p_value, 0.0);
  // Of the 120 orderings of 5 values, one gives rho = 1 and one rho = -1.
  EXPECT_DOUBLE_EQ(falling.exact_p_value, 2.0 / 120.0);
}

TEST(SpearmanCorrelation, ExactPValueCountsOrderings) {
  // Ranks 1 3 2 4 against 1 2 3 4: rho = 0.8. Of the 24 orderings, rho is 1 once, 0.8 three
  // times (one adjacent swap), and -0.8 and -1 as often, so 8 of 24 are as extreme.
  const RankCorrelation result = spearman_correlation({1, 2, 3, 4}, {1, 3, 2, 4});
  EXPECT_DOUBLE_EQ(result.rho, 0.8);
  EXPECT_DOUBLE_EQ(result.exact_p_value, 8.0 / 24.0);
  // Tied values: ranks 1, 2.5, 2.5, 4 (rho 0.949). Only orderings with 1 and 4 at the two ends
  // reach |rho| = 0.949: 2 with 1 first and 2 with 4 first, counting each order of the two
  // tied ranks, so 4 of 24.
  const RankCorrelation tied = spearman_correlation({1, 2, 3, 4}, {1, 2, 2, 4});
  EXPECT_NEAR(tied.rho, 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_DOUBLE_EQ(tied.exact_p_value, 4.0 / 24.0);
  // Above the limit only the t approximation is given.
  std::vector<double> ten(10);
  std::iota(ten.begin(), ten.end(), 0.0);
  EXPECT_TRUE(std::isnan(spearman_correlation(ten, ten).exact_p_value));
}

TEST(SpearmanCorrelation, InvalidInputRejected) {
  EXPECT_THROW(spearman_correlation({1, 2, 3}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(spearman_correlation({1, 2}, {1, 2}), std::invalid_argument);
  EXPECT_THROW(spearman_correlation({1, 2, 3}, {4, 4, 4}), std::invalid_argument);
}

}  // namespace
}  // namespace genmem
