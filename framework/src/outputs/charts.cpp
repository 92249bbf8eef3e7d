#include "outputs/charts.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <genmem/error.hpp>

#include "outputs/run_folder.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

// Layout sizes in pixels and Hershey font scales.
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kTitleScale = 0.7;
constexpr int kTitleThickness = 2;
constexpr double kLabelScale = 0.5;
constexpr double kTickScale = 0.45;
constexpr int kPad = 12;
constexpr int kTickLength = 5;
constexpr int kPlotHeight = 360;
constexpr int kMinPlotWidth = 480;
constexpr int kLinePlotWidth = 560;
constexpr int kLegendGap = 20;
constexpr int kLegendKeyWidth = 24;
constexpr int kLegendRow = 22;
constexpr int kMarkerRadius = 3;

// Colours in OpenCV's BGR order.
const cv::Scalar kWhite = cv::Scalar::all(255);
const cv::Scalar kBlack = cv::Scalar::all(0);
const cv::Scalar kAxisColour = cv::Scalar::all(40);
const cv::Scalar kGridColour = cv::Scalar::all(228);

void write_png(const fs::path& path, const cv::Mat& image) {
  std::vector<unsigned char> buffer;
  if (!cv::imencode(".png", image, buffer)) {
    throw IoError(fmt::format("failed to encode '{}' as PNG", path.string()));
  }
  write_file_atomically(path, std::string(buffer.begin(), buffer.end()));
}

cv::Scalar series_bgr(std::size_t index) {
  const auto rgb = chart_series_colour(index);
  return {static_cast<double>(rgb[2]), static_cast<double>(rgb[1]), static_cast<double>(rgb[0])};
}

// A light tint of a series colour, for the inside of boxes.
cv::Scalar tint(const cv::Scalar& colour) {
  constexpr double kWeight = 0.4;
  cv::Scalar result;
  for (int channel = 0; channel < 3; ++channel) {
    result[channel] = std::round(kWeight * colour[channel] + (1 - kWeight) * 255);
  }
  return result;
}

// ---- Input validation ----

[[noreturn]] void reject(const char* function, const std::string& problem) {
  throw std::invalid_argument(fmt::format("{}: {}", function, problem));
}

// Rejects the first non-finite entry of `values`, which the message calls `name` [index].
void check_finite(
    const char* function, const std::string& name, const std::vector<double>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      reject(
          function, fmt::format("{} [{}] is {}; every value must be finite", name, i, values[i]));
    }
  }
}

void check_errors(
    const char* function,
    const std::string& series_name,
    const std::vector<double>& errors,
    std::size_t point_count) {
  if (errors.empty()) {
    return;
  }
  if (errors.size() != point_count) {
    reject(
        function,
        fmt::format(
            "series '{}' has {} errors for {} values; pass one error per value or none",
            series_name,
            errors.size(),
            point_count));
  }
  check_finite(function, fmt::format("series '{}' error", series_name), errors);
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] < 0) {
      reject(
          function,
          fmt::format(
              "series '{}' error [{}] is {}; error half-lengths must be >= 0",
              series_name,
              i,
              errors[i]));
    }
  }
}

void check_categories(const char* function, const std::vector<std::string>& categories) {
  if (categories.empty()) {
    reject(function, "categories is empty; pass at least one category");
  }
}

void check_series_count(const char* function, std::size_t count) {
  if (count == 0) {
    reject(function, "series is empty; pass at least one series");
  }
}

void check_length(
    const char* function,
    const std::string& series_name,
    std::size_t length,
    const char* item,
    std::size_t category_count) {
  if (length != category_count) {
    reject(
        function,
        fmt::format(
            "series '{}' has {} {} for {} categories; pass one per category",
            series_name,
            length,
            item,
            category_count));
  }
}

void check_box(
    const char* function, const std::string& series_name, std::size_t index, const BoxStats& box) {
  const std::vector<double> numbers = {
      box.whisker_low, box.q1, box.median, box.q3, box.whisker_high};
  check_finite(function, fmt::format("series '{}' box {} statistic", series_name, index), numbers);
  if (!std::is_sorted(numbers.begin(), numbers.end())) {
    reject(
        function,
        fmt::format(
            "series '{}' box {} is ({}, {}, {}, {}, {}); expected whisker_low <= q1 <= median <= q3 "
            "<= whisker_high",
            series_name,
            index,
            box.whisker_low,
            box.q1,
            box.median,
            box.q3,
            box.whisker_high));
  }
}

// ---- Axes ----

// A numeric axis. `low` and `high` are the ends of the axis in axis units, which are log10 of the
// data on a logarithmic axis. Ticks are in data units.
struct Axis {
  double low = 0;
  double high = 1;
  bool log = false;
  std::vector<double> ticks;
  std::vector<std::string> labels;

  // Position of `value` along the axis, 0 at `low` and 1 at `high`.
  double fraction(double value) const {
    const double position = log ? std::log10(value) : value;
    return (position - low) / (high - low);
  }
};

// Ticks at i * step for i in [first, last], with step = mantissa * 10^exponent.
struct TickSpacing {
  double step = 1;
  double mantissa = 1;
  int exponent = 0;
  long long first = 0;
  long long last = 0;
};

// Chooses ticks at 1, 2, 2.5 or 5 x 10^k, aiming for 4 to 6 of them. With `cover` the ticks
// reach past both ends of [low, high], so the axis can start and end on a tick. Otherwise they
// lie inside [low, high]. Requires low < high.
TickSpacing choose_ticks(double low, double high, bool cover) {
  // Tolerance, in steps, for a bound that is a multiple of the step up to rounding.
  constexpr double kTolerance = 1e-9;
  const int magnitude = static_cast<int>(std::floor(std::log10(high - low)));
  TickSpacing best;
  double best_score = std::numeric_limits<double>::infinity();
  for (int exponent = magnitude - 2; exponent <= magnitude + 1; ++exponent) {
    for (const double mantissa : {1.0, 2.0, 2.5, 5.0}) {
      const double step = mantissa * std::pow(10.0, exponent);
      const double first =
          cover ? std::floor(low / step + kTolerance) : std::ceil(low / step - kTolerance);
      const double last =
          cover ? std::ceil(high / step - kTolerance) : std::floor(high / step + kTolerance);
      const double count = last - first + 1;
      // Counts outside 4..6 lose to any count inside. Among those inside, a covering axis wastes
      // as little room as possible and an inside one has about 5 ticks.
      const double outside = std::max({0.0, 4 - count, count - 6});
      const double waste = cover ? (last - first) * step / (high - low) : 0.0;
      const double score = 100 * outside + waste + 0.01 * std::abs(count - 5);
      if (score < best_score) {
        best_score = score;
        best = {
            step, mantissa, exponent, static_cast<long long>(first), static_cast<long long>(last)};
      }
    }
  }
  return best;
}

// Formats a tick with as many digits as the step needs. `largest` is the largest magnitude on the
// axis, and values from 1e6 up or steps below 1e-4 get exponent notation.
std::string format_tick(double value, const TickSpacing& spacing, double largest) {
  // 2.5 x 10^k needs one more digit than 1, 2 or 5 x 10^k.
  const int extra_digit = spacing.mantissa == 2.5 ? 1 : 0;
  if (largest >= 1e6 || spacing.step < 1e-4) {
    const int leading_exponent = static_cast<int>(std::floor(std::log10(largest)));
    const int digits = std::clamp(leading_exponent - spacing.exponent + 1 + extra_digit, 1, 17);
    return fmt::format("{:.{}g}", value, digits);
  }
  const int decimals = std::max(0, -spacing.exponent + extra_digit);
  return fmt::format("{:.{}f}", value, decimals);
}

// Widens a span that is zero up to rounding, so a constant series still gets an axis.
void widen_if_flat(double& low, double& high) {
  const double scale = std::max(std::abs(low), std::abs(high));
  if (high - low > scale * 1e-9) {
    return;
  }
  const double pad = scale > 0 ? 0.1 * scale : 1.0;
  low -= pad;
  high += pad;
}

// A linear axis over [low, high]. With `cover` it is widened to the nearest ticks outside.
Axis linear_axis(double low, double high, bool cover) {
  widen_if_flat(low, high);
  const TickSpacing spacing = choose_ticks(low, high, cover);
  const long long count = spacing.last - spacing.first + 1;
  if (!cover && (count < 4 || count > 6)) {
    // Some spans contain only 3 or 7 ticks, such as [617, 2311] with steps 500 or 250. The
    // axis then reaches out to the nearest ticks instead.
    return linear_axis(low, high, /*cover=*/true);
  }
  Axis axis;
  axis.low = cover ? static_cast<double>(spacing.first) * spacing.step : low;
  axis.high = cover ? static_cast<double>(spacing.last) * spacing.step : high;
  const double largest = std::max(std::abs(axis.low), std::abs(axis.high));
  for (long long i = spacing.first; i <= spacing.last; ++i) {
    const double tick = static_cast<double>(i) * spacing.step;
    axis.ticks.push_back(tick);
    axis.labels.push_back(format_tick(tick, spacing, largest));
  }
  return axis;
}

// A linear axis over [low, high] with 5% of the span free at each end, so markers and whisker
// caps at the extremes are drawn whole.
Axis padded_axis(double low, double high) {
  widen_if_flat(low, high);
  const double pad = 0.05 * (high - low);
  return linear_axis(low - pad, high + pad, /*cover=*/false);
}

// A base-10 logarithmic axis over the positive range [low, high], padded like `padded_axis`.
Axis log_axis(double low, double high) {
  double log_low = std::log10(low);
  double log_high = std::log10(high);
  widen_if_flat(log_low, log_high);
  const double pad = 0.05 * (log_high - log_low);
  log_low -= pad;
  log_high += pad;

  Axis axis;
  axis.log = true;
  axis.low = log_low;
  axis.high = log_high;
  if (log_high - log_low < 1) {
    // Less than a decade contains too few powers of ten, so the ticks are linear ones.
    const Axis linear = linear_axis(std::pow(10.0, log_low), std::pow(10.0, log_high), false);
    axis.ticks = linear.ticks;
    axis.labels = linear.labels;
    return axis;
  }

  const int first_power = static_cast<int>(std::floor(log_low));
  const int last_power = static_cast<int>(std::ceil(log_high));
  std::vector<double> ticks_125;
  std::vector<double> powers;
  for (int power = first_power; power <= last_power; ++power) {
    for (const double mantissa : {1.0, 2.0, 5.0}) {
      const double tick = mantissa * std::pow(10.0, power);
      const double position = std::log10(tick);
      if (position < log_low || position > log_high) {
        continue;
      }
      ticks_125.push_back(tick);
      if (mantissa == 1.0) {
        powers.push_back(tick);
      }
    }
  }
  if (ticks_125.size() <= 6) {
    axis.ticks = ticks_125;
  } else {
    // Every power of ten, or every second or third one over many decades.
    const std::size_t stride = (powers.size() + 5) / 6;
    for (std::size_t i = 0; i < powers.size(); i += stride) {
      axis.ticks.push_back(powers[i]);
    }
  }
  for (const double tick : axis.ticks) {
    axis.labels.push_back(fmt::format("{:g}", tick));
  }
  return axis;
}

// ---- Text ----

// Width and full height (cap height plus descent) of `text`.
cv::Size text_size(const std::string& text, double scale, int thickness = 1) {
  int baseline = 0;
  cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  size.height += baseline;
  return size;
}

enum class Align {
  kLeft,
  kCentre,
  kRight
};

// Draws `text` with its horizontal anchor at `anchor.x` and its capital letters centred
// vertically on `anchor.y`.
void draw_text(
    cv::Mat& image,
    const std::string& text,
    cv::Point anchor,
    Align align,
    double scale,
    int thickness = 1) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &baseline);
  int x = anchor.x;
  if (align == Align::kCentre) {
    x -= size.width / 2;
  } else if (align == Align::kRight) {
    x -= size.width;
  }
  const cv::Point origin(x, anchor.y + size.height / 2);
  cv::putText(image, text, origin, kFont, scale, kBlack, thickness, cv::LINE_AA);
}

// Draws `text` turned 90 degrees counter-clockwise, centred on `centre`, as y-axis titles read.
// The caller leaves room for the whole text around `centre`.
void draw_vertical_text(cv::Mat& image, const std::string& text, cv::Point centre, double scale) {
  int descent = 0;
  const cv::Size size = cv::getTextSize(text, kFont, scale, 1, &descent);
  cv::Mat strip(size.height + descent + 2, size.width + 2, CV_8UC3, kWhite);
  cv::putText(strip, text, {1, size.height + 1}, kFont, scale, kBlack, 1, cv::LINE_AA);
  cv::Mat turned;
  cv::rotate(strip, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
  const cv::Rect target(
      centre.x - turned.cols / 2, centre.y - turned.rows / 2, turned.cols, turned.rows);
  turned.copyTo(image(target));
}

// ---- Frame: title, axes and legend around the plot area ----

struct ChartText {
  std::string title;
  std::string x_label;
  std::string y_label;
};

// The image and the pixel geometry that every chart shares: title on top, y axis on the left,
// category or x-axis labels below and the legend to the right of the plot area.
struct Frame {
  cv::Mat image;
  cv::Rect plot;
  Axis y;
  int legend_x = 0;

  int bottom() const { return plot.y + plot.height; }

  int y_pixel(double value) const {
    return bottom() - static_cast<int>(std::lround(y.fraction(value) * plot.height));
  }

  int x_pixel(const Axis& x, double value) const {
    return plot.x + static_cast<int>(std::lround(x.fraction(value) * plot.width));
  }

  // Baseline row of the labels under the x axis, centred on their capital letters.
  int x_label_row() const {
    return bottom() + kTickLength + 4 + text_size("0", kTickScale).height / 2;
  }
};

int max_text_width(const std::vector<std::string>& texts, double scale) {
  int width = 0;
  for (const std::string& text : texts) {
    width = std::max(width, text_size(text, scale).width);
  }
  return width;
}

void draw_y_axis(Frame& frame, const std::string& y_label, int y_label_centre_x) {
  for (std::size_t i = 0; i < frame.y.ticks.size(); ++i) {
    const int row = frame.y_pixel(frame.y.ticks[i]);
    const int right = frame.plot.x + frame.plot.width;
    cv::line(frame.image, {frame.plot.x, row}, {right, row}, kGridColour, 1);
    cv::line(frame.image, {frame.plot.x - kTickLength, row}, {frame.plot.x, row}, kAxisColour, 1);
    draw_text(
        frame.image,
        frame.y.labels[i],
        {frame.plot.x - kTickLength - 4, row},
        Align::kRight,
        kTickScale);
  }
  if (!y_label.empty()) {
    draw_vertical_text(
        frame.image,
        y_label,
        {y_label_centre_x, frame.plot.y + frame.plot.height / 2},
        kLabelScale);
  }
}

// Lays out the image around a plot area `plot_width` pixels wide and draws the title, the y axis
// with its grid lines and the x-axis title. Data, x ticks and the legend come after.
Frame make_frame(
    const ChartText& text,
    Axis y_axis,
    int plot_width,
    const std::vector<std::string>& legend,
    int right_margin = 0) {
  const cv::Size title = text_size(text.title, kTitleScale, kTitleThickness);
  const cv::Size y_label = text_size(text.y_label, kLabelScale);
  const cv::Size x_label = text_size(text.x_label, kLabelScale);
  const int tick_label_height = text_size("0", kTickScale).height;
  const int y_label_room = text.y_label.empty() ? 0 : y_label.height + kPad;
  const int x_label_room = text.x_label.empty() ? 0 : x_label.height + kPad;

  const int top = kPad + (text.title.empty() ? 0 : title.height + kPad);
  const int left =
      kPad + y_label_room + max_text_width(y_axis.labels, kTickScale) + kTickLength + 4;
  const int bottom = kTickLength + 4 + tick_label_height + x_label_room + kPad;
  const int legend_width =
      kLegendGap + kLegendKeyWidth + 6 + max_text_width(legend, kLabelScale) + kPad;
  plot_width = std::max({plot_width, title.width - left, x_label.width});
  const int legend_height = static_cast<int>(legend.size()) * kLegendRow;
  const int plot_height = std::max({kPlotHeight, y_label.width + kPad, legend_height});

  Frame frame;
  frame.image = cv::Mat(
      top + plot_height + 1 + bottom,
      left + plot_width + 1 + right_margin + legend_width,
      CV_8UC3,
      kWhite);
  frame.plot = cv::Rect(left, top, plot_width, plot_height);
  frame.y = std::move(y_axis);
  frame.legend_x = left + plot_width + right_margin + kLegendGap;

  if (!text.title.empty()) {
    // Centred over the plot area, but moved left where it would run off the image.
    const int centre = std::min(left + plot_width / 2, frame.image.cols - kPad - title.width / 2);
    draw_text(
        frame.image,
        text.title,
        {centre, kPad + title.height / 2},
        Align::kCentre,
        kTitleScale,
        kTitleThickness);
  }
  draw_y_axis(frame, text.y_label, kPad + y_label.height / 2);
  if (!text.x_label.empty()) {
    const int row = frame.image.rows - kPad - x_label.height / 2;
    draw_text(frame.image, text.x_label, {left + plot_width / 2, row}, Align::kCentre, kLabelScale);
  }
  return frame;
}

// Draws the left and bottom axis lines over the data.
void draw_axis_lines(Frame& frame) {
  const cv::Point origin(frame.plot.x, frame.bottom());
  cv::line(frame.image, origin, {frame.plot.x, frame.plot.y}, kAxisColour, 1);
  cv::line(frame.image, origin, {frame.plot.x + frame.plot.width, frame.bottom()}, kAxisColour, 1);
}

enum class LegendKey {
  kFilled,
  kBox,
  kLine
};

void draw_legend(Frame& frame, const std::vector<std::string>& names, LegendKey key) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const int row = frame.plot.y + kLegendRow / 2 + static_cast<int>(i) * kLegendRow;
    const cv::Scalar colour = series_bgr(i);
    const int x = frame.legend_x;
    const cv::Rect swatch(x + kLegendKeyWidth / 2 - 7, row - 7, 14, 14);
    if (key == LegendKey::kFilled) {
      cv::rectangle(frame.image, swatch, colour, cv::FILLED);
    } else if (key == LegendKey::kBox) {
      cv::rectangle(frame.image, swatch, tint(colour), cv::FILLED);
      cv::rectangle(frame.image, swatch, colour, 1);
    } else {
      cv::line(frame.image, {x, row}, {x + kLegendKeyWidth, row}, colour, 2, cv::LINE_AA);
      cv::circle(
          frame.image,
          {x + kLegendKeyWidth / 2, row},
          kMarkerRadius,
          colour,
          cv::FILLED,
          cv::LINE_AA);
    }
    draw_text(frame.image, names[i], {x + kLegendKeyWidth + 6, row}, Align::kLeft, kLabelScale);
  }
}

// Draws a vertical error bar from `low` to `high` in data units. An end beyond the axis is cut
// off at the axis and drawn without a cap, so the reader can see that it continues.
void draw_error_bar(
    Frame& frame, int x, double low, double high, int cap_half_width, const cv::Scalar& colour) {
  const double axis_low = frame.y.low;
  const double axis_high = frame.y.high;
  const int low_row = frame.y_pixel(std::clamp(low, axis_low, axis_high));
  const int high_row = frame.y_pixel(std::clamp(high, axis_low, axis_high));
  cv::line(frame.image, {x, low_row}, {x, high_row}, colour, 1);
  if (low >= axis_low) {
    cv::line(frame.image, {x - cap_half_width, low_row}, {x + cap_half_width, low_row}, colour, 1);
  }
  if (high <= axis_high) {
    cv::line(
        frame.image, {x - cap_half_width, high_row}, {x + cap_half_width, high_row}, colour, 1);
  }
}

// ---- Category layout shared by bar charts and box plots ----

// Plot width that gives every category label and every series' bar room.
int category_plot_width(const std::vector<std::string>& categories, std::size_t series_count) {
  constexpr int kMinSlotWidth = 18;
  const int label_width = max_text_width(categories, kTickScale) + 16;
  const int group_width =
      std::max(label_width, static_cast<int>(series_count) * kMinSlotWidth + 12);
  return std::max(kMinPlotWidth, static_cast<int>(categories.size()) * group_width);
}

// Horizontal place of one series within one category group. 80% of each group contains
// the series side by side, and the rest separates neighbouring groups.
struct Slot {
  double centre;
  double width;
};

Slot category_slot(
    const Frame& frame,
    std::size_t category_count,
    std::size_t category,
    std::size_t series_count,
    std::size_t series) {
  const double group_width =
      static_cast<double>(frame.plot.width) / static_cast<double>(category_count);
  const double group_left =
      frame.plot.x + group_width * static_cast<double>(category) + 0.1 * group_width;
  const double width = 0.8 * group_width / static_cast<double>(series_count);
  return {group_left + width * (static_cast<double>(series) + 0.5), width};
}

void draw_category_labels(Frame& frame, const std::vector<std::string>& categories) {
  const double group_width =
      static_cast<double>(frame.plot.width) / static_cast<double>(categories.size());
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const int centre =
        frame.plot.x + static_cast<int>(std::lround(group_width * (static_cast<double>(i) + 0.5)));
    cv::line(
        frame.image,
        {centre, frame.bottom()},
        {centre, frame.bottom() + kTickLength},
        kAxisColour,
        1);
    draw_text(
        frame.image, categories[i], {centre, frame.x_label_row()}, Align::kCentre, kTickScale);
  }
}

template <typename Series>
std::vector<std::string> series_names(const std::vector<Series>& series) {
  std::vector<std::string> names;
  names.reserve(series.size());
  for (const Series& one : series) {
    names.push_back(one.name);
  }
  return names;
}

// ---- Line plots ----

void draw_x_axis(Frame& frame, const Axis& x) {
  for (std::size_t i = 0; i < x.ticks.size(); ++i) {
    const int column = frame.x_pixel(x, x.ticks[i]);
    cv::line(frame.image, {column, frame.plot.y}, {column, frame.bottom()}, kGridColour, 1);
    cv::line(
        frame.image,
        {column, frame.bottom()},
        {column, frame.bottom() + kTickLength},
        kAxisColour,
        1);
    draw_text(frame.image, x.labels[i], {column, frame.x_label_row()}, Align::kCentre, kTickScale);
  }
}

void draw_line_series(
    Frame& frame, const Axis& x, const LineSeries& series, const cv::Scalar& colour) {
  std::vector<cv::Point> points;
  for (std::size_t i = 0; i < series.x.size(); ++i) {
    points.emplace_back(frame.x_pixel(x, series.x[i]), frame.y_pixel(series.y[i]));
  }
  for (std::size_t i = 0; i < series.errors.size(); ++i) {
    draw_error_bar(
        frame,
        points[i].x,
        series.y[i] - series.errors[i],
        series.y[i] + series.errors[i],
        4,
        colour);
  }
  for (std::size_t i = 1; i < points.size(); ++i) {
    cv::line(frame.image, points[i - 1], points[i], colour, 2, cv::LINE_AA);
  }
  for (const cv::Point& point : points) {
    cv::circle(frame.image, point, kMarkerRadius, colour, cv::FILLED, cv::LINE_AA);
  }
}

void check_line_series(const LineSeries& series, bool log_x) {
  constexpr const char* kFunction = "write_line_plot";
  if (series.x.size() != series.y.size()) {
    reject(
        kFunction,
        fmt::format(
            "series '{}' has {} x values and {} y values; pass one y per x",
            series.name,
            series.x.size(),
            series.y.size()));
  }
  if (series.x.empty()) {
    reject(kFunction, fmt::format("series '{}' has no points; pass at least one", series.name));
  }
  check_finite(kFunction, fmt::format("series '{}' x", series.name), series.x);
  check_finite(kFunction, fmt::format("series '{}' y", series.name), series.y);
  check_errors(kFunction, series.name, series.errors, series.y.size());
  for (std::size_t i = 0; log_x && i < series.x.size(); ++i) {
    if (series.x[i] <= 0) {
      reject(
          kFunction,
          fmt::format(
              "series '{}' x [{}] is {}; a logarithmic x axis needs every x > 0",
              series.name,
              i,
              series.x[i]));
    }
  }
}

// Data ranges of all series: x from the points, y including the error bars.
struct LineRanges {
  double x_low = std::numeric_limits<double>::infinity();
  double x_high = -std::numeric_limits<double>::infinity();
  double y_low = std::numeric_limits<double>::infinity();
  double y_high = -std::numeric_limits<double>::infinity();
};

LineRanges line_ranges(const std::vector<LineSeries>& series) {
  LineRanges ranges;
  for (const LineSeries& one : series) {
    for (std::size_t i = 0; i < one.x.size(); ++i) {
      const double error = one.errors.empty() ? 0.0 : one.errors[i];
      ranges.x_low = std::min(ranges.x_low, one.x[i]);
      ranges.x_high = std::max(ranges.x_high, one.x[i]);
      ranges.y_low = std::min(ranges.y_low, one.y[i] - error);
      ranges.y_high = std::max(ranges.y_high, one.y[i] + error);
    }
  }
  return ranges;
}

// ---- Bar charts ----

void check_bar_series(const std::vector<BarSeries>& series, std::size_t category_count) {
  constexpr const char* kFunction = "write_bar_chart";
  check_series_count(kFunction, series.size());
  for (const BarSeries& one : series) {
    check_length(kFunction, one.name, one.values.size(), "values", category_count);
    check_finite(kFunction, fmt::format("series '{}' value", one.name), one.values);
    check_errors(kFunction, one.name, one.errors, one.values.size());
  }
}

// The y axis of a bar chart. It always contains 0, where bars start, and it starts at 0 when
// every value is >= 0, which cuts off error bars that reach below 0.
Axis bar_axis(const std::vector<BarSeries>& series) {
  double low = 0;
  double high = 0;
  bool all_non_negative = true;
  for (const BarSeries& one : series) {
    for (std::size_t i = 0; i < one.values.size(); ++i) {
      const double error = one.errors.empty() ? 0.0 : one.errors[i];
      low = std::min(low, one.values[i] - error);
      high = std::max(high, one.values[i] + error);
      all_non_negative = all_non_negative && one.values[i] >= 0;
    }
  }
  if (all_non_negative) {
    low = 0;
  }
  if (low == 0 && high == 0) {
    high = 1;
  }
  return linear_axis(low, high, /*cover=*/true);
}

void draw_bars(Frame& frame, std::size_t category_count, const std::vector<BarSeries>& series) {
  const int zero_row = frame.y_pixel(0);
  for (std::size_t s = 0; s < series.size(); ++s) {
    const cv::Scalar colour = series_bgr(s);
    for (std::size_t c = 0; c < category_count; ++c) {
      const Slot slot = category_slot(frame, category_count, c, series.size(), s);
      const int left = static_cast<int>(std::lround(slot.centre - slot.width / 2)) + 1;
      const int right = static_cast<int>(std::lround(slot.centre + slot.width / 2)) - 1;
      const int value_row = frame.y_pixel(series[s].values[c]);
      cv::rectangle(frame.image, {left, value_row}, {right, zero_row}, colour, cv::FILLED);
    }
  }

  // Error bars go on top of every bar, so a neighbouring bar never hides one.
  for (std::size_t s = 0; s < series.size(); ++s) {
    for (std::size_t c = 0; c < series[s].errors.size(); ++c) {
      const Slot slot = category_slot(frame, category_count, c, series.size(), s);
      const double value = series[s].values[c];
      const double error = series[s].errors[c];
      const int column = static_cast<int>(std::lround(slot.centre));
      const int cap = std::clamp(static_cast<int>(slot.width / 6), 2, 8);
      draw_error_bar(frame, column, value - error, value + error, cap, kBlack);
    }
  }

  if (frame.y.low < 0) {
    const int right = frame.plot.x + frame.plot.width;
    cv::line(frame.image, {frame.plot.x, zero_row}, {right, zero_row}, kAxisColour, 1);
  }
}

// ---- Box plots ----

void check_box_series(const std::vector<BoxSeries>& series, std::size_t category_count) {
  constexpr const char* kFunction = "write_box_plot";
  check_series_count(kFunction, series.size());
  for (const BoxSeries& one : series) {
    check_length(kFunction, one.name, one.boxes.size(), "boxes", category_count);
    for (std::size_t i = 0; i < one.boxes.size(); ++i) {
      check_box(kFunction, one.name, i, one.boxes[i]);
    }
  }
}

Axis box_axis(const std::vector<BoxSeries>& series) {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();
  for (const BoxSeries& one : series) {
    for (const BoxStats& box : one.boxes) {
      low = std::min(low, box.whisker_low);
      high = std::max(high, box.whisker_high);
    }
  }
  return padded_axis(low, high);
}

void draw_box(Frame& frame, const Slot& slot, const BoxStats& box, const cv::Scalar& colour) {
  const int centre = static_cast<int>(std::lround(slot.centre));
  const int half_width = std::max(3, static_cast<int>(slot.width * 0.35));
  draw_error_bar(frame, centre, box.whisker_low, box.q1, half_width / 2, colour);
  draw_error_bar(frame, centre, box.q3, box.whisker_high, half_width / 2, colour);

  const cv::Point top_left(centre - half_width, frame.y_pixel(box.q3));
  const cv::Point bottom_right(centre + half_width, frame.y_pixel(box.q1));
  cv::rectangle(frame.image, top_left, bottom_right, tint(colour), cv::FILLED);
  cv::rectangle(frame.image, top_left, bottom_right, colour, 1);

  const int median_row = frame.y_pixel(box.median);
  cv::line(
      frame.image, {centre - half_width, median_row}, {centre + half_width, median_row}, kBlack, 2);
}

}  // namespace

std::array<std::uint8_t, 3> chart_series_colour(std::size_t index) {
  // Tableau 10, Tableau's default qualitative palette.
  static constexpr std::array<std::array<std::uint8_t, 3>, 10> kPalette = {{
      {31, 119, 180},
      {255, 127, 14},
      {44, 160, 44},
      {214, 39, 40},
      {148, 103, 189},
      {140, 86, 75},
      {227, 119, 194},
      {127, 127, 127},
      {188, 189, 34},
      {23, 190, 207},
  }};
  return kPalette[index % kPalette.size()];
}

void write_bar_chart(
    const fs::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BarSeries>& series) {
  check_categories("write_bar_chart", categories);
  check_bar_series(series, categories.size());

  const std::vector<std::string> names = series_names(series);
  const int plot_width = category_plot_width(categories, series.size());
  Frame frame = make_frame({title, "", y_label}, bar_axis(series), plot_width, names);
  draw_bars(frame, categories.size(), series);
  draw_category_labels(frame, categories);
  draw_axis_lines(frame);
  draw_legend(frame, names, LegendKey::kFilled);
  write_png(path, frame.image);
}

void write_box_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BoxSeries>& series) {
  check_categories("write_box_plot", categories);
  check_box_series(series, categories.size());

  const std::vector<std::string> names = series_names(series);
  const int plot_width = category_plot_width(categories, series.size());
  Frame frame = make_frame({title, "", y_label}, box_axis(series), plot_width, names);
  for (std::size_t s = 0; s < series.size(); ++s) {
    for (std::size_t c = 0; c < categories.size(); ++c) {
      const Slot slot = category_slot(frame, categories.size(), c, series.size(), s);
      draw_box(frame, slot, series[s].boxes[c], series_bgr(s));
    }
  }
  draw_category_labels(frame, categories);
  draw_axis_lines(frame);
  draw_legend(frame, names, LegendKey::kBox);
  write_png(path, frame.image);
}

void write_line_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<LineSeries>& series,
    bool log_x) {
  check_series_count("write_line_plot", series.size());
  for (const LineSeries& one : series) {
    check_line_series(one, log_x);
  }

  const LineRanges ranges = line_ranges(series);
  const Axis x_axis =
      log_x ? log_axis(ranges.x_low, ranges.x_high) : padded_axis(ranges.x_low, ranges.x_high);
  const Axis y_axis = padded_axis(ranges.y_low, ranges.y_high);
  const std::vector<std::string> names = series_names(series);
  Frame frame = make_frame({title, x_label, y_label}, y_axis, kLinePlotWidth, names);
  draw_x_axis(frame, x_axis);
  for (std::size_t s = 0; s < series.size(); ++s) {
    draw_line_series(frame, x_axis, series[s], series_bgr(s));
  }
  draw_axis_lines(frame);
  draw_legend(frame, names, LegendKey::kLine);
  write_png(path, frame.image);
}

void write_twin_axis_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& x_label,
    const LineSeries& left,
    const std::string& left_label,
    const LineSeries& right,
    const std::string& right_label) {
  check_line_series(left, false);
  check_line_series(right, false);
  const LineRanges left_ranges = line_ranges({left});
  const LineRanges right_ranges = line_ranges({right});
  const Axis x_axis = padded_axis(
      std::min(left_ranges.x_low, right_ranges.x_low),
      std::max(left_ranges.x_high, right_ranges.x_high));
  const Axis right_axis = padded_axis(right_ranges.y_low, right_ranges.y_high);
  const cv::Size right_title = text_size(right_label, kLabelScale);
  const int right_margin = kTickLength + 4 + max_text_width(right_axis.labels, kTickScale) + kPad
      + (right_label.empty() ? 0 : right_title.height);

  const std::vector<std::string> names = {left.name, right.name};
  Frame frame = make_frame(
      {title, x_label, left_label},
      padded_axis(left_ranges.y_low, left_ranges.y_high),
      kLinePlotWidth,
      names,
      right_margin);
  draw_x_axis(frame, x_axis);
  draw_line_series(frame, x_axis, left, series_bgr(0));

  // The right axis: its own ticks beside the plot's right edge, without grid lines.
  const Axis left_axis = frame.y;
  frame.y = right_axis;
  draw_line_series(frame, x_axis, right, series_bgr(1));
  const int edge = frame.plot.x + frame.plot.width;
  for (std::size_t i = 0; i < right_axis.ticks.size(); ++i) {
    const int row = frame.y_pixel(right_axis.ticks[i]);
    cv::line(frame.image, {edge, row}, {edge + kTickLength, row}, kAxisColour, 1);
    draw_text(
        frame.image, right_axis.labels[i], {edge + kTickLength + 4, row}, Align::kLeft, kTickScale);
  }
  if (!right_label.empty()) {
    draw_vertical_text(
        frame.image,
        right_label,
        {edge + right_margin - kPad / 2 - right_title.height / 2,
         frame.plot.y + frame.plot.height / 2},
        kLabelScale);
  }
  frame.y = left_axis;
  draw_axis_lines(frame);
  cv::line(frame.image, {edge, frame.plot.y}, {edge, frame.bottom()}, kAxisColour, 1);
  draw_legend(frame, names, LegendKey::kLine);
  write_png(path, frame.image);
}

BoxStats box_stats(std::vector<double> values, double low_percentile, double high_percentile) {
  constexpr const char* kFunction = "box_stats";
  if (values.empty()) {
    reject(kFunction, "values is empty; pass at least one value");
  }
  check_finite(kFunction, "value", values);
  // Whiskers outside the quartiles keep whisker_low <= q1 and q3 <= whisker_high.
  if (!(0 <= low_percentile && low_percentile <= 25 && 75 <= high_percentile
        && high_percentile <= 100)) {
    reject(
        kFunction,
        fmt::format(
            "whisker percentiles ({}, {}) are invalid; expected 0 <= low_percentile <= 25 "
            "and 75 <= high_percentile <= 100",
            low_percentile,
            high_percentile));
  }
  std::sort(values.begin(), values.end());
  // As in numpy.percentile's default 'linear' method, the p-th percentile is interpolated at the
  // fractional index (n - 1) * p / 100 of the sorted values.
  const auto percentile = [&values](double p) {
    const double index = static_cast<double>(values.size() - 1) * p / 100;
    const auto below = static_cast<std::size_t>(std::floor(index));
    const std::size_t above = std::min(below + 1, values.size() - 1);
    return values[below] + (index - static_cast<double>(below)) * (values[above] - values[below]);
  };
  return {
      percentile(low_percentile),
      percentile(25),
      percentile(50),
      percentile(75),
      percentile(high_percentile)};
}

}  // namespace genmem
