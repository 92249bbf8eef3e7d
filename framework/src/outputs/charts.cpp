#include "outputs/charts.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <genmem/error.hpp>

#include "outputs/run_folder.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

// Image sizes in pixels. The SVG has the same size in its own units.
struct Canvas {
  int width;
  int height;
};

constexpr Canvas kChartCanvas = {800, 480};
constexpr Canvas kScatterCanvas = {640, 560};

// Width of a category group on the x axis, where categories sit 1 apart. The rest of each unit
// is the gap between neighbouring groups.
constexpr double kGroupWidth = 0.8;

// Share of each axis's data span left free at both ends, so markers and whisker caps at the
// extremes are drawn whole.
constexpr double kPadding = 0.05;

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

void check_series_count(const char* function, const char* argument, std::size_t count) {
  if (count == 0) {
    reject(function, fmt::format("{} is empty; pass at least one series", argument));
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

void check_bar_series(const std::vector<BarSeries>& series, std::size_t category_count) {
  constexpr const char* kFunction = "write_bar_chart";
  check_series_count(kFunction, "series", series.size());
  for (const BarSeries& one : series) {
    check_length(kFunction, one.name, one.values.size(), "values", category_count);
    check_finite(kFunction, fmt::format("series '{}' value", one.name), one.values);
    check_errors(kFunction, one.name, one.errors, one.values.size());
  }
}

void check_box_series(const std::vector<BoxSeries>& series, std::size_t category_count) {
  constexpr const char* kFunction = "write_box_plot";
  check_series_count(kFunction, "series", series.size());
  for (const BoxSeries& one : series) {
    check_length(kFunction, one.name, one.boxes.size(), "boxes", category_count);
    for (std::size_t i = 0; i < one.boxes.size(); ++i) {
      check_box(kFunction, one.name, i, one.boxes[i]);
    }
  }
}

void check_line_series(const char* function, const LineSeries& series, bool log_x) {
  if (series.x.size() != series.y.size()) {
    reject(
        function,
        fmt::format(
            "series '{}' has {} x values and {} y values; pass one y per x",
            series.name,
            series.x.size(),
            series.y.size()));
  }
  if (series.x.empty()) {
    reject(function, fmt::format("series '{}' has no points; pass at least one", series.name));
  }
  check_finite(function, fmt::format("series '{}' x", series.name), series.x);
  check_finite(function, fmt::format("series '{}' y", series.name), series.y);
  check_errors(function, series.name, series.errors, series.y.size());
  for (std::size_t i = 0; log_x && i < series.x.size(); ++i) {
    if (series.x[i] <= 0) {
      reject(
          function,
          fmt::format(
              "series '{}' x [{}] is {}; a logarithmic x axis needs every x > 0",
              series.name,
              i,
              series.x[i]));
    }
  }
}

void check_scatter_points(
    const std::vector<double>& x,
    const std::vector<double>& y,
    const std::vector<std::int64_t>& labels) {
  constexpr const char* kFunction = "write_scatter_plot";
  if (x.size() != y.size() || x.size() != labels.size()) {
    reject(
        kFunction,
        fmt::format(
            "got {} x values, {} y values and {} labels; pass one of each per point",
            x.size(),
            y.size(),
            labels.size()));
  }
  if (x.empty()) {
    reject(kFunction, "there are no points; pass at least one");
  }
  check_finite(kFunction, "x", x);
  check_finite(kFunction, "y", y);
}

// ---- Text in scripts and data files ----

bool is_control_character(char character) {
  return static_cast<unsigned char>(character) < 0x20 || character == 0x7f;
}

// Returns `text` with control characters, such as line breaks, replaced by spaces. A line break
// would end a command in a script and a row in a data file.
std::string replace_control_characters(std::string text) {
  std::replace_if(text.begin(), text.end(), is_control_character, ' ');
  return text;
}

// Returns `text` as a gnuplot single-quoted string literal. Inside single quotes gnuplot
// expands no backslash escapes and no `@` macros, and a quote is written twice.
std::string quote_script_string(const std::string& text) {
  std::string literal = "'";
  for (const char character : replace_control_characters(text)) {
    literal += character == '\'' ? std::string("''") : std::string(1, character);
  }
  return literal + "'";
}

// Returns `text` as a double-quoted field of a gnuplot data file. Data files have no escape for
// a double quote, so each becomes a single quote.
std::string quote_data_field(const std::string& text) {
  std::string field = replace_control_characters(text);
  std::replace(field.begin(), field.end(), '"', '\'');
  return "\"" + field + "\"";
}

// Formats a finite number with the fewest digits that read back as the same double.
std::string format_number(double value) {
  return fmt::format("{}", value);
}

std::string format_colour(std::size_t index) {
  const auto rgb = chart_series_colour(index);
  return fmt::format("lc rgb '#{:02x}{:02x}{:02x}'", rgb[0], rgb[1], rgb[2]);
}

std::string format_title(const std::string& name) {
  return name.empty() ? "notitle" : "title " + quote_script_string(name);
}

// ---- Axis ranges ----

struct Range {
  double low = std::numeric_limits<double>::infinity();
  double high = -std::numeric_limits<double>::infinity();

  void include(double value) {
    low = std::min(low, value);
    high = std::max(high, value);
  }
};

// Widens a span that is zero up to rounding, so a constant series still gets an axis.
Range widen_if_flat(Range range) {
  const double scale = std::max(std::abs(range.low), std::abs(range.high));
  if (range.high - range.low > scale * 1e-9) {
    return range;
  }
  const double pad = scale > 0 ? 0.1 * scale : 1.0;
  return {range.low - pad, range.high + pad};
}

Range pad_range(Range range) {
  range = widen_if_flat(range);
  const double pad = kPadding * (range.high - range.low);
  return {range.low - pad, range.high + pad};
}

// Pads a positive range as `pad_range` does, but in decades, for a logarithmic axis.
Range pad_log_range(Range range) {
  const Range exponents = pad_range({std::log10(range.low), std::log10(range.high)});
  return {std::pow(10.0, exponents.low), std::pow(10.0, exponents.high)};
}

std::string format_range(const Range& range) {
  return fmt::format("[{}:{}]", format_number(range.low), format_number(range.high));
}

// x and y ranges of line series, y including the error bars.
struct LineRanges {
  Range x;
  Range y;
};

LineRanges measure_line_ranges(const std::vector<LineSeries>& series) {
  LineRanges ranges;
  for (const LineSeries& one : series) {
    for (std::size_t i = 0; i < one.x.size(); ++i) {
      const double error = one.errors.empty() ? 0.0 : one.errors[i];
      ranges.x.include(one.x[i]);
      ranges.y.include(one.y[i] - error);
      ranges.y.include(one.y[i] + error);
    }
  }
  return ranges;
}

// The y range of a bar chart. Bars start at 0, so the range always contains 0, and it starts at
// 0 when every value is >= 0, which cuts off error bars that reach below 0. gnuplot chooses the
// other end (`*`) at the tick past the data.
std::string format_bar_y_range(const std::vector<BarSeries>& series) {
  bool all_non_negative = true;
  double high = 0;
  for (const BarSeries& one : series) {
    for (std::size_t i = 0; i < one.values.size(); ++i) {
      const double error = one.errors.empty() ? 0.0 : one.errors[i];
      all_non_negative = all_non_negative && one.values[i] >= 0;
      high = std::max(high, one.values[i] + error);
    }
  }
  if (all_non_negative && high == 0) {
    // Every bar has height 0, and gnuplot rejects an empty range.
    return "[0:1]";
  }
  if (all_non_negative) {
    return "[0:*]";
  }
  // Bars that all hang below 0 need the range to reach up to 0.
  return high == 0 ? "[*:0]" : "[*:*]";
}

bool has_negative_bar(const std::vector<BarSeries>& series) {
  return std::any_of(series.begin(), series.end(), [](const BarSeries& one) {
    return std::any_of(one.values.begin(), one.values.end(), [](double v) { return v < 0; });
  });
}

// ---- Plot files and scripts ----

// The files of one plot: `<folder>/<stem>.dat`, `.gp`, `.svg` and `.png`.
struct PlotFiles {
  fs::path folder;
  std::string stem;

  fs::path file(const char* extension) const { return folder / (stem + extension); }
};

PlotFiles make_plot_files(const fs::path& path) {
  return {path.parent_path(), path.stem().string()};
}

// Horizontal offset from the category's centre of series `index` of `count`, which share the
// category group side by side.
double series_offset(std::size_t index, std::size_t count) {
  const double width = kGroupWidth / static_cast<double>(count);
  return -kGroupWidth / 2 + width * (static_cast<double>(index) + 0.5);
}

// `$0` is the row number within the data block, which is the category's index.
std::string format_category_x(std::size_t index, std::size_t count) {
  return fmt::format("($0{:+.6g})", series_offset(index, count));
}

// Builds a gnuplot script that sets up the chart and then draws it as SVG and as PNG.
class Script {
 public:
  Script(const PlotFiles& files, const char* kind, const std::string& title, Canvas canvas)
      : files_(files), canvas_(canvas) {
    const std::string stem = replace_control_characters(files.stem);
    text_ = fmt::format(
        "# {} drawn by genmem. Run `gnuplot {}.gp` in this folder to draw it again:\n"
        "# it reads {}.dat and writes {}.svg and {}.png.\n"
        "set encoding utf8\n"
        "data = {}\n"
        "set title {}\n"
        "set border 3 lc rgb '#282828'\n"
        "set tics nomirror out\n"
        "set grid ytics lt 1 lc rgb '#e4e4e4'\n"
        "set key outside right top vertical Left reverse\n",
        kind,
        stem,
        stem,
        stem,
        stem,
        quote_script_string(stem + ".dat"),
        quote_script_string(title));
  }

  // Adds one command before the drawing loop.
  void set(const std::string& command) { text_ += command + "\n"; }

  // Adds `set <axis>label` unless `label` is empty.
  void set_label(const char* axis, const std::string& label) {
    if (!label.empty()) {
      set(fmt::format("set {}label {}", axis, quote_script_string(label)));
    }
  }

  // Sets the x axis to the categories, with a labelled tick at 0, 1, 2 and so on.
  void set_categories(const std::vector<std::string>& categories) {
    std::string ticks;
    for (std::size_t i = 0; i < categories.size(); ++i) {
      ticks += fmt::format("{}{} {}", i == 0 ? "" : ", ", quote_script_string(categories[i]), i);
    }
    set("# The category names of column 1 in the data file, at x = 0, 1, 2, ...");
    set(fmt::format("set xtics ({}) scale 0", ticks));
    set(fmt::format("set xrange [-0.5:{}]", static_cast<double>(categories.size()) - 0.5));
  }

  // Adds one plot element, such as "data using 1:2 with lines".
  void plot(const std::string& element) { elements_.push_back(element); }

  // Returns the whole script, ending with the loop that draws the plot in both formats.
  std::string finish() const {
    std::string plot_command = "  plot ";
    for (std::size_t i = 0; i < elements_.size(); ++i) {
      plot_command += (i == 0 ? "" : ", \\\n    ") + elements_[i];
    }
    return text_
        + fmt::format(
               "do for [format in \"svg png\"] {{\n"
               "  if (format eq \"svg\") {{\n"
               "    set terminal svg size {0},{1} dynamic background \"white\" noenhanced "
               "font \"Sans,12\"\n"
               "  }} else {{\n"
               "    set terminal pngcairo size {0},{1} background \"white\" noenhanced "
               "font \"Sans,10\"\n"
               "  }}\n"
               "  set output {2} . format\n"
               "{3}\n"
               "  unset output\n"
               "}}\n",
               canvas_.width,
               canvas_.height,
               quote_script_string(files_.stem + "."),
               plot_command);
  }

 private:
  PlotFiles files_;
  Canvas canvas_;
  std::string text_;
  std::vector<std::string> elements_;
};

// Writes the data file and the script, then draws the plot.
bool write_and_render(const PlotFiles& files, const std::string& data, const Script& script) {
  // Images from an earlier call would not match the new data if gnuplot is missing now.
  std::error_code ignored;
  fs::remove(files.file(".svg"), ignored);
  fs::remove(files.file(".png"), ignored);

  write_file_atomically(files.file(".dat"), data);
  const fs::path script_path = files.file(".gp");
  write_file_atomically(script_path, script.finish());
  try {
    return render_plot(script_path);
  } catch (const IoError& error) {
    // The data and the script are kept, so the run goes on, and `genmem report` runs the kept
    // script again.
    spdlog::warn("{}; the plot is not drawn, and genmem report tries again", error.what());
    return false;
  }
}

// ---- Line plot data and elements, shared by line plots and twin-axis plots ----

// Appends `series` as one data block, a gnuplot `index`. Blocks are separated by two blank lines.
void append_line_block(
    std::string& data, std::size_t index, const LineSeries& series, const char* axis) {
  if (index > 0) {
    data += "\n\n";
  }
  data += fmt::format("# index {}: {}{}\n", index, quote_data_field(series.name), axis);
  data += series.errors.empty() ? "# \"x\" \"y\"\n" : "# \"x\" \"y\" \"error\"\n";
  for (std::size_t i = 0; i < series.x.size(); ++i) {
    data += fmt::format("{} {}", format_number(series.x[i]), format_number(series.y[i]));
    if (!series.errors.empty()) {
      data += fmt::format(" {}", format_number(series.errors[i]));
    }
    data += "\n";
  }
}

std::string format_line_element(std::size_t index, const LineSeries& series, const char* axes) {
  const std::string style =
      series.errors.empty() ? "using 1:2 with linespoints" : "using 1:2:3 with yerrorlines";
  return fmt::format(
      "data index {} {}{} lw 2 pt 7 ps 0.6 {} {}",
      index,
      style,
      axes,
      format_colour(index),
      format_title(series.name));
}

// ---- Running gnuplot ----

// The program to run: `$GENMEM_GNUPLOT` when set and not empty, else `gnuplot`.
std::string gnuplot_program_name() {
  const char* configured = std::getenv("GENMEM_GNUPLOT");
  return configured != nullptr && *configured != '\0' ? configured : "gnuplot";
}

bool is_executable_file(const fs::path& path) {
  std::error_code error;
  return fs::is_regular_file(path, error) && ::access(path.c_str(), X_OK) == 0;
}

// Returns the absolute path of the gnuplot program, searching `$PATH` for a name without `/`
// as a shell does, or nothing when it is not found.
std::optional<fs::path> find_gnuplot() {
  const std::string name = gnuplot_program_name();
  if (name.find('/') != std::string::npos) {
    const fs::path path = fs::absolute(name);
    return is_executable_file(path) ? std::optional(path) : std::nullopt;
  }
  const char* search_path = std::getenv("PATH");
  std::string_view folders = search_path != nullptr ? search_path : "";
  while (true) {
    const std::size_t colon = folders.find(':');
    // An empty entry in PATH means the working directory.
    const std::string_view folder = folders.substr(0, colon);
    const fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
    if (is_executable_file(candidate)) {
      return fs::absolute(candidate);
    }
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    folders.remove_prefix(colon + 1);
  }
}

void warn_gnuplot_missing_once() {
  static std::atomic<bool> warned{false};
  if (warned.exchange(true)) {
    return;
  }
  spdlog::warn(
      "gnuplot not found (looked for '{}', which $GENMEM_GNUPLOT can change), so plots are not "
      "drawn and only their .dat and .gp files are written; install gnuplot-nox (scripts/setup "
      "does) and run `genmem report RUN_DIR` to draw them",
      gnuplot_program_name());
}

// Returns the line of gnuplot's error output that states the error, such as
// `"plot.gp" line 3: undefined variable: foo`. gnuplot first echoes the failing command with
// a caret under the error, and it may print warnings in the same format before the error.
std::string find_error_line(const std::string& output) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = std::min(output.find('\n', start), output.size());
    const std::string line = output.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      lines.push_back(line);
    }
    start = end + 1;
  }
  for (const std::string& line : lines) {
    if (line.find("\" line ") != std::string::npos
        && line.find(": warning:") == std::string::npos) {
      return line;
    }
  }
  return lines.empty() ? "no error message" : lines.front();
}

struct ProcessResult {
  int status = 0;
  std::string error_output;
  /// True when the program did not finish within its time limit and was killed.
  bool timed_out = false;
};

// How long one gnuplot script may take: `$GENMEM_GNUPLOT_TIMEOUT` seconds when that is a
// positive number, else 120 s. A box plot of 500 values takes about 0.05 s on a 2-core machine.
std::chrono::milliseconds gnuplot_time_limit() {
  constexpr double kDefaultSeconds = 120.0;
  double seconds = kDefaultSeconds;
  if (const char* configured = std::getenv("GENMEM_GNUPLOT_TIMEOUT")) {
    char* end = nullptr;
    const double value = std::strtod(configured, &end);
    if (end != configured && *end == '\0' && std::isfinite(value) && value > 0.0) {
      seconds = value;
    } else {
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true)) {
        spdlog::warn(
            "GENMEM_GNUPLOT_TIMEOUT is '{}', not a positive number of seconds; using {} s",
            configured,
            kDefaultSeconds);
      }
    }
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(seconds * 1000.0)));
}

// Closes both ends of a pipe and destroys the spawn attributes when it goes out of scope.
class SpawnResources {
 public:
  SpawnResources() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }

  ~SpawnResources() {
    close_read_end();
    close_write_end();
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }

  SpawnResources(const SpawnResources&) = delete;
  SpawnResources& operator=(const SpawnResources&) = delete;

  void close_read_end() {
    if (pipe[0] >= 0) {
      ::close(pipe[0]);
      pipe[0] = -1;
    }
  }

  void close_write_end() {
    if (pipe[1] >= 0) {
      ::close(pipe[1]);
      pipe[1] = -1;
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  int pipe[2] = {-1, -1};
};

// Runs `program script_name` in `folder` with standard input and output on /dev/null and
// returns its wait status and standard error. Returns nothing when the program cannot be
// executed (missing, not executable or not a program).
std::optional<ProcessResult> run_gnuplot(
    const fs::path& program, const fs::path& folder, const fs::path& script_name) {
  SpawnResources resources;
  if (::pipe2(resources.pipe, O_CLOEXEC) != 0) {
    throw IoError(fmt::format("failed to create a pipe for gnuplot: {}", std::strerror(errno)));
  }
  posix_spawn_file_actions_t* actions = &resources.actions;
  posix_spawn_file_actions_addopen(actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(actions, resources.pipe[1], STDERR_FILENO);
  // A glibc extension since 2.29, which changes directory in the child before exec.
  posix_spawn_file_actions_addchdir_np(actions, folder.c_str());

  // A process group of its own keeps the terminal's SIGINT (Ctrl-C) from killing gnuplot half-way
  // through a plot. genmem handles that signal itself and stops at the next safe point.
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setflags(
      &resources.attributes,
      POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&resources.attributes, 0);
  posix_spawnattr_setsigmask(&resources.attributes, &no_signals);
  posix_spawnattr_setsigdefault(&resources.attributes, &all_signals);

  const std::string program_text = program.string();
  // "./" keeps a script named like an option, such as "-h.gp", from being read as one.
  const std::string script_text = (fs::path(".") / script_name).string();
  std::vector<char*> arguments = {
      const_cast<char*>(program_text.c_str()), const_cast<char*>(script_text.c_str()), nullptr};
  pid_t child = 0;
  const int spawn_error = posix_spawn(
      &child, program_text.c_str(), actions, &resources.attributes, arguments.data(), environ);
  if (spawn_error == ENOENT || spawn_error == EACCES || spawn_error == ENOEXEC) {
    return std::nullopt;
  }
  if (spawn_error != 0) {
    throw IoError(fmt::format(
        "failed to start gnuplot '{}' in '{}': {}",
        program_text,
        folder.string(),
        std::strerror(spawn_error)));
  }
  resources.close_write_end();

  // All output is read so that gnuplot cannot block on a full pipe, but only the first 64 KiB
  // are kept. The pipe closes when gnuplot and every process it started have exited. When that
  // takes longer than the time limit, the whole process group is killed.
  constexpr std::size_t kMaxKeptOutput = 64 * 1024;
  const auto deadline = std::chrono::steady_clock::now() + gnuplot_time_limit();
  ProcessResult result;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{resources.pipe[0], POLLIN, 0};
    const int ready = left.count() > 0
        ? ::poll(&readable, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000)))
        : 0;
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready == 0) {
      if (std::chrono::steady_clock::now() < deadline) {
        continue;
      }
      ::kill(-child, SIGKILL);
      result.timed_out = true;
      break;
    }
    const ssize_t count = ::read(resources.pipe[0], buffer, sizeof(buffer));
    if (count > 0) {
      const std::size_t room = kMaxKeptOutput - result.error_output.size();
      result.error_output.append(buffer, std::min(static_cast<std::size_t>(count), room));
    } else if (count == 0 || errno != EINTR) {
      break;
    }
  }
  while (::waitpid(child, &result.status, 0) < 0) {
    if (errno != EINTR) {
      throw IoError(fmt::format("failed to wait for gnuplot: {}", std::strerror(errno)));
    }
  }
  return result;
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

bool gnuplot_available() {
  return find_gnuplot().has_value();
}

bool render_plot(const fs::path& script) {
  std::error_code error;
  if (!fs::is_regular_file(script, error)) {
    throw IoError(fmt::format("plot script '{}' not found", script.string()));
  }
  const std::optional<fs::path> program = find_gnuplot();
  const fs::path folder = script.has_parent_path() ? script.parent_path() : fs::path(".");
  const std::optional<ProcessResult> result =
      program ? run_gnuplot(*program, folder, script.filename()) : std::nullopt;
  if (!result) {
    warn_gnuplot_missing_once();
    return false;
  }

  const int status = result->status;
  if (result->timed_out) {
    throw IoError(fmt::format(
        "gnuplot did not finish drawing '{}' within {} s and was stopped; run `gnuplot {}` in "
        "'{}' to see what it waits for, or raise $GENMEM_GNUPLOT_TIMEOUT",
        script.string(),
        static_cast<double>(gnuplot_time_limit().count()) / 1000.0,
        script.filename().string(),
        folder.string()));
  }
  if (WIFSIGNALED(status)) {
    throw IoError(fmt::format(
        "gnuplot was killed by signal {} while drawing '{}'", WTERMSIG(status), script.string()));
  }
  if (WEXITSTATUS(status) != 0) {
    throw IoError(fmt::format(
        "gnuplot failed on '{}' (exit status {}): {}; run `gnuplot {}` in '{}' to see its whole "
        "output",
        script.string(),
        WEXITSTATUS(status),
        find_error_line(result->error_output),
        script.filename().string(),
        folder.string()));
  }
  if (result->error_output.find_first_not_of(" \t\r\n") != std::string::npos) {
    spdlog::warn(
        "gnuplot drew '{}' but reported: {}",
        script.string(),
        find_error_line(result->error_output));
  }
  spdlog::debug("drew '{}'", script.string());
  return true;
}

bool write_bar_chart(
    const fs::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BarSeries>& series) {
  check_categories("write_bar_chart", categories);
  check_bar_series(series, categories.size());

  // One row per category: its name, then each series' value and, if it has them, its error.
  std::string data = "# \"category\"";
  for (const BarSeries& one : series) {
    data += fmt::format(" {}", quote_data_field(one.name + " value"));
    if (!one.errors.empty()) {
      data += fmt::format(" {}", quote_data_field(one.name + " error"));
    }
  }
  data += "\n";
  for (std::size_t c = 0; c < categories.size(); ++c) {
    data += quote_data_field(categories[c]);
    for (const BarSeries& one : series) {
      data += fmt::format(" {}", format_number(one.values[c]));
      if (!one.errors.empty()) {
        data += fmt::format(" {}", format_number(one.errors[c]));
      }
    }
    data += "\n";
  }

  const PlotFiles files = make_plot_files(path);
  Script script(files, "Bar chart", title, kChartCanvas);
  script.set_label("y", y_label);
  script.set_categories(categories);
  script.set(fmt::format("set yrange {}", format_bar_y_range(series)));
  if (has_negative_bar(series)) {
    script.set("set xzeroaxis lt 1 lc rgb '#282828'");
  }
  // Bars fill 90% of their slot, so neighbouring bars stay apart.
  const double bar_width = 0.9 * kGroupWidth / static_cast<double>(series.size());
  script.set(fmt::format("set boxwidth {:.6g} absolute", bar_width));
  script.set("set style fill solid 1.0 noborder");
  // gnuplot blanks a circle of this many point sizes around each error bar's centre point,
  // which would leave a white dot on top of every bar.
  script.set("set pointintervalbox 0.01");

  // Error bars come after every bar, so a neighbouring bar never hides one.
  std::vector<std::string> error_bars;
  int column = 2;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const std::string x = format_category_x(s, series.size());
    script.plot(fmt::format(
        "data using {}:{} with boxes {} {}",
        x,
        column,
        format_colour(s),
        format_title(series[s].name)));
    if (!series[s].errors.empty()) {
      error_bars.push_back(fmt::format(
          "data using {}:{}:{} with yerrorbars lc rgb 'black' pt 1 ps 0 notitle",
          x,
          column,
          column + 1));
      ++column;
    }
    ++column;
  }
  for (const std::string& element : error_bars) {
    script.plot(element);
  }
  return write_and_render(files, data, script);
}

bool write_box_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& y_label,
    const std::vector<std::string>& categories,
    const std::vector<BoxSeries>& series) {
  check_categories("write_box_plot", categories);
  check_box_series(series, categories.size());

  // One row per category: its name, then five statistics per series.
  std::string data = "# \"category\"";
  for (const BoxSeries& one : series) {
    for (const char* statistic : {"whisker_low", "q1", "median", "q3", "whisker_high"}) {
      data += fmt::format(" {}", quote_data_field(fmt::format("{} {}", one.name, statistic)));
    }
  }
  data += "\n";
  Range y_range;
  for (std::size_t c = 0; c < categories.size(); ++c) {
    data += quote_data_field(categories[c]);
    for (const BoxSeries& one : series) {
      const BoxStats& box = one.boxes[c];
      for (const double value : {box.whisker_low, box.q1, box.median, box.q3, box.whisker_high}) {
        data += fmt::format(" {}", format_number(value));
      }
      y_range.include(box.whisker_low);
      y_range.include(box.whisker_high);
    }
    data += "\n";
  }

  const PlotFiles files = make_plot_files(path);
  Script script(files, "Box plot", title, kChartCanvas);
  script.set_label("y", y_label);
  script.set_categories(categories);
  script.set(fmt::format("set yrange {}", format_range(pad_range(y_range))));
  // A solid fill of density 0.4 mixes the series colour with the white background.
  script.set("set style fill solid 0.4 border");

  const double box_width = 0.7 * kGroupWidth / static_cast<double>(series.size());
  std::vector<std::string> medians;
  for (std::size_t s = 0; s < series.size(); ++s) {
    const std::string x = format_category_x(s, series.size());
    const int first = 2 + 5 * static_cast<int>(s);
    // candlesticks take x:box_min:whisker_min:whisker_max:box_max:width.
    script.plot(fmt::format(
        "data using {}:{}:{}:{}:{}:({:.6g}) with candlesticks whiskerbars 0.5 {} {}",
        x,
        first + 1,
        first,
        first + 4,
        first + 3,
        box_width,
        format_colour(s),
        format_title(series[s].name)));
    medians.push_back(fmt::format(
        "data using {0}:{1}:{1}:{1}:{1}:({2:.6g}) with candlesticks fillstyle empty lc rgb 'black' "
        "lw 2 notitle",
        x,
        first + 2,
        box_width));
  }
  for (const std::string& element : medians) {
    script.plot(element);
  }
  return write_and_render(files, data, script);
}

bool write_line_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<LineSeries>& series,
    bool log_x) {
  constexpr const char* kFunction = "write_line_plot";
  check_series_count(kFunction, "series", series.size());
  for (const LineSeries& one : series) {
    check_line_series(kFunction, one, log_x);
  }

  std::string data =
      "# One block per series, separated by two blank lines; gnuplot selects one with `index`.\n";
  for (std::size_t s = 0; s < series.size(); ++s) {
    append_line_block(data, s, series[s], "");
  }

  const LineRanges ranges = measure_line_ranges(series);
  const PlotFiles files = make_plot_files(path);
  Script script(files, "Line plot", title, kChartCanvas);
  script.set_label("x", x_label);
  script.set_label("y", y_label);
  if (log_x) {
    script.set("set logscale x 10");
  }
  script.set("set grid xtics ytics lt 1 lc rgb '#e4e4e4'");
  script.set(fmt::format(
      "set xrange {}", format_range(log_x ? pad_log_range(ranges.x) : pad_range(ranges.x))));
  script.set(fmt::format("set yrange {}", format_range(pad_range(ranges.y))));
  for (std::size_t s = 0; s < series.size(); ++s) {
    script.plot(format_line_element(s, series[s], ""));
  }
  return write_and_render(files, data, script);
}

bool write_twin_axis_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::vector<LineSeries>& left,
    const std::string& left_label,
    const std::vector<LineSeries>& right,
    const std::string& right_label,
    bool log_left) {
  constexpr const char* kFunction = "write_twin_axis_plot";
  check_series_count(kFunction, "left", left.size());
  check_series_count(kFunction, "right", right.size());
  for (const LineSeries& one : left) {
    check_line_series(kFunction, one, false);
    for (std::size_t i = 0; log_left && i < one.y.size(); ++i) {
      if (one.y[i] <= 0.0) {
        throw std::invalid_argument(fmt::format(
            "{}: left series '{}' has y = {} at point {}, but a logarithmic axis needs y > 0",
            kFunction,
            one.name,
            one.y[i],
            i));
      }
    }
  }
  for (const LineSeries& one : right) {
    check_line_series(kFunction, one, false);
  }

  std::string data =
      "# One block per series, separated by two blank lines; gnuplot selects one with `index`.\n";
  for (std::size_t s = 0; s < left.size(); ++s) {
    append_line_block(data, s, left[s], " (left axis)");
  }
  for (std::size_t s = 0; s < right.size(); ++s) {
    append_line_block(data, left.size() + s, right[s], " (right axis)");
  }

  const LineRanges left_ranges = measure_line_ranges(left);
  const LineRanges right_ranges = measure_line_ranges(right);
  Range x_range = left_ranges.x;
  x_range.include(right_ranges.x.low);
  x_range.include(right_ranges.x.high);

  const PlotFiles files = make_plot_files(path);
  Script script(files, "Twin-axis line plot", title, kChartCanvas);
  script.set_label("x", x_label);
  script.set_label("y", left_label);
  script.set_label("y2", right_label);
  // Border 11 = 1 + 2 + 8 draws the left, bottom and right sides. The right side carries the
  // second axis.
  script.set("set border 11 lc rgb '#282828'");
  script.set("set ytics nomirror");
  script.set("set y2tics nomirror out");
  script.set("set grid xtics ytics lt 1 lc rgb '#e4e4e4'");
  script.set(fmt::format("set xrange {}", format_range(pad_range(x_range))));
  if (log_left) {
    script.set("set logscale y 10");
  }
  script.set(fmt::format(
      "set yrange {}",
      format_range(log_left ? pad_log_range(left_ranges.y) : pad_range(left_ranges.y))));
  script.set(fmt::format("set y2range {}", format_range(pad_range(right_ranges.y))));
  for (std::size_t s = 0; s < left.size(); ++s) {
    script.plot(format_line_element(s, left[s], " axes x1y1"));
  }
  for (std::size_t s = 0; s < right.size(); ++s) {
    script.plot(format_line_element(left.size() + s, right[s], " axes x1y2"));
  }
  return write_and_render(files, data, script);
}

bool write_scatter_plot(
    const fs::path& path,
    const std::string& title,
    const std::string& x_label,
    const std::string& y_label,
    const std::vector<double>& x,
    const std::vector<double>& y,
    const std::vector<std::int64_t>& labels,
    const std::string& label_name) {
  check_scatter_points(x, y, labels);

  std::string data = "# \"x\" \"y\" \"label\"\n";
  LineRanges ranges;
  for (std::size_t i = 0; i < x.size(); ++i) {
    data += fmt::format("{} {} {}\n", format_number(x[i]), format_number(y[i]), labels[i]);
    ranges.x.include(x[i]);
    ranges.y.include(y[i]);
  }

  const PlotFiles files = make_plot_files(path);
  Script script(files, "Scatter plot", title, kScatterCanvas);
  script.set_label("x", x_label);
  script.set_label("y", y_label);
  script.set("set grid xtics ytics lt 1 lc rgb '#e4e4e4'");
  script.set(fmt::format("set xrange {}", format_range(pad_range(ranges.x))));
  script.set(fmt::format("set yrange {}", format_range(pad_range(ranges.y))));

  // One element per label: points of other labels get y = NaN, which gnuplot skips.
  const std::set<std::int64_t> distinct(labels.begin(), labels.end());
  std::size_t rank = 0;
  for (const std::int64_t label : distinct) {
    const std::string name =
        label_name.empty() ? std::to_string(label) : fmt::format("{} {}", label_name, label);
    script.plot(fmt::format(
        "data using 1:($3 == {} ? $2 : NaN) with points pt 7 ps 0.5 {} {}",
        label,
        format_colour(rank),
        format_title(name)));
    ++rank;
  }
  return write_and_render(files, data, script);
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
