// Class-conditional imagination by sampling: latents drawn from the prior are ranked by how
// strongly a classifier of latent means assigns them to a class, and the best are decoded.

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/svm_classifier.hpp"
#include "outputs/image_grid.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

class ImaginationStep final : public Step {
 public:
  explicit ImaginationStep(const Parameters& parameters)
      : samples_(parameters.get_int("samples")),
        top_(parameters.get_int("top")),
        fit_on_samples_(parameters.get_string("fit_on") == "samples") {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "imagination");
    const Dataset& test = context.data.test;
    if (top_ > samples_) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (imagination): top is {} but only {} samples are drawn; lower "
          "top or raise samples",
          context.scenario.file.string(),
          context.step_number,
          top_,
          samples_));
    }

    // The classifier is fitted on the test set's latents, as in the original analysis. Latent
    // dimensions that the KL term has collapsed have means near 0 for every image. Standardised,
    // a prior sample lies far outside the means in those dimensions, where the RBF kernel
    // vanishes and every sample gets the same probabilities. A sample from each image's
    // posterior spreads like the prior there, so `fit_on = "samples"` avoids this;
    // `fit_on = "means"` is the original.
    const Encoding encoding = model.encode(test.images);
    const at::Tensor features = fit_on_samples_ ? encoding.mean
            + encoding.log_var.mul(0.5).exp()
                * at::randn(encoding.mean.sizes(), context.generator, at::TensorOptions(at::kFloat))
                                                : encoding.mean;
    const SvmClassifier classifier(features, test.labels, true);
    const at::Tensor latents =
        at::randn({samples_, model.latent_dim()}, context.generator, at::TensorOptions(at::kFloat));
    const at::Tensor probabilities = classifier.predict_probability(latents);

    nlohmann::json classes = nlohmann::json::array();
    // One value per class, so that the headline numbers printed after a run show the results.
    std::vector<double> re_encoded;
    for (std::int64_t label = 0; label < probabilities.size(1); ++label) {
      const at::Tensor ranked = std::get<1>(probabilities.select(1, label).sort(0, true));
      const at::Tensor chosen = ranked.slice(0, 0, top_);
      const at::Tensor images = model.decode(latents.index_select(0, chosen));
      write_image_grid(
          context.output.file(fmt::format("figures/imagination_{}_{}.png", test.label_name, label)),
          images,
          std::min<std::int64_t>(top_, 10));

      // An independent check of the decoded images: the same classifier, applied to their
      // re-encoded latent means.
      const at::Tensor predicted = classifier.predict(model.encode(images).mean);
      const double mean_probability =
          probabilities.select(1, label).index_select(0, chosen).mean().item<double>();
      const double recognised = predicted.eq(label).to(at::kDouble).mean().item<double>();
      classes.push_back({
          {"class", label},
          {"mean_probability", probabilities.select(1, label).mean().item<double>()},
          {"mean_probability_of_top", mean_probability},
          {"re_encoded_as_class", recognised},
      });
      re_encoded.push_back(recognised);
      spdlog::info(
          "imagined {} {}: mean probability of the top {} samples {:.3f}; {:.0f}% of their "
          "images re-encode as {} {}",
          test.label_name,
          label,
          top_,
          mean_probability,
          100.0 * recognised,
          test.label_name,
          label);
    }
    auto& summary = context.summary["imagination"];
    summary["samples"] = samples_;
    summary["top"] = top_;
    summary["fit_on"] = fit_on_samples_ ? "samples" : "means";
    summary["classes"] = classes;
    summary["re_encoded_as_class"] = re_encoded;
  }

 private:
  std::int64_t samples_;
  std::int64_t top_;
  bool fit_on_samples_;
};

}  // namespace

StepKind imagination_step_kind() {
  StepKind kind{
      "imagination",
      "Sample latents from the prior, rank them by a classifier's probability of each class, and "
      "decode the top ones (imagination of a class)",
      {
          int_parameter("samples", 10000, 1, std::nullopt, "Latents drawn from the prior"),
          int_parameter(
              "top", 20, 1, std::nullopt, "Most probable samples decoded for each class", "images"),
          choice_parameter(
              "fit_on",
              "samples",
              {"samples", "means"},
              "The classifier's training latents: one posterior sample per test image, or the "
              "latent means as the original (which give every prior sample nearly the same "
              "probabilities when some latent dimensions have collapsed)"),
      },
      [](const Parameters& parameters) { return std::make_unique<ImaginationStep>(parameters); },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        if (parameters.get_int("top") > parameters.get_int("samples")) {
          return fmt::format(
              "decodes the top {} of only {} samples; lower top or raise samples",
              parameters.get_int("top"),
              parameters.get_int("samples"));
        }
        return "";
      },
  };
  kind.figures = {
      {"imagination_*",
       "Imagination: decoded samples from the prior that a classifier rates most likely to be of "
       "one class (named in the file name), most likely first."},
  };
  return kind;
}

}  // namespace genmem
