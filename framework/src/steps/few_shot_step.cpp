// Few-shot semantic decoding by layer: how well a classifier fitted on a few labelled examples
// decodes the label from the raw images, from each intermediate layer of the neocortex's encoder,
// and from its latent means.

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/svm_classifier.hpp"
#include "interrupt.hpp"
#include "outputs/charts.hpp"
#include "progress.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

constexpr const char* kInput = "input";
constexpr const char* kLatent = "latent_mean";

// The layers in encoder order: the input, the model's intermediate layers by name, the latent.
std::vector<std::string> layer_order(const std::map<std::string, at::Tensor>& layers) {
  std::vector<std::string> order;
  if (layers.count(kInput) != 0) {
    order.emplace_back(kInput);
  }
  for (const auto& [name, activation] : layers) {
    if (name != kInput && name != kLatent) {
      order.push_back(name);
    }
  }
  if (layers.count(kLatent) != 0) {
    order.emplace_back(kLatent);
  }
  return order;
}

class FewShotStep final : public Step {
 public:
  explicit FewShotStep(const Parameters& parameters)
      : sizes_(parameters.get_int_list("sizes")), test_items_(parameters.get_int("test_items")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "few_shot");
    const Dataset& train = context.data.train;
    const Dataset& test = context.data.test;
    const std::int64_t largest = *std::max_element(sizes_.begin(), sizes_.end());
    if (largest > train.images.size(0)) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (few_shot): the largest size is {} examples, but the training "
          "set has {} images; raise [data] train_items or lower sizes",
          context.scenario.file.string(),
          context.step_number,
          largest,
          train.images.size(0)));
    }
    const std::int64_t scored =
        test_items_ == 0 ? test.images.size(0) : std::min(test_items_, test.images.size(0));

    // The examples are the first `size` training images in split order, not balanced by class,
    // as in the analysis of Spens and Burgess (2024).
    std::map<std::string, at::Tensor> train_layers =
        model.representations(train.images.slice(0, 0, largest));
    std::map<std::string, at::Tensor> test_layers =
        model.representations(test.images.slice(0, 0, scored));
    train_layers[kInput] = train.images.slice(0, 0, largest).flatten(1);
    test_layers[kInput] = test.images.slice(0, 0, scored).flatten(1);
    train_layers[kLatent] = model.encode(train.images.slice(0, 0, largest)).mean;
    test_layers[kLatent] = model.encode(test.images.slice(0, 0, scored)).mean;
    const at::Tensor test_labels = test.labels.slice(0, 0, scored);

    std::vector<LineSeries> lines;
    std::string csv = "layer,features,examples,accuracy\n";
    nlohmann::json table = nlohmann::json::object();
    const std::vector<std::string> layers = layer_order(train_layers);
    ProgressBar progress(
        "few-shot", static_cast<std::int64_t>(layers.size() * sizes_.size()), "classifiers");
    for (const std::string& layer : layers) {
      LineSeries line{layer, {}, {}, {}};
      for (const std::int64_t size : sizes_) {
        throw_if_interrupted();
        const at::Tensor labels = train.labels.slice(0, 0, size);
        double accuracy = std::numeric_limits<double>::quiet_NaN();
        // A classifier needs two classes among the examples.
        if (std::get<0>(at::_unique(labels)).size(0) >= 2) {
          const SvmClassifier classifier(train_layers[layer].slice(0, 0, size), labels);
          accuracy = classifier.score(test_layers[layer], test_labels);
          line.x.push_back(static_cast<double>(size));
          line.y.push_back(accuracy);
        } else {
          spdlog::warn(
              "few_shot: the first {} training images have only one {}, so no classifier is "
              "fitted there; its accuracy is left empty (null in summary.json, nan in few_shot.csv)",
              size,
              train.label_name);
        }
        table[layer][std::to_string(size)] =
            std::isnan(accuracy) ? nlohmann::json() : nlohmann::json(accuracy);
        csv += fmt::format("{},{},{},{:.6g}\n", layer, train_layers[layer].size(1), size, accuracy);
        progress.clear();
        spdlog::info(
            "few-shot {} decoding from {} with {} examples: {:.3f}",
            train.label_name,
            layer,
            size,
            accuracy);
        progress.advance(1);
      }
      if (!line.x.empty()) {
        lines.push_back(std::move(line));
      }
    }

    // The latent code against the raw input over the sizes of 200 examples or fewer.
    double latent_sum = 0.0;
    double input_sum = 0.0;
    std::int64_t compared = 0;
    for (const std::int64_t size : sizes_) {
      const auto& latent = table[kLatent][std::to_string(size)];
      const auto& input = table[kInput][std::to_string(size)];
      if (size <= 200 && latent.is_number() && input.is_number()) {
        latent_sum += latent.get<double>();
        input_sum += input.get<double>();
        ++compared;
      }
    }

    auto& summary = context.summary["few_shot"];
    summary["label"] = train.label_name;
    summary["test_items"] = scored;
    summary["accuracy"] = table;
    if (compared > 0) {
      summary["mean_up_to_200"] = {
          {"latent_mean", latent_sum / static_cast<double>(compared)},
          {"input", input_sum / static_cast<double>(compared)},
      };
      summary["latent_beats_input_up_to_200"] = latent_sum > input_sum;
    }
    context.output.write("few_shot.csv", csv);
    if (!lines.empty()) {
      write_line_plot(
          context.output.file("figures/few_shot.png"),
          fmt::format("Decoding {} from each layer, {} test images", train.label_name, scored),
          "training examples",
          "accuracy",
          lines,
          /*log_x=*/true);
    }
  }

 private:
  std::vector<std::int64_t> sizes_;
  std::int64_t test_items_;
};

}  // namespace

StepKind few_shot_step_kind() {
  StepKind kind{
      "few_shot",
      "Decode the label from the input, each encoder layer and the latent means with classifiers "
      "fitted on few examples (few-shot learning by layer)",
      {
          int_list_parameter(
              "sizes",
              {10, 20, 50, 100, 200, 300, 400, 500, 1000},
              2,
              std::nullopt,
              "Numbers of training examples, the first in training-set order",
              "images"),
          int_parameter(
              "test_items",
              0,
              0,
              std::nullopt,
              "Test images scored, the first in test-set order; 0 means all",
              "images"),
      },
      [](const Parameters& parameters) { return std::make_unique<FewShotStep>(parameters); },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        const std::vector<std::int64_t> sizes = parameters.get_int_list("sizes");
        const std::int64_t largest = *std::max_element(sizes.begin(), sizes.end());
        const std::int64_t train_items = scenario.data.get_int("train_items");
        if (largest > train_items) {
          return fmt::format(
              "fits a classifier on {} examples, but [data] train_items is {}; raise train_items "
              "or lower sizes",
              largest,
              train_items);
        }
        const std::int64_t test_items = parameters.get_int("test_items");
        if (test_items > scenario.data.get_int("test_items")) {
          return fmt::format(
              "scores on {} test images, but [data] test_items is {}; lower test_items (0 means "
              "all)",
              test_items,
              scenario.data.get_int("test_items"));
        }
        return "";
      },
  };
  kind.figures = {
      {"few_shot",
       "Few-shot decoding: accuracy on the test images of classifiers fitted on N examples, from "
       "the input pixels, each encoder layer and the latent means."},
  };
  return kind;
}

}  // namespace genmem
