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

}  // namespace genmem
