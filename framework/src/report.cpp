#include "report.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fnmatch.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <genmem/error.hpp>

#include "analysis/statistics.hpp"
#include "outputs/charts.hpp"
#include "outputs/run_folder.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// Reading the folder's files

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw IoError(fmt::format("cannot read '{}'", path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Reads a JSON object or array, and returns an empty object for a missing file. `fix` is the
// advice the error gives when the file is not valid JSON.
nlohmann::json read_json(const fs::path& path, const std::string& fix) {
  if (!fs::exists(path)) {
    return nlohmann::json::object();
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(read_text(path));
  } catch (const nlohmann::json::exception& error) {
    throw IoError(fmt::format("'{}' is not valid JSON ({}); {}", path.string(), error.what(), fix));
  }
  if (!value.is_object() && !value.is_array()) {
    throw IoError(fmt::format("'{}' contains no JSON object or array; {}", path.string(), fix));
  }
  return value;
}

// Returns the entry `key` of a JSON object as text, or `fallback` when it is absent.
std::string text_of(const nlohmann::json& object, const char* key, const std::string& fallback) {
  if (!object.is_object() || !object.contains(key) || object[key].is_null()) {
    return fallback;
  }
  const nlohmann::json& value = object[key];
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump();
}

// A CSV file as rows of fields. Fields may be quoted with ", with "" for a quote inside.
using CsvRows = std::vector<std::vector<std::string>>;

CsvRows parse_csv(const std::string& text) {
  CsvRows rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      any = false;
    } else if (c != '\r') {
      field += c;
      any = true;
    }
  }
  if (any) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<double> to_number(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    const double value = std::stod(text, &used);
    if (used != text.size() || !std::isfinite(value)) {
      return std::nullopt;
    }
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// HTML

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A relative path as a URL: each segment percent-encoded except unreserved characters.
std::string url_of(const fs::path& relative) {
  std::string out;
  bool first = true;
  for (const auto& part : relative) {
    if (!first) {
      out += '/';
    }
    first = false;
    for (const unsigned char c : part.string()) {
      if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
  }
  return out;
}

std::string link(const fs::path& relative, const std::string& text) {
  return fmt::format("<a href=\"{}\">{}</a>", escape(url_of(relative)), escape(text));
}

std::string format_value(const nlohmann::json& value) {
  if (value.is_boolean()) {
    return value.get<bool>() ? "yes" : "no";
  }
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return value.dump();
  }
  if (value.is_number_float()) {
    return format_display_number(value.get<double>());
  }
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump();
}

void flatten_headline(
    const nlohmann::json& value,
    const std::string& prefix,
    std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      flatten_headline(child, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  if (value.is_array()) {
    const bool short_numbers = !value.empty() && value.size() <= 10
        && std::all_of(value.begin(), value.end(), [](const nlohmann::json& item) {
             return item.is_number();
           });
    if (short_numbers) {
      std::string joined;
      for (const auto& item : value) {
        joined += (joined.empty() ? "" : ", ") + format_value(item);
      }
      out.emplace_back(prefix, joined);
    }
    return;
  }
  if (!value.is_null()) {
    out.emplace_back(prefix, format_value(value));
  }
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1em 2em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
nav a { margin-right: 1em; }
.meta { color: #555; }
.notice { background: #fff4d6; border: 1px solid #e0c060; padding: 0.5em 1em; }
.failed { background: #fde2e2; border: 1px solid #d08080; padding: 0.5em 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 28em; overflow: auto; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; border: 1px solid #eee; image-rendering: pixelated; }
figure img.plot { image-rendering: auto; }
figcaption { color: #333; max-width: 900px; }
figcaption .files { color: #666; font-size: 0.9em; }
img.missing { display: none; }
pre { background: #f6f6f6; padding: 0.8em; overflow: auto; font-size: 0.85em; }
)";

// Marks images that failed to load and records the counts on <body> for automated checks.
constexpr const char* kImageCheck = R"(
window.addEventListener('load', function () {
  var images = document.images, broken = 0;
  for (var i = 0; i < images.length; ++i) {
    if (!images[i].complete || images[i].naturalWidth === 0) {
      broken += 1;
      images[i].className += ' missing';
      var note = document.createElement('p');
      note.className = 'failed';
      note.textContent = 'This image did not load: ' + images[i].getAttribute('src');
      images[i].parentNode.insertBefore(note, images[i]);
    }
  }
  document.body.setAttribute('data-images', String(images.length));
  document.body.setAttribute('data-images-broken', String(broken));
});
)";

std::string page_start(const std::string& title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n"
      "<style>{}</style>\n</head>\n<body>\n",
      escape(title),
      kStyle);
}

std::string page_end() {
  return fmt::format(
      "<p class=\"meta\">Written by genmem {} on {}.</p>\n<script>{}</script>\n</body>\n</html>\n",
      GENMEM_VERSION,
      format_utc_now("%Y-%m-%d %H:%M UTC"),
      kImageCheck);
}

std::string table_of_pairs(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string html = "<table>\n";
  for (const auto& [key, value] : rows) {
    const bool number = to_number(value).has_value();
    html += fmt::format(
        "<tr><th>{}</th><td{}>{}</td></tr>\n",
        escape(key),
        number ? " class=\"number\"" : "",
        escape(value));
  }
  return html + "</table>\n";
}

std::string table_of_csv(const CsvRows& rows) {
  std::string html = "<div class=\"scroll\"><table>\n<tr>";
  for (const auto& name : rows.front()) {
    html += "<th>" + escape(name) + "</th>";
  }
  html += "</tr>\n";
  for (std::size_t r = 1; r < rows.size(); ++r) {
    html += "<tr>";
    for (const auto& field : rows[r]) {
      const auto number = to_number(field);
      html += number ? fmt::format("<td class=\"number\">{:.6g}</td>", *number)
                     : "<td>" + escape(field) + "</td>";
    }
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

// ---------------------------------------------------------------------------------------------
// Figures

// One figure: an image grid (PNG) or a plot (SVG and PNG drawn by a kept gnuplot script).
struct Figure {
  std::string stem;
  std::vector<fs::path> files;  // relative to the report's folder
  std::string caption;
};

bool has_extension(const std::vector<fs::path>& files, const std::string& extension) {
  return std::any_of(files.begin(), files.end(), [&](const fs::path& file) {
    return file.extension() == extension;
  });
}

// Groups the files of `folder` (relative `under`) into figures by stem, sorted by stem. Empty
// files, such as the image a failed gnuplot script leaves, are left out.
std::vector<Figure> find_figures(const fs::path& root, const fs::path& under) {
  std::map<std::string, std::vector<fs::path>> by_stem;
  std::error_code error;
  for (fs::directory_iterator it(root / under, error), end; !error && it != end;
       it.increment(error)) {
    if (!it->is_regular_file() || it->file_size() == 0) {
      continue;
    }
    const fs::path name = it->path().filename();
    const std::string extension = name.extension().string();
    if (extension == ".png" || extension == ".svg" || extension == ".gp" || extension == ".dat") {
      by_stem[name.stem().string()].push_back(under / name);
    }
  }
  std::vector<Figure> figures;
  for (auto& [stem, files] : by_stem) {
    std::sort(files.begin(), files.end());
    if (has_extension(files, ".png") || has_extension(files, ".svg")) {
      figures.push_back({stem, files, ""});
    }
  }
  return figures;
}

std::string figure_html(const Figure& figure) {
  const auto file_with = [&](const std::string& extension) -> std::optional<fs::path> {
    for (const auto& file : figure.files) {
      if (file.extension() == extension) {
        return file;
      }
    }
    return std::nullopt;
  };
  const auto svg = file_with(".svg");
  const auto png = file_with(".png");
  const bool plot = file_with(".gp").has_value();
  const fs::path shown = svg ? *svg : *png;
  std::string files;
  for (const auto& [extension, label] : std::vector<std::pair<std::string, std::string>>{
           {".png", "PNG"}, {".svg", "SVG"}, {".dat", "data"}, {".gp", "gnuplot script"}}) {
    if (const auto file = file_with(extension)) {
      files += (files.empty() ? "" : " · ") + link(*file, label);
    }
  }
  return fmt::format(
      "<figure id=\"fig-{0}\">\n<a href=\"{1}\"><img src=\"{1}\" alt=\"{2}\"{3}></a>\n"
      "<figcaption>{4} <span class=\"files\">{5}: {6}</span></figcaption>\n</figure>\n",
      escape(figure.stem),
      escape(url_of(shown)),
      escape(figure.caption),
      plot ? " class=\"plot\"" : "",
      escape(figure.caption),
      escape(figure.stem),
      files);
}

// Step kinds named in a resolved scenario, in order, and the scenario's own table.
struct ScenarioInfo {
  std::string name;
  std::string description;
  std::vector<std::string> steps;
};

ScenarioInfo read_scenario_info(const fs::path& file) {
  ScenarioInfo info;
  if (!fs::exists(file)) {
    return info;
  }
  try {
    const toml::table table = toml::parse_file(file.string());
    info.name = table["scenario"]["name"].value_or(std::string());
    info.description = table["scenario"]["description"].value_or(std::string());
    if (const toml::array* steps = table["steps"].as_array()) {
      for (const auto& step : *steps) {
        if (const auto* entry = step.as_table()) {
          info.steps.push_back((*entry)["run"].value_or(std::string()));
        }
      }
    }
  } catch (const toml::parse_error& error) {
    spdlog::warn(
        "'{}' is not valid TOML ({}), so the report leaves out its settings' captions",
        file.string(),
        error.description());
  }
  return info;
}

// Orders `figures` by the steps that declare them and gives each its caption. Figures no step
// declares come last, captioned with their file name.
std::vector<Figure> caption_figures(
    std::vector<Figure> figures, const std::vector<std::string>& steps) {
  std::vector<Figure> ordered;
  std::set<std::string> seen_kinds;
  for (const auto& step : steps) {
    const StepKind* kind = find_step_kind(step);
    if (kind == nullptr || !seen_kinds.insert(step).second) {
      continue;
    }
    for (const auto& declared : kind->figures) {
      for (auto& figure : figures) {
        if (figure.caption.empty() && fnmatch(declared.stem.c_str(), figure.stem.c_str(), 0) == 0) {
          figure.caption = declared.caption;
          ordered.push_back(figure);
        }
      }
    }
  }
  for (auto& figure : figures) {
    if (figure.caption.empty()) {
      figure.caption = figure.stem;
      std::replace(figure.caption.begin(), figure.caption.end(), '_', ' ');
      figure.caption[0] = static_cast<char>(std::toupper(figure.caption[0]));
      ordered.push_back(figure);
    }
  }
  return ordered;
}

void redraw_scripts(const fs::path& folder) {
  std::vector<fs::path> scripts;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".gp") {
      scripts.push_back(it->path());
    }
  }
  std::sort(scripts.begin(), scripts.end());
  for (const auto& script : scripts) {
    try {
      if (!render_plot(script)) {
        return;
      }
    } catch (const IoError& error) {
      // One broken script, such as a user's edit, leaves the other plots to be drawn.
      spdlog::warn("{}; the report shows the plot's last good image, if any", error.what());
    }
  }
}

// Draws the training curves from metrics.csv: training loss and test reconstruction error on
// the left axis, decoding accuracies on the right. A kept script is left alone, so a user's
// edits to it survive `genmem report`.
void draw_training_curves(const fs::path& run_dir, const std::string& title) {
  const fs::path metrics = run_dir / "metrics.csv";
  const fs::path figures = run_dir / "figures";
  if (!fs::exists(metrics)
      || (fs::exists(figures / "training_curves.gp")
          && fs::exists(figures / "training_curves.dat"))) {
    return;
  }
  const CsvRows rows = parse_csv(read_text(metrics));
  if (rows.size() < 3) {
    return;
  }
  const auto& header = rows.front();
  const auto column = [&](const std::string& name) -> std::optional<std::size_t> {
    const auto found = std::find(header.begin(), header.end(), name);
    if (found == header.end()) {
      return std::nullopt;
    }
    return static_cast<std::size_t>(found - header.begin());
  };
  const auto epoch = column("epoch");
  if (!epoch) {
    return;
  }
  const auto series_of = [&](std::size_t index, const std::string& name) {
    LineSeries series{name, {}, {}, {}};
    for (std::size_t r = 1; r < rows.size(); ++r) {
      if (index >= rows[r].size() || *epoch >= rows[r].size()) {
        continue;
      }
      const auto x = to_number(rows[r][*epoch]);
      const auto y = to_number(rows[r][index]);
      if (x && y) {
        series.x.push_back(*x);
        series.y.push_back(*y);
      }
    }
    return series;
  };
  std::vector<LineSeries> left;
  std::vector<LineSeries> right;
  for (const auto& [name, label] : std::vector<std::pair<std::string, std::string>>{
           {"loss", "training loss"}, {"test_reconstruction_error", "test reconstruction error"}}) {
    if (const auto index = column(name)) {
      if (LineSeries series = series_of(*index, label); !series.x.empty()) {
        left.push_back(std::move(series));
      }
    }
  }
  // Per-factor columns decoding_<label> hold every label; decoding_accuracy repeats one of them.
  for (std::size_t index = 0; index < header.size(); ++index) {
    if (header[index].rfind("decoding_", 0) == 0 && header[index] != "decoding_accuracy") {
      if (LineSeries series = series_of(index, header[index].substr(9)); !series.x.empty()) {
        right.push_back(std::move(series));
      }
    }
  }
  if (right.empty()) {
    if (const auto index = column("decoding_accuracy")) {
      if (LineSeries series = series_of(*index, "decoding accuracy"); !series.x.empty()) {
        right.push_back(std::move(series));
      }
    }
  }
  if (left.empty() || right.empty()) {
    return;
  }
  // The untrained model's error is often 10 to 30 times the trained one's; a logarithmic axis
  // keeps the later epochs readable.
  double low = std::numeric_limits<double>::infinity();
  double high = 0.0;
  for (const auto& series : left) {
    for (const double y : series.y) {
      low = std::min(low, y);
      high = std::max(high, y);
    }
  }
  const bool log_left = low > 0.0 && high / low > 20.0;
  write_twin_axis_plot(
      run_dir / "figures" / "training_curves.png",
      title + ": training",
      "epoch",
      left,
      log_left ? "loss and reconstruction error (log scale)" : "loss and reconstruction error",
      right,
      "decoding accuracy",
      log_left);
}

// Draws the latent map from latent_map.csv (x, y, label) unless a kept script draws it, as the
// evaluate step's does.
void draw_latent_map(const fs::path& run_dir, const std::string& title) {
  const fs::path points = run_dir / "latent_map.csv";
  const fs::path figures = run_dir / "figures";
  if (!fs::exists(points) || fs::exists(figures / "latent_map.gp")) {
    return;
  }
  // Drawing first removes the old image, which a run of an earlier genmem drew without gnuplot.
  if (!gnuplot_available() && fs::exists(figures / "latent_map.png")) {
    return;
  }
  const CsvRows rows = parse_csv(read_text(points));
  std::vector<double> x;
  std::vector<double> y;
  std::vector<std::int64_t> labels;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() < 3) {
      continue;
    }
    const auto px = to_number(rows[r][0]);
    const auto py = to_number(rows[r][1]);
    const auto label = to_number(rows[r][2]);
    // Labels are class indices: whole numbers well inside the range of int64.
    if (px && py && label && *label == std::floor(*label) && std::abs(*label) < 1e15) {
      x.push_back(*px);
      y.push_back(*py);
      labels.push_back(static_cast<std::int64_t>(*label));
    }
  }
  if (x.empty()) {
    return;
  }
  write_scatter_plot(
      run_dir / "figures" / "latent_map.png",
      fmt::format("{}: map of {} test latent means", title, x.size()),
      "dimension 1",
      "dimension 2",
      x,
      y,
      labels,
      "label");
}

// Links to every file under `root`, with sizes, skipping the report itself.
std::string file_list(const fs::path& root) {
  std::vector<std::pair<fs::path, std::uintmax_t>> files;
  std::error_code error;
  for (fs::recursive_directory_iterator
           it(root, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file() && it->path().filename() != "report.html") {
      files.emplace_back(fs::relative(it->path(), root), it->file_size());
    }
  }
  std::sort(files.begin(), files.end());
  std::string html = "<div class=\"scroll\"><table>\n";
  for (const auto& [file, size] : files) {
    html += fmt::format(
        "<tr><td>{}</td><td class=\"number\">{}</td></tr>\n",
        link(file, file.string()),
        size >= 1 << 20 ? fmt::format("{:.1f} MB", size / 1048576.0)
                        : fmt::format("{:.1f} kB", size / 1024.0));
  }
  return html + "</table></div>\n";
}

std::string gnuplot_notice() {
  return gnuplot_available()
      ? ""
      : "<p class=\"notice\">gnuplot was not found, so plots are missing from this report. "
        "Install gnuplot-nox (scripts/setup does) and run <code>genmem report</code> on this "
        "folder to draw them.</p>\n";
}

void check_folder(const fs::path& folder, const char* marker, const char* made_by) {
  if (!fs::is_directory(folder)) {
    throw ConfigError(
        fmt::format("'{}' is not a folder; give a folder made by {}", folder.string(), made_by));
  }
  if (!fs::exists(folder / marker)) {
    throw ConfigError(fmt::format(
        "'{}' has no {}, so it is not a folder made by {}; give such a folder",
        folder.string(),
        marker,
        made_by));
  }
}

// A comparison's run lives in <comparison>/<variant>/seed-<s>, and its record may name it with
// another prefix. Returns "<variant>/seed-<s>", or nothing when the record names no such folder.
std::optional<fs::path> run_folder_in_comparison(const nlohmann::json& run) {
  const fs::path folder = text_of(run, "folder", "");
  const fs::path variant = folder.parent_path().filename();
  const fs::path seed = folder.filename();
  for (const fs::path& part : {variant, seed}) {
    if (part.empty() || part == "." || part == "..") {
      return std::nullopt;
    }
  }
  return variant / seed;
}

}  // namespace

std::string format_display_number(double value) {
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{:.4g}", value);
}

std::vector<std::pair<std::string, std::string>> headline_numbers(const nlohmann::json& summary) {
  std::vector<std::pair<std::string, std::string>> out;
  flatten_headline(summary, "", out);
  return out;
}

bool is_comparison_folder(const fs::path& folder) {
  return fs::exists(folder / "comparison.csv");
}

fs::path write_run_report(const fs::path& run_dir, PlotRedraw redraw) {
  check_folder(run_dir, "manifest.json", "genmem run");
  const nlohmann::json manifest = read_json(
      run_dir / "manifest.json",
      "genmem run writes it at the start and end of every run, so restore it from a copy");
  if (!manifest.is_object()) {
    throw IoError(fmt::format(
        "'{}' is not the JSON object genmem run writes; restore it from a copy",
        (run_dir / "manifest.json").string()));
  }
  const nlohmann::json summary = read_json(
      run_dir / "summary.json", "restore it, or delete it to leave the headline numbers out");
  ScenarioInfo scenario = read_scenario_info(run_dir / "scenario.toml");
  if (scenario.name.empty()) {
    scenario.name = text_of(manifest, "scenario", run_dir.filename().string());
  }

  std::error_code folder_error;
  fs::create_directories(run_dir / "figures", folder_error);
  if (folder_error) {
    throw IoError(fmt::format(
        "'{}' could not be made a folder for the report's figures ({}); move whatever has that "
        "name away and run genmem report again",
        (run_dir / "figures").string(),
        folder_error.message()));
  }
  if (redraw == PlotRedraw::kAll) {
    redraw_scripts(run_dir / "figures");
  }
  draw_training_curves(run_dir, scenario.name);
  draw_latent_map(run_dir, scenario.name);

  std::string html = page_start("genmem: " + scenario.name);
  html += fmt::format("<h1>{}</h1>\n", escape(scenario.name));
  if (!scenario.description.empty()) {
    html += fmt::format("<p>{}</p>\n", escape(scenario.description));
  }
  const std::string status = text_of(manifest, "status", "unknown");
  html += fmt::format(
      "<p class=\"meta\">Run folder {} · status {} · started {} · wall time {} · seed {}</p>\n",
      escape(fs::absolute(run_dir).lexically_normal().string()),
      escape(status),
      escape(text_of(manifest, "started", "?")),
      manifest.contains("wall_seconds") && manifest["wall_seconds"].is_number()
          ? fmt::format("{:.1f} s", manifest["wall_seconds"].get<double>())
          : std::string("?"),
      escape(text_of(manifest, "seed", "?")));
  if (manifest.contains("error")) {
    html += fmt::format(
        "<p class=\"failed\">The run {}: {}</p>\n",
        escape(status),
        escape(text_of(manifest, "error", "")));
  } else if (status == "running") {
    html +=
        "<p class=\"failed\">The run recorded no end: it is still running, or it stopped at once "
        "(a second Ctrl-C, SIGKILL or a crash). Files written so far are shown.</p>\n";
  }
  html +=
      "<nav><a href=\"#headline\">Headline numbers</a><a href=\"#figures\">Figures</a>"
      "<a href=\"#metrics\">Metrics</a><a href=\"#environment\">Versions and timing</a>"
      "<a href=\"#settings\">Settings</a><a href=\"#files\">Files</a></nav>\n";

  html += "<h2 id=\"headline\">Headline numbers</h2>\n";
  const auto headline = headline_numbers(summary);
  html += headline.empty()
      ? "<p>This run wrote no summary.json.</p>\n"
      : "<p>From " + link("summary.json", "summary.json") + ".</p>\n" + table_of_pairs(headline);

  html += "<h2 id=\"figures\">Figures</h2>\n" + gnuplot_notice();
  const auto figures = caption_figures(find_figures(run_dir, "figures"), scenario.steps);
  if (figures.empty()) {
    html += "<p>This run drew no figures.</p>\n";
  }
  for (const auto& figure : figures) {
    html += figure_html(figure);
  }

  html += "<h2 id=\"metrics\">Metrics</h2>\n";
  if (fs::exists(run_dir / "metrics.csv")) {
    const CsvRows rows = parse_csv(read_text(run_dir / "metrics.csv"));
    html += "<p>One row per measurement, from " + link("metrics.csv", "metrics.csv") + ".</p>\n";
    if (!rows.empty()) {
      html += table_of_csv(rows);
    }
  } else {
    html += "<p>This run measured nothing per epoch.</p>\n";
  }

  html += "<h2 id=\"environment\">Versions and timing</h2>\n";
  std::vector<std::pair<std::string, std::string>> environment;
  for (const char* key :
       {"genmem_version",
        "libtorch_version",
        "compiler",
        "device",
        "threads",
        "seed",
        "started",
        "finished",
        "wall_seconds",
        "status",
        "scenario_file"}) {
    if (manifest.contains(key)) {
      environment.emplace_back(key, format_value(manifest[key]));
    }
  }
  const nlohmann::json& plugins = manifest.contains("plugins") && manifest["plugins"].is_array()
      ? manifest["plugins"]
      : nlohmann::json::array();
  for (const auto& plugin : plugins) {
    environment.emplace_back(
        "plugin (" + text_of(plugin, "role", "?") + ")",
        text_of(plugin, "plugin", "?") + " " + text_of(plugin, "version", "?") + ", "
            + text_of(plugin, "file", "?"));
  }
  html +=
      "<p>From " + link("manifest.json", "manifest.json") + ".</p>\n" + table_of_pairs(environment);

  html += "<h2 id=\"settings\">Settings</h2>\n";
  if (fs::exists(run_dir / "scenario.toml")) {
    html += "<p>The resolved scenario, every key with the value this run used: "
        + link("scenario.toml", "scenario.toml") + ".</p>\n<pre>"
        + escape(read_text(run_dir / "scenario.toml")) + "</pre>\n";
  }
  html += "<h2 id=\"files\">Files</h2>\n" + file_list(run_dir) + page_end();

  const fs::path report = run_dir / "report.html";
  write_file_atomically(report, html);
  return report;
}

fs::path write_comparison_report(const fs::path& compare_dir, PlotRedraw redraw) {
  check_folder(compare_dir, "comparison.csv", "genmem compare");
  const nlohmann::json record = read_json(
      compare_dir / "comparison.json", "run the same genmem compare command again to rewrite it");
  // Older comparisons stored the list of runs alone.
  const nlohmann::json runs = record.is_array()              ? record
      : record.contains("runs") && record["runs"].is_array() ? record["runs"]
                                                             : nlohmann::json::array();
  const std::string name = record.is_object()
      ? text_of(record, "scenario", compare_dir.filename().string())
      : compare_dir.filename().string();
  const std::string status = record.is_object() ? text_of(record, "status", "") : "";

  // values[metric][variant] over seeds, in the order variants first appear.
  const CsvRows rows = parse_csv(read_text(compare_dir / "comparison.csv"));
  std::vector<std::string> variants;
  std::vector<std::string> metrics;
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != 4) {
      continue;
    }
    const auto value = to_number(rows[r][3]);
    if (!value) {
      continue;
    }
    const std::string& variant = rows[r][0];
    const std::string& metric = rows[r][2];
    if (std::find(variants.begin(), variants.end(), variant) == variants.end()) {
      variants.push_back(variant);
    }
    if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) {
      metrics.push_back(metric);
    }
    values[metric][variant].push_back(*value);
  }
  // Newer records list every variant, so that variants without a completed run are shown too.
  if (record.is_object() && record.contains("variants") && record["variants"].is_array()) {
    for (const auto& variant : record["variants"]) {
      if (variant.is_string()
          && std::find(variants.begin(), variants.end(), variant.get<std::string>())
              == variants.end()) {
        variants.push_back(variant.get<std::string>());
      }
    }
  }
  if (record.is_object() && record.contains("metrics") && record["metrics"].is_array()) {
    metrics.clear();
    for (const auto& metric : record["metrics"]) {
      if (metric.is_string()) {
        metrics.push_back(metric.get<std::string>());
      }
    }
  }

  if (fs::exists(compare_dir / "plots") && !fs::is_directory(compare_dir / "plots")) {
    throw IoError(fmt::format(
        "'{}' is not a folder, so the comparison's plots cannot be shown; move it away and run "
        "the same genmem compare command again to redraw them",
        (compare_dir / "plots").string()));
  }
  if (redraw == PlotRedraw::kAll) {
    redraw_scripts(compare_dir / "plots");
  }
  for (const auto& run : redraw == PlotRedraw::kAll ? runs : nlohmann::json::array()) {
    const auto relative = run_folder_in_comparison(run);
    if (relative && fs::exists(compare_dir / *relative / "manifest.json")) {
      try {
        write_run_report(compare_dir / *relative, redraw);
      } catch (const std::exception& error) {
        spdlog::warn("no report for '{}': {}", (compare_dir / *relative).string(), error.what());
      }
    }
  }

  std::string html = page_start("genmem: comparison of " + name);
  html += fmt::format("<h1>Comparison: {}</h1>\n", escape(name));
  html += fmt::format(
      "<p class=\"meta\">Folder {} · {} variants · {} runs{}</p>\n",
      escape(fs::absolute(compare_dir).lexically_normal().string()),
      variants.size(),
      runs.size(),
      status == "interrupted"
          ? " · interrupted: run the same genmem compare command again to finish it"
          : "");

  html +=
      "<h2 id=\"table\">Means per variant</h2>\n<p>Mean ± standard error of the mean over "
      "seeds; n is the number of completed runs. From "
      + link("comparison.csv", "comparison.csv") + ".</p>\n<div class=\"scroll\"><table>\n<tr>"
      + "<th>variant</th>";
  for (const auto& metric : metrics) {
    html += "<th>" + escape(metric) + "</th>";
  }
  html += "</tr>\n";
  for (const auto& variant : variants) {
    html += "<tr><th>" + escape(variant) + "</th>";
    for (const auto& metric : metrics) {
      const auto& seeds = values[metric][variant];
      if (seeds.empty()) {
        html += "<td>-</td>";
        continue;
      }
      const SampleMean stats = sample_mean(seeds);
      html += fmt::format(
          "<td class=\"number\">{:.4g}{} (n={})</td>",
          stats.mean,
          stats.count > 1 ? fmt::format(" ± {:.2g}", stats.sem) : std::string(),
          stats.count);
    }
    html += "</tr>\n";
  }
  html += "</table></div>\n";

  html += "<h2 id=\"figures\">Charts</h2>\n" + gnuplot_notice();
  auto figures = find_figures(compare_dir, "plots");
  const bool any_values = std::any_of(metrics.begin(), metrics.end(), [&](const auto& metric) {
    const auto& by_variant = values[metric];
    return std::any_of(by_variant.begin(), by_variant.end(), [](const auto& entry) {
      return !entry.second.empty();
    });
  });
  if (figures.empty() && !metrics.empty() && !any_values) {
    html +=
        "<p>No chart was drawn, because no completed run has a number at any of the chosen "
        "metrics. <code>comparison.csv</code> lists the keys the runs have.</p>\n";
  } else if (figures.empty() && !metrics.empty()) {
    // compare draws the charts from its runs; report only redraws the scripts in plots/.
    spdlog::warn(
        "'{}' contains no charts; run the same genmem compare command again to draw them",
        (compare_dir / "plots").string());
    html +=
        "<p>No charts were found in <code>plots/</code>. Run the same <code>genmem "
        "compare</code> command again to draw them.</p>\n";
  } else if (figures.empty()) {
    html += "<p>No charts were drawn.</p>\n";
  }
  for (auto& figure : figures) {
    figure.caption = fmt::format(
        "{}: mean and standard error of the mean over seeds, per variant.", figure.stem);
    html += figure_html(figure);
  }

  html +=
      "<h2 id=\"runs\">Runs</h2>\n<table>\n<tr><th>variant</th><th>seed</th><th>status</th>"
      "<th>report</th><th>error</th></tr>\n";
  for (const auto& run : runs) {
    const fs::path relative = run_folder_in_comparison(run).value_or(fs::path());
    const bool has_report = !relative.empty() && fs::exists(compare_dir / relative / "report.html");
    html += fmt::format(
        "<tr><td>{}</td><td class=\"number\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(text_of(run, "variant", "?")),
        escape(text_of(run, "seed", "?")),
        escape(text_of(run, "status", "?")),
        has_report ? link(relative / "report.html", relative.string()) : escape(relative.string()),
        escape(text_of(run, "error", "")));
  }
  html += "</table>\n<h2 id=\"files\">Files</h2>\n";
  for (const char* file : {"comparison.csv", "comparison.md", "comparison.json"}) {
    if (fs::exists(compare_dir / file)) {
      html += link(file, file) + "<br>\n";
    }
  }
  html += page_end();

  const fs::path report = compare_dir / "report.html";
  write_file_atomically(report, html);
  return report;
}

}  // namespace genmem
