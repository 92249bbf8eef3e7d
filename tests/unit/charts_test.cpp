#include "outputs/charts.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kNoGnuplot = "gnuplot is not installed; install gnuplot-nox to run this test";

// Sets an environment variable for the lifetime of the object and then restores it.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const char* value) : name_(name) {
    if (const char* previous = std::getenv(name)) {
      previous_ = previous;
    }
    ::setenv(name, value, /*overwrite=*/1);
  }

  ~ScopedEnvironment() {
    if (previous_) {
      ::setenv(name_.c_str(), previous_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  ScopedEnvironment(const ScopedEnvironment&) = delete;
  ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

// Sends the default logger's messages to a string for the lifetime of the object.
class CapturedLog {
 public:
  CapturedLog()
      : previous_(spdlog::default_logger()),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }

  ~CapturedLog() { spdlog::set_default_logger(previous_); }

  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

// ---- Reading the data files back ----

// Splits a data-file line into fields. A double-quoted field is one field without its quotes.
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
    } else if (line[i] == '"') {
      const std::size_t end = line.find('"', i + 1);
      fields.push_back(line.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      const std::size_t end = std::min(line.find_first_of(" \t", i), line.size());
      fields.push_back(line.substr(i, end - i));
      i = end;
    }
  }
  return fields;
}

// The rows of a data file, grouped into blocks that are separated by two blank lines as gnuplot's
// `index` expects. Comment lines are skipped.
struct DataFile {
  std::vector<std::string> comments;
  std::vector<std::vector<std::vector<std::string>>> blocks;
};

DataFile read_data_file(const fs::path& path) {
  DataFile file;
  file.blocks.emplace_back();
  std::istringstream lines(test_support::read_text(path));
  std::string line;
  int blank_run = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) {
      ++blank_run;
      continue;
    }
    if (blank_run >= 2) {
      file.blocks.emplace_back();
    }
    blank_run = 0;
    if (line.front() == '#') {
      file.comments.push_back(line);
    } else {
      file.blocks.back().push_back(split_fields(line));
    }
  }
  return file;
}

// ---- Reading the images ----

cv::Mat read_png(const fs::path& path) {
  cv::Mat image = cv::imread(path.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty()) << "could not read " << path;
  return image;
}

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

// Bounding boxes of the connected regions of `mask`, largest area first.
std::vector<cv::Rect> regions(const cv::Mat& mask) {
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids);
  std::vector<std::pair<int, cv::Rect>> found;
  for (int i = 1; i < count; ++i) {
    const cv::Rect box(
        stats.at<int>(i, cv::CC_STAT_LEFT),
        stats.at<int>(i, cv::CC_STAT_TOP),
        stats.at<int>(i, cv::CC_STAT_WIDTH),
        stats.at<int>(i, cv::CC_STAT_HEIGHT));
    found.emplace_back(stats.at<int>(i, cv::CC_STAT_AREA), box);
  }
  std::sort(
      found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<cv::Rect> boxes;
  for (const auto& [area, box] : found) {
    boxes.push_back(box);
  }
  return boxes;
}

// The largest connected region of series `index`'s colour: a line with its markers. The legend
// key is a separate, smaller region.
cv::Mat largest_region_mask(const cv::Mat& image, std::size_t index) {
  // Anti-aliased edges blend into white, so the line's core is matched with some tolerance.
  const cv::Mat mask = series_mask(image, index, 30);
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids);
  if (count < 2) {
    return cv::Mat::zeros(mask.size(), CV_8U);
  }
  int largest = 1;
  for (int i = 2; i < count; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) > stats.at<int>(largest, cv::CC_STAT_AREA)) {
      largest = i;
    }
  }
  return labels == largest;
}

// Pixels of series `index`'s colour (with anti-aliasing tolerance) without the legend key,
// which is the rightmost connected region because the legend sits right of the plot.
cv::Mat plotted_pixels(const cv::Mat& image, std::size_t index) {
  const cv::Mat mask = series_mask(image, index, 30);
  cv::Mat labels;
  cv::Mat stats;
  cv::Mat centroids;
  const int count = cv::connectedComponentsWithStats(mask, labels, stats, centroids);
  int key = 0;
  for (int i = 1; i < count; ++i) {
    if (key == 0 || stats.at<int>(i, cv::CC_STAT_LEFT) > stats.at<int>(key, cv::CC_STAT_LEFT)) {
      key = i;
    }
  }
  cv::Mat plotted = mask.clone();
  plotted.setTo(0, labels == key);
  return plotted;
}

// Middle row of `mask` in `column`.
double middle_row(const cv::Mat& mask, int column) {
  const auto [top, bottom] = masked_extent(mask, column);
  return (top + bottom) / 2.0;
}

// Checks that series 0 in `image` is one straight, rising line wider than `min_width` pixels.
void expect_straight_rising_line(const cv::Mat& image, int min_width) {
  const cv::Mat line = largest_region_mask(image, 0);
  const cv::Rect box = cv::boundingRect(line);
  ASSERT_GT(box.area(), 0) << "no pixels of the series colour";
  EXPECT_GT(box.width, min_width);

  // The middle row of the line in each column lies on the chord between the line's ends. The
  // ends are taken a marker's width inside, where the line is at full width.
  const int first = box.x + 6;
  const int last = box.x + box.width - 7;
  const double first_row = middle_row(line, first);
  const double last_row = middle_row(line, last);
  EXPECT_LT(last_row, first_row - 100) << "the line should rise to the right";
  for (int column = first; column <= last; column += 7) {
    const double expected = first_row + (last_row - first_row) * (column - first) / (last - first);
    EXPECT_NEAR(middle_row(line, column), expected, 2) << "column " << column;
  }
}

// Checks that `path` is an SVG document: an XML declaration, one `svg` element that closes at
// the end, and as many `<g` as `</g>`.
void expect_svg_document(const fs::path& path) {
  const std::string svg = test_support::read_text(path);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0U) << "no XML declaration at the start of " << path;
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(svg.find_first_not_of(" \n", svg.find("</svg>") + 6), std::string::npos);
  std::size_t opened = 0;
  std::size_t closed = 0;
  for (std::size_t at = svg.find("<g"); at != std::string::npos; at = svg.find("<g", at + 1)) {
    opened += svg[at + 2] == ' ' || svg[at + 2] == '>' ? 1 : 0;
  }
  for (std::size_t at = svg.find("</g>"); at != std::string::npos; at = svg.find("</g>", at + 1)) {
    ++closed;
  }
  EXPECT_GT(opened, 0U);
  EXPECT_EQ(opened, closed);
}

// Returns a copy of `text` with `&` and `<` written as XML entities, as gnuplot's SVG terminal
// writes text. It leaves `>` and quotes as they are.
std::string xml_escaped(const std::string& text) {
  std::string escaped;
  for (const char character : text) {
    if (character == '&') {
      escaped += "&amp;";
    } else if (character == '<') {
      escaped += "&lt;";
    } else {
      escaped += character;
    }
  }
  return escaped;
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

// Writes `text` to `path` and makes it executable, for a stand-in gnuplot program.
void write_program(const fs::path& path, const std::string& text) {
  test_support::write_text(path, text);
  fs::permissions(path, fs::perms::owner_all);
}

// ---- box_stats and the palette ----

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

// ---- Data files and scripts ----

TEST(ChartBarChart, DataFileContainsGivenNumbers) {
  test_support::TempDir dir;
  const std::vector<BarSeries> series = {
      {"before", {1.0 / 3, -2.5e-7}, {0.1, 0}}, {"after", {12345.678, 0}, {}}};
  ASSERT_TRUE(write_bar_chart(dir / "bars.png", "Bars", "score", {"first", "second"}, series))
      << kNoGnuplot;

  const DataFile data = read_data_file(dir / "bars.dat");
  ASSERT_EQ(data.comments.size(), 1U);
  EXPECT_EQ(
      split_fields(data.comments[0]),
      (std::vector<std::string>{"#", "category", "before value", "before error", "after value"}));
  ASSERT_EQ(data.blocks.size(), 1U);
  const auto& rows = data.blocks[0];
  ASSERT_EQ(rows.size(), 2U);
  ASSERT_EQ(rows[0].size(), 4U);
  ASSERT_EQ(rows[1].size(), 4U);
  EXPECT_EQ(rows[0][0], "first");
  EXPECT_EQ(std::stod(rows[0][1]), 1.0 / 3);
  EXPECT_EQ(std::stod(rows[0][2]), 0.1);
  EXPECT_EQ(std::stod(rows[0][3]), 12345.678);
  EXPECT_EQ(rows[1][0], "second");
  EXPECT_EQ(std::stod(rows[1][1]), -2.5e-7);
  EXPECT_EQ(std::stod(rows[1][2]), 0.0);
  EXPECT_EQ(std::stod(rows[1][3]), 0.0);

  // The script reads the data file by its name alone and writes both images beside it.
  const std::string script = test_support::read_text(dir / "bars.gp");
  EXPECT_THAT(script, HasSubstr("data = 'bars.dat'"));
  EXPECT_THAT(script, HasSubstr("set output 'bars.' . format"));
  EXPECT_THAT(script, Not(HasSubstr(dir.path().string())));
  EXPECT_TRUE(fs::exists(dir / "bars.svg"));
  EXPECT_TRUE(fs::exists(dir / "bars.png"));
}

TEST(ChartLinePlot, DataFileHasOneBlockPerSeries) {
  test_support::TempDir dir;
  const std::vector<LineSeries> series = {
      {"linear", {0, 1, 2}, {1, 3, 5}, {}}, {"noisy", {0.5, 1.5}, {2, 0.25}, {0.125, 1e-3}}};
  ASSERT_TRUE(write_line_plot(dir / "line.png", "Lines", "x", "y", series)) << kNoGnuplot;

  const DataFile data = read_data_file(dir / "line.dat");
  ASSERT_EQ(data.blocks.size(), 2U);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const auto& rows = data.blocks[s];
    ASSERT_EQ(rows.size(), series[s].x.size()) << "series " << s;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), series[s].errors.empty() ? 2U : 3U);
      EXPECT_EQ(std::stod(rows[i][0]), series[s].x[i]);
      EXPECT_EQ(std::stod(rows[i][1]), series[s].y[i]);
      if (!series[s].errors.empty()) {
        EXPECT_EQ(std::stod(rows[i][2]), series[s].errors[i]);
      }
    }
  }
  EXPECT_THAT(data.comments, testing::Contains(HasSubstr("index 1: \"noisy\"")));
}

TEST(ChartBoxPlot, DataFileHasFiveStatisticsPerSeries) {
  test_support::TempDir dir;
  const BoxStats box = {-1, 0.5, 0.75, 2, 10};
  ASSERT_TRUE(write_box_plot(dir / "box.png", "Box", "y", {"only"}, {{"a", {box}}, {"b", {box}}}))
      << kNoGnuplot;

  const DataFile data = read_data_file(dir / "box.dat");
  ASSERT_EQ(data.blocks[0].size(), 1U);
  const std::vector<std::string>& row = data.blocks[0][0];
  ASSERT_EQ(row.size(), 11U);
  EXPECT_EQ(row[0], "only");
  const std::vector<double> expected = {-1, 0.5, 0.75, 2, 10};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(std::stod(row[1 + i]), expected[i % 5]) << "column " << i + 2;
  }
  EXPECT_THAT(data.comments[0], HasSubstr("\"b whisker_high\""));
}

// ---- Rendered images ----

TEST(ChartBarChart, BarHeightsProportionalToValues) {
  test_support::TempDir dir;
  const auto path = dir / "bars.png";
  ASSERT_TRUE(
      write_bar_chart(path, "Recall", "accuracy", {"first", "second"}, {{"model", {1, 2}, {}}}))
      << kNoGnuplot;

  const cv::Mat image = read_png(path);
  EXPECT_EQ(image.cols, 800);
  EXPECT_EQ(image.rows, 480);
  const cv::Mat mask = series_mask(image, 0);
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
  ASSERT_TRUE(write_bar_chart(path, "Grouped", "score", {"a", "b"}, series)) << kNoGnuplot;

  const cv::Mat image = read_png(path);
  const std::vector<ColumnRun> before = column_runs(series_mask(image, 0));
  const std::vector<ColumnRun> after = column_runs(series_mask(image, 1));
  ASSERT_EQ(before.size(), 3U);
  ASSERT_EQ(after.size(), 3U);
  // In each category the first series sits directly left of the second.
  EXPECT_LT(before[0].last, after[0].first);
  EXPECT_LT(after[0].last, before[1].first);
  EXPECT_LT(before[1].last, after[1].first);

  // Value 3 is three times value 1, in both series. The first series is measured off its centre,
  // where its black error bar runs.
  const int before_a = cv::countNonZero(series_mask(image, 0).col(before[0].first + 2));
  const int before_b = cv::countNonZero(series_mask(image, 0).col(before[1].first + 2));
  const int after_a = cv::countNonZero(series_mask(image, 1).col(after[0].centre()));
  const int after_b = cv::countNonZero(series_mask(image, 1).col(after[1].centre()));
  EXPECT_NEAR(before_a, 3 * before_b, 3);
  EXPECT_NEAR(after_b, 3 * after_a, 3);
}

TEST(ChartBarChart, NegativeValueHangsBelowZero) {
  test_support::TempDir dir;
  const auto path = dir / "signed.png";
  ASSERT_TRUE(write_bar_chart(path, "Signed", "change", {"up", "down"}, {{"s", {2, -1}, {}}}))
      << kNoGnuplot;

  const cv::Mat mask = series_mask(read_png(path), 0);
  const std::vector<ColumnRun> runs = column_runs(mask);
  ASSERT_EQ(runs.size(), 3U);
  const auto [up_top, up_bottom] = masked_extent(mask, runs[0].centre());
  const auto [down_top, down_bottom] = masked_extent(mask, runs[1].centre());
  // Both bars start at the zero line: one rises from it, the other hangs from it.
  EXPECT_NEAR(up_bottom, down_top, 2);
  EXPECT_GT(up_bottom - up_top, 100);
  EXPECT_NEAR(up_bottom - up_top, 2 * (down_bottom - down_top), 3);
}

TEST(ChartGnuplot, DegenerateDataDrawsWithoutWarnings) {
  // Constant values would give gnuplot an empty axis range, which it reports as a warning.
  test_support::TempDir dir;
  const CapturedLog log;
  EXPECT_TRUE(write_bar_chart(dir / "zero.png", "Zero", "y", {"a"}, {{"s", {0}, {}}}))
      << kNoGnuplot;
  EXPECT_TRUE(write_box_plot(dir / "flat.png", "Flat", "y", {"a"}, {{"s", {{2, 2, 2, 2, 2}}}}));
  EXPECT_TRUE(write_line_plot(dir / "point.png", "Point", "x", "y", {{"s", {3}, {0}, {}}}, true));
  EXPECT_TRUE(write_twin_axis_plot(
      dir / "twin.png", "Twin", "x", {{"l", {1}, {1}, {}}}, "l", {{"r", {1}, {-5}, {}}}, "r"));
  EXPECT_TRUE(write_scatter_plot(dir / "one.png", "One", "x", "y", {0}, {0}, {4}, ""));
  EXPECT_EQ(log.text(), "");
  for (const char* stem : {"zero", "flat", "point", "twin", "one"}) {
    EXPECT_TRUE(fs::exists(dir / (std::string(stem) + ".png"))) << stem;
  }
}

TEST(ChartBoxPlot, WhiskersAndMedianAtValues) {
  test_support::TempDir dir;
  const auto path = dir / "boxes.png";
  const BoxStats narrow = {1, 2, 3, 4, 5};
  const BoxStats wide = {0, 2, 3, 6, 8};
  ASSERT_TRUE(
      write_box_plot(path, "Boxes", "error", {"narrow", "wide"}, {{"model", {narrow, wide}}}))
      << kNoGnuplot;

  const cv::Mat image = read_png(path);
  const cv::Mat mask = series_mask(image, 0);
  const std::vector<ColumnRun> runs = column_runs(mask);
  ASSERT_EQ(runs.size(), 3U);

  // Whiskers run from whisker_low to whisker_high, so the wide box's span is twice the narrow's.
  // Inside the box the centre column is the tint, which the exact colour does not match.
  const auto [narrow_top, narrow_bottom] = masked_extent(mask, runs[0].centre());
  const auto [wide_top, wide_bottom] = masked_extent(mask, runs[1].centre());
  const double pixels_per_unit = (narrow_bottom - narrow_top) / 4.0;
  EXPECT_GT(pixels_per_unit, 20);
  EXPECT_NEAR(wide_bottom - wide_top, 2 * (narrow_bottom - narrow_top), 2);

  // The median line is black, at value 3 in both boxes. Only rows between the whisker ends are
  // searched, because the black category label sits under each box.
  cv::Mat black;
  cv::inRange(image, cv::Scalar::all(0), cv::Scalar::all(40), black);
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
  ASSERT_TRUE(
      write_line_plot(path, "Line", "x", "y", {{"linear", {0, 1, 2, 3, 4}, {1, 3, 5, 7, 9}, {}}}))
      << kNoGnuplot;
  expect_straight_rising_line(read_png(path), 400);
}

TEST(ChartLinePlot, LogXStraightensLogarithm) {
  // y = log10(x) is a straight line when x is on a logarithmic axis.
  test_support::TempDir dir;
  const auto path = dir / "log.png";
  ASSERT_TRUE(write_line_plot(
      path, "Log", "x", "log10 x", {{"log", {1, 10, 100, 1000}, {0, 1, 2, 3}, {}}}, true))
      << kNoGnuplot;
  expect_straight_rising_line(read_png(path), 400);
}

TEST(ChartLinePlot, EverySeriesColourPresent) {
  test_support::TempDir dir;
  const auto path = dir / "three.png";
  std::vector<LineSeries> series;
  for (int s = 0; s < 3; ++s) {
    series.push_back({"s" + std::to_string(s), {1, 2, 3}, {1.0 * s, 1.0 * s + 1, 1.0 * s}, {}});
  }
  series[2].errors = {0.5, 0.5, 0.5};
  ASSERT_TRUE(write_line_plot(path, "Three", "x", "y", series)) << kNoGnuplot;

  const cv::Mat image = read_png(path);
  for (std::size_t s = 0; s < series.size(); ++s) {
    // Each line spans the points x = 1 to 3, about 90% of the plot's width.
    EXPECT_GT(cv::boundingRect(largest_region_mask(image, s)).width, 300) << "series " << s;
  }
}

TEST(ChartTwinAxisPlot, EachSeriesSpansItsOwnAxis) {
  // The right series is 100 times larger than the left ones. Because it has its own axis, it
  // still spans most of the plot's height, as each left one does on the left axis. It is
  // sampled between the left series' x values, so no marker hides another.
  test_support::TempDir dir;
  const auto path = dir / "twin.png";
  ASSERT_TRUE(write_twin_axis_plot(
      path,
      "Twin",
      "epoch",
      {{"loss", {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {}},
       {"reconstruction", {1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}, {}}},
      "loss",
      {{"accuracy", {1.5, 2.5, 3.5, 4.5}, {100, 400, 450, 500}, {}}},
      "accuracy"))
      << kNoGnuplot;

  const cv::Mat image = read_png(path);
  EXPECT_EQ(image.cols, 800);
  EXPECT_EQ(image.rows, 480);
  const std::array<bool, 3> rising = {true, false, true};
  std::array<cv::Rect, 3> boxes;
  for (std::size_t index = 0; index < rising.size(); ++index) {
    const cv::Mat line = plotted_pixels(image, index);
    boxes[index] = cv::boundingRect(line);
    EXPECT_GT(boxes[index].height, 250) << "series " << index;
    const double left_row = middle_row(line, boxes[index].x + 3);
    const double right_row = middle_row(line, boxes[index].x + boxes[index].width - 4);
    if (rising[index]) {
      EXPECT_GT(left_row, right_row + 200) << "series " << index << " should rise";
    } else {
      EXPECT_LT(left_row, right_row - 200) << "series " << index << " should fall";
    }
  }

  // Both axes leave the same margin around their data, so the lowest and highest points of
  // "loss" on the left axis and "accuracy" on the right one lie on the same rows.
  EXPECT_NEAR(boxes[0].y, boxes[2].y, 2);
  EXPECT_NEAR(boxes[0].y + boxes[0].height, boxes[2].y + boxes[2].height, 2);
  EXPECT_THAT(test_support::read_text(dir / "twin.gp"), HasSubstr("axes x1y2"));
}

TEST(ChartScatterPlot, PointsColouredByLabel) {
  // Label 0 at the bottom-left and top-right corners of the data, label 7 at the other two.
  test_support::TempDir dir;
  const auto path = dir / "scatter.png";
  const std::vector<double> x = {0, 1, 0, 1};
  const std::vector<double> y = {0, 1, 1, 0};
  const std::vector<std::int64_t> labels = {0, 0, 7, 7};
  ASSERT_TRUE(write_scatter_plot(path, "Map", "PC 1", "PC 2", x, y, labels, "digit")) << kNoGnuplot;

  const cv::Mat image = read_png(path);
  EXPECT_EQ(image.cols, 640);
  EXPECT_EQ(image.rows, 560);
  // The labels take the first two colours by rank. Each has two points and one legend key,
  // which is the rightmost region.
  for (std::size_t rank = 0; rank < 2; ++rank) {
    std::vector<cv::Rect> points = regions(series_mask(image, rank, 30));
    ASSERT_EQ(points.size(), 3U) << "label rank " << rank;
    std::sort(points.begin(), points.end(), [](const cv::Rect& a, const cv::Rect& b) {
      return a.x < b.x;
    });
    const double left_row = points[0].y + points[0].height / 2.0;
    const double right_row = points[1].y + points[1].height / 2.0;
    EXPECT_GT(points[1].x - points[0].x, 300) << "label rank " << rank;
    if (rank == 0) {
      EXPECT_GT(left_row, right_row + 300) << "label 0 should rise to the right";
    } else {
      EXPECT_LT(left_row, right_row - 300) << "label 7 should fall to the right";
    }
  }

  const std::string svg = test_support::read_text(dir / "scatter.svg");
  EXPECT_THAT(svg, HasSubstr(">digit 0<"));
  EXPECT_THAT(svg, HasSubstr(">digit 7<"));
  const DataFile data = read_data_file(dir / "scatter.dat");
  ASSERT_EQ(data.blocks[0].size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(data.blocks[0][i].size(), 3U);
    EXPECT_EQ(std::stod(data.blocks[0][i][0]), x[i]);
    EXPECT_EQ(std::stod(data.blocks[0][i][1]), y[i]);
    EXPECT_EQ(std::stoll(data.blocks[0][i][2]), labels[i]);
  }
}

TEST(ChartSvg, ContainsTitleAndEveryLegendName) {
  test_support::TempDir dir;
  const std::vector<BoxSeries> series = {
      {"input", {{1, 2, 3, 4, 5}, {2, 3, 4, 5, 6}}},
      {"output", {{0, 1, 2, 3, 4}, {1, 1, 1, 1, 1}}}};
  ASSERT_TRUE(write_box_plot(dir / "box.png", "Variance by class", "variance", {"3", "8"}, series))
      << kNoGnuplot;

  expect_svg_document(dir / "box.svg");
  const std::string svg = test_support::read_text(dir / "box.svg");
  for (const char* text : {"Variance by class", "variance", "input", "output", "3", "8"}) {
    EXPECT_THAT(svg, HasSubstr(std::string(">") + text + "<"));
  }
}

TEST(ChartSvg, SpecialCharactersDrawnLiterally) {
  test_support::TempDir dir;
  const std::string title = "Recall of \"x_1\" isn't 50% @home & {a}^2 <b>";
  const std::string series_name = "before_after @ 'q' \\n";
  ASSERT_TRUE(write_line_plot(
      dir / "text.png", title, "n_{items}", "y^2", {{series_name, {1, 2}, {1, 2}, {}}}))
      << kNoGnuplot;

  expect_svg_document(dir / "text.svg");
  const std::string svg = test_support::read_text(dir / "text.svg");
  for (const std::string& text :
       {title, series_name, std::string("n_{items}"), std::string("y^2")}) {
    EXPECT_THAT(svg, HasSubstr(">" + xml_escaped(text) + "<"));
  }
  EXPECT_THAT(
      test_support::read_text(dir / "text.gp"),
      HasSubstr("set title 'Recall of \"x_1\" isn''t 50% @home & {a}^2 <b>'"));
  EXPECT_FALSE(read_png(dir / "text.png").empty());
}

TEST(ChartSvg, LineBreakInTitleBecomesSpace) {
  test_support::TempDir dir;
  ASSERT_TRUE(write_bar_chart(dir / "b.png", "two\nlines", "y", {"a\tb"}, {{"s", {1}, {}}}))
      << kNoGnuplot;
  const std::string svg = test_support::read_text(dir / "b.svg");
  EXPECT_THAT(svg, HasSubstr(">two lines<"));
  EXPECT_THAT(svg, HasSubstr(">a b<"));
}

// ---- Running gnuplot ----

TEST(ChartGnuplot, MissingProgramWritesDataAndScriptOnly) {
  test_support::TempDir dir;
  const ScopedEnvironment missing("GENMEM_GNUPLOT", "/nonexistent/gnuplot");
  EXPECT_FALSE(gnuplot_available());

  bool drawn = true;
  EXPECT_NO_THROW(drawn = write_bar_chart(dir / "bars.png", "t", "y", {"a"}, {{"s", {1}, {}}}));
  EXPECT_FALSE(drawn);
  EXPECT_NO_THROW(
      drawn = write_box_plot(dir / "box.png", "t", "y", {"a"}, {{"s", {{1, 2, 3, 4, 5}}}}));
  EXPECT_FALSE(drawn);
  EXPECT_NO_THROW(drawn = write_line_plot(dir / "line.png", "t", "x", "y", {{"s", {1}, {1}, {}}}));
  EXPECT_FALSE(drawn);
  EXPECT_NO_THROW(
      drawn = write_twin_axis_plot(
          dir / "twin.png", "t", "x", {{"l", {1}, {1}, {}}}, "l", {{"r", {1}, {2}, {}}}, "r"));
  EXPECT_FALSE(drawn);
  EXPECT_NO_THROW(
      drawn = write_scatter_plot(dir / "map.png", "t", "x", "y", {1}, {2}, {3}, "label"));
  EXPECT_FALSE(drawn);

  for (const char* stem : {"bars", "box", "line", "twin", "map"}) {
    EXPECT_TRUE(fs::exists(dir / (std::string(stem) + ".dat"))) << stem;
    EXPECT_TRUE(fs::exists(dir / (std::string(stem) + ".gp"))) << stem;
    EXPECT_FALSE(fs::exists(dir / (std::string(stem) + ".png"))) << stem;
    EXPECT_FALSE(fs::exists(dir / (std::string(stem) + ".svg"))) << stem;
  }
}

TEST(ChartGnuplot, MissingProgramWarnsOncePerProcess) {
  // The warning is logged once per process, so the check runs in a fresh process: the
  // threadsafe death-test style starts the test program again for this test alone. The child
  // exits with the number of warnings it logged.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto draw_twice_and_count_warnings = [] {
    std::string text;
    {
      // The scope ends before std::exit, so the folder is removed and the logger restored.
      const CapturedLog log;
      const ScopedEnvironment missing("GENMEM_GNUPLOT", "/nonexistent/gnuplot");
      const test_support::TempDir dir;
      write_bar_chart(dir / "a.png", "t", "y", {"a"}, {{"s", {1}, {}}});
      write_line_plot(dir / "b.png", "t", "x", "y", {{"s", {1}, {1}, {}}});
      text = log.text();
    }
    int count = 0;
    for (std::size_t at = text.find("gnuplot not found"); at != std::string::npos;
         at = text.find("gnuplot not found", at + 1)) {
      ++count;
    }
    const bool names_fix = text.find("install gnuplot-nox") != std::string::npos;
    std::exit(names_fix ? count : 100 + count);
  };
  EXPECT_EXIT(draw_twice_and_count_warnings(), testing::ExitedWithCode(1), "");
}

TEST(ChartGnuplot, ProgramFoundThroughPath) {
  const char* path = std::getenv("PATH");
  const bool on_path = path != nullptr && std::string(path).find("/usr/bin") != std::string::npos;
  if (!on_path || !fs::exists("/usr/bin/gnuplot")) {
    GTEST_SKIP() << "needs /usr/bin/gnuplot on PATH";
  }
  {
    const ScopedEnvironment name_only("GENMEM_GNUPLOT", "gnuplot");
    EXPECT_TRUE(gnuplot_available());
  }
  {
    const ScopedEnvironment empty("GENMEM_GNUPLOT", "");
    EXPECT_TRUE(gnuplot_available());
  }
  {
    const ScopedEnvironment unknown("GENMEM_GNUPLOT", "genmem-no-such-gnuplot");
    EXPECT_FALSE(gnuplot_available());
  }
}

TEST(ChartGnuplot, FileWithoutExecutePermissionIsNotAvailable) {
  test_support::TempDir dir;
  test_support::write_text(dir / "gnuplot", "#!/bin/sh\nexit 0\n");
  fs::permissions(dir / "gnuplot", fs::perms::owner_read | fs::perms::owner_write);
  const ScopedEnvironment not_executable("GENMEM_GNUPLOT", (dir / "gnuplot").c_str());
  EXPECT_FALSE(gnuplot_available());
  test_support::write_text(dir / "plot.gp", "print 1\n");
  EXPECT_FALSE(render_plot(dir / "plot.gp"));
}

TEST(ChartRenderPlot, RunsInScriptFolderWithNullInput) {
  // A stand-in gnuplot records its working directory, its argument and its standard input.
  test_support::TempDir dir;
  fs::create_directory(dir / "figures");
  write_program(
      dir / "fake-gnuplot",
      "#!/bin/sh\n"
      "pwd > \"$(dirname \"$0\")/cwd.txt\"\n"
      "echo \"$1\" > \"$(dirname \"$0\")/argument.txt\"\n"
      "readlink /proc/$$/fd/0 > \"$(dirname \"$0\")/stdin.txt\"\n");
  test_support::write_text(dir / "figures" / "plot.gp", "print 1\n");
  const ScopedEnvironment fake("GENMEM_GNUPLOT", (dir / "fake-gnuplot").c_str());

  EXPECT_TRUE(render_plot(dir / "figures" / "plot.gp"));
  const auto first_line = [](const fs::path& path) {
    const std::string text = test_support::read_text(path);
    return text.substr(0, text.find('\n'));
  };
  EXPECT_EQ(fs::canonical(first_line(dir / "cwd.txt")), fs::canonical(dir / "figures"));
  // The script is passed as ./plot.gp, so a name such as -h.gp is not read as an option.
  EXPECT_EQ(first_line(dir / "argument.txt"), "./plot.gp");
  EXPECT_EQ(first_line(dir / "stdin.txt"), "/dev/null");
}

TEST(ChartRenderPlot, HangingProgramIsStoppedAtTheTimeLimit) {
  // The stand-in starts a child that keeps the error pipe open, as a gnuplot waiting on a
  // terminal would, so both must be killed.
  test_support::TempDir dir;
  write_program(
      dir / "fake-gnuplot",
      "#!/bin/sh\n"
      "sleep 30 &\n"
      "echo $! > \"$(dirname \"$0\")/child.txt\"\n"
      "wait\n");
  test_support::write_text(dir / "plot.gp", "pause -1\n");
  const ScopedEnvironment fake("GENMEM_GNUPLOT", (dir / "fake-gnuplot").c_str());
  const ScopedEnvironment limit("GENMEM_GNUPLOT_TIMEOUT", "0.5");

  const auto start = std::chrono::steady_clock::now();
  try {
    render_plot(dir / "plot.gp");
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("did not finish drawing '" + (dir / "plot.gp").string()));
    EXPECT_THAT(error.what(), HasSubstr("within 0.5 s"));
    EXPECT_THAT(error.what(), HasSubstr("GENMEM_GNUPLOT_TIMEOUT"));
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(seconds, 0.5);
  EXPECT_LT(seconds, 10.0);

  // The backgrounded sleep was in the same process group, so it is gone too: no longer listed,
  // or a zombie that its new parent has not reaped yet.
  const std::string child = test_support::read_text(dir / "child.txt");
  const fs::path status = fs::path("/proc") / std::to_string(std::stoi(child)) / "stat";
  const auto running = [&] {
    std::ifstream in(status);
    std::string pid;
    std::string name;
    std::string state;
    return static_cast<bool>(in >> pid >> name >> state) && state != "Z";
  };
  for (int attempt = 0; attempt < 100 && running(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(running()) << "the sleep started by the stand-in still runs";
}

TEST(ChartRenderPlot, HangingProgramLeavesAChartUndrawnButKept) {
  test_support::TempDir dir;
  write_program(dir / "fake-gnuplot", "#!/bin/sh\nsleep 30\n");
  const ScopedEnvironment fake("GENMEM_GNUPLOT", (dir / "fake-gnuplot").c_str());
  const ScopedEnvironment limit("GENMEM_GNUPLOT_TIMEOUT", "0.3");
  // A step's chart that gnuplot cannot draw is a warning: the data and the script stay for
  // genmem report.
  EXPECT_FALSE(write_line_plot(dir / "line.png", "t", "x", "y", {{"s", {1, 2}, {3, 4}, {}}}));
  EXPECT_TRUE(fs::exists(dir / "line.dat"));
  EXPECT_TRUE(fs::exists(dir / "line.gp"));
  EXPECT_FALSE(fs::exists(dir / "line.png"));
}

TEST(ChartRenderPlot, FailingProgramThrowsWithErrorLine) {
  test_support::TempDir dir;
  write_program(
      dir / "fake-gnuplot",
      "#!/bin/sh\n"
      "echo 'plot x' >&2\n"
      "echo '\"plot.gp\" line 7: warning: something odd' >&2\n"
      "echo '\"plot.gp\" line 9: undefined variable: x' >&2\n"
      "exit 3\n");
  test_support::write_text(dir / "plot.gp", "plot x\n");
  const ScopedEnvironment fake("GENMEM_GNUPLOT", (dir / "fake-gnuplot").c_str());
  try {
    render_plot(dir / "plot.gp");
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr((dir / "plot.gp").string()));
    EXPECT_THAT(error.what(), HasSubstr("exit status 3"));
    EXPECT_THAT(error.what(), HasSubstr("\"plot.gp\" line 9: undefined variable: x"));
    EXPECT_THAT(error.what(), HasSubstr("run `gnuplot plot.gp` in '" + dir.path().string()));
  }
}

TEST(ChartRenderPlot, BrokenScriptThrowsIoError) {
  ASSERT_TRUE(gnuplot_available()) << kNoGnuplot;
  test_support::TempDir dir;
  test_support::write_text(
      dir / "broken.gp", "set terminal pngcairo\nset output 'broken.png'\nplot x with linez\n");
  try {
    render_plot(dir / "broken.gp");
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr((dir / "broken.gp").string()));
    EXPECT_THAT(error.what(), HasSubstr("\"./broken.gp\" line 3:"));
  }
}

TEST(ChartRenderPlot, MissingScriptThrowsIoError) {
  test_support::TempDir dir;
  try {
    render_plot(dir / "absent.gp");
    ADD_FAILURE() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("absent.gp' not found"));
  }
}

TEST(ChartRenderPlot, EditedScriptDrawsAgain) {
  test_support::TempDir dir;
  ASSERT_TRUE(write_line_plot(dir / "line.png", "t", "x", "y", {{"s", {1, 2}, {1, 2}, {}}}))
      << kNoGnuplot;
  std::string script = test_support::read_text(dir / "line.gp");
  const std::string size = "pngcairo size 800,480";
  const std::size_t at = script.find(size);
  ASSERT_NE(at, std::string::npos);
  script.replace(at, size.size(), "pngcairo size 400,300");
  test_support::write_text(dir / "line.gp", script);
  fs::remove(dir / "line.png");

  EXPECT_TRUE(render_plot(dir / "line.gp"));
  const cv::Mat image = read_png(dir / "line.png");
  EXPECT_EQ(image.cols, 400);
  EXPECT_EQ(image.rows, 300);
}

// ---- Invalid input ----

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

TEST(ChartTwinAxisPlot, LogLeftAxisStraightensPowersOfTen) {
  // y = 10^x on a logarithmic left axis is a straight line; the right series keeps a linear axis.
  test_support::TempDir dir;
  const auto path = dir / "twin_log.png";
  ASSERT_TRUE(write_twin_axis_plot(
      path,
      "Log left",
      "epoch",
      {{"error", {0, 1, 2, 3}, {1, 10, 100, 1000}, {}}},
      "error",
      {{"accuracy", {0.5, 2.5}, {0.2, 0.3}, {}}},
      "accuracy",
      /*log_left=*/true))
      << kNoGnuplot;
  expect_straight_rising_line(read_png(path), 200);
  const std::string script = test_support::read_text(dir / "twin_log.gp");
  EXPECT_NE(script.find("set logscale y 10"), std::string::npos);
  EXPECT_EQ(script.find("set logscale y2"), std::string::npos);
}

TEST(ChartTwinAxisPlot, InvalidInputRejected) {
  const auto write = [](const std::vector<LineSeries>& left, const std::vector<LineSeries>& right) {
    return [left, right] {
      test_support::TempDir dir;
      write_twin_axis_plot(dir / "twin.png", "t", "x", left, "l", right, "r");
    };
  };
  const std::string function = "write_twin_axis_plot";
  const LineSeries good = {"good", {1, 2}, {1, 2}, {}};
  expect_invalid(write({}, {good}), function, "left is empty");
  expect_invalid(write({good}, {}), function, "right is empty");
  expect_invalid(
      write({good}, {good, {"bad", {1}, {kNan}, {}}}), function, "series 'bad' y [0] is nan");
  expect_invalid(
      write({{"short", {1, 2}, {1}, {}}}, {good}), function, "series 'short' has 2 x values");
  expect_invalid(
      [&] {
        test_support::TempDir dir;
        write_twin_axis_plot(
            dir / "twin.png", "t", "x", {{"zero", {1, 2}, {0, 1}, {}}}, "l", {good}, "r", true);
      },
      function,
      "left series 'zero' has y = 0 at point 0, but a logarithmic axis needs y > 0");
}

TEST(ChartScatterPlot, InvalidInputRejected) {
  const auto write = [](const std::vector<double>& x,
                        const std::vector<double>& y,
                        const std::vector<std::int64_t>& labels) {
    return [x, y, labels] {
      test_support::TempDir dir;
      write_scatter_plot(dir / "map.png", "t", "x", "y", x, y, labels, "label");
    };
  };
  const std::string function = "write_scatter_plot";
  expect_invalid(write({}, {}, {}), function, "there are no points");
  expect_invalid(write({1, 2}, {1}, {0, 0}), function, "got 2 x values, 1 y values and 2 labels");
  expect_invalid(write({1, 2}, {1, 2}, {0}), function, "and 1 labels");
  expect_invalid(write({1, kNan}, {1, 2}, {0, 0}), function, "x [1] is nan");
  expect_invalid(
      write({1, 2}, {std::numeric_limits<double>::infinity(), 2}, {0, 0}),
      function,
      "y [0] is inf");
}

TEST(ChartInvalidInput, WritesNoFile) {
  test_support::TempDir dir;
  EXPECT_THROW(
      write_line_plot(dir / "line.png", "t", "x", "y", {{"s", {0, 1}, {1, 2}, {}}}, true),
      std::invalid_argument);
  EXPECT_THROW(
      write_bar_chart(dir / "bars.png", "t", "y", {"a"}, {{"s", {kNan}, {}}}),
      std::invalid_argument);
  EXPECT_THROW(
      write_box_plot(dir / "box.png", "t", "y", {"a"}, {{"s", {{2, 1, 3, 4, 5}}}}),
      std::invalid_argument);
  EXPECT_THROW(
      write_twin_axis_plot(dir / "twin.png", "t", "x", {}, "l", {{"r", {1}, {1}, {}}}, "r"),
      std::invalid_argument);
  EXPECT_THROW(
      write_scatter_plot(dir / "map.png", "t", "x", "y", {1}, {}, {0}, "label"),
      std::invalid_argument);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace genmem
