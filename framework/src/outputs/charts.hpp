#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace genmem {

// Every chart function takes a `path` such as `figures/few_shot.png` and writes, beside it:
// - `few_shot.dat`: the numbers, whitespace-separated, under a `#` header that names the columns.
//   Text columns are double-quoted, with any `"` in the text written as `'`.
// - `few_shot.gp`: a gnuplot script that, run in its own folder, reads `few_shot.dat` and writes
//   `few_shot.svg` and `few_shot.png`. Edit it and redraw with `cd figures && gnuplot few_shot.gp`.
// It then runs gnuplot on the script (see `render_plot`) and returns whether the plot was drawn.
// The extension of `path` is ignored. Titles, labels and names are drawn literally, because the
// scripts quote them and turn off gnuplot's enhanced text mode. Control characters in them
// (such as line breaks) are written as spaces.

/// One series of a grouped bar chart: a value per category, with optional error-bar half-lengths.
struct BarSeries {
  std::string name;
  std::vector<double> values;
  /// Empty, or one non-negative half-length per value.
  std::vector<double> errors;
};

/// Writes and draws a grouped bar chart. Within each category the series sit side by side, in
/// the order given and in the colours of `chart_series_colour`, with black error bars. Bars grow
/// from 0, so the y axis always contains 0, and it starts at 0 when every value is >= 0 (error
/// bars are then cut off at 0). Returns false when gnuplot is not available (see
/// `render_plot`). Throws std::invalid_argument before writing any file when `categories` or
/// `series` is empty or a series does not have one value per category. It also throws when
/// `errors` is non-empty with another length, or when a value or error is not finite or an
/// error is negative. Throws IoError when a file cannot be written. When gnuplot fails or times
/// out, logs a warning and returns false.
bool write_bar_chart(
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

/// Writes and draws a grouped box plot, laid out like `write_bar_chart`. Each box spans q1 to q3
/// in a light tint of its series colour, with a black median line and capped whiskers out to
/// `whisker_low` and `whisker_high`. Returns false when gnuplot is not available. Throws
/// std::invalid_argument, before writing any file, when `categories` or `series` is empty, when
/// a series does not have one box per category, or when a box has a non-finite number or is not
/// ordered whisker_low <= q1 <= median <= q3 <= whisker_high. Throws IoError when a file cannot
/// be written. When gnuplot fails or times out, logs a warning and returns false.
bool write_box_plot(
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

/// Writes and draws a line plot, each series a line with a marker at every point in the order
/// given. With `log_x` the x axis is logarithmic (base 10). Returns false when gnuplot is not
/// available. Throws std::invalid_argument, before writing any file, when `series` is empty,
/// when a series has no points, x and y of different lengths or `errors` of another length, when
/// a number is not finite or an error is negative, or when `log_x` is set and an x is <= 0.
/// Throws IoError when a file cannot be written. When gnuplot fails or times out, logs a warning
/// and returns false.
bool write_line_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<LineSeries>& series,
    bool log_x = false);

/// Writes and draws a line plot with two y axes on one x axis: the `left` series against the
/// left axis and the `right` series against their own axis on the right. Series are coloured in
/// order, the left ones first. With `log_left` the left axis is logarithmic (base 10). Returns
/// false when gnuplot is not available. Throws std::invalid_argument, before writing any file,
/// when `left` or `right` is empty or has a series `write_line_plot` would reject, or when
/// `log_left` is set and a left y is <= 0. Throws IoError when a file cannot be written. When
/// gnuplot fails or times out, logs a warning and returns false.
bool write_twin_axis_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::vector<LineSeries>& left,
    const std::string& left_label,
    const std::vector<LineSeries>& right,
    const std::string& right_label,
    bool log_left = false);

/// Writes and draws a scatter plot of the points (x[i], y[i]) coloured by `labels[i]`, with one
/// legend entry "<label_name> <label>" per distinct label in ascending order. Labels take the
/// colours of `chart_series_colour` by their rank, so the colours repeat after ten labels.
/// Returns false when gnuplot is not available. Throws std::invalid_argument, before writing any
/// file, when there are no points, when x, y and labels differ in length, or when a coordinate
/// is not finite. Throws IoError when a file cannot be written. When gnuplot fails or times out,
/// logs a warning and returns false.
bool write_scatter_plot(
    const std::filesystem::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<double>& x,
    const std::vector<double>& y,
    const std::vector<std::int64_t>& labels,
    const std::string& label_name);

/// Returns whether the gnuplot program can be found: `$GENMEM_GNUPLOT` when that is set and not
/// empty, else `gnuplot`. A name without a `/` is searched for in `$PATH`.
bool gnuplot_available();

/// Runs gnuplot on an existing `script` with the script's folder as working directory and
/// standard input from /dev/null, and returns true once it has exited successfully. Returns
/// false when gnuplot is not available, and then logs one warning per process. gnuplot runs in
/// its own process group, so Ctrl-C in a terminal does not abort a plot half-way. Throws
/// IoError naming the script when the script does not exist, when gnuplot cannot be started,
/// or when it fails, with gnuplot's first error line. gnuplot gets `$GENMEM_GNUPLOT_TIMEOUT`
/// seconds (120 unless set). When that time is up, its process group is killed and IoError is
/// thrown.
bool render_plot(const std::filesystem::path& script);

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
