#include "compare.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <genmem/error.hpp>

#include "analysis/statistics.hpp"
#include "guarded_models.hpp"
#include "interrupt.hpp"
#include "outputs/charts.hpp"
#include "outputs/run_folder.hpp"
#include "plugin_loader.hpp"
#include "report.hpp"

namespace genmem {

namespace fs = std::filesystem;

namespace {

// Splits "models.hippocampus.beta" into its role ("hippocampus") and key ("beta"); both are
// empty for a key outside [models].
std::pair<std::string, std::string> model_key(const std::string& key) {
  const std::string prefix = "models.";
  if (key.rfind(prefix, 0) != 0) {
    return {};
  }
  const auto dot = key.find('.', prefix.size());
  if (dot == std::string::npos) {
    return {};
  }
  return {key.substr(prefix.size(), dot - prefix.size()), key.substr(dot + 1)};
}

std::string last_part(const std::string& key) {
  const auto dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string slug_of(const std::string& text) {
  std::string slug;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '_' || c == '-' || c == '.') {
      slug += c;
    } else if (c == '=') {
      slug += '-';
    } else if (!slug.empty() && slug.back() != '_') {
      slug += '_';
    }
  }
  while (!slug.empty() && slug.back() == '_') {
    slug.pop_back();
  }
  return slug.empty() ? "base" : slug;
}

void flatten(
    const nlohmann::json& node, const std::string& prefix, std::map<std::string, double>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      flatten(value, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (node.is_number()) {
    const double value = node.get<double>();
    if (std::isfinite(value)) {
      out[prefix] = value;
    }
  } else if (node.is_boolean()) {
    out[prefix] = node.get<bool>() ? 1.0 : 0.0;
  }
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream file(path);
  if (!file) {
    return nullptr;
  }
  try {
    return nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

// The resolved scenario of a variant's run as the comparison planned it, written into the run
// folder when the run completes.
constexpr const char* kSettingsFile = "compare-settings.toml";

std::string read_text(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return file ? text.str() : std::string();
}

// Moves an unfinished run folder, or one with other settings, aside, so the new attempt starts
// in an empty folder and the old files stay for inspection.
void set_aside(const fs::path& folder) {
  for (int attempt = 1;; ++attempt) {
    const fs::path target = folder.string() + fmt::format(".replaced-{}", attempt);
    if (!fs::exists(target)) {
      fs::rename(folder, target);
      spdlog::warn("compare: an earlier run was moved to {}", target.string());
      return;
    }
  }
}

// Writes the comparison's table, record, charts and report. `status` is "running" while runs
// remain, "interrupted" after Ctrl-C, and "completed" at the end.
void write_outputs(
    const fs::path& folder,
    const std::string& scenario_name,
    const std::vector<CompareVariant>& variants,
    const std::vector<CompareRun>& runs,
    const std::vector<std::string>& headline,
    const std::string& status) {
  std::stringstream csv;
  csv << "variant,seed,metric,value\n";
  std::set<std::string> all_metrics;
  for (const auto& run : runs) {
    for (const auto& [metric, value] : run.metrics) {
      csv << '"' << run.variant << "\"," << run.seed << ',' << metric << ','
          << fmt::format("{}", value) << '\n';
      all_metrics.insert(metric);
    }
  }
  write_file_atomically(folder / "comparison.csv", csv.str());

  std::vector<std::string> shown = headline;
  if (shown.empty()) {
    shown.assign(all_metrics.begin(), all_metrics.end());
  }

  // values[metric][variant] over the variant's seeds.
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  for (const auto& run : runs) {
    for (const auto& metric : shown) {
      const auto found = run.metrics.find(metric);
      if (found != run.metrics.end()) {
        values[metric][run.variant].push_back(found->second);
      }
    }
  }

  std::stringstream markdown;
  markdown << "# Comparison\n\nMean and standard error of the mean over seeds; n is the number "
              "of completed runs.\n\n| variant |";
  for (const auto& metric : shown) {
    markdown << ' ' << metric << " |";
  }
  markdown << "\n|---|";
  for (std::size_t i = 0; i < shown.size(); ++i) {
    markdown << "---|";
  }
  markdown << '\n';
  for (const auto& variant : variants) {
    markdown << "| " << variant.label << " |";
    for (const auto& metric : shown) {
      const auto& seeds = values[metric][variant.label];
      if (seeds.empty()) {
        markdown << " - |";
        continue;
      }
      const SampleMean stats = sample_mean(seeds);
      markdown << ' ' << format_display_number(stats.mean);
      if (stats.count > 1) {
        markdown << " ± " << fmt::format("{:.2g}", stats.sem);
      }
      markdown << " (n=" << stats.count << ") |";
    }
    markdown << '\n';
  }
  if (status == "interrupted") {
    markdown << "\nThe comparison was interrupted, so the variants and seeds after the last run "
                "listed in comparison.json have no results yet. Run the same genmem compare "
                "command again to finish it.\n";
  }
  const bool any_failed = std::any_of(
      runs.begin(), runs.end(), [](const CompareRun& run) { return run.status == "failed"; });
  if (any_failed) {
    markdown << "\n## Failed runs\n\n";
    for (const auto& run : runs) {
      if (run.status == "failed") {
        markdown << "- " << run.variant << ", seed " << run.seed << ": " << run.error << '\n';
      }
    }
  }
  write_file_atomically(folder / "comparison.md", markdown.str());

  nlohmann::json labels = nlohmann::json::array();
  for (const auto& variant : variants) {
    labels.push_back(variant.label);
  }
  nlohmann::json record = {
      {"scenario", scenario_name},
      {"status", status},
      {"metrics", shown},
      {"variants", labels},
      {"runs", nlohmann::json::array()},
  };
  for (const auto& run : runs) {
    record["runs"].push_back({
        {"variant", run.variant},
        {"seed", run.seed},
        {"folder", run.folder.string()},
        {"status", run.status},
        {"error", run.error},
    });
  }
  write_file_atomically(folder / "comparison.json", record.dump(2) + "\n");

  fs::create_directories(folder / "plots");
  // Charts of metrics an earlier comparison in this folder chose would show beside these.
  std::set<std::string> chart_stems;
  for (const auto& metric : shown) {
    chart_stems.insert(slug_of(metric));
  }
  std::error_code listing_error;
  for (const auto& entry : fs::directory_iterator(folder / "plots", listing_error)) {
    if (entry.is_regular_file() && chart_stems.count(entry.path().stem().string()) == 0) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
  for (const auto& metric : shown) {
    std::vector<std::string> categories;
    BarSeries series{metric, {}, {}};
    for (const auto& variant : variants) {
      const auto& seeds = values[metric][variant.label];
      if (seeds.empty()) {
        continue;
      }
      const SampleMean stats = sample_mean(seeds);
      categories.push_back(variant.label);
      series.values.push_back(stats.mean);
      series.errors.push_back(stats.sem);
    }
    if (!categories.empty()) {
      // The title names the metric; a long name as the vertical axis label would be cut.
      write_bar_chart(
          folder / "plots" / (slug_of(metric) + ".png"),
          metric,
          "mean over seeds, with SEM",
          categories,
          {series});
    }
  }
  try {
    write_comparison_report(folder, PlotRedraw::kReportPlots);
  } catch (const Error& error) {
    spdlog::warn("compare: the comparison report was not written: {}", error.what());
  }
}

}  // namespace

CompareAxis parse_vary(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw ConfigError(fmt::format(
        "--vary '{}': expected key=value1,value2, for example --vary "
        "models.hippocampus.plugin=modern_hopfield,classical_hopfield",
        text));
  }
  CompareAxis axis{trim_blanks(text.substr(0, equals)), {}};
  const auto add_value = [&](std::string value) {
    value = trim_blanks(value);
    if (value.empty()) {
      throw ConfigError(fmt::format("--vary '{}': a value between commas is empty", text));
    }
    if (std::find(axis.values.begin(), axis.values.end(), value) == axis.values.end()) {
      axis.values.push_back(value);
    }
  };
  // Values are TOML literals, so a comma inside an array, an inline table or a string belongs
  // to the value. Only commas outside all of them separate values.
  std::string value;
  int depth = 0;
  char quote = 0;
  for (std::size_t i = equals + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        // An escaped character in a basic string, such as \", does not end the string.
        value += c;
        value += text[++i];
        continue;
      }
      if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      add_value(std::exchange(value, std::string()));
      continue;
    }
    value += c;
  }
  if (quote != 0 || depth != 0) {
    throw ConfigError(fmt::format(
        "--vary '{}': a {} is not closed; close it or quote the whole option for the shell",
        text,
        quote != 0 ? "string" : "bracket"));
  }
  add_value(value);
  return axis;
}

std::map<std::string, double> flatten_summary(const nlohmann::json& summary) {
  std::map<std::string, double> out;
  flatten(summary, "", out);
  return out;
}

std::vector<CompareVariant> build_variants(
    const Scenario& base,
    const std::vector<CompareAxis>& axes,
    const std::function<std::vector<std::string>(const std::string&)>& declared,
    const std::vector<std::string>& known) {
  // Every combination of one value per axis, the first axis varying slowest.
  std::vector<std::vector<std::pair<std::string, std::string>>> combinations{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::pair<std::string, std::string>>> extended;
    for (const auto& combination : combinations) {
      for (const auto& value : axis.values) {
        auto next = combination;
        next.emplace_back(axis.key, value);
        extended.push_back(std::move(next));
      }
    }
    combinations = std::move(extended);
  }

  for (const auto& axis : axes) {
    if (axis.key.starts_with("compare.")) {
      throw ConfigError(fmt::format(
          "--vary {}: the [compare] table chooses what a comparison runs, so its keys cannot be "
          "varied; use --seeds or --metric, or vary a key of [scenario], [data], [models] or the "
          "steps",
          axis.key));
    }
    if (axis.key == "scenario.seed") {
      throw ConfigError(
          "--vary scenario.seed: the seeds are set by --seeds or compare.seeds, which run each "
          "variant with scenario.seed, scenario.seed + 1 and so on; vary other keys");
    }
  }

  std::vector<CompareVariant> variants;
  std::set<std::string> seen;
  std::set<std::string> slugs;
  // Varied model keys that some variant's plugin declares.
  std::set<std::string> applied;
  for (const auto& combination : combinations) {
    // The plugin of each role in this variant.
    std::map<std::string, std::string> plugins;
    for (const auto& [role, model] : base.models) {
      plugins[role] = model.plugin;
    }
    for (const auto& [key, value] : combination) {
      const auto [role, name] = model_key(key);
      if (name == "plugin") {
        plugins[role] = value;
      }
    }

    CompareVariant variant;
    std::vector<std::string> parts;
    for (const auto& [key, value] : combination) {
      const auto [role, name] = model_key(key);
      if (!role.empty() && name != "plugin" && plugins.count(role) > 0) {
        const auto names = declared(plugins[role]);
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          continue;
        }
        applied.insert(key);
      }
      variant.assignments.push_back(key + "=" + value);
      parts.push_back(last_part(key) + "=" + value);
    }
    for (const auto& [role, plugin] : plugins) {
      const auto found = base.models.find(role);
      if (found == base.models.end() || found->second.plugin == plugin) {
        continue;
      }
      const auto names = declared(plugin);
      for (const auto& [name, value] : found->second.parameters.values()) {
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          variant.removals.push_back("models." + role + "." + name);
        }
      }
    }
    variant.label = parts.empty() ? "base" : fmt::format("{}", fmt::join(parts, ", "));
    if (!seen.insert(variant.label).second) {
      continue;
    }
    // Labels that differ only in characters a folder name drops get numbered folders.
    variant.slug = slug_of(variant.label);
    for (int suffix = 2; !slugs.insert(variant.slug).second; ++suffix) {
      variant.slug = slug_of(variant.label) + fmt::format("-{}", suffix);
    }
    variants.push_back(std::move(variant));
  }

  for (const auto& axis : axes) {
    const auto [role, name] = model_key(axis.key);
    const bool role_added = std::any_of(axes.begin(), axes.end(), [&](const CompareAxis& other) {
      return other.key == "models." + role + ".plugin";
    });
    if (!role.empty() && base.models.count(role) == 0 && !role_added) {
      throw ConfigError(fmt::format(
          "--vary {}: the scenario has no [models.{}], so there is nothing to vary; add the "
          "model to the scenario or vary another key",
          axis.key,
          role));
    }
    if (role.empty() || name == "plugin" || applied.count(axis.key) > 0) {
      continue;
    }
    if (std::find(known.begin(), known.end(), name) != known.end()) {
      spdlog::warn(
          "compare: no variant's plugin declares '{}', so varying {} changes nothing",
          name,
          axis.key);
      continue;
    }
    std::string message =
        fmt::format("--vary {}: no plugin found declares a parameter '{}'", axis.key, name);
    const std::string suggestion = closest_name(name, known);
    if (!suggestion.empty()) {
      message += fmt::format("; did you mean '{}'?", suggestion);
    }
    throw ConfigError(message);
  }
  return variants;
}

namespace {

// Returns the first line of a variant's error. A value from the command line is reported as
// "--set", but in a comparison it may come from --vary as well.
std::string variant_error(const char* message) {
  std::string line = first_line(message);
  constexpr std::string_view kSet = "--set: ";
  if (line.rfind(kSet, 0) == 0) {
    line.replace(0, kSet.size(), "--vary or --set: ");
  }
  return line;
}

// An exclusive lock on a comparison folder, held while the object lives. The operating system
// releases it when the process ends, however it ends.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& folder) : path_(folder / ".compare.lock") {
    descriptor_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (descriptor_ < 0) {
      throw IoError(fmt::format(
          "compare: cannot create '{}': {}; choose another --output",
          path_.string(),
          std::strerror(errno)));
    }
    if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
      const std::string holder = read_text(path_);
      ::close(descriptor_);
      throw IoError(fmt::format(
          "compare: another genmem compare{} is writing to '{}'; wait for it to end, or choose "
          "another --output",
          holder.empty() ? "" : fmt::format(" (process {})", holder),
          folder.string()));
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(descriptor_, 0) == 0) {
      // The process id only improves the message above, so a failed write is not an error.
      [[maybe_unused]] const auto written = ::write(descriptor_, pid.data(), pid.size());
    }
  }

  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  ~FolderLock() { ::close(descriptor_); }

 private:
  fs::path path_;
  int descriptor_ = -1;
};

// Returns the comparison's run options with the settings of `variant` applied.
RunOptions variant_options(const RunOptions& base, const CompareVariant& variant) {
  RunOptions settings = base;
  settings.overrides.removals = variant.removals;
  settings.overrides.assignments.insert(
      settings.overrides.assignments.end(), variant.assignments.begin(), variant.assignments.end());
  return settings;
}

}  // namespace

CompareOutcome run_comparison(const CompareOptions& options) {
  const Scenario base = prepare_scenario(options.run);

  std::vector<CompareAxis> axes = base.compare.vary;
  std::set<std::string> varied_on_command_line;
  for (const auto& axis : options.vary) {
    if (!varied_on_command_line.insert(axis.key).second) {
      spdlog::warn(
          "compare: --vary {} is given more than once, so only its last values are used; list "
          "all values in one --vary",
          axis.key);
    }
    const auto same = std::find_if(
        axes.begin(), axes.end(), [&](const CompareAxis& a) { return a.key == axis.key; });
    if (same != axes.end()) {
      *same = axis;
    } else {
      axes.push_back(axis);
    }
  }
  const std::int64_t seeds = options.seeds.value_or(base.compare.seeds);
  if (seeds < 1 || seeds > kMaxCompareSeeds) {
    throw ConfigError(fmt::format("--seeds must be 1 to {} (got {})", kMaxCompareSeeds, seeds));
  }
  std::vector<std::string> headline;
  for (const auto& metric : options.metrics.empty() ? base.compare.metrics : options.metrics) {
    if (std::find(headline.begin(), headline.end(), metric) == headline.end()) {
      headline.push_back(metric);
    }
  }

  PluginLoader loader(scenario_plugin_search_path(base, options.run.overrides));
  std::map<std::string, std::vector<std::string>> declared_cache;
  const auto declared = [&](const std::string& plugin) -> std::vector<std::string> {
    auto found = declared_cache.find(plugin);
    if (found == declared_cache.end()) {
      std::vector<std::string> names;
      try {
        for (const auto& spec : loader.load(plugin).parameters) {
          names.push_back(spec.name);
        }
      } catch (const Error&) {
        // The variant's own run reports the plugin that does not load.
      }
      found = declared_cache.emplace(plugin, std::move(names)).first;
    }
    return found->second;
  };

  CompareOutcome outcome;
  // Every parameter name of every plugin found, to tell a misspelt varied key from one that only
  // the plugins left out of this comparison declare.
  std::set<std::string> known_names;
  for (const auto& plugin : loader.discover()) {
    for (const auto& spec : plugin.parameters) {
      known_names.insert(spec.name);
    }
  }
  outcome.variants = build_variants(
      base, axes, declared, std::vector<std::string>(known_names.begin(), known_names.end()));
  // Invalid variants are recorded as failed runs while the others run, but they are named now
  // so that a mistyped value need not wait for the valid variants before it shows. When no
  // variant is valid, as with a varied key that the scenario does not have, nothing runs.
  std::string first_invalid;
  std::size_t invalid = 0;
  for (const auto& variant : outcome.variants) {
    try {
      prepare_scenario(variant_options(options.run, variant));
    } catch (const Error& error) {
      spdlog::warn(
          "compare: variant {} is invalid and its runs will fail: {}",
          variant.label,
          variant_error(error.what()));
      if (invalid++ == 0) {
        first_invalid = fmt::format("{}: {}", variant.label, variant_error(error.what()));
      }
    }
  }
  if (invalid == outcome.variants.size()) {
    throw ConfigError(fmt::format(
        "compare: every variant is invalid, so nothing would run; the first is {}", first_invalid));
  }
  outcome.folder = options.output_dir.empty() ? options.run.runs_root / (base.name + "-compare")
                                              : options.output_dir;
  // A run folder is never taken over: the comparison's report would replace the run's.
  std::error_code folder_error;
  if (fs::exists(outcome.folder / "manifest.json", folder_error)) {
    throw ConfigError(fmt::format(
        "compare: '{}' is the folder of a run (it contains manifest.json), and a comparison would "
        "replace its report; choose a new --output or an earlier comparison's folder",
        outcome.folder.string()));
  }
  if (const fs::path run = enclosing_run_folder(outcome.folder); !run.empty()) {
    throw ConfigError(fmt::format(
        "compare: '{}' is inside the folder of the run '{}'; choose an --output outside it",
        outcome.folder.string(),
        run.string()));
  }
  fs::create_directories(outcome.folder, folder_error);
  if (folder_error || !fs::is_directory(outcome.folder)) {
    throw IoError(fmt::format(
        "compare: cannot create the comparison folder '{}': {}; choose another --output",
        outcome.folder.string(),
        folder_error ? folder_error.message() : "a file of that name exists"));
  }
  // Two comparisons writing into one folder would set each other's runs aside.
  const FolderLock lock(outcome.folder);
  spdlog::info(
      "compare: {} variant(s) x {} seed(s) in {}",
      outcome.variants.size(),
      seeds,
      outcome.folder.string());

  // An interrupted comparison still leaves a table, record and report of the runs so far. The
  // handler covers the time between runs as well as the runs themselves.
  const InterruptHandler interrupt_handler;
  try {
    for (const auto& variant : outcome.variants) {
      for (std::int64_t i = 0; i < seeds; ++i) {
        throw_if_interrupted();
        CompareRun run;
        run.variant = variant.label;
        run.seed = base.seed + i;
        run.folder = outcome.folder / variant.slug / fmt::format("seed-{}", run.seed);

        RunOptions settings = variant_options(options.run, variant);
        settings.output_dir = run.folder;
        settings.seed = run.seed;

        // A completed run is reused only when it ran with the same resolved scenario, which the
        // comparison records beside the run's own files.
        std::string planned;
        try {
          // The [compare] table only chooses what to run and show, so it is left out.
          Scenario resolved = prepare_scenario(settings);
          resolved.compare = CompareSpec{};
          planned = format_scenario(resolved);
        } catch (const Error&) {
          // The run below reports the invalid variant.
        }
        const nlohmann::json manifest = read_json(run.folder / "manifest.json");
        const bool completed = manifest.is_object() && manifest.value("status", "") == "completed";
        if (completed && !planned.empty() && read_text(run.folder / kSettingsFile) == planned) {
          run.status = "reused";
          run.metrics = flatten_summary(read_json(run.folder / "summary.json"));
          spdlog::info(
              "compare: {} seed {}: reusing {}", run.variant, run.seed, run.folder.string());
          outcome.runs.push_back(std::move(run));
          continue;
        }
        if (completed) {
          spdlog::warn(
              "compare: {} seed {}: {} ran with other settings, so it runs again",
              run.variant,
              run.seed,
              run.folder.string());
        }
        if (fs::exists(run.folder) && !fs::is_empty(run.folder)) {
          set_aside(run.folder);
        }

        spdlog::info("compare: {} seed {}", run.variant, run.seed);
        try {
          const RunOutcome finished = run_scenario(settings);
          write_file_atomically(run.folder / kSettingsFile, planned);
          run.status = "completed";
          run.metrics = flatten_summary(finished.summary);
        } catch (const InterruptedError&) {
          throw;
        } catch (const std::exception& error) {
          // LibTorch appends a stack trace after the first line, which the table does not need.
          const std::string message = error.what();
          run.status = "failed";
          run.error = variant_error(message.c_str());
          spdlog::error("compare: {} seed {} failed: {}", run.variant, run.seed, run.error);
        }
        outcome.runs.push_back(std::move(run));
        // Written after every run, so an interrupted comparison leaves a current table.
        write_outputs(
            outcome.folder, base.name, outcome.variants, outcome.runs, headline, "running");
      }
    }
  } catch (const InterruptedError&) {
    write_outputs(
        outcome.folder, base.name, outcome.variants, outcome.runs, headline, "interrupted");
    throw InterruptedError(fmt::format(
        "comparison interrupted by {} after {} of {} runs; run the same genmem compare command "
        "again to finish it",
        received_signal_name(),
        outcome.runs.size(),
        outcome.variants.size() * static_cast<std::size_t>(seeds)));
  }
  write_outputs(outcome.folder, base.name, outcome.variants, outcome.runs, headline, "completed");
  std::set<std::string> reported;
  for (const auto& run : outcome.runs) {
    for (const auto& [metric, value] : run.metrics) {
      reported.insert(metric);
    }
  }
  for (const auto& metric : headline) {
    if (reported.count(metric) == 0 && !reported.empty()) {
      const std::string suggestion =
          closest_name(metric, std::vector<std::string>(reported.begin(), reported.end()));
      spdlog::warn(
          "compare: no run's summary.json has a number at '{}'{}; comparison.csv lists the keys",
          metric,
          suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion));
    }
  }
  return outcome;
}

}  // namespace genmem
