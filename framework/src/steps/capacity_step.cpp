// Capacity and robustness of the hippocampus: store N patterns, recall them from corrupted and
// half-occluded cues, and count how often recall ends nearest the cued pattern and how often it
// reproduces that pattern.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/metrics.hpp"
#include "interrupt.hpp"
#include "outputs/charts.hpp"
#include "progress.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

constexpr const char* kRandomBinary = "random_binary";
constexpr const char* kTrainingImages = "training_images";

// One way of damaging the cues: a fraction of values replaced, or the second half occluded.
struct Condition {
  std::string name;
  double corrupted_fraction = 0.0;
  bool occluded = false;
};

// Double factorial (2n - 3)!! for n >= 2.
double odd_double_factorial(std::int64_t n) {
  double product = 1.0;
  for (std::int64_t k = 2 * n - 3; k > 1; k -= 2) {
    product *= static_cast<double>(k);
  }
  return product;
}

// The number of random binary patterns that theory predicts the memory recalls without errors,
// where theory gives one that a plot can show: 0.138 D for the classical network (Amit, Gutfreund
// and Sompolinsky 1985) and D^(n-1) / (2 (2n-3)!! ln D) for a dense associative memory with a
// polynomial interaction of degree n (Krotov and Hopfield 2016). Models whose capacity grows
// exponentially with D get none.
std::optional<double> theory_capacity(const ModelSpec& model, std::int64_t dim) {
  const double d = static_cast<double>(dim);
  if (model.plugin == "classical_hopfield") {
    return 0.138 * d;
  }
  if (model.plugin == "dense_associative" && model.parameters.contains("interaction")
      && model.parameters.get_string("interaction") != "exponential"
      && model.parameters.contains("degree")) {
    const std::int64_t n = model.parameters.get_int("degree");
    if (n >= 2) {
      return std::pow(d, static_cast<double>(n - 1))
          / (2.0 * odd_double_factorial(n) * std::log(d));
    }
  }
  return std::nullopt;
}

class CapacityStep final : public Step {
 public:
  explicit CapacityStep(const Parameters& parameters)
      : patterns_(parameters.get_string("patterns")),
        dim_(parameters.get_int("dim")),
        sizes_(parameters.get_int_list("sizes")),
        cues_(parameters.get_int("cues")),
        corruptions_(parameters.get_float_list("corruptions")),
        occlusion_(parameters.get_bool("occlusion")),
        threshold_(parameters.get_float("threshold")),
        exact_error_(parameters.get_float("exact_error")),
        max_steps_(parameters.get_int("max_steps")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    AssociativeMemory& memory = require_hippocampus(context, "capacity");
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor all_patterns = make_patterns(context);
    const std::int64_t dim = all_patterns.size(1);
    // The step borrows the hippocampus: what it held before is stored again at the end.
    const at::Tensor earlier = memory.size() > 0 ? memory.patterns().clone() : at::Tensor();

    std::vector<Condition> conditions;
    for (const double fraction : corruptions_) {
      conditions.push_back(
          {fmt::format("corrupt_{}", static_cast<int>(std::lround(fraction * 100))),
           fraction,
           false});
    }
    if (occlusion_) {
      conditions.push_back({"occluded", 0.0, true});
    }

    RecallOptions options;
    if (max_steps_ > 0) {
      options.max_steps = max_steps_;
    }
    auto& summary = context.summary["capacity"][patterns_];
    summary["dim"] = dim;
    summary["sizes"] = sizes_;
    const std::optional<double> theory =
        theory_capacity(context.scenario.models.at(kHippocampus), dim);
    summary["theory_capacity"] = theory ? nlohmann::json(*theory) : nlohmann::json(nullptr);

    std::vector<LineSeries> curves;
    for (const auto& condition : conditions) {
      curves.push_back({condition.name, {}, {}, {}});
    }
    std::vector<std::vector<double>> exact_fractions(conditions.size());
    // One recall per size and condition. The bar is erased before each log line and drawn again
    // after it. Recalls from more stored patterns take longer, so the time left it shows, which
    // assumes the mean rate so far, is too short.
    ProgressBar progress(
        fmt::format("capacity {}", patterns_),
        static_cast<std::int64_t>(sizes_.size() * conditions.size()),
        "recalls");
    for (const std::int64_t size : sizes_) {
      throw_if_interrupted();
      const at::Tensor stored = all_patterns.narrow(0, 0, size);
      memory.clear();
      memory.store(stored);
      // Recall is scored against the patterns the memory returns, which a binary memory has
      // binarised.
      const at::Tensor memory_patterns = memory.patterns();
      // The cued patterns: all of them, or an evenly spread subset of `cues`.
      const std::int64_t count = std::min(size, cues_);
      const at::Tensor chosen =
          at::linspace(0, static_cast<double>(size - 1), count, at::kDouble).round().to(at::kLong);
      const at::Tensor targets = memory_patterns.index_select(0, chosen);

      for (std::size_t c = 0; c < conditions.size(); ++c) {
        const Condition& condition = conditions[c];
        const at::Tensor cues =
            damage(stored.index_select(0, chosen), condition, context.generator);
        const RecallResult result = memory.recall(cues, options);
        const at::Tensor nearest = nearest_pattern(result.states, memory_patterns);
        const double correct = nearest.eq(chosen).to(at::kDouble).mean().item<double>();
        const at::Tensor errors = (result.states - targets).abs().mean(1) / 2.0;
        const double error = errors.mean().item<double>();
        const double exact = (errors <= exact_error_).to(at::kDouble).mean().item<double>();
        const std::string key = std::to_string(size);
        summary["fraction_correct"][condition.name][key] = correct;
        summary["fraction_exact"][condition.name][key] = exact;
        summary["mean_error"][condition.name][key] = error;
        curves[c].x.push_back(static_cast<double>(size));
        curves[c].y.push_back(correct);
        exact_fractions[c].push_back(exact);
        context.metrics.add_row({
            {"capacity_size", static_cast<double>(size)},
            {"capacity_corrupted", condition.corrupted_fraction},
            {"capacity_occluded", condition.occluded ? 1.0 : 0.0},
            {"capacity_fraction_correct", correct},
            {"capacity_fraction_exact", exact},
            {"capacity_mean_error", error},
        });
        progress.clear();
        spdlog::info(
            "capacity ({}): N = {}, {}: {:.3f} recalled correctly, {:.3f} exactly, mean error "
            "{:.4f}",
            patterns_,
            size,
            condition.name,
            correct,
            exact,
            error);
        progress.advance(1);
      }
    }
    progress.finish();
    memory.clear();
    if (earlier.defined()) {
      memory.store(earlier);
    }

    for (std::size_t c = 0; c < conditions.size(); ++c) {
      summary["largest_n"][conditions[c].name] = largest_size_reaching(curves[c].y);
      summary["largest_n_exact"][conditions[c].name] = largest_size_reaching(exact_fractions[c]);
    }
    summary["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    if (theory && *theory >= static_cast<double>(sizes_.front())
        && *theory <= static_cast<double>(sizes_.back())) {
      curves.push_back({"theory", {*theory, *theory}, {0.0, 1.0}, {}});
    }
    write_line_plot(
        context.output.file(fmt::format("figures/capacity_{}.png", patterns_)),
        fmt::format(
            "{}: recall of {} patterns",
            context.scenario.models.at(kHippocampus).plugin,
            patterns_),
        "stored patterns N",
        "fraction recalled correctly",
        curves,
        /*log_x=*/true);
  }

 private:
  // The patterns to store, float32 [largest size, D] in [-1, 1].
  at::Tensor make_patterns(RunContext& context) {
    const std::int64_t largest = *std::max_element(sizes_.begin(), sizes_.end());
    if (patterns_ == kRandomBinary) {
      return at::randint(0, 2, {largest, dim_}, context.generator, at::kFloat).mul_(2).sub_(1);
    }
    const at::Tensor& images = context.data.train.images;
    if (largest > images.size(0)) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (capacity): the largest size is {} patterns, but the training "
          "set has {} images; raise [data] train_items or lower sizes",
          context.scenario.file.string(),
          context.step_number,
          largest,
          images.size(0)));
    }
    image_shape_ = images.sizes().slice(1).vec();
    return images.narrow(0, 0, largest).reshape({largest, -1}).mul(2).sub(1);
  }

  // Replaces a fraction of each cue's values by random ones: a random sign for binary patterns,
  // uniform on [-1, 1] for images. For occlusion it sets the lower half of each image, or the
  // second half of each random pattern, to -1 (black, the MNIST background).
  at::Tensor damage(
      const at::Tensor& targets, const Condition& condition, at::Generator& generator) const {
    if (condition.occluded) {
      at::Tensor cues = targets.clone();
      if (image_shape_.size() == 3) {
        // The lower half of every channel of each [C, H, W] image.
        const std::int64_t height = image_shape_[1];
        at::Tensor images = cues.view({cues.size(0), image_shape_[0], height, image_shape_[2]});
        images.narrow(2, height / 2, height - height / 2).fill_(-1.0);
        return cues;
      }
      const std::int64_t half = targets.size(1) / 2;
      cues.narrow(1, half, targets.size(1) - half).fill_(-1.0);
      return cues;
    }
    const at::Tensor mask = at::rand(targets.sizes(), generator) < condition.corrupted_fraction;
    at::Tensor noise = patterns_ == kRandomBinary
        ? at::randint(0, 2, targets.sizes(), generator, at::kFloat).mul_(2).sub_(1)
        : at::rand(targets.sizes(), generator).mul_(2).sub_(1);
    return at::where(mask, noise, targets);
  }

  // Returns the largest size whose fraction reaches the threshold, or 0 when none does.
  std::int64_t largest_size_reaching(const std::vector<double>& fractions) const {
    std::int64_t largest = 0;
    for (std::size_t i = 0; i < sizes_.size(); ++i) {
      if (fractions[i] >= threshold_) {
        largest = std::max(largest, sizes_[i]);
      }
    }
    return largest;
  }

  std::string patterns_;
  /// `[C, H, W]` of the stored images, or empty for random patterns.
  std::vector<std::int64_t> image_shape_;
  std::int64_t dim_;
  std::vector<std::int64_t> sizes_;
  std::int64_t cues_;
  std::vector<double> corruptions_;
  bool occlusion_;
  double threshold_;
  double exact_error_;
  std::int64_t max_steps_;
};

}  // namespace

StepKind capacity_step_kind() {
  StepKind kind{
      "capacity",
      "Store N patterns for each N and recall them from corrupted and half-occluded cues",
      {
          choice_parameter(
              "patterns",
              kRandomBinary,
              {kRandomBinary, kTrainingImages},
              "What to store: random +1/-1 patterns of length dim, or the first N training "
              "images scaled to [-1, 1]"),
          int_parameter("dim", 784, 1, std::nullopt, "Length of the random binary patterns"),
          int_list_parameter(
              "sizes",
              {10, 30, 100, 300, 1000, 3000, 10000},
              1,
              std::nullopt,
              "Numbers of stored patterns, rising",
              "patterns"),
          int_parameter(
              "cues",
              100,
              1,
              std::nullopt,
              "Cued patterns per size, spread evenly over the stored ones",
              "cues"),
          float_list_parameter(
              "corruptions",
              {0.1, 0.3, 0.5},
              0.0,
              1.0,
              "Fractions of each cue's values replaced by random ones"),
          bool_parameter(
              "occlusion",
              true,
              "Also recall from cues whose lower half (of each image channel) or second half (of a random "
              "pattern) is -1"),
          float_parameter(
              "threshold",
              0.9,
              0.0,
              1.0,
              "Fraction of cues that summary.json's largest_n (recalled correctly) and "
              "largest_n_exact (recalled exactly) require"),
          float_parameter(
              "exact_error",
              0.01,
              0.0,
              1.0,
              "Largest mean of |recalled - stored| / 2 per value at which a recall counts as "
              "exact; for +1/-1 patterns, the fraction of wrong signs"),
          int_parameter(
              "max_steps",
              0,
              0,
              std::nullopt,
              "Update steps per cue; 0 uses the memory's own max_steps",
              "steps"),
      },
      [](const Parameters& parameters) { return std::make_unique<CapacityStep>(parameters); },
      {kHippocampus},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        const auto sizes = parameters.get_int_list("sizes");
        if (sizes.empty()) {
          return "needs at least one size";
        }
        if (!std::is_sorted(sizes.begin(), sizes.end())
            || std::adjacent_find(sizes.begin(), sizes.end()) != sizes.end()) {
          return "has sizes that do not rise; list them from smallest to largest";
        }
        // Each corruption names its summary key by its rounded percentage, so those must differ.
        std::vector<long> percentages;
        for (const double fraction : parameters.get_float_list("corruptions")) {
          percentages.push_back(std::lround(fraction * 100));
        }
        std::sort(percentages.begin(), percentages.end());
        if (std::adjacent_find(percentages.begin(), percentages.end()) != percentages.end()) {
          return "has corruptions that round to the same percentage; give each a different "
                 "whole percentage, such as [0.1, 0.3, 0.5]";
        }
        if (parameters.get_string("patterns") == kTrainingImages) {
          const std::int64_t items = scenario.data.get_int("train_items");
          if (sizes.back() > items) {
            return fmt::format(
                "stores up to {} training images, but [data] train_items is {}; raise "
                "train_items or lower sizes",
                sizes.back(),
                items);
          }
        }
        return "";
      },
  };
  kind.figures = {
      {"capacity_*",
       "Capacity: fraction of cues recalled nearest their own stored pattern, against the number "
       "of stored patterns N, for each kind of cue corruption; a vertical line marks the "
       "theoretical capacity where one is known."},
  };
  return kind;
}

}  // namespace genmem
