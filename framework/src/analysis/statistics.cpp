#include "analysis/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>

namespace genmem {

PairedTTest paired_t_test(
    const std::vector<double>& before, const std::vector<double>& after, double confidence) {
  if (before.size() != after.size()) {
    throw std::invalid_argument(fmt::format(
        "paired_t_test: {} values before but {} after; each pair needs both",
        before.size(),
        after.size()));
  }
  if (before.size() < 2) {
    throw std::invalid_argument("paired_t_test: needs at least two pairs");
  }
  const auto n = static_cast<double>(before.size());
  std::vector<double> differences(before.size());
  std::transform(after.begin(), after.end(), before.begin(), differences.begin(), std::minus<>());
  const double mean = std::accumulate(differences.begin(), differences.end(), 0.0) / n;
  double squares = 0.0;
  for (const double difference : differences) {
    squares += (difference - mean) * (difference - mean);
  }
  if (squares == 0.0) {
    throw std::invalid_argument(
        "paired_t_test: every difference is the same, so the t statistic is undefined");
  }

  PairedTTest test;
  test.pairs = static_cast<std::int64_t>(before.size());
  test.mean_difference = mean;
  test.sd_difference = std::sqrt(squares / (n - 1.0));
  test.degrees_of_freedom = n - 1.0;
  const double standard_error = test.sd_difference / std::sqrt(n);
  test.t = mean / standard_error;
  const boost::math::students_t distribution(test.degrees_of_freedom);
  test.p_value = 2.0 * boost::math::cdf(boost::math::complement(distribution, std::abs(test.t)));
  const double critical =
      boost::math::quantile(boost::math::complement(distribution, (1.0 - confidence) / 2.0));
  test.ci_low = mean - critical * standard_error;
  test.ci_high = mean + critical * standard_error;
  test.confidence = confidence;
  test.cohens_d = mean / std::sqrt(squares / n);
  return test;
}

SampleMean sample_mean(const std::vector<double>& values) {
  SampleMean result;
  result.count = values.size();
  if (values.empty()) {
    return result;
  }
  const auto n = static_cast<double>(values.size());
  result.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  if (values.size() > 1) {
    double squares = 0.0;
    for (const double value : values) {
      squares += (value - result.mean) * (value - result.mean);
    }
    result.sem = std::sqrt(squares / (n - 1.0)) / std::sqrt(n);
  }
  return result;
}

double mean_and_sem(const std::vector<double>& values, double& sem) {
  const auto n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double squares = 0.0;
  for (const double value : values) {
    squares += (value - mean) * (value - mean);
  }
  sem = std::sqrt(squares / n) / std::sqrt(n);
  return mean;
}

namespace {

// Ranks from 1, with tied values sharing their mean rank.
std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return values[a] < values[b];
  });
  std::vector<double> result(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) {
      ++j;
    }
    const double mean_rank = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (std::size_t k = i; k <= j; ++k) {
      result[order[k]] = mean_rank;
    }
    i = j + 1;
  }
  return result;
}

}  // namespace

RankCorrelation spearman_correlation(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) {
    throw std::invalid_argument(fmt::format(
        "spearman_correlation: {} x values but {} y values; each pair needs both",
        x.size(),
        y.size()));
  }
  if (x.size() < 3) {
    throw std::invalid_argument("spearman_correlation: needs at least three pairs");
  }
  const std::vector<double> rx = ranks(x);
  const std::vector<double> ry = ranks(y);
  const auto n = static_cast<double>(x.size());
  const double mean = (n + 1.0) / 2.0;
  double sxy = 0.0;
  double sxx = 0.0;
  double syy = 0.0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0.0 || syy == 0.0) {
    throw std::invalid_argument(
        "spearman_correlation: one side is constant, so the correlation is undefined");
  }
  RankCorrelation result;
  result.rho = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  if (rx.size() <= kExactSpearmanLimit) {
    // Every ordering of y's ranks against x's: the denominator stays the same, so comparing the
    // sums of products is comparing the correlations. The tolerance keeps ties of rho exact.
    std::vector<double> permuted = ry;
    std::sort(permuted.begin(), permuted.end());
    const double observed = std::abs(sxy);
    std::int64_t as_extreme = 0;
    std::int64_t orderings = 0;
    do {
      double sum = 0.0;
      for (std::size_t i = 0; i < rx.size(); ++i) {
        sum += (rx[i] - mean) * (permuted[i] - mean);
      }
      as_extreme += std::abs(sum) >= observed - 1e-9 ? 1 : 0;
      ++orderings;
    } while (std::next_permutation(permuted.begin(), permuted.end()));
    result.exact_p_value = static_cast<double>(as_extreme) / static_cast<double>(orderings);
  }
  const double remaining = 1.0 - result.rho * result.rho;
  if (remaining <= 0.0) {
    result.p_value = 0.0;
    return result;
  }
  const double t = result.rho * std::sqrt((n - 2.0) / remaining);
  const boost::math::students_t distribution(n - 2.0);
  result.p_value = 2.0 * boost::math::cdf(boost::math::complement(distribution, std::abs(t)));
  return result;
}

}  // namespace genmem
