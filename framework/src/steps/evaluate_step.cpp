// The evaluation step: what the trained neocortex and the hippocampus do with cues, pairs of
// memories and latent arithmetic, written as figures and headline numbers.

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/metrics.hpp"
#include "analysis/pca.hpp"
#include "analysis/tsne.hpp"
#include "outputs/charts.hpp"
#include "outputs/image_grid.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

std::int64_t random_index(std::int64_t bound, at::Generator& generator) {
  return at::randint(bound, {1}, generator, at::kLong).item<std::int64_t>();
}

class EvaluateStep final : public Step {
 public:
  explicit EvaluateStep(const Parameters& parameters)
      : noise_fraction_(parameters.get_float("noise_fraction")),
        recall_items_(parameters.get_int("recall_items")),
        interpolations_(parameters.get_int("interpolations")),
        interpolation_steps_(parameters.get_int("interpolation_steps")),
        arithmetic_(parameters.get_int("arithmetic")),
        latent_map_(parameters.get_string("latent_map")),
        map_items_(parameters.get_int("map_items")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "evaluate");
    const at::Tensor items = context.data.train.images.slice(0, 0, recall_items_);
    warn_if_fewer(context, "recall_items", recall_items_, items.size(0), "[data] train_items");
    const at::Tensor noisy = zero_noise(items, noise_fraction_, context.generator);

    generative_recall(context, model, items, noisy);
    if (context.hippocampus != nullptr && context.hippocampus->size() > 0) {
      hopfield_recall(context, *context.hippocampus, items, noisy);
    }
    const Encoding test = model.encode(context.data.test.images);
    interpolate(context, model, test.mean);
    vector_arithmetic(context, model, test.mean);
    if (latent_map_ != "none") {
      latent_map(context, test.mean);
    }
  }

 private:
  // The neocortex reconstructs noisy training images from their latent means.
  void generative_recall(
      RunContext& context,
      GenerativeModel& model,
      const at::Tensor& items,
      const at::Tensor& noisy) const {
    const at::Tensor outputs = model.decode(model.encode(noisy).mean);
    const double error = reconstruction_error(items, outputs);
    context.summary["evaluation"]["generative_recall_error"] = error;
    write_image_grid(
        context.output.file("figures/generative_recall.png"),
        at::cat({noisy, outputs, items}),
        items.size(0));
    spdlog::info(
        "neocortex recall of {} noisy images: reconstruction error {:.2f}", items.size(0), error);
  }

  // The hippocampus completes the same noisy images; correct when it lands nearest the original.
  void hopfield_recall(
      RunContext& context,
      AssociativeMemory& memory,
      const at::Tensor& items,
      const at::Tensor& noisy) const {
    // The store step writes training images from index 0, so image i is stored pattern i.
    const std::int64_t count = std::min(items.size(0), memory.size());
    const RecallResult result =
        memory.recall(images_to_patterns(noisy.slice(0, 0, count)), RecallOptions{});
    const at::Tensor nearest = nearest_pattern(result.states, memory.patterns());
    const at::Tensor expected = at::arange(count, at::kLong);
    const double accuracy = nearest.eq(expected).to(at::kDouble).mean().item<double>();
    context.summary["evaluation"]["hippocampal_recall_accuracy"] = accuracy;
    const at::Tensor outputs = patterns_to_images(result.states, items.sizes().slice(1));
    write_image_grid(
        context.output.file("figures/hippocampal_recall.png"),
        at::cat({noisy.slice(0, 0, count), outputs, items.slice(0, 0, count)}),
        count);
    spdlog::info(
        "hippocampal recall of {} noisy stored images: {:.0f}% reach the right memory",
        count,
        100.0 * accuracy);
  }

  // Linear paths between the latent means of random pairs of test images.
  void interpolate(RunContext& context, GenerativeModel& model, const at::Tensor& latents) const {
    if (interpolations_ == 0) {
      return;
    }
    std::vector<at::Tensor> rows;
    const at::Tensor weights =
        at::linspace(0.0, 1.0, interpolation_steps_, at::kFloat).unsqueeze(1);
    for (std::int64_t i = 0; i < interpolations_; ++i) {
      const at::Tensor from = latents[random_index(latents.size(0), context.generator)];
      const at::Tensor to = latents[random_index(latents.size(0), context.generator)];
      rows.push_back(model.decode(from * (1 - weights) + to * weights));
    }
    write_image_grid(
        context.output.file("figures/interpolation.png"), at::cat(rows), interpolation_steps_);
  }

  // decode(z2 - z1 + z3), where z1 and z3 share a class and z2 is any image: the difference
  // between two members of a class, added to another item.
  void vector_arithmetic(
      RunContext& context, GenerativeModel& model, const at::Tensor& latents) const {
    if (arithmetic_ == 0) {
      return;
    }
    const Dataset& test = context.data.test;
    std::vector<at::Tensor> rows;
    for (std::int64_t i = 0; i < arithmetic_; ++i) {
      const std::int64_t label =
          test.labels[random_index(test.labels.size(0), context.generator)].item<std::int64_t>();
      const at::Tensor members = test.labels.eq(label).nonzero().squeeze(1);
      if (members.size(0) < 2) {
        continue;
      }
      const at::Tensor pick = at::randperm(members.size(0), context.generator, at::kLong);
      const std::int64_t first = members[pick[0]].item<std::int64_t>();
      const std::int64_t third = members[pick[1]].item<std::int64_t>();
      const std::int64_t second = random_index(latents.size(0), context.generator);
      const at::Tensor result =
          model.decode((latents[second] - latents[first] + latents[third]).unsqueeze(0));
      rows.push_back(at::cat({
          test.images[first].unsqueeze(0),
          test.images[second].unsqueeze(0),
          test.images[third].unsqueeze(0),
          result,
      }));
    }
    if (!rows.empty()) {
      write_image_grid(context.output.file("figures/vector_arithmetic.png"), at::cat(rows), 4);
    }
  }

  // Logs a warning when the step uses `available` items where `name` requests `requested`.
  static void warn_if_fewer(
      const RunContext& context,
      const char* name,
      std::int64_t requested,
      std::int64_t available,
      const char* source) {
    if (available < requested) {
      spdlog::warn(
          "step {} (evaluate): {} is {}, but only {} images are available, so it uses {}; raise "
          "{} to use more",
          context.step_number,
          name,
          requested,
          available,
          available,
          source);
    }
  }

  void latent_map(RunContext& context, const at::Tensor& latents) const {
    const std::int64_t count = std::min(map_items_, latents.size(0));
    warn_if_fewer(context, "map_items", map_items_, count, "[data] test_items");
    const at::Tensor selected = latents.slice(0, 0, count);
    // t-SNE with PCA initialisation and perplexity 30, as the original's latent-space figure.
    const at::Tensor points =
        latent_map_ == "tsne" ? tsne_embed(selected, TsneOptions{}) : pca_project(selected, 2);
    const at::Tensor labels = context.data.test.labels.slice(0, 0, count);
    const at::Tensor xy = points.to(at::kDouble).contiguous();
    const double* coordinates = xy.data_ptr<double>();
    std::vector<double> x;
    std::vector<double> y;
    for (std::int64_t i = 0; i < count; ++i) {
      x.push_back(coordinates[2 * i]);
      y.push_back(coordinates[2 * i + 1]);
    }
    const at::Tensor label_values = labels.to(at::kLong).contiguous();
    const std::int64_t* label_data = label_values.data_ptr<std::int64_t>();
    const bool tsne = latent_map_ == "tsne";
    write_scatter_plot(
        context.output.file("figures/latent_map.png"),
        fmt::format("{} of {} test latent means", tsne ? "t-SNE" : "PCA", count),
        tsne ? "t-SNE 1" : "PC 1",
        tsne ? "t-SNE 2" : "PC 2",
        x,
        y,
        std::vector<std::int64_t>(label_data, label_data + count),
        context.data.test.label_name);

    std::string csv = "x,y,label\n";
    for (std::int64_t i = 0; i < count; ++i) {
      csv += fmt::format(
          "{:.6g},{:.6g},{}\n",
          points[i][0].item<float>(),
          points[i][1].item<float>(),
          labels[i].item<std::int64_t>());
    }
    context.output.write("latent_map.csv", csv);
  }

  double noise_fraction_;
  std::int64_t recall_items_;
  std::int64_t interpolations_;
  std::int64_t interpolation_steps_;
  std::int64_t arithmetic_;
  std::string latent_map_;
  std::int64_t map_items_;
};

}  // namespace

StepKind evaluate_step_kind() {
  StepKind kind{
      "evaluate",
      "Recall from noisy cues, interpolation, vector arithmetic and a map of the latent space",
      {
          float_parameter(
              "noise_fraction", 0.1, 0.0, 1.0, "Fraction of each cue's values set to 0"),
          int_parameter(
              "recall_items",
              10,
              1,
              1000,
              "Noisy training images recalled by both models",
              "images"),
          int_parameter("interpolations", 5, 0, 100, "Pairs of test images interpolated between"),
          int_parameter(
              "interpolation_steps", 10, 2, 50, "Images along each interpolation path", "images"),
          int_parameter("arithmetic", 5, 0, 100, "Vector-arithmetic examples"),
          choice_parameter(
              "latent_map",
              "pca",
              {"pca", "tsne", "none"},
              "2-D map of the test latents, coloured by label: PCA, exact t-SNE (perplexity 30), "
              "or none"),
          int_parameter(
              "map_items", 800, 2, std::nullopt, "Test latents drawn in the map", "items"),
      },
      [](const Parameters& parameters) { return std::make_unique<EvaluateStep>(parameters); },
      {kNeocortex},
      nullptr,
  };
  kind.figures = {
      {"generative_recall",
       "Neocortex recall: noisy training images (top row), the generative model's reconstructions "
       "of them (middle) and the originals (bottom)."},
      {"hippocampal_recall",
       "Hippocampal recall: the same noisy images as cues (top row), the states the hippocampus "
       "recalls (middle) and the stored originals (bottom)."},
      {"interpolation",
       "Interpolation: each row decodes evenly spaced points on the line between the latent means "
       "of two test images."},
      {"vector_arithmetic",
       "Vector arithmetic: each row shows images 1, 2 and 3 and the decoding of latent 3 - latent "
       "1 + latent 2."},
      {"latent_map",
       "Map of the latent means of test images in two dimensions (t-SNE or PCA), coloured by "
       "label."},
  };
  return kind;
}

}  // namespace genmem
