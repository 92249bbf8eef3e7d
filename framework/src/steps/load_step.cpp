// Loads a trained neocortex from an earlier run, so that analyses of a consolidated model do not
// repeat its training.

#include "steps/load_step.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <genmem/error.hpp>

#include "outputs/run_folder.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCheckpoint = "checkpoints/neocortex.pt";

// Reads the manifest of the run folder `run`, or returns null when it has no readable one.
nlohmann::json read_manifest(const fs::path& run) {
  std::ifstream file(run / "manifest.json");
  if (!file) {
    return nullptr;
  }
  nlohmann::json manifest = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  return manifest.is_object() ? manifest : nlohmann::json(nullptr);
}

// Returns the status that the manifest of the run folder `run` records, "unknown" when the
// manifest has none or cannot be read, or "" when the folder has no manifest.
std::string run_status(const fs::path& run) {
  const nlohmann::json manifest = read_manifest(run);
  if (manifest.is_null()) {
    std::error_code error;
    return fs::exists(run / "manifest.json", error) ? "unknown" : "";
  }
  return manifest.contains("status") && manifest["status"].is_string()
      ? manifest["status"].get<std::string>()
      : "unknown";
}

// Returns whether the run folder `run` finished and saved a neocortex.
bool completed_run_with_checkpoint(const fs::path& run) {
  std::error_code error;
  return fs::is_regular_file(run / kCheckpoint, error) && run_status(run) == "completed";
}

}  // namespace

std::vector<std::string> changed_settings(const fs::path& run) {
  const nlohmann::json manifest = read_manifest(run);
  std::vector<std::string> changes;
  if (manifest.is_null()) {
    return changes;
  }
  static const std::set<std::string> kNeutralKeys = {
      "data.dir",
      "data.file",
      "data.source",
      "scenario.seed",
      "scenario.threads",
      "scenario.device"};
  // Appends each string of the list `key`, through `describe`, or notes that the list cannot be
  // read, so that a damaged manifest never passes for a run without changes.
  const auto read_list = [&](const char* key, const auto& describe) {
    if (!manifest.contains(key)) {
      return;
    }
    const nlohmann::json& list = manifest[key];
    const bool readable =
        list.is_array() && std::all_of(list.begin(), list.end(), [](const auto& entry) {
          return entry.is_string();
        });
    if (!readable) {
      changes.push_back(std::string(key) + " (unreadable)");
      return;
    }
    for (const auto& entry : list) {
      describe(entry.template get<std::string>());
    }
  };
  read_list("overrides", [&](const std::string& assignment) {
    if (kNeutralKeys.count(assignment.substr(0, assignment.find('='))) == 0) {
      changes.push_back(assignment);
    }
  });
  read_list("removed_keys", [&](const std::string& key) { changes.push_back(key + " (removed)"); });
  return changes;
}

namespace {

// Returns the `[data] source` of the resolved scenario in the run folder `run`, or "" when it
// has none that can be read.
std::string run_data_source(const fs::path& run) {
  std::error_code error;
  if (run.empty() || !fs::is_regular_file(run / "scenario.toml", error)) {
    return "";
  }
  try {
    return toml::parse_file((run / "scenario.toml").string())["data"]["source"].value_or(
        std::string());
  } catch (const toml::parse_error&) {
    return "";
  }
}

// Describes the run folder `run` for a load step, with `checkpoint` as the file to load.
CheckpointChoice describe_run(const fs::path& run, const fs::path& checkpoint) {
  return {
      checkpoint,
      run.empty() ? std::vector<std::string>() : changed_settings(run),
      run_data_source(run),
      {}};
}

}  // namespace

CheckpointChoice find_checkpoint(const fs::path& file, const std::string& data_source) {
  std::error_code error;
  if (fs::is_regular_file(file, error)) {
    return describe_run(enclosing_run_folder(file), file);
  }
  if (!fs::is_directory(file, error)) {
    return {};
  }
  if (fs::is_regular_file(file / kCheckpoint, error)) {
    return describe_run(file, file / kCheckpoint);
  }
  // The completed runs with a checkpoint, newest first: by the start time in the manifest (UTC,
  // so it sorts as text), then by folder name, which is the start time for folders genmem names.
  std::vector<std::pair<std::string, fs::path>> runs;
  for (const auto& entry : fs::directory_iterator(file, error)) {
    if (entry.is_directory(error) && completed_run_with_checkpoint(entry.path())) {
      const nlohmann::json manifest = read_manifest(entry.path());
      const bool has_start = manifest.contains("started") && manifest["started"].is_string();
      runs.emplace_back(has_start ? manifest["started"].get<std::string>() : "", entry.path());
    }
  }
  if (runs.empty()) {
    return {};
  }
  std::sort(runs.rbegin(), runs.rend());
  std::vector<fs::path> passed_over;
  for (const auto& [started, run] : runs) {
    CheckpointChoice choice = describe_run(run, run / kCheckpoint);
    if (choice.changed_settings.empty() && choice.data_source == data_source) {
      choice.passed_over = std::move(passed_over);
      return choice;
    }
    passed_over.push_back(run);
  }
  CheckpointChoice none;
  none.passed_over = std::move(passed_over);
  return none;
}

namespace {

constexpr const char* kCompletedWithout = "completed without a checkpoint";

// Counts the run folders directly in `folder` that have a manifest by their status, with
// completed runs counted as `kCompletedWithout` (the caller found no checkpoint among them).
std::map<std::string, int> count_runs_by_status(const fs::path& folder) {
  std::error_code error;
  std::map<std::string, int> counts;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string status = run_status(entry.path());
    if (status == "unknown") {
      ++counts["no readable status"];
    } else if (!status.empty()) {
      ++counts[status == "completed" ? kCompletedWithout : status];
    }
  }
  return counts;
}

// Describes counts of runs by status, such as "3 runs (2 failed, running)".
std::string describe_run_counts(const std::map<std::string, int>& counts) {
  int runs = 0;
  std::vector<std::string> parts;
  for (const auto& [status, count] : counts) {
    parts.push_back(count == 1 ? status : fmt::format("{} {}", count, status));
    runs += count;
  }
  return fmt::format("{} run{} ({})", runs, runs == 1 ? "" : "s", fmt::join(parts, ", "));
}

// Returns the error of step `step_number` of `scenario` that `file` has `problem`, followed by
// `fix`.
ConfigError load_error(
    const Scenario& scenario,
    std::size_t step_number,
    const fs::path& file,
    const std::string& problem,
    const std::string& fix) {
  return ConfigError(fmt::format(
      "scenario '{}' step {} (load): '{}' {}; {}",
      scenario.file.string(),
      step_number,
      file.string(),
      problem,
      fix));
}

// Says how to make the model that step `step_number` loads from `file`, or where else to point
// it. A scenario's runs go to runs/<its name>, so `file` of that form names the scenario to run.
std::string make_model_fix(std::size_t step_number, const fs::path& file) {
  const fs::path folder = file.filename().empty() ? file.parent_path() : file;
  const std::string producer = folder.parent_path().filename() == "runs"
      ? fmt::format(" (the one whose [scenario] name is '{}')", folder.filename().string())
      : std::string();
  return fmt::format(
      "run the scenario that trains the model to its end first{}, or set steps.{}.file to a run "
      "folder or checkpoint",
      producer,
      step_number);
}

// Says where step `step_number` should point instead of at runs that completed without a
// checkpoint, which come from a scenario that trains no model.
std::string analysis_run_fix(std::size_t step_number) {
  return fmt::format(
      "runs of a scenario without a train step save no model; set steps.{}.file to the runs of "
      "one with a train step",
      step_number);
}

// Describes why each run of `runs` (newest first) was passed over, such as
// "20260102T000000Z (steps.3.on=images)", the first three in full.
std::string describe_passed_over(const std::vector<fs::path>& runs, const std::string& source) {
  constexpr std::size_t kListed = 3;
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < runs.size() && i < kListed; ++i) {
    std::vector<std::string> reasons = changed_settings(runs[i]);
    if (const std::string run_source = run_data_source(runs[i]); run_source != source) {
      reasons.push_back(
          run_source.empty() ? std::string("no readable data source")
                             : fmt::format("data source '{}'", run_source));
    }
    parts.push_back(fmt::format("{} ({})", runs[i].filename().string(), fmt::join(reasons, ", ")));
  }
  if (runs.size() > kListed) {
    parts.push_back(fmt::format("{} more", runs.size() - kListed));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

// Finds the checkpoint that step `step_number` of `scenario` loads from `file`. Throws
// ConfigError when there is none.
CheckpointChoice resolve_checkpoint(
    const Scenario& scenario, std::size_t step_number, const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) {
    throw load_error(
        scenario,
        step_number,
        file,
        fmt::format(
            "not found (relative paths start at the working directory, '{}')",
            fs::current_path(error).string()),
        make_model_fix(step_number, file));
  }
  const std::string source = scenario.data.get_string("source");
  CheckpointChoice choice = find_checkpoint(file, source);
  if (choice.checkpoint.empty() && !choice.passed_over.empty()) {
    const std::size_t count = choice.passed_over.size();
    // A model of another data source seldom takes this one's images (MNIST and Fashion-MNIST
    // share a shape), so naming its run folder is not offered as the fix.
    const bool other_sources =
        std::all_of(choice.passed_over.begin(), choice.passed_over.end(), [&](const fs::path& run) {
          return run_data_source(run) != source;
        });
    const std::string fix = other_sources
        ? fmt::format(
            "a model trained on another data source does not fit this scenario's images; run "
            "a scenario that trains a model on '{}' first, and set steps.{}.file to its runs",
            source,
            step_number)
        : fmt::format(
            "to analyse {}, set steps.{}.file to its run folder; otherwise run the scenario "
            "that trains the model without --set changes",
            count == 1 ? "it" : "one of them",
            step_number);
    throw load_error(
        scenario,
        step_number,
        file,
        fmt::format(
            "has {} completed run{} with {}, but {} made with changed settings or on another "
            "data source than '{}': {}",
            count,
            count == 1 ? "" : "s",
            kCheckpoint,
            count == 1 ? "it was" : "each was",
            source,
            describe_passed_over(choice.passed_over, source)),
        fix);
  }
  const std::map<std::string, int> unfinished =
      choice.checkpoint.empty() && fs::is_directory(file, error) ? count_runs_by_status(file)
                                                                 : std::map<std::string, int>();
  if (!unfinished.empty()) {
    const bool analyses = unfinished.count(kCompletedWithout) > 0;
    throw load_error(
        scenario,
        step_number,
        file,
        fmt::format(
            "contains {}, but none completed with {}",
            describe_run_counts(unfinished),
            kCheckpoint),
        analyses ? analysis_run_fix(step_number) : make_model_fix(step_number, file));
  }
  if (choice.checkpoint.empty() && run_status(file) == "completed") {
    throw load_error(
        scenario,
        step_number,
        file,
        fmt::format("is a completed run without {}", kCheckpoint),
        analysis_run_fix(step_number));
  }
  if (choice.checkpoint.empty()) {
    throw load_error(
        scenario,
        step_number,
        file,
        fmt::format(
            "is not a checkpoint, a run folder with {}, or a folder of such runs", kCheckpoint),
        make_model_fix(step_number, file));
  }
  return choice;
}

// Loads `checkpoint` into `model`, naming step `step_number` of `scenario` in any error.
void load_checkpoint(
    GenerativeModel& model,
    const Scenario& scenario,
    std::size_t step_number,
    const fs::path& checkpoint) {
  const std::string where =
      fmt::format("scenario '{}' step {} (load): ", scenario.file.string(), step_number);
  // A checkpoint from a run on another data source usually fails on the image shape, and then
  // the plugin's own hint (to change its parameters) does not help. The run is read only then.
  const auto origin = [&] {
    const std::string source = scenario.data.get_string("source");
    const std::string run_source = run_data_source(enclosing_run_folder(checkpoint));
    if (run_source.empty() || run_source == source) {
      return std::string();
    }
    return fmt::format(
        "; the checkpoint comes from a run on data source '{}', so a model trained on '{}' is "
        "needed instead",
        run_source,
        source);
  };
  try {
    model.load(checkpoint.string());
  } catch (const ConfigError& error) {
    throw ConfigError(where + error.what() + origin());
  } catch (const IoError& error) {
    throw IoError(where + error.what() + origin());
  } catch (const ModelError& error) {
    throw ModelError(where + error.what() + origin());
  }
}

class LoadStep final : public Step {
 public:
  explicit LoadStep(const Parameters& parameters) : file_(parameters.get_string("file")) {}

  void run(RunContext& context) override {
    GenerativeModel& model = require_neocortex(context, "load");
    const std::string data_source = context.scenario.data.get_string("source");
    const CheckpointChoice choice =
        resolve_checkpoint(context.scenario, context.step_number, file_);
    const fs::path& checkpoint = choice.checkpoint;
    // The run whose status is checked: a run folder named directly, or the run folder that
    // contains a checkpoint named directly. A folder of runs yields only completed runs.
    std::error_code error;
    fs::path run;
    if (fs::is_regular_file(file_ / kCheckpoint, error)) {
      run = file_;
    } else if (fs::is_regular_file(file_, error)) {
      run = enclosing_run_folder(file_);
    }
    const std::string status = run.empty() ? std::string("completed") : run_status(run);
    if (status == "" || status == "unknown") {
      spdlog::warn(
          "step {} (load): the run '{}' has no readable status in a manifest.json, so whether "
          "it completed is not known",
          context.step_number,
          run.string());
    } else if (status != "completed") {
      spdlog::warn(
          "step {} (load): the run '{}' did not complete (status '{}'), so its checkpoint is the "
          "model after its last complete epoch",
          context.step_number,
          run.string(),
          status);
    }
    if (!choice.passed_over.empty()) {
      std::vector<std::string> names;
      for (const fs::path& run : choice.passed_over) {
        names.push_back(run.filename().string());
      }
      spdlog::warn(
          "step {} (load): passed over {} newer run{} ({}) made with changed settings or another "
          "data source; set steps.{}.file to a run folder to load one of them",
          context.step_number,
          names.size(),
          names.size() == 1 ? "" : "s",
          fmt::join(names, ", "),
          context.step_number);
    }
    if (!choice.changed_settings.empty()) {
      spdlog::warn(
          "step {} (load): '{}' comes from a run with changed settings: {}",
          context.step_number,
          checkpoint.string(),
          fmt::join(choice.changed_settings, ", "));
    }
    if (!choice.data_source.empty() && choice.data_source != data_source) {
      spdlog::warn(
          "step {} (load): '{}' was trained on data source '{}', and this scenario reads '{}'",
          context.step_number,
          checkpoint.string(),
          choice.data_source,
          data_source);
    }
    load_checkpoint(model, context.scenario, context.step_number, checkpoint);
    context.summary["load"] = {
        {"file", fs::absolute(checkpoint).lexically_normal().string()},
        {"changed_settings", choice.changed_settings},
        {"data_source", choice.data_source},
    };
    spdlog::info("loaded the neocortex from '{}'", checkpoint.string());
  }

 private:
  fs::path file_;
};

}  // namespace

StepKind load_step_kind() {
  return {
      "load",
      "Load the neocortex's weights from a checkpoint of an earlier run",
      {
          string_parameter(
              "file",
              "",
              "A checkpoint file, a run folder (its checkpoints/neocortex.pt), or a folder of run "
              "folders such as runs/shapes3d-consolidation (the newest completed run on the same "
              "data source with no changed settings); relative to the working "
              "directory"),
      },
      [](const Parameters& parameters) { return std::make_unique<LoadStep>(parameters); },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        if (scenario.steps[index].parameters.get_string("file").empty()) {
          return "has no file; set file to a checkpoint or a run folder";
        }
        return "";
      },
      {},
      // The checkpoint is also loaded into a neocortex apart from the run's, so that a damaged
      // file or one of another configuration stops the run before it creates its folder.
      [](const Scenario& scenario, std::size_t index, const PreflightContext& preflight) {
        const CheckpointChoice choice = resolve_checkpoint(
            scenario, index + 1, scenario.steps[index].parameters.get_string("file"));
        if (preflight.make_neocortex) {
          if (const std::unique_ptr<GenerativeModel> model = preflight.make_neocortex(); model) {
            load_checkpoint(*model, scenario, index + 1, choice.checkpoint);
          }
        }
      },
  };
}

}  // namespace genmem
