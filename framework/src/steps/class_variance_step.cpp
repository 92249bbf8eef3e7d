// The prototypical-distortion measure: within each class, how much the test images vary pixel by
// pixel, and how much the neocortex's reconstructions of them vary. Reconstructions that vary
// less are pulled toward the class prototype.

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/statistics.hpp"
#include "outputs/charts.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

std::vector<double> to_vector(const at::Tensor& tensor) {
  const at::Tensor values = tensor.to(at::kDouble).contiguous();
  return {values.data_ptr<double>(), values.data_ptr<double>() + values.numel()};
}

nlohmann::json describe(const std::vector<double>& variances) {
  double sem = 0.0;
  const double mean = mean_and_sem(variances, sem);
  const BoxStats box = box_stats(variances, 10.0, 90.0);
  return {
      {"mean", mean},
      {"sem", sem},
      {"p10", box.whisker_low},
      {"q1", box.q1},
      {"median", box.median},
      {"q3", box.q3},
      {"p90", box.whisker_high},
  };
}

class ClassVarianceStep final : public Step {
 public:
  explicit ClassVarianceStep(const Parameters& parameters)
      : per_class_(parameters.get_int("per_class")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "class_variance");
    const Dataset& test = context.data.test;
    // One pass without noise: the reconstruction of each image from its latent mean.
    const at::Tensor outputs = model.decode(model.encode(test.images).mean);

    std::vector<std::string> categories;
    std::vector<double> all_inputs;
    std::vector<double> all_outputs;
    BarSeries input_bars{"inputs", {}, {}};
    BarSeries output_bars{"outputs", {}, {}};
    BoxSeries input_boxes{"inputs", {}};
    BoxSeries output_boxes{"outputs", {}};
    nlohmann::json classes = nlohmann::json::array();
    std::string csv = "class,source,mean,sem,p10,q1,median,q3,p90\n";
    bool every_class_less_variable = true;

    for (std::int64_t label = 0; label < test.num_classes; ++label) {
      const at::Tensor members = test.labels.eq(label).nonzero().squeeze(1);
      if (members.size(0) < per_class_) {
        throw ConfigError(fmt::format(
            "scenario '{}' step {} (class_variance): the test set has only {} images of {} {}, "
            "but per_class is {}; raise [data] test_items or lower per_class",
            context.scenario.file.string(),
            context.step_number,
            members.size(0),
            test.label_name,
            label,
            per_class_));
      }
      // The first `per_class` members in test-set order, as the analysis of Spens and Burgess
      // (2024) took them.
      const at::Tensor chosen = members.slice(0, 0, per_class_);
      const auto pixel_variance = [&](const at::Tensor& images) {
        return to_vector(
            images.index_select(0, chosen).reshape({per_class_, -1}).var(0, /*unbiased=*/false));
      };
      const std::vector<double> inputs = pixel_variance(test.images);
      const std::vector<double> reconstructions = pixel_variance(outputs);
      all_inputs.insert(all_inputs.end(), inputs.begin(), inputs.end());
      all_outputs.insert(all_outputs.end(), reconstructions.begin(), reconstructions.end());

      const nlohmann::json input_stats = describe(inputs);
      const nlohmann::json output_stats = describe(reconstructions);
      every_class_less_variable = every_class_less_variable
          && output_stats["mean"].get<double>() < input_stats["mean"].get<double>();
      classes.push_back({{"class", label}, {"inputs", input_stats}, {"outputs", output_stats}});
      for (const auto& [source, stats] :
           {std::pair{"input", input_stats}, std::pair{"output", output_stats}}) {
        csv += fmt::format(
            "{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n",
            label,
            source,
            stats["mean"].get<double>(),
            stats["sem"].get<double>(),
            stats["p10"].get<double>(),
            stats["q1"].get<double>(),
            stats["median"].get<double>(),
            stats["q3"].get<double>(),
            stats["p90"].get<double>());
      }

      categories.push_back(std::to_string(label));
      input_bars.values.push_back(input_stats["mean"].get<double>());
      input_bars.errors.push_back(input_stats["sem"].get<double>());
      output_bars.values.push_back(output_stats["mean"].get<double>());
      output_bars.errors.push_back(output_stats["sem"].get<double>());
      input_boxes.boxes.push_back(box_stats(inputs, 10.0, 90.0));
      output_boxes.boxes.push_back(box_stats(reconstructions, 10.0, 90.0));
    }

    const PairedTTest t_test = paired_t_test(all_inputs, all_outputs);
    auto& summary = context.summary["class_variance"];
    summary["per_class"] = per_class_;
    summary["classes"] = classes;
    summary["outputs_less_variable_for_every_class"] = every_class_less_variable;
    summary["t_test"] = {
        {"pairs", t_test.pairs},
        {"mean_difference", t_test.mean_difference},
        {"t", t_test.t},
        {"degrees_of_freedom", t_test.degrees_of_freedom},
        {"p_value", t_test.p_value},
        {"ci95_low", t_test.ci_low},
        {"ci95_high", t_test.ci_high},
        {"cohens_d", t_test.cohens_d},
    };
    context.output.write("class_variance.csv", csv);

    const std::string title = fmt::format(
        "Per-pixel variance within each {} ({} images each)", test.label_name, per_class_);
    write_bar_chart(
        context.output.file("figures/class_variance_bars.png"),
        title + ", mean and SEM",
        "variance",
        categories,
        {input_bars, output_bars});
    write_box_plot(
        context.output.file("figures/class_variance_box.png"),
        title + ", whiskers at 10th and 90th percentiles",
        "variance",
        categories,
        {input_boxes, output_boxes});
    spdlog::info(
        "within-class pixel variance, outputs minus inputs: mean {:.4g} (95% CI {:.4g} to {:.4g}), "
        "t({}) = {:.2f}, p = {:.3g}, Cohen's d = {:.2f}; outputs less variable for every {}: {}",
        t_test.mean_difference,
        t_test.ci_low,
        t_test.ci_high,
        static_cast<std::int64_t>(t_test.degrees_of_freedom),
        t_test.t,
        t_test.p_value,
        t_test.cohens_d,
        test.label_name,
        every_class_less_variable ? "yes" : "no");
  }

 private:
  std::int64_t per_class_;
};

}  // namespace

StepKind class_variance_step_kind() {
  StepKind kind{
      "class_variance",
      "Per-pixel variance within each class of the test images and of their reconstructions, "
      "with a paired t-test (prototypical distortion)",
      {
          int_parameter(
              "per_class",
              500,
              2,
              std::nullopt,
              "Test images of each class, the first in test-set order",
              "images"),
      },
      [](const Parameters& parameters) { return std::make_unique<ClassVarianceStep>(parameters); },
      {kNeocortex},
      nullptr,
  };
  kind.figures = {
      {"class_variance_bars",
       "Per-pixel variance within each class, for the test images (inputs) and their "
       "reconstructions (outputs): mean and SEM over pixels."},
      {"class_variance_box",
       "The same per-pixel variances as box plots: quartiles, median, and whiskers at the 10th "
       "and 90th percentiles."},
  };
  return kind;
}

}  // namespace genmem
