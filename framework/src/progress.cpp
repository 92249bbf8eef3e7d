#include "progress.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace genmem {
namespace {

std::atomic<bool> g_progress_enabled{true};

// Characters between the brackets of a terminal-style bar: normally 20, at least 10 on a narrow
// terminal.
constexpr std::int64_t kBarWidth = 20;
constexpr std::int64_t kMinBarWidth = 10;
constexpr double kDefaultIntervalSeconds = 10.0;
constexpr int kDefaultColumns = 80;

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Returns GENMEM_PROGRESS_INTERVAL in seconds. An invalid value (not a number >= 0) gets a
// warning and the default.
double read_interval_seconds() {
  const char* text = std::getenv("GENMEM_PROGRESS_INTERVAL");
  if (text == nullptr || *text == '\0') {
    return kDefaultIntervalSeconds;
  }
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (*end != '\0' || !std::isfinite(value) || value < 0.0) {
    spdlog::warn(
        "GENMEM_PROGRESS_INTERVAL is '{}', which is not a number of seconds >= 0; using {} s",
        text,
        kDefaultIntervalSeconds);
    return kDefaultIntervalSeconds;
  }
  return value;
}

bool standard_error_is_terminal() {
  if (::isatty(STDERR_FILENO) == 0) {
    return false;
  }
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string(term) != "dumb";
}

int terminal_columns() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return kDefaultColumns;
}

// Returns done / total, clamped to [0, 1], times `scale` and rounded down. The arithmetic is
// integer because 0.29 * 100 is 28.999... in floating point, which would show 29 of 100 as 28%.
// A total of 0 counts as complete, so nothing divides by it.
std::int64_t scaled_fraction(std::int64_t done, std::int64_t total, std::int64_t scale) {
  if (total <= 0) {
    return scale;
  }
  return std::clamp<std::int64_t>(done, 0, total) * scale / total;
}

// Units per second, or a negative value while no unit is done or no time has passed.
double mean_rate(std::int64_t done, double elapsed) {
  if (done <= 0 || elapsed <= 0.0) {
    return -1.0;
  }
  return static_cast<double>(done) / elapsed;
}

// Formats a rate with one decimal below 10 per second and as a whole count above.
std::string format_rate(double rate) {
  if (rate < 10.0) {
    return fmt::format("{:.1f}", rate);
  }
  return format_count(std::llround(rate));
}

}  // namespace

void set_progress_enabled(bool enabled) {
  g_progress_enabled = enabled;
}

bool progress_enabled() {
  return g_progress_enabled;
}

ProgressOutput standard_error_progress_output() {
  static const double interval = read_interval_seconds();
  ProgressOutput output;
  output.stream = &std::cerr;
  output.interval_seconds = interval;
  if (standard_error_is_terminal()) {
    output.style = ProgressStyle::kTerminal;
    output.columns = terminal_columns();
  }
  return output;
}

std::string format_count(std::int64_t value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      grouped += ',';
    }
    grouped += digits[i];
  }
  return value < 0 ? "-" + grouped : grouped;
}

std::string format_duration(double seconds) {
  const long long total = std::llround(std::max(0.0, seconds));
  const long long hours = total / 3600;
  const long long minutes = total / 60 % 60;
  const long long rest = total % 60;
  if (hours > 0) {
    return fmt::format("{}:{:02}:{:02}", hours, minutes, rest);
  }
  return fmt::format("{}:{:02}", minutes, rest);
}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::string unit)
    : ProgressBar(
        std::move(label),
        total,
        std::move(unit),
        progress_enabled() ? standard_error_progress_output() : ProgressOutput{}) {}

ProgressBar::ProgressBar(
    std::string label, std::int64_t total, std::string unit, ProgressOutput output)
    : label_(std::move(label)),
      total_(std::max<std::int64_t>(total, 0)),
      unit_(std::move(unit)),
      output_(std::move(output)),
      enabled_(progress_enabled() && output_.stream != nullptr) {
  start_ = now();
  last_output_ = start_;
  if (enabled_ && output_.style == ProgressStyle::kTerminal) {
    draw(start_);
  }
}

ProgressBar::~ProgressBar() {
  try {
    finish();
  } catch (...) {
    // A destructor must not throw, and a lost progress line does no harm.
  }
}

void ProgressBar::update(std::int64_t done) {
  const bool reached_total = done >= total_ && done_ < total_;
  done_ = done;
  if (!enabled_ || finished_) {
    return;
  }
  const double time = now();
  if (output_.style == ProgressStyle::kTerminal) {
    if (drawn_width_ == 0 || reached_total || time - last_output_ >= kProgressRedrawSeconds) {
      draw(time);
    }
    return;
  }
  if (time - last_output_ >= output_.interval_seconds) {
    draw(time);
  }
}

void ProgressBar::advance(std::int64_t count) {
  update(done_ + count);
}

void ProgressBar::clear() {
  if (enabled_ && !finished_ && output_.style == ProgressStyle::kTerminal) {
    erase();
  }
}

void ProgressBar::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  if (!enabled_) {
    return;
  }
  if (output_.style == ProgressStyle::kTerminal) {
    erase();
  } else if (printed_line_) {
    *output_.stream << plain_line(now() - start_) << '\n' << std::flush;
  }
}

double ProgressBar::now() const {
  return output_.clock ? output_.clock() : steady_seconds();
}

std::string ProgressBar::terminal_line(double elapsed, std::int64_t bar_width) const {
  const std::int64_t filled = scaled_fraction(done_, total_, bar_width);
  std::string line = fmt::format(
      "{}  [{}{}] {:>3}%  {}/{} {}",
      label_,
      std::string(filled, '#'),
      std::string(bar_width - filled, '-'),
      scaled_fraction(done_, total_, 100),
      format_count(done_),
      format_count(total_),
      unit_);
  const double rate = mean_rate(done_, elapsed);
  if (rate > 0.0) {
    const double left = static_cast<double>(std::max<std::int64_t>(total_ - done_, 0)) / rate;
    line += fmt::format("  {} {}/s  {} left", format_rate(rate), unit_, format_duration(left));
  }
  return line;
}

std::string ProgressBar::plain_line(double elapsed) const {
  std::string line = fmt::format(
      "{}: {}/{} {} ({}%)",
      label_,
      format_count(done_),
      format_count(total_),
      unit_,
      scaled_fraction(done_, total_, 100));
  const double rate = mean_rate(done_, elapsed);
  if (finished_) {
    line += " in " + format_duration(elapsed);
    if (rate > 0.0) {
      line += fmt::format(", {} {}/s", format_rate(rate), unit_);
    }
  } else if (rate > 0.0) {
    const double left = static_cast<double>(std::max<std::int64_t>(total_ - done_, 0)) / rate;
    line += fmt::format(", {} {}/s, {} left", format_rate(rate), unit_, format_duration(left));
  }
  return line;
}

void ProgressBar::draw(double time) {
  last_output_ = time;
  if (output_.style == ProgressStyle::kPlain) {
    *output_.stream << plain_line(time - start_) << '\n' << std::flush;
    printed_line_ = true;
    return;
  }
  std::string line = terminal_line(time - start_, kBarWidth);
  // A line as wide as the terminal would wrap, and `\r` would then redraw only its last row. So a
  // narrow terminal gets a shorter bar, and then a line cut at its last column but one.
  const auto max_width = static_cast<std::size_t>(std::max(output_.columns, 1) - 1);
  if (output_.columns > 0 && line.size() > max_width) {
    const auto excess = static_cast<std::int64_t>(line.size() - max_width);
    line = terminal_line(time - start_, std::max(kBarWidth - excess, kMinBarWidth));
    line.resize(std::min(line.size(), max_width));
  }
  // Spaces cover the end of a longer line drawn before.
  const std::size_t padding = drawn_width_ > line.size() ? drawn_width_ - line.size() : 0;
  *output_.stream << '\r' << line << std::string(padding, ' ') << std::flush;
  drawn_width_ = line.size() + padding;
}

void ProgressBar::erase() {
  if (drawn_width_ > 0) {
    *output_.stream << '\r' << std::string(drawn_width_, ' ') << '\r' << std::flush;
    drawn_width_ = 0;
  }
}

}  // namespace genmem
