#include "outputs/charts.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

using ::testing::HasSubstr;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Pixels of `image` (BGR) within `tolerance` per channel of series `index`'s colour, as 255/0.
cv::Mat series_mask(const cv::Mat& image, std::size_t index, int tolerance = 0) {
  const auto rgb = chart_series_colour(index);
  const cv::Scalar low(rgb[2] - tolerance, rgb[1] - tolerance, rgb[0] - tolerance);
  const cv::Scalar high(rgb[2] + tolerance, rgb[1] + tolerance, rgb[0] + tolerance);
  cv::Mat mask;
  cv::inRange(image, low, high, mask);
  return mask;
}

// A run of neighbouring image columns that each contain at least one masked pixel.
struct ColumnRun {
  int first;
  int last;

  int centre() const { return (first + last) / 2; }
};

// Runs of masked columns from left to right: one per bar or box, and one for the legend key.
std::vector<ColumnRun> column_runs(const cv::Mat& mask) {
  std::vector<ColumnRun> runs;
  for (int column = 0; column < mask.cols; ++column) {
    if (cv::countNonZero(mask.col(column)) == 0) {
      continue;
    }
    if (!runs.empty() && runs.back().last == column - 1) {
      runs.back().last = column;
    } else {
      runs.push_back({column, column});
    }
  }
  return runs;
}

// Rows of the first and last masked pixel in `column` between rows `first_row` and `last_row`
// (the whole column by default), or {-1, -1} when there is none.
std::pair<int, int> masked_extent(
    const cv::Mat& mask, int column, int first_row = 0, int last_row = -1) {
  if (last_row < 0) {
    last_row = mask.rows - 1;
  }
  int top = -1;
  int bottom = -1;
  for (int row = first_row; row <= last_row; ++row) {
    if (mask.at<unsigned char>(row, column) != 0) {
      if (top < 0) {
        top = row;
      }
      bottom = row;
    }
  }
  return {top, bottom};
}

cv::Mat read_png(const std::filesystem::path& path) {
  cv::Mat image = cv::imread(path.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty()) << "could not read " << path;
  return image;
}

// Checks that `call` throws std::invalid_argument whose message contains `function` and `detail`.
void expect_invalid(
    const std::function<void()>& call, const std::string& function, const std::string& detail) {
  try {
    call();
    ADD_FAILURE() << "expected std::invalid_argument mentioning '" << detail << "'";
  } catch (const std::invalid_argument& error) {
    EXPECT_THAT(error.what(), HasSubstr(function + ": "));
    EXPECT_THAT(error.what(), HasSubstr(detail));
  }
}

// Checks that series 0 in `image` is one straight, rising line across most of the plot.
void expect_straight_rising_line(const cv::Mat& image) {
  // Anti-aliased edges blend into white, so the line's core is matched with some tolerance.
  const cv::Mat mask = series_mask(image, 0, 30);
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids);
  ASSERT_GE(count, 2) << "no pixels of the series colour";
  int line = 1;
  for (int i = 2; i < count; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(line, cv::CC_STAT_AREA)) {
      line = i;
    }
  }
  const int left = stats.at<int>(line, cv::CC_STAT_LEFT);
  const int width = stats.at<int>(line, cv::CC_STAT_WIDTH);
  EXPECT_GT(width, image.cols / 2);

  // The middle row of the line in each column lies on the chord between the line's ends.
  const cv::Mat line_mask = labels == line;
  const auto middle_row = [&line_mask](int column) {
    const auto [top, bottom] = masked_extent(line_mask, column);
    return (top + bottom) / 2.0;
  };
  const int first = left + 4;
  const int last = left + width - 5;
  const double first_row = middle_row(first);
  const double last_row = middle_row(last);
  EXPECT_LT(last_row, first_row - 100) << "the line should rise to the right";
  for (int column = first; column <= last; column += 7) {
    const double expected = first_row + (last_row - first_row) * (column - first) / (last - first);
    EXPECT_NEAR(middle_row(column), expected, 2) << "column " << column;
  }
}

TEST(ChartBoxStats, OneToTenMatchesNumpy) {
  // numpy.percentile (linear) puts percentile p at index (n - 1) * p / 100 = 9p / 100 of the
  // sorted values 1..10, so the value is 1 + 9p / 100:
  // P10 = 1.9, Q1 = 3.25, median = 5.5, Q3 = 7.75, P90 = 9.1.
  const BoxStats stats = box_stats({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_DOUBLE_EQ(stats.whisker_low, 1.9);
  EXPECT_DOUBLE_EQ(stats.q1, 3.25);
  EXPECT_DOUBLE_EQ(stats.median, 5.5);
  EXPECT_DOUBLE_EQ(stats.q3, 7.75);
  EXPECT_DOUBLE_EQ(stats.whisker_high, 9.1);
}

TEST(ChartBoxStats, UnevenGapsAndCustomWhiskers) {
  // Sorted values 1, 3, 7, 15 sit at indices 0..3, and percentile p at index 3p / 100:
  // P5 at 0.15 = 1 + 0.15 * 2 = 1.3, Q1 at 0.75 = 1 + 0.75 * 2 = 2.5,
  // median at 1.5 = 3 + 0.5 * 4 = 5, Q3 at 2.25 = 7 + 0.25 * 8 = 9,
  // P95 at 2.85 = 7 + 0.85 * 8 = 13.8.
  const BoxStats stats = box_stats({7, 1, 15, 3}, 5, 95);
  EXPECT_DOUBLE_EQ(stats.whisker_low, 1.3);
  EXPECT_DOUBLE_EQ(stats.q1, 2.5);
  EXPECT_DOUBLE_EQ(stats.median, 5.0);
  EXPECT_DOUBLE_EQ(stats.q3, 9.0);
  EXPECT_DOUBLE_EQ(stats.whisker_high, 13.8);
}

TEST(ChartBoxStats, SingleValueGivesFlatBox) {
  const BoxStats stats = box_stats({4.5});
  EXPECT_EQ(stats.whisker_low, 4.5);
  EXPECT_EQ(stats.q1, 4.5);
  EXPECT_EQ(stats.median, 4.5);
  EXPECT_EQ(stats.q3, 4.5);
  EXPECT_EQ(stats.whisker_high, 4.5);
}

TEST(ChartBoxStats, InvalidInputRejected) {
  expect_invalid([] { box_stats({}); }, "box_stats", "values is empty");
  expect_invalid([] { box_stats({1, kNan}); }, "box_stats", "value [1] is nan");
  expect_invalid([] { box_stats({1, 2}, -1, 90); }, "box_stats", "whisker percentiles (-1, 90)");
  expect_invalid([] { box_stats({1, 2}, 30, 90); }, "box_stats", "whisker percentiles (30, 90)");
  expect_invalid([] { box_stats({1, 2}, 10, 101); }, "box_stats", "whisker percentiles (10, 101)");
}

TEST(ChartSeriesColour, FirstTenDistinctThenRepeat) {
  for (std::size_t i = 0; i < 10; ++i) {
    for (std::size_t j = i + 1; j < 10; ++j) {
      EXPECT_NE(chart_series_colour(i), chart_series_colour(j)) << i << " and " << j;
    }
  }
  EXPECT_EQ(chart_series_colour(10), chart_series_colour(0));
  const std::array<std::uint8_t, 3> blue = {31, 119, 180};
  EXPECT_EQ(chart_series_colour(0), blue);
}

TEST(ChartBarChart, BarHeightsProportionalToValues) {
  test_support::TempDir dir;
  const auto path = dir / "bars.png";
  write_bar_chart(path, "Recall", "accuracy", {"first", "second"}, {{"model", {1, 2}, {}}});

  const cv::Mat mask = series_mask(read_png(path), 0);
  const std::vector<ColumnRun> runs = column_runs(mask);
  // Two bars and the legend's swatch.
  ASSERT_EQ(runs.size(), 3U);
  const int first_height = cv::countNonZero(mask.col(runs[0].centre()));
  const int second_height = cv::countNonZero(mask.col(runs[1].centre()));
  EXPECT_GT(first_height, 100);
  EXPECT_NEAR(second_height, 2 * first_height, 2);

  // Both bars stand on the same baseline, which is the bottom of the y axis at 0.
  EXPECT_EQ(
      masked_extent(mask, runs[0].centre()).second, masked_extent(mask, runs[1].centre()).second);
}

TEST(ChartBarChart, SeriesSideBySideInCategory) {
  test_support::TempDir dir;
  const auto path = dir / "grouped.png";
  const std::vector<BarSeries> series = {{"before", {3, 1}, {0.5, 0.5}}, {"after", {1, 3}, {}}};
  write_bar_chart(path, "Grouped", "score", {"a", "b"}, series);

  const cv::Mat image = read_png(path);
  const std::vector<ColumnRun> before = column_runs(series_mask(image, 0));
  const std::vector<ColumnRun> after = column_runs(series_mask(image, 1));
  ASSERT_EQ(before.size(), 3U);
  ASSERT_EQ(after.size(), 3U);
  // In each category the first series sits directly left of the second.
  EXPECT_LT(before[0].last, after[0].first);
  EXPECT_LT(after[0].last, before[1].first);
  EXPECT_LT(before[1].last, after[1].first);

  // Value 3 is three times value 1, in both series.
  const int before_a = cv::countNonZero(series_mask(image, 0).col(before[0].first + 1));
  const int before_b = cv::countNonZero(series_mask(image, 0).col(before[1].first + 1));
  const int after_a = cv::countNonZero(series_mask(image, 1).col(after[0].centre()));
  const int after_b = cv::countNonZero(series_mask(image, 1).col(after[1].centre()));
  EXPECT_NEAR(before_a, 3 * before_b, 3);
  EXPECT_NEAR(after_b, 3 * after_a, 3);
}

TEST(ChartBoxPlot, WhiskersAndMedianAtValues) {
  test_support::TempDir dir;
  const auto path = dir / "boxes.png";
  const BoxStats narrow = {1, 2, 3, 4, 5};
  const BoxStats wide = {0, 2, 3, 6, 8};
  write_box_plot(path, "Boxes", "error", {"narrow", "wide"}, {{"model", {narrow, wide}}});

  const cv::Mat image = read_png(path);
  const cv::Mat mask = series_mask(image, 0);
  const std::vector<ColumnRun> runs = column_runs(mask);
  ASSERT_EQ(runs.size(), 3U);

  // Whiskers run from whisker_low to whisker_high, so the wide box's span is twice the narrow's.
  const auto [narrow_top, narrow_bottom] = masked_extent(mask, runs[0].centre());
  const auto [wide_top, wide_bottom] = masked_extent(mask, runs[1].centre());
  const double pixels_per_unit = (narrow_bottom - narrow_top) / 4.0;
  EXPECT_GT(pixels_per_unit, 20);
  EXPECT_NEAR(wide_bottom - wide_top, 2 * (narrow_bottom - narrow_top), 2);

  // The median line is black, at value 3 in both boxes. Only rows between the whisker ends are
  // searched, because the black category label sits under each box.
  cv::Mat black;
  cv::inRange(image, cv::Scalar::all(0), cv::Scalar::all(0), black);
  for (const auto& [run, whisker_low] : {std::pair{runs[0], 1.0}, std::pair{runs[1], 0.0}}) {
    const auto [top, bottom] = masked_extent(mask, run.centre());
    const auto [median_top, median_bottom] = masked_extent(black, run.centre(), top, bottom);
    ASSERT_GE(median_top, 0) << "no median line in the box at column " << run.centre();
    const double median_row = (median_top + median_bottom) / 2.0;
    EXPECT_NEAR(median_row, bottom - (3 - whisker_low) * pixels_per_unit, 2);
  }
}

TEST(ChartLinePlot, CollinearPointsDrawStraightLine) {
  test_support::TempDir dir;
  const auto path = dir / "line.png";
  write_line_plot(path, "Line", "x", "y", {{"linear", {0, 1, 2, 3, 4}, {1, 3, 5, 7, 9}, {}}});
  expect_straight_rising_line(read_png(path));
}

TEST(ChartLinePlot, LogXStraightensLogarithm) {
  // y = log10(x) is a straight line when x is on a logarithmic axis.
  test_support::TempDir dir;
  const auto path = dir / "log.png";
  write_line_plot(
      path, "Log", "x", "log10 x", {{"log", {1, 10, 100, 1000}, {0, 1, 2, 3}, {}}}, /*log_x=*/true);
  expect_straight_rising_line(read_png(path));
}

TEST(ChartTwinAxisPlot, EachSeriesSpansItsOwnAxis) {
  // The right series is 100 times larger than the left one and falls. Because it has its own
  // axis, it still spans most of the plot's height, as the rising left one does.
  test_support::TempDir dir;
  const auto path = dir / "twin.png";
  write_twin_axis_plot(
      path,
      "Twin",
      "threshold",
      {"error", {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {}},
      "error",
      {"count", {1, 2, 3, 4, 5}, {500, 400, 300, 200, 100}, {}},
      "count");
  const cv::Mat image = read_png(path);
  for (const auto& [index, rising] :
       {std::pair{std::size_t{0}, true}, std::pair{std::size_t{1}, false}}) {
    std::vector<cv::Point> points;
    cv::findNonZero(series_mask(image, index, 30), points);
    // The legend's keys sit right of the plot; only the lines count.
    std::erase_if(points, [&](const cv::Point& point) { return point.x > image.cols * 0.75; });
    ASSERT_FALSE(points.empty()) << "series " << index;
    EXPECT_GT(cv::boundingRect(points).height, 250) << "series " << index;
    const auto by_x = [](const cv::Point& a, const cv::Point& b) {
      return a.x < b.x;
    };
    const cv::Point left = *std::min_element(points.begin(), points.end(), by_x);
    const cv::Point right = *std::max_element(points.begin(), points.end(), by_x);
    if (rising) {
      EXPECT_GT(left.y, right.y + 200) << "the left series should rise to the right";
    } else {
      EXPECT_LT(left.y, right.y - 200) << "the right series should fall to the right";
    }
  }
}

TEST(ChartBarChart, InvalidInputRejected) {
  const auto write = [](const std::vector<std::string>& categories,
                        const std::vector<BarSeries>& series) {
    return [categories, series] {
      test_support::TempDir dir;
      write_bar_chart(dir / "bars.png", "t", "y", categories, series);
    };
  };
  const std::string function = "write_bar_chart";
  expect_invalid(write({}, {{"s", {}, {}}}), function, "categories is empty");
  expect_invalid(write({"a"}, {}), function, "series is empty");
  expect_invalid(
      write({"a", "b"}, {{"s", {1}, {}}}), function, "series 's' has 1 values for 2 categories");
  expect_invalid(
      write({"a", "b"}, {{"s", {1, 2}, {0.1}}}), function, "series 's' has 1 errors for 2 values");
  expect_invalid(write({"a"}, {{"s", {kNan}, {}}}), function, "series 's' value [0] is nan");
  expect_invalid(
      write({"a"}, {{"s", {std::numeric_limits<double>::infinity()}, {}}}),
      function,
      "series 's' value [0] is inf");
  expect_invalid(write({"a"}, {{"s", {1}, {kNan}}}), function, "series 's' error [0] is nan");
  expect_invalid(write({"a"}, {{"s", {1}, {-0.5}}}), function, "error [0] is -0.5");
}

TEST(ChartBoxPlot, InvalidInputRejected) {
  const auto write = [](const std::vector<std::string>& categories,
                        const std::vector<BoxSeries>& series) {
    return [categories, series] {
      test_support::TempDir dir;
      write_box_plot(dir / "boxes.png", "t", "y", categories, series);
    };
  };
  const std::string function = "write_box_plot";
  const BoxStats box = {1, 2, 3, 4, 5};
  expect_invalid(write({}, {{"s", {}}}), function, "categories is empty");
  expect_invalid(write({"a"}, {}), function, "series is empty");
  expect_invalid(
      write({"a", "b"}, {{"s", {box}}}), function, "series 's' has 1 boxes for 2 categories");
  expect_invalid(
      write({"a"}, {{"s", {{1, 2, kNan, 4, 5}}}}),
      function,
      "series 's' box 0 statistic [2] is nan");
  expect_invalid(write({"a"}, {{"s", {{1, 4, 3, 2, 5}}}}), function, "box 0 is (1, 4, 3, 2, 5)");
}

TEST(ChartLinePlot, InvalidInputRejected) {
  const auto write = [](const std::vector<LineSeries>& series, bool log_x) {
    return [series, log_x] {
      test_support::TempDir dir;
      write_line_plot(dir / "line.png", "t", "x", "y", series, log_x);
    };
  };
  const std::string function = "write_line_plot";
  expect_invalid(write({}, false), function, "series is empty");
  expect_invalid(write({{"s", {}, {}, {}}}, false), function, "series 's' has no points");
  expect_invalid(
      write({{"s", {1, 2}, {1}, {}}}, false), function, "series 's' has 2 x values and 1 y values");
  expect_invalid(
      write({{"s", {1, 2}, {1, 2}, {1}}}, false), function, "series 's' has 1 errors for 2 values");
  expect_invalid(write({{"s", {1, kNan}, {1, 2}, {}}}, false), function, "series 's' x [1] is nan");
  expect_invalid(write({{"s", {1, 2}, {kNan, 2}, {}}}, false), function, "series 's' y [0] is nan");
  expect_invalid(write({{"s", {1, 0}, {1, 2}, {}}}, true), function, "series 's' x [1] is 0");
  expect_invalid(write({{"s", {-1, 2}, {1, 2}, {}}}, true), function, "x [0] is -1");
}

TEST(ChartLinePlot, InvalidInputWritesNoFile) {
  test_support::TempDir dir;
  EXPECT_THROW(
      write_line_plot(dir / "line.png", "t", "x", "y", {{"s", {0, 1}, {1, 2}, {}}}, /*log_x=*/true),
      std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir / "line.png"));
}

}  // namespace
}  // namespace genmem
