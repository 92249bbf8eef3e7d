#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace genmem {

/// One series of a grouped bar chart: a value per category, with optional error-bar half-lengths.
struct BarSeries {
  std::string name;
  std::vector<double> values;
  /// Empty, or one non-negative half-length per value.
  std::vector<double> errors;
};

/// Writes a grouped bar chart as a PNG. Within each category the series sit side by side, in the
/// order given and in the colours of `chart_series_colour`. Bars grow from 0, so the y axis always
/// contains 0, and it starts at 0 when every value is >= 0 (error bars are then cut off at 0).
/// Throws std::invalid_argument when `categories` or `series` is empty, when a series does not
/// have one value per category, when `errors` is non-empty with another length, or when a value
/// or error is not finite or an error is negative. Throws IoError when the file cannot be written.
void write_bar_chart(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BarSeries>& series);

/// Five numbers that draw one box: whisker ends, quartiles and median.
struct BoxStats {
  double whisker_low;
  double q1;
  double median;
  double q3;
  double whisker_high;
};

/// One series of a grouped box plot, with one box per category.
struct BoxSeries {
  std::string name;
  std::vector<BoxStats> boxes;
};

/// Writes a grouped box plot as a PNG, laid out like `write_bar_chart`. Each box spans q1 to q3
/// with a black median line and whiskers out to `whisker_low` and `whisker_high`.
/// Throws std::invalid_argument when `categories` or `series` is empty, when a series does not
/// have one box per category, or when a box has a non-finite number or is not ordered
/// whisker_low <= q1 <= median <= q3 <= whisker_high. Throws IoError when the file cannot be
/// written.
void write_box_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BoxSeries>& series);

/// A line through (x[i], y[i]) with optional error bars. All series of a plot share the x axis.
struct LineSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  /// Empty, or one non-negative half-length per point.
  std::vector<double> errors;
};

/// Writes a line plot as a PNG, each series a line with a marker at every point in the order
/// given. With `log_x` the x axis is logarithmic (base 10). Throws std::invalid_argument when
/// `series` is empty, when a series has no points, x and y of different lengths or `errors` of
/// another length, when a number is not finite or an error is negative, or when `log_x` is set
/// and an x is <= 0. Throws IoError when the file cannot be written.
void write_line_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<LineSeries>& series,
    bool log_x = false);

/// Writes a line plot of two quantities on one x axis as a PNG: `left` against the left y axis
/// and `right` against its own y axis on the right, each in its series colour (0 and 1). Throws
/// std::invalid_argument for a series `write_line_plot` would reject, and IoError when the file
/// cannot be written.
void write_twin_axis_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& x_label,
    const LineSeries& left,
    const std::string& left_label,
    const LineSeries& right,
    const std::string& right_label);

/// Returns summary statistics of `values` for a box plot with whiskers at the given percentiles
/// (linear interpolation between order statistics, as numpy.percentile's default).
/// Throws std::invalid_argument when `values` is empty or has a non-finite value, or unless
/// 0 <= low_percentile <= 25 and 75 <= high_percentile <= 100, which keeps the whiskers outside
/// the quartiles.
BoxStats box_stats(
    std::vector<double> values, double low_percentile = 10, double high_percentile = 90);

/// Returns the RGB colour of series `index` in every chart: the Tableau 10 palette, which repeats
/// after ten series.
std::array<std::uint8_t, 3> chart_series_colour(std::size_t index);

}  // namespace genmem
