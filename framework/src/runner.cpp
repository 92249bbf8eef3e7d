#include "runner.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <genmem/error.hpp>

#include "data/datasets.hpp"
#include "guarded_models.hpp"
#include "interrupt.hpp"
#include "plugin_loader.hpp"
#include "report.hpp"
#include "scenario_schema.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

std::string utc_now() {
  return format_utc_now("%Y-%m-%dT%H:%M:%SZ");
}

struct LoadedModels {
  std::unique_ptr<AssociativeMemory> hippocampus;
  std::unique_ptr<GenerativeModel> neocortex;
  std::string hippocampus_plugin;
  nlohmann::json manifest = nlohmann::json::array();
};

// Loads the scenario's plugins and creates its models, logging each plugin when `announce`.
LoadedModels create_models(
    const Scenario& scenario, const ScenarioOverrides& overrides, bool announce = true) {
  PluginLoader loader(scenario_plugin_search_path(scenario, overrides));
  LoadedModels models;
  for (const auto& [role, spec] : scenario.models) {
    const LoadedPlugin& plugin = loader.load(spec.plugin);
    PluginContext context{
        spec.parameters, scenario.device, static_cast<std::uint64_t>(scenario.seed)};
    if (announce) {
      spdlog::info("{}: {} {} from {}", role, plugin.name, plugin.version, plugin.path.string());
    }
    if (role == kHippocampus) {
      models.hippocampus = create_memory(plugin, context);
      models.hippocampus_plugin = plugin.name + " " + plugin.version;
    } else {
      models.neocortex = create_generative_model(plugin, context);
    }
    models.manifest.push_back({
        {"role", role},
        {"plugin", plugin.name},
        {"version", plugin.version},
        {"file", plugin.path.string()},
    });
  }
  return models;
}

nlohmann::json base_manifest(
    const Scenario& scenario, const ScenarioOverrides& overrides, const nlohmann::json& plugins) {
  // Recorded as applied, so `--set 'a = 1'` reads a=1 for the load step's comparisons.
  std::vector<std::string> assignments;
  for (const std::string& assignment : overrides.assignments) {
    assignments.push_back(normalise_assignment(assignment));
  }
  return {
      {"scenario", scenario.name},
      {"scenario_file", fs::absolute(scenario.file).string()},
      {"genmem_version", GENMEM_VERSION},
      {"libtorch_version", TORCH_VERSION},
      {"compiler", GENMEM_COMPILER},
      {"seed", scenario.seed},
      // The --set assignments and the keys a comparison removed, which distinguish a run with
      // changed settings from a run of the scenario file as written (the load step prefers the
      // latter). --seed and --threads are recorded in `seed` and `threads`.
      {"overrides", assignments},
      {"removed_keys", overrides.removals},
      {"threads", scenario.threads},
      // How idle OpenMP threads wait changes the speed, not the results (see main.cpp).
      {"omp_wait_policy",
       std::getenv("OMP_WAIT_POLICY") != nullptr ? std::getenv("OMP_WAIT_POLICY") : ""},
      {"device", scenario.device},
      {"plugins", plugins},
      {"started", utc_now()},
      {"status", "running"},
  };
}

}  // namespace

Scenario prepare_scenario(const RunOptions& options) {
  Scenario scenario = load_scenario(options.scenario_file, options.overrides);
  if (options.seed) {
    scenario.seed = *options.seed;
  }
  if (options.threads) {
    if (*options.threads < 1 || *options.threads > kMaxThreads) {
      throw ConfigError(
          fmt::format("--threads must be 1 to {} (got {})", kMaxThreads, *options.threads));
    }
    scenario.threads = *options.threads;
  }
  if (scenario.device == "cuda" && !at::hasCUDA()) {
    throw ConfigError(fmt::format(
        "scenario '{}': device is \"cuda\", but this LibTorch {} was built without CUDA or sees no "
        "GPU; set device = \"cpu\" (--set scenario.device=cpu)",
        scenario.file.string(),
        TORCH_VERSION));
  }
  return scenario;
}

namespace {

// Throws ConfigError, before any step runs, when the data source's images differ in shape from
// the images the neocortex's architecture takes.
void check_images_fit_neocortex(const Scenario& scenario, const GenerativeModel* neocortex) {
  if (neocortex == nullptr) {
    return;
  }
  const std::vector<std::int64_t> expected = neocortex->image_shape();
  const std::string& source = scenario.data.get_string("source");
  const std::vector<std::int64_t> actual = source_image_shape(source);
  if (actual == expected) {
    return;
  }
  const auto& parameters = scenario.models.at(kNeocortex).parameters;
  const std::string architecture = parameters.contains("architecture")
      ? fmt::format(" (architecture '{}')", parameters.get_string("architecture"))
      : std::string();
  throw ConfigError(fmt::format(
      "scenario '{}': the neocortex{} takes images of shape {}, but the {} data's images are {}; "
      "choose models.neocortex.architecture to fit the data",
      scenario.file.string(),
      architecture,
      fmt::join(expected, "x"),
      source,
      fmt::join(actual, "x")));
}

// Returns "out of memory: 1.2 GB requested" from LibTorch's allocation message, which names the
// bytes it tried to allocate, or "out of memory" when the message has no size.
std::string describe_allocation_failure(const std::string& message) {
  constexpr std::string_view kTried = "you tried to allocate ";
  const auto at = message.find(kTried);
  if (at == std::string::npos) {
    return "out of memory";
  }
  const double bytes = std::strtod(message.c_str() + at + kTried.size(), nullptr);
  return bytes > 0.0 ? fmt::format("out of memory: {:.1f} GB requested", bytes / 1e9)
                     : "out of memory";
}

// Runs one step. An exception that is not genmem's own, such as LibTorch failing to allocate a
// tensor, becomes a one-line ModelError naming the step, without LibTorch's backtrace.
void run_step(Step& step, const std::string& kind, RunContext& context) {
  const auto where = [&] {
    return fmt::format(
        "scenario '{}' step {} ({})", context.scenario.file.string(), context.step_number, kind);
  };
  constexpr const char* kMemoryHint =
      "lower this step's sizes (such as cues, items or dim) or [data] train_items and "
      "test_items, or free memory";
  try {
    step.run(context);
  } catch (const ModelError& error) {
    // A plugin that ran out of memory: its message names the plugin, and the hint adds the fix.
    const std::string message = error.what();
    if (message.find("can't allocate memory") != std::string::npos
        && dynamic_cast<const TrainingDivergedError*>(&error) == nullptr) {
      throw ModelError(fmt::format("{}: {}; {}", where(), message, kMemoryHint));
    }
    throw;
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw ModelError(fmt::format("{}: out of memory; {}", where(), kMemoryHint));
  } catch (const std::exception& error) {
    const std::string message = first_line(error.what());
    if (message.find("can't allocate memory") != std::string::npos) {
      throw ModelError(
          fmt::format("{}: {}; {}", where(), describe_allocation_failure(message), kMemoryHint));
    }
    throw ModelError(fmt::format(
        "{}: {}; check the step's settings, and report it if they are valid", where(), message));
  }
}

// Gives a step's preflight a way to create a neocortex apart from the run's.
PreflightContext preflight_context(const Scenario& scenario, const ScenarioOverrides& overrides) {
  return {[&scenario, &overrides] {
    return create_models(scenario, overrides, /*announce=*/false).neocortex;
  }};
}

}  // namespace

void check_models(const Scenario& scenario, const ScenarioOverrides& overrides) {
  const LoadedModels models = create_models(scenario, overrides);
  check_images_fit_neocortex(scenario, models.neocortex.get());
}

std::vector<std::string> check_step_inputs(
    const Scenario& scenario, const ScenarioOverrides& overrides) {
  std::vector<std::string> problems;
  const PreflightContext context = preflight_context(scenario, overrides);
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    if (const auto& preflight = find_step_kind(scenario.steps[i].kind)->preflight; preflight) {
      try {
        preflight(scenario, i, context);
      } catch (const Error& error) {
        problems.emplace_back(error.what());
      }
    }
  }
  return problems;
}

RunOutcome run_scenario(const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const Scenario scenario = prepare_scenario(options);
  at::set_num_threads(static_cast<int>(scenario.threads));
  at::manual_seed(static_cast<std::uint64_t>(scenario.seed));
  spdlog::info(
      "scenario '{}' from {}: seed {}, {} thread{}",
      scenario.name,
      scenario.file.string(),
      scenario.seed,
      at::get_num_threads(),
      at::get_num_threads() == 1 ? "" : "s");

  // Inputs are checked before the run folder exists, so bad input leaves nothing behind. The
  // steps' own checks come before the data, which can take a while to read or render.
  LoadedModels models = create_models(scenario, options.overrides);
  check_images_fit_neocortex(scenario, models.neocortex.get());
  const PreflightContext checks = preflight_context(scenario, options.overrides);
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    if (const auto& preflight = find_step_kind(scenario.steps[i].kind)->preflight; preflight) {
      preflight(scenario, i, checks);
    }
  }
  DataSplit data =
      load_data(scenario.data, scenario.file, static_cast<std::uint64_t>(scenario.seed));
  spdlog::info(
      "data: {} training and {} test images of shape {}",
      data.train.images.size(0),
      data.test.images.size(0),
      fmt::format("{}", fmt::join(data.train.images.sizes().slice(1), "x")));

  const RunFolder folder = RunFolder::create(options.runs_root, scenario.name, options.output_dir);
  // The resolved scenario names the data folder actually read, so it runs from any folder.
  Scenario resolved = scenario;
  resolved.data.set("dir", fs::absolute(resolve_data_dir(scenario.data, scenario.file)).string());
  if (!scenario.data.get_string("file").empty()) {
    resolved.data.set(
        "file", fs::absolute(resolve_data_file(scenario.data, scenario.file)).string());
  }
  spdlog::info("writing results to {}", folder.path().string());
  folder.write("scenario.toml", format_scenario(resolved));
  nlohmann::json manifest = base_manifest(scenario, options.overrides, models.manifest);
  folder.write("manifest.json", manifest.dump(2) + "\n");

  RunContext context(scenario, folder, std::move(data));
  context.hippocampus = models.hippocampus.get();
  context.neocortex = models.neocortex.get();
  context.hippocampus_plugin = models.hippocampus_plugin;
  context.recompute_replays = options.recompute_replays;
  context.cache_roots = {options.runs_root};
  if (!options.output_dir.empty()) {
    context.cache_roots.push_back(fs::absolute(options.output_dir).parent_path());
  }

  const auto finish = [&](const std::string& status, const std::string& error) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    context.summary["scenario"] = scenario.name;
    context.summary["wall_seconds"] = seconds;
    folder.write("summary.json", context.summary.dump(2) + "\n");
    manifest["finished"] = utc_now();
    manifest["wall_seconds"] = seconds;
    manifest["status"] = status;
    if (!error.empty()) {
      manifest["error"] = error;
    }
    folder.write("manifest.json", manifest.dump(2) + "\n");
    return seconds;
  };
  // The report is a view of the saved files: failing to write it loses no result.
  const auto report = [&]() -> fs::path {
    try {
      return write_run_report(folder.path(), PlotRedraw::kReportPlots);
    } catch (const std::exception& error) {
      spdlog::warn(
          "the run's report was not written ({}); genmem report {} tries again",
          error.what(),
          folder.path().string());
      return {};
    }
  };

  const InterruptHandler interrupt_handler;
  try {
    for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
      throw_if_interrupted();
      const StepSpec& spec = scenario.steps[i];
      context.step_number = i + 1;
      spdlog::info("step {}/{}: {}", i + 1, scenario.steps.size(), spec.kind);
      const auto step = find_step_kind(spec.kind)->create(spec.parameters);
      run_step(*step, spec.kind, context);
    }
  } catch (const std::exception& error) {
    // The step's error is what the user needs; a failure to record it is only logged.
    try {
      const bool interrupted = dynamic_cast<const InterruptedError*>(&error) != nullptr;
      finish(interrupted ? "interrupted" : "failed", error.what());
      report();
    } catch (const std::exception& record_error) {
      spdlog::warn("could not record the failure in the run folder: {}", record_error.what());
    }
    throw;
  }
  const double seconds = finish("completed", "");
  spdlog::info("run finished in {:.1f} s; results in {}", seconds, folder.path().string());
  return {folder.path(), context.summary, seconds, report()};
}

}  // namespace genmem
