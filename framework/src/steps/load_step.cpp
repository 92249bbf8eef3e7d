// Loads a trained neocortex from an earlier run, so that analyses of a consolidated model do not
// repeat its training.

#include "steps/load_step.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

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

std::vector<std::string> run_overrides(const fs::path& run) {
  const nlohmann::json manifest = read_manifest(run);
  std::vector<std::string> overrides;
  if (manifest.is_null()) {
    return overrides;
  }
  for (const auto& [key, prefix] : {std::pair{"overrides", ""}, std::pair{"removed_keys", "-"}}) {
    if (manifest.contains(key) && manifest[key].is_array()) {
      for (const auto& entry : manifest[key]) {
        if (entry.is_string()) {
          overrides.push_back(prefix + entry.get<std::string>());
        }
      }
    }
  }
  return overrides;
}

CheckpointChoice find_checkpoint(const fs::path& file) {
  std::error_code error;
  if (fs::is_regular_file(file, error)) {
    return {file, run_overrides(file.parent_path().parent_path()), {}};
  }
  if (!fs::is_directory(file, error)) {
    return {};
  }
  if (fs::is_regular_file(file / kCheckpoint, error)) {
    return {file / kCheckpoint, run_overrides(file), {}};
  }
  std::vector<fs::path> runs;
  for (const auto& entry : fs::directory_iterator(file, error)) {
    if (entry.is_directory(error) && completed_run_with_checkpoint(entry.path())) {
      runs.push_back(entry.path());
    }
  }
  if (runs.empty()) {
    return {};
  }
  // Run folders are named by UTC time, so the greatest name is the newest.
  std::sort(runs.begin(), runs.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename() > b.filename();
  });
  CheckpointChoice choice;
  for (const fs::path& run : runs) {
    std::vector<std::string> overrides = run_overrides(run);
    if (overrides.empty()) {
      choice.checkpoint = run / kCheckpoint;
      return choice;
    }
    choice.passed_over.push_back(run);
  }
  return {runs.front() / kCheckpoint, run_overrides(runs.front()), {}};
}

namespace {

// Describes the run folders directly in `folder` that have a manifest, such as "2 runs (failed,
// running)", or returns "" when there are none.
std::string describe_unfinished_runs(const fs::path& folder) {
  std::error_code error;
  std::vector<std::string> statuses;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const std::string status = run_status(entry.path());
    if (!status.empty()) {
      statuses.push_back(status == "completed" ? "completed without a checkpoint" : status);
    }
  }
  if (statuses.empty()) {
    return "";
  }
  std::sort(statuses.begin(), statuses.end());
  return fmt::format(
      "{} run{} ({})", statuses.size(), statuses.size() == 1 ? "" : "s", fmt::join(statuses, ", "));
}

class LoadStep final : public Step {
 public:
  explicit LoadStep(const Parameters& parameters) : file_(parameters.get_string("file")) {}

  void run(RunContext& context) override {
    GenerativeModel& model = require_neocortex(context, "load");
    std::error_code error;
    if (!fs::exists(file_, error)) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (load): '{}' not found (relative paths start at the working "
          "directory, '{}'); {}",
          context.scenario.file.string(),
          context.step_number,
          file_.string(),
          fs::current_path(error).string(),
          how_to_fix(context.step_number)));
    }
    const CheckpointChoice choice = find_checkpoint(file_);
    const fs::path& checkpoint = choice.checkpoint;
    const std::string unfinished = checkpoint.empty() && fs::is_directory(file_, error)
        ? describe_unfinished_runs(file_)
        : std::string();
    if (!unfinished.empty()) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (load): '{}' contains {}, but none completed with {}; {}",
          context.scenario.file.string(),
          context.step_number,
          file_.string(),
          unfinished,
          kCheckpoint,
          how_to_fix(context.step_number)));
    }
    if (checkpoint.empty()) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (load): '{}' is not a checkpoint, a run folder with {}, or a "
          "folder of such runs; {}",
          context.scenario.file.string(),
          context.step_number,
          file_.string(),
          kCheckpoint,
          how_to_fix(context.step_number)));
    }
    if (fs::is_regular_file(file_ / kCheckpoint, error) && run_status(file_) != "completed") {
      spdlog::warn(
          "step {} (load): the run '{}' did not complete, so its checkpoint is the model after "
          "its last complete epoch",
          context.step_number,
          file_.string());
    }
    if (!choice.passed_over.empty()) {
      std::vector<std::string> names;
      for (const fs::path& run : choice.passed_over) {
        names.push_back(run.filename().string());
      }
      spdlog::info(
          "step {} (load): passed over {} newer run{} made with --set ({}); set steps.{}.file to "
          "a run folder to load it",
          context.step_number,
          names.size(),
          names.size() == 1 ? "" : "s",
          fmt::join(names, ", "),
          context.step_number);
    }
    if (!choice.overrides.empty()) {
      spdlog::warn(
          "step {} (load): '{}' comes from a run made with --set {}",
          context.step_number,
          checkpoint.string(),
          fmt::join(choice.overrides, " "));
    }
    model.load(checkpoint.string());
    context.summary["load"] = {
        {"file", fs::absolute(checkpoint).lexically_normal().string()},
        {"overrides", choice.overrides},
    };
    spdlog::info("loaded the neocortex from '{}'", checkpoint.string());
  }

 private:
  // Returns the end of an error message: how to make the model this step loads, or where else
  // to point the step. A scenario's runs go to runs/<its name>, so `file` of that form names the
  // scenario to run.
  std::string how_to_fix(std::size_t step_number) const {
    const fs::path folder = file_.filename().empty() ? file_.parent_path() : file_;
    const std::string scenario = folder.parent_path().filename() == "runs"
        ? fmt::format(" (the one whose [scenario] name is '{}')", folder.filename().string())
        : std::string();
    return fmt::format(
        "run the scenario that trains the model to its end first{}, or set steps.{}.file to a "
        "run folder or checkpoint",
        scenario,
        step_number);
  }

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
              "folders such as runs/shapes3d-consolidation (the newest completed run made "
              "without --set, else the newest); relative to the working directory"),
      },
      [](const Parameters& parameters) { return std::make_unique<LoadStep>(parameters); },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        if (scenario.steps[index].parameters.get_string("file").empty()) {
          return "has no file; set file to a checkpoint or a run folder";
        }
        return "";
      },
  };
}

}  // namespace genmem
