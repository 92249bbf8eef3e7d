// The hippocampus steps: store the training images, and replay them from noise.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/metrics.hpp"
#include "outputs/image_grid.hpp"
#include "outputs/tensor_file.hpp"
#include "progress.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace fs = std::filesystem;

AssociativeMemory& require_hippocampus(RunContext& context, const char* step) {
  if (context.hippocampus == nullptr) {
    throw ConfigError(fmt::format(
        "scenario '{}' step {} ({}) needs a hippocampus; add a [models.hippocampus] table",
        context.scenario.file.string(),
        context.step_number,
        step));
  }
  return *context.hippocampus;
}

GenerativeModel& require_neocortex(RunContext& context, const char* step) {
  if (context.neocortex == nullptr) {
    throw ConfigError(fmt::format(
        "scenario '{}' step {} ({}) needs a neocortex; add a [models.neocortex] table",
        context.scenario.file.string(),
        context.step_number,
        step));
  }
  return *context.neocortex;
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Replays saved in a run folder: the recalled states, and each cue's steps and convergence.
constexpr const char* kReplayStatesFile = "replays/states.bin";
constexpr const char* kReplayStepsFile = "replays/steps.bin";

std::string tensor_hash(const at::Tensor& tensor) {
  const at::Tensor data = tensor.contiguous().cpu();
  return stable_hash(std::string_view(static_cast<const char*>(data.data_ptr()), data.nbytes()));
}

// What determines a replay step's result: the memory plugin and its settings, the stored
// patterns, the cues and the step count. Patterns and cues enter by content hash, so any change
// of data, seed or earlier steps gives a different key.
std::string replay_key(
    const RunContext& context,
    const AssociativeMemory& memory,
    const at::Tensor& cues,
    std::int64_t max_steps) {
  std::string key =
      fmt::format("genmem replays 1\nmemory plugin: {}\n", context.hippocampus_plugin);
  for (const auto& [name, value] : context.scenario.models.at(kHippocampus).parameters.values()) {
    key += fmt::format("memory {}: {}\n", name, format_parameter_value(value));
  }
  const at::Tensor patterns = memory.patterns();
  key += fmt::format(
      "stored patterns: {} x {}, hash {}\ncues: {} x {}, hash {}\nmax_steps: {}\n",
      patterns.size(0),
      patterns.size(1),
      tensor_hash(patterns),
      cues.size(0),
      cues.size(1),
      tensor_hash(cues),
      max_steps);
  return key;
}

struct SavedReplays {
  at::Tensor states;
  at::Tensor steps_and_converged;
  fs::path folder;
};

// Looks for a run folder one or two levels below each cache root whose replays were saved under
// `key`, with states of `shape`. A damaged file is reported and skipped.
std::optional<SavedReplays> find_saved_replays(
    const std::vector<fs::path>& roots,
    const fs::path& own_folder,
    const std::string& key,
    at::IntArrayRef shape) {
  std::vector<fs::path> candidates;
  for (const fs::path& root : roots) {
    std::error_code error;
    for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
         it.increment(error)) {
      if (it.depth() >= 1) {
        it.disable_recursion_pending();
      }
      if (it->is_directory(error) && fs::exists(it->path() / kReplayStatesFile, error)
          && !fs::equivalent(it->path(), own_folder, error)) {
        candidates.push_back(it->path());
      }
    }
  }
  // Reverse path order puts the newest run of each scenario first, because run folder names are
  // UTC times.
  std::sort(candidates.rbegin(), candidates.rend());
  for (const fs::path& folder : candidates) {
    try {
      std::optional<at::Tensor> states = read_tensor_file(folder / kReplayStatesFile, key);
      if (!states) {
        continue;
      }
      std::optional<at::Tensor> steps = read_tensor_file(folder / kReplayStepsFile, key);
      if (states->sizes() != shape || !steps || steps->dim() != 2
          || steps->size(1) != states->size(0)) {
        spdlog::warn(
            "replays in '{}' do not match their key's sizes; not reusing them", folder.string());
        continue;
      }
      return SavedReplays{*states, *steps, folder};
    } catch (const IoError& error) {
      spdlog::warn(
          "{}; not reusing those replays (delete that run's replays/ folder to stop this warning)",
          error.what());
    }
  }
  return std::nullopt;
}

// Hard-links the reused replay files into this run, so the run stays complete if the earlier run
// is deleted. Copies them where the file system cannot link.
void link_saved_replays(const fs::path& from, const RunFolder& output) {
  std::error_code error;
  fs::create_directories(output.file("replays"), error);
  for (const char* name : {kReplayStatesFile, kReplayStepsFile}) {
    fs::create_hard_link(from / name, output.file(name), error);
    if (error) {
      fs::copy_file(from / name, output.file(name), fs::copy_options::overwrite_existing, error);
    }
    if (error) {
      spdlog::warn("could not keep a copy of '{}' in this run", (from / name).string());
    }
  }
}

// How the replays spread over the values of one label or factor of the stored patterns.
struct ReplaySpread {
  /// Share of the replays that end nearest a stored pattern with each value.
  std::vector<double> fractions;
  /// Total variation distance from the stored patterns' shares: 0 when the replays reach each
  /// value as often as it was stored, 1 when they never reach a stored value.
  double bias = 0.0;
};

// Returns how the replays that end nearest the stored patterns `nearest` spread over `values`,
// the int64 value of each stored pattern, counting at least `levels` values.
ReplaySpread replay_spread(
    const at::Tensor& values, const at::Tensor& nearest, std::int64_t levels) {
  if (values.numel() > 0) {
    levels = std::max(levels, values.max().item<std::int64_t>() + 1);
  }
  const at::Tensor replayed = at::bincount(values.index_select(0, nearest), {}, levels)
                                  .to(at::kDouble)
                                  .div_(static_cast<double>(nearest.size(0)));
  const at::Tensor stored =
      at::bincount(values, {}, levels).to(at::kDouble).div_(static_cast<double>(values.size(0)));
  return {
      std::vector<double>(
          replayed.data_ptr<double>(), replayed.data_ptr<double>() + replayed.numel()),
      0.5 * (replayed - stored).abs().sum().item<double>()};
}

class StoreStep final : public Step {
 public:
  explicit StoreStep(const Parameters& parameters)
      : items_(parameters.get_int("items")), checkpoint_(parameters.get_bool("checkpoint")) {}

  void run(RunContext& context) override {
    AssociativeMemory& memory = require_hippocampus(context, "store");
    const at::Tensor& images = context.data.train.images;
    const std::int64_t count = items_ == 0 ? images.size(0) : items_;
    if (count > images.size(0)) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (store): items is {}, but [data] train_items is only {}; lower "
          "items or raise train_items",
          context.scenario.file.string(),
          context.step_number,
          count,
          images.size(0)));
    }

    const auto start = std::chrono::steady_clock::now();
    memory.store(images_to_patterns(images.slice(0, 0, count)));
    const at::Tensor labels = context.data.train.labels.slice(0, 0, count);
    const bool first_store = !context.stored_labels.defined();
    context.stored_labels = first_store ? labels.clone() : at::cat({context.stored_labels, labels});
    // Factors are kept only while every store had them, so they always cover every pattern.
    std::map<std::string, at::Tensor> factors;
    for (const auto& [name, values] : context.data.train.factors) {
      const at::Tensor added = values.slice(0, 0, count);
      if (first_store) {
        factors[name] = added.clone();
      } else if (const auto earlier = context.stored_factors.find(name);
                 earlier != context.stored_factors.end()) {
        factors[name] = at::cat({earlier->second, added});
      }
    }
    context.stored_factors = std::move(factors);
    context.summary["stored_patterns"] = memory.size();
    spdlog::info(
        "stored {} patterns of dimension {} in {:.2f} s",
        count,
        memory.pattern_dim(),
        seconds_since(start));

    if (checkpoint_) {
      context.output.save_checkpoint(
          "hippocampus.pt", [&](const std::string& path) { memory.save(path); });
    }
  }

 private:
  std::int64_t items_;
  bool checkpoint_;
};

// Returns whether a step after the current one trains on the stored patterns nearest the
// replays (`on = "nearest_memories"`).
bool later_step_trains_on_nearest(const RunContext& context) {
  const std::vector<StepSpec>& steps = context.scenario.steps;
  const std::size_t next = std::min(context.step_number, steps.size());
  return std::any_of(
      steps.begin() + static_cast<std::ptrdiff_t>(next), steps.end(), [](const StepSpec& step) {
        return step.kind == "train" && step.parameters.get_string("on") == "nearest_memories";
      });
}

class ReplayStep final : public Step {
 public:
  explicit ReplayStep(const Parameters& parameters)
      : cues_(parameters.get_int("cues")),
        noise_(parameters.get_string("noise")),
        max_steps_(parameters.get_int("max_steps")),
        figure_items_(parameters.get_int("figure_items")),
        cache_(parameters.get_bool("cache")) {}

  void run(RunContext& context) override {
    AssociativeMemory& memory = require_hippocampus(context, "replay");
    if (memory.size() == 0) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (replay): the hippocampus is empty; put a store step before it",
          context.scenario.file.string(),
          context.step_number));
    }

    // Cues are pure noise in pattern space: uniform on [-1, 1] as in the original, or N(0, 1).
    const std::int64_t dim = memory.pattern_dim();
    at::Tensor cues = noise_ == "uniform"
        ? at::rand({cues_, dim}, context.generator, at::kFloat).mul_(2.0).sub_(1.0)
        : at::randn({cues_, dim}, context.generator, at::kFloat);

    RecallOptions options;
    if (max_steps_ > 0) {
      options.max_steps = max_steps_;
    }
    const auto start = std::chrono::steady_clock::now();
    RecallResult result;
    std::optional<SavedReplays> saved;
    std::string key;
    if (cache_) {
      key = replay_key(context, memory, cues, max_steps_);
      if (context.recompute_replays) {
        spdlog::info("recomputing the replays (--recompute-replays)");
      } else {
        saved = find_saved_replays(context.cache_roots, context.output.path(), key, cues.sizes());
      }
    }
    if (saved) {
      result.states = saved->states;
      result.steps = saved->steps_and_converged[0];
      result.converged = saved->steps_and_converged[1].to(at::kBool);
      link_saved_replays(saved->folder, context.output);
      spdlog::info(
          "reusing the replays of '{}', saved with identical memory, data and replay settings; "
          "pass --recompute-replays to recompute them",
          saved->folder.string());
    } else {
      ProgressBar progress("replay", cues_, "cues");
      options.on_progress = [&](std::int64_t done, std::int64_t /*total*/) {
        progress.update(done);
      };
      result = memory.recall(cues, options);
      progress.finish();
      if (cache_) {
        std::error_code error;
        fs::create_directories(context.output.file("replays"), error);
        write_tensor_file(context.output.file(kReplayStatesFile), key, result.states);
        write_tensor_file(
            context.output.file(kReplayStepsFile),
            key,
            at::stack({result.steps.to(at::kLong), result.converged.to(at::kLong)}));
      }
    }
    const double seconds = seconds_since(start);

    // Which stored memory each replay landed nearest to, and how the replays spread over classes.
    const at::Tensor stored = memory.patterns();
    const at::Tensor nearest = nearest_pattern(result.states, stored);
    const std::int64_t distinct = std::get<0>(at::_unique(nearest)).size(0);
    const double mean_distance =
        (result.states - stored.index_select(0, nearest)).norm(2, {1}).mean().item<double>();
    const at::IntArrayRef image_shape = context.data.train.images.sizes().slice(1);
    context.replays = patterns_to_images(result.states, image_shape);
    context.replay_nearest = nearest;
    // The handle keeps the stored patterns alive after a later step clears the hippocampus, so
    // it is kept only when a later step trains on them.
    context.replayed_memory = later_step_trains_on_nearest(context) ? stored : at::Tensor();

    auto& summary = context.summary["replay"];
    summary["cues"] = cues_;
    summary["distinct_memories"] = distinct;
    summary["mean_distance_to_nearest_memory"] = mean_distance;
    summary["mean_steps"] = result.steps.to(at::kDouble).mean().item<double>();
    summary["converged_fraction"] = result.converged.to(at::kDouble).mean().item<double>();
    summary["seconds"] = seconds;
    summary["reused_from"] = saved ? saved->folder.string() : "";
    const ReplaySpread classes =
        replay_spread(context.stored_labels, nearest, context.data.train.num_classes);
    summary["class_fractions"] = classes.fractions;
    summary["class_bias"] = classes.bias;
    // The same for each generative factor of the stored patterns, such as the Shapes3D hues.
    for (const auto& [name, values] : context.stored_factors) {
      if (values.size(0) != memory.size()) {
        break;
      }
      const ReplaySpread factor = replay_spread(values, nearest, 0);
      summary["factor_fractions"][name] = factor.fractions;
      summary["factor_bias"][name] = factor.bias;
    }
    spdlog::info(
        "replayed {} noise cues in {:.1f} s: {} distinct stored memories reached, mean {:.1f} steps",
        cues_,
        seconds,
        distinct,
        summary["mean_steps"].get<double>());

    const std::int64_t shown = std::min(figure_items_, cues_);
    if (shown > 0) {
      const at::Tensor inputs = patterns_to_images(cues.slice(0, 0, shown), image_shape);
      write_image_grid(
          context.output.file("figures/replay.png"),
          at::cat({inputs, context.replays.slice(0, 0, shown)}),
          shown);
    }
  }

 private:
  std::int64_t cues_;
  std::string noise_;
  std::int64_t max_steps_;
  std::int64_t figure_items_;
  bool cache_;
};

}  // namespace

StepKind store_step_kind() {
  return {
      "store",
      "Store the training images in the hippocampus as patterns 2x - 1",
      {
          int_parameter(
              "items",
              0,
              0,
              std::nullopt,
              "Images to store; 0 stores all [data] train_items",
              "images"),
          bool_parameter(
              "checkpoint", false, "Save the memory to checkpoints/hippocampus.pt after storing"),
      },
      [](const Parameters& parameters) { return std::make_unique<StoreStep>(parameters); },
      {kHippocampus},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const std::int64_t items = scenario.steps[index].parameters.get_int("items");
        const std::int64_t available = scenario.data.get_int("train_items");
        if (items > available) {
          return fmt::format(
              "stores {} items, but [data] train_items is {}; lower items or raise train_items",
              items,
              available);
        }
        return "";
      },
  };
}

StepKind replay_step_kind() {
  StepKind kind{
      "replay",
      "Recall from pure-noise cues; the results become the neocortex's training set",
      {
          int_parameter("cues", 10000, 1, std::nullopt, "Noise cues to recall from", "cues"),
          choice_parameter(
              "noise",
              "uniform",
              {"uniform", "gaussian"},
              "Cue distribution: uniform on [-1, 1] (the original) or standard normal"),
          int_parameter(
              "max_steps",
              0,
              0,
              std::nullopt,
              "Update steps per cue; 0 uses the memory's own max_steps",
              "steps"),
          int_parameter(
              "figure_items", 10, 0, 100, "Cue and replay pairs drawn in figures/replay.png"),
          bool_parameter(
              "cache",
              true,
              "Save the replays in the run folder (replays/) and reuse those of an earlier run "
              "whose memory, stored patterns, cues and steps were identical"),
      },
      [](const Parameters& parameters) { return std::make_unique<ReplayStep>(parameters); },
      {kHippocampus},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        return has_step_before(scenario, index, "store")
            ? ""
            : "recalls from an empty hippocampus; put a store step before it";
      },
  };
  kind.figures = {
      {"replay",
       "Replay: uniform-noise cues (top row) and the states the hippocampus recalls from them "
       "(bottom row)."},
  };
  return kind;
}

}  // namespace genmem
