// The neocortex step: train the generative model, measuring it before the first epoch and after
// each one.

#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/metrics.hpp"
#include "analysis/svm_classifier.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

// Sets LibTorch's thread count for the life of the object when `threads` is positive, then
// restores the previous count.
class ThreadCount {
 public:
  explicit ThreadCount(std::int64_t threads) : previous_(at::get_num_threads()) {
    if (threads > 0) {
      at::set_num_threads(static_cast<int>(threads));
      spdlog::info("training with {} thread{}", threads, threads == 1 ? "" : "s");
    }
  }

  ~ThreadCount() { at::set_num_threads(previous_); }

  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int previous_;
};

// Returns the neocortex plugin's integer parameter `epochs`, if it has one. An early stop can end
// training before that epoch.
std::optional<std::int64_t> planned_epoch_count(const RunContext& context) {
  const auto model = context.scenario.models.find(kNeocortex);
  if (model == context.scenario.models.end() || !model->second.parameters.contains("epochs")) {
    return std::nullopt;
  }
  const ParameterValue& epochs = model->second.parameters.values().at("epochs");
  const auto* count = std::get_if<std::int64_t>(&epochs);
  return count != nullptr ? std::optional<std::int64_t>(*count) : std::nullopt;
}

struct Measurement {
  double reconstruction_error = std::nan("");
  double decoding_accuracy = std::nan("");
  /// Decoding accuracy of each generative factor the test set carries, by factor name.
  std::map<std::string, double> factor_accuracy;
  double seconds = 0.0;
};

class TrainStep final : public Step {
 public:
  explicit TrainStep(const Parameters& parameters)
      : source_(parameters.get_string("on")),
        measure_(parameters.get_bool("measure")),
        decode_factors_(parameters.get_bool("decode_factors")),
        decoding_{
            parameters.get_int("decoding_train"),
            parameters.get_int("decoding_test"),
            static_cast<std::uint64_t>(parameters.get_int("decoding_seed"))},
        threads_(parameters.get_int("threads")) {}

  void run(RunContext& context) override {
    GenerativeModel& model = require_neocortex(context, "train");
    const ThreadCount thread_count(threads_);
    const at::Tensor training_set = select_training_set(context);
    spdlog::info("training the neocortex on {} {}", training_set.size(0), source_);

    const fs::path checkpoint = context.output.file("checkpoints/neocortex.pt");
    std::int64_t last_good_epoch = -1;
    Measurement first;
    Measurement last;
    EpochReport last_report;

    // One progress bar per epoch over its images. It starts when the previous epoch's callback
    // ends, so its rate counts the first batch, and it is finished before the epoch's log line,
    // so on a terminal that line replaces it.
    // NOTE: a plugin that never calls on_batch leaves the bar at 0% for the whole epoch.
    const std::optional<std::int64_t> planned_epochs = planned_epoch_count(context);
    std::int64_t next_epoch = 1;
    std::optional<ProgressBar> epoch_progress;
    const auto start_epoch_progress = [&] {
      const std::string label = planned_epochs
          ? fmt::format("epoch {}/{}", next_epoch, *planned_epochs)
          : fmt::format("epoch {}", next_epoch);
      epoch_progress.emplace(label, training_set.size(0), "images");
    };
    const ProgressCallback on_batch = [&](std::int64_t done, std::int64_t /*total*/) {
      if (!epoch_progress) {
        start_epoch_progress();
      }
      epoch_progress->update(done);
    };

    auto on_epoch = [&](const EpochReport& report) {
      epoch_progress.reset();
      next_epoch = report.epoch + 1;
      const Measurement measurement = measure_ ? measure(context, model) : Measurement{};
      if (report.epoch == 0) {
        first = measurement;
      }
      last = measurement;
      last_report = report;
      std::vector<std::pair<std::string, double>> row = {
          {"epoch", static_cast<double>(report.epoch)},
          {"loss", report.loss},
          {"reconstruction", report.reconstruction},
          {"kl", report.kl},
          {"test_reconstruction_error", measurement.reconstruction_error},
          {"decoding_accuracy", measurement.decoding_accuracy},
      };
      for (const auto& [factor, accuracy] : measurement.factor_accuracy) {
        row.emplace_back("decoding_" + factor, accuracy);
      }
      row.emplace_back("seconds", report.seconds);
      row.emplace_back("measure_seconds", measurement.seconds);
      context.metrics.add_row(row);
      context.output.write("metrics.csv", context.metrics.to_csv());
      if (report.epoch > 0) {
        context.output.save_checkpoint(
            "neocortex.pt", [&](const std::string& path) { model.save(path); });
        last_good_epoch = report.epoch;
      }
      // With `measure = false` the test figures are not measured, and the log states that
      // instead of showing NaN.
      const std::string measured = measure_
          ? fmt::format(
              "test reconstruction error {:.2f}, decoding accuracy {:.3f}",
              measurement.reconstruction_error,
              measurement.decoding_accuracy)
          : std::string("test figures not measured (measure = false)");
      if (report.epoch == 0) {
        spdlog::info("before training: {}", measured);
      } else if (measure_) {
        spdlog::info(
            "epoch {}: loss {:.2f}, {} ({:.1f} s training, {:.1f} s measuring)",
            report.epoch,
            report.loss,
            measured,
            report.seconds,
            measurement.seconds);
      } else {
        spdlog::info("epoch {}: loss {:.2f} ({:.1f} s)", report.epoch, report.loss, report.seconds);
      }
      throw_if_interrupted();
      if (!planned_epochs || next_epoch <= *planned_epochs) {
        start_epoch_progress();
      }
      return EpochDecision::kContinue;
    };

    FitSummary fit;
    try {
      fit = model.fit(training_set, on_epoch, on_batch);
      // An early stop leaves the bar of an epoch that never ran.
      epoch_progress.reset();
    } catch (const TrainingDivergedError& error) {
      context.summary["training"]["diverged"] = true;
      const std::string kept = last_good_epoch > 0
          ? fmt::format(
              "the last good checkpoint, from epoch {}, is kept at '{}'",
              last_good_epoch,
              checkpoint.string())
          : std::string("no epoch completed, so there is no checkpoint");
      throw TrainingDivergedError(fmt::format("{}; {}", error.what(), kept));
    }

    auto& summary = context.summary["training"];
    summary["items"] = training_set.size(0);
    summary["source"] = source_;
    summary["epochs"] = fit.epochs;
    summary["stopped_early"] = fit.stopped_early;
    summary["final_loss"] = last_report.loss;
    if (measure_) {
      summary["decoding_accuracy_before"] = first.decoding_accuracy;
      summary["decoding_accuracy_after"] = last.decoding_accuracy;
      summary["reconstruction_error_before"] = first.reconstruction_error;
      summary["reconstruction_error_after"] = last.reconstruction_error;
      for (const auto& [factor, accuracy] : last.factor_accuracy) {
        summary["factor_decoding_before"][factor] = first.factor_accuracy.at(factor);
        summary["factor_decoding_after"][factor] = accuracy;
      }
    }
  }

 private:
  at::Tensor select_training_set(RunContext& context) const {
    if (source_ == "images") {
      return context.data.train.images;
    }
    if (!context.replays.defined()) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (train): there are no replays to train on; put a replay step "
          "before it, or set on = \"images\"",
          context.scenario.file.string(),
          context.step_number));
    }
    if (source_ == "nearest_memories") {
      if (!context.replayed_memory.defined()) {
        // Validation requires a replay step before this one, and that step keeps the patterns
        // for it, so this is reached only through a bug.
        throw std::logic_error(fmt::format(
            "scenario '{}' step {} (train): the last replay step kept no stored patterns, because "
            "it found no later train step with on = \"nearest_memories\"; report this as a bug",
            context.scenario.file.string(),
            context.step_number));
      }
      // Each replay is replaced by the stored pattern it ended nearest. The training set keeps
      // the replays' spread over the memories but none of their blends.
      const at::Tensor patterns = context.replayed_memory.index_select(0, context.replay_nearest);
      return patterns_to_images(patterns, context.replays.sizes().slice(1));
    }
    return context.replays;
  }

  // Reconstruction error on the held-out images, and how well their latent means decode the label.
  Measurement measure(RunContext& context, GenerativeModel& model) const {
    const auto start = std::chrono::steady_clock::now();
    at::NoGradGuard no_grad;
    const Dataset& test = context.data.test;
    const Encoding encoding = model.encode(test.images);
    Measurement measurement;
    measurement.reconstruction_error =
        reconstruction_error(test.images, model.decode(encoding.mean));
    measurement.decoding_accuracy = decoding_accuracy(encoding.mean, test.labels, decoding_);
    if (decode_factors_) {
      for (const auto& [factor, values] : test.factors) {
        measurement.factor_accuracy[factor] = decoding_accuracy(encoding.mean, values, decoding_);
      }
    }
    measurement.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return measurement;
  }

  std::string source_;
  bool measure_;
  bool decode_factors_;
  DecodingOptions decoding_;
  std::int64_t threads_;
};

}  // namespace

StepKind train_step_kind() {
  StepKind kind{
      "train",
      "Train the neocortex; measure it on held-out images before training and after each epoch",
      {
          choice_parameter(
              "on",
              "replays",
              {"replays", "images", "nearest_memories"},
              "Training set: the hippocampus's replays (the model), the images (a control), or "
              "for each replay the stored pattern it ended nearest (a control that keeps the "
              "replays' spread over the memories but not their blends)"),
          bool_parameter(
              "measure",
              true,
              "Measure test reconstruction error and semantic decoding accuracy every epoch"),
          bool_parameter(
              "decode_factors",
              true,
              "Also decode every generative factor the data carries (the Shapes3D sources' six "
              "factors), each into its own metrics column decoding_<factor>"),
          int_parameter(
              "decoding_train",
              200,
              2,
              std::nullopt,
              "Held-out latents the decoding classifier is fitted on",
              "items"),
          int_parameter(
              "decoding_test",
              750,
              1,
              std::nullopt,
              "Held-out latents the classifier is scored on",
              "items"),
          int_parameter(
              "decoding_seed",
              1,
              0,
              std::nullopt,
              "Seed of the split into fitting and scoring halves"),
          int_parameter(
              "threads",
              0,
              0,
              256,
              "LibTorch threads while training; 0 keeps [scenario] threads. Small networks can "
              "train faster on one thread than on two"),
      },
      [](const Parameters& parameters) { return std::make_unique<TrainStep>(parameters); },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        const std::string source = parameters.get_string("on");
        if (source != "images" && !has_step_before(scenario, index, "replay")) {
          return fmt::format(
              "trains on {}, but no replay step comes before it; add one, or set "
              "on = \"images\"",
              source == "replays" ? "replays"
                                  : "the stored patterns nearest its replays (on = "
                                    "\"nearest_memories\")");
        }
        // The decoding classifier is fitted on one half of the test items and scored on the other.
        const std::int64_t test_items = scenario.data.get_int("test_items");
        const std::int64_t fit = parameters.get_int("decoding_train");
        const std::int64_t score = parameters.get_int("decoding_test");
        if (parameters.get_bool("measure")
            && (fit > test_items / 2 || score > test_items - test_items / 2)) {
          return fmt::format(
              "fits the decoder on {} and scores it on {} latents, but each must fit in half of "
              "[data] test_items ({}); raise test_items to at least {} or lower the decoding sizes",
              fit,
              score,
              test_items,
              2 * std::max(fit, score));
        }
        return "";
      },
  };
  kind.figures = {
      {"training_curves",
       "Training curves: the mean training loss in each epoch and the test reconstruction error "
       "(left axis), and the accuracy of decoding each label from the latent means of test images "
       "(right axis). Epoch 0 is the untrained model."},
  };
  return kind;
}

}  // namespace genmem
