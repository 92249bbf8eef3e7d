#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace genmem {

/// A paired-samples t-test of `after - before`, as scipy.stats.ttest_rel computes it.
struct PairedTTest {
  std::int64_t pairs = 0;
  double mean_difference = 0.0;
  /// Sample standard deviation of the differences (n - 1 in the denominator).
  double sd_difference = 0.0;
  double t = 0.0;
  double degrees_of_freedom = 0.0;
  /// Two-sided p-value.
  double p_value = 1.0;
  /// Confidence interval of the mean difference at `confidence`.
  double ci_low = 0.0;
  double ci_high = 0.0;
  double confidence = 0.95;
  /// Mean difference over the population standard deviation of the differences (n in the
  /// denominator): Cohen's d as the analysis of Spens and Burgess (2024) computed it.
  double cohens_d = 0.0;
};

/// Tests whether `after` differs from `before` pair by pair. The t distribution comes from
/// Boost.Math. Throws std::invalid_argument when the sizes differ, there are fewer than two
/// pairs, or every difference is the same.
PairedTTest paired_t_test(
    const std::vector<double>& before, const std::vector<double>& after, double confidence = 0.95);

/// The mean of a sample, its standard error (the sample standard deviation, with n - 1, over
/// sqrt(n); 0 for a single value) and the sample's size.
struct SampleMean {
  double mean = 0.0;
  double sem = 0.0;
  std::size_t count = 0;
};

/// Returns the mean and standard error of `values`; all zero when `values` is empty.
SampleMean sample_mean(const std::vector<double>& values);

/// Returns the mean of `values`, and in `sem` the standard error std / sqrt(n) with the
/// population standard deviation, as the bar chart of Spens and Burgess (2024) used it.
double mean_and_sem(const std::vector<double>& values, double& sem);

/// Spearman's rank correlation, as scipy.stats.spearmanr computes it: Pearson's correlation of
/// the ranks, with tied values given their mean rank.
struct RankCorrelation {
  double rho = 0.0;
  /// Two-sided p-value from the t distribution with n - 2 degrees of freedom (exact 0 when
  /// |rho| = 1).
  double p_value = 1.0;
  /// Two-sided p-value of the permutation test: the share of all n! orderings of y whose |rho|
  /// is at least as large. Computed for n of at most `kExactSpearmanLimit`, where the t
  /// approximation is poor (5 pairs with |rho| = 1 give 1/60, not 0); NaN above it.
  double exact_p_value = std::numeric_limits<double>::quiet_NaN();
};

/// The largest number of pairs for which `spearman_correlation` enumerates every permutation.
inline constexpr std::size_t kExactSpearmanLimit = 9;

/// Correlates `x` with `y`. Throws std::invalid_argument when the sizes differ, there are fewer
/// than three pairs, or either side is constant.
RankCorrelation spearman_correlation(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace genmem
