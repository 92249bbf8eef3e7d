#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace genmem {

/// Turns progress output on or off for the whole process. `genmem -q` turns it off. A bar created
/// while progress is off prints nothing for its whole life.
void set_progress_enabled(bool enabled);

/// Returns whether new progress bars print anything.
bool progress_enabled();

/// The output style of a `ProgressBar`.
enum class ProgressStyle {
  /// One line redrawn in place with `\r`, at most every `kProgressRedrawSeconds`, and erased by
  /// `finish`.
  kTerminal,
  /// A separate line every `interval_seconds`, for logs and CI.
  kPlain,
};

/// Shortest time between two redraws of a terminal-style bar, in seconds.
inline constexpr double kProgressRedrawSeconds = 0.1;

/// The stream, style and clock of a `ProgressBar`.
struct ProgressOutput {
  /// The stream written to, which must outlive the bar. Null prints nothing.
  std::ostream* stream = nullptr;
  ProgressStyle style = ProgressStyle::kPlain;
  /// Seconds between two plain-style lines. 0 prints a line at every update.
  double interval_seconds = 10.0;
  /// Terminal width in characters. A terminal-style line that would fill it gets a shorter bar,
  /// and is then cut, so that `\r` can redraw it in place. 0 means no limit.
  int columns = 0;
  /// Seconds since a fixed origin, never decreasing. Empty means `std::chrono::steady_clock`.
  std::function<double()> clock;
};

/// Returns the output for standard error. That is terminal style when standard error is a
/// terminal and `TERM` is not "dumb", else plain style with a line every
/// `GENMEM_PROGRESS_INTERVAL` seconds (10 when unset). The clock is the steady clock.
ProgressOutput standard_error_progress_output();

/// Progress of one long operation over `total` units (cues, images, recalls), shown as
///
///     replay  [########------------]  41%  4,100/10,000 cues  520 cues/s  0:11 left
///
/// in terminal style, or as lines like
///
///     replay: 4,100/10,000 cues (41%), 520 cues/s, 0:11 left
///
/// in plain style. The rate is the mean since the bar was created, and the time left assumes it
/// stays. A bar is not thread-safe: call it from one thread.
class ProgressBar {
 public:
  /// Creates a bar on standard error (`standard_error_progress_output`).
  ProgressBar(std::string label, std::int64_t total, std::string unit);

  /// Creates a bar on `output`. A terminal-style bar draws itself at once, at 0.
  ProgressBar(std::string label, std::int64_t total, std::string unit, ProgressOutput output);

  /// Calls `finish`.
  ~ProgressBar();

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Records that `done` units are complete, and redraws the bar or prints a line when it is
  /// due. A terminal-style bar also redraws when `done` first reaches the total.
  void update(std::int64_t done);

  /// Records `count` more units done, as `update` does.
  void advance(std::int64_t count);

  /// Erases a terminal-style bar so that a log line can start at the beginning of the line. The
  /// next `update` draws it again, whatever the time since the last redraw. Plain style ignores
  /// this.
  void clear();

  /// Ends the bar, after which calls do nothing. Terminal style erases the line. Plain style prints
  /// a last line with the total time, but only when it printed a progress line before, so an
  /// operation shorter than the interval adds nothing to a log.
  void finish();

 private:
  double now() const;
  std::string terminal_line(double elapsed, std::int64_t bar_width) const;
  std::string plain_line(double elapsed) const;
  void draw(double time);
  void erase();

  std::string label_;
  std::int64_t total_;
  std::string unit_;
  ProgressOutput output_;
  bool enabled_;
  bool finished_ = false;
  std::int64_t done_ = 0;
  double start_ = 0.0;
  /// Time of the last terminal redraw or plain line.
  double last_output_ = 0.0;
  /// Characters of the terminal line now on screen, 0 when none is.
  std::size_t drawn_width_ = 0;
  bool printed_line_ = false;
};

/// Formats `value` with a comma between groups of three digits: 10000 becomes "10,000".
std::string format_count(std::int64_t value);

/// Formats a duration, rounded to whole seconds, as "M:SS", or "H:MM:SS" from one hour on.
std::string format_duration(double seconds);

}  // namespace genmem
