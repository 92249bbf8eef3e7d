// The extended model. For each experience the hippocampus stores only the sensory elements the
// neocortex predicts badly, plus the neocortex's latent code, and recall fills in the rest from
// the decoded latent. `extended_recall` measures this at several error thresholds. `carmichael`
// stores ambiguous scenes with the latent of a named concept, which pulls each recalled scene
// toward the concept's shape.

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/statistics.hpp"
#include "analysis/svm_classifier.hpp"
#include "data/datasets.hpp"
#include "data/shapes3d_renderer.hpp"
#include "interrupt.hpp"
#include "outputs/charts.hpp"
#include "outputs/image_grid.hpp"
#include "outputs/tensor_file.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace {

// A recalled sensory element counts as stored when its magnitude is above this, as the original
// tested `not isclose(value, 0, atol=0.01)`.
constexpr double kSensoryTolerance = 1e-2;

// Hippocampal traces of images: the badly predicted pixels (all channels of a pixel whose
// channel-mean absolute reconstruction error exceeds the threshold) as 2x - 1, zeros elsewhere,
// followed by the latent mean.
struct Traces {
  /// `[N, C*H*W + L]`.
  at::Tensor traces;
  /// Sensory part as images in [-1, 1], zero where predictable, `[N, C, H, W]`.
  at::Tensor sensory;
  /// Per-channel elements whose absolute error exceeds the threshold, int64 `[N]`.
  at::Tensor unpredictable_elements;
  /// Pixels kept in the trace, int64 `[N]`.
  at::Tensor stored_pixels;
  /// The images decoded from their latent means, in [0, 1], `[N, C, H, W]`.
  at::Tensor reconstruction;
};

Traces make_traces(GenerativeModel& model, const at::Tensor& images, double threshold) {
  const at::Tensor latent = model.encode(images).mean;
  Traces result;
  result.reconstruction = model.decode(latent);
  const at::Tensor error = images - result.reconstruction;
  const at::Tensor mask = error.abs().mean(1, /*keepdim=*/true).gt(threshold);
  result.sensory = at::where(mask, images.mul(2.0).sub(1.0), at::zeros_like(images));
  result.traces = at::cat({result.sensory.flatten(1), latent}, 1).contiguous();
  result.unpredictable_elements = error.abs().gt(threshold).flatten(1).sum(1);
  result.stored_pixels = mask.flatten(1).sum(1);
  return result;
}

// A recalled trace split into its parts and combined into a scene.
struct Recollection {
  /// Recalled sensory elements in [-1, 1], `[N, C, H, W]`.
  at::Tensor sensory;
  at::Tensor latent;
  /// The decoded recalled latent, in [0, 1].
  at::Tensor prediction;
  /// Recalled sensory elements where stored, the prediction elsewhere, in [0, 1].
  at::Tensor scene;
};

Recollection split_recalled(GenerativeModel& model, const at::Tensor& states) {
  const std::vector<std::int64_t> shape = model.image_shape();
  const std::int64_t sensory_size = shape[0] * shape[1] * shape[2];
  Recollection result;
  result.sensory = states.slice(1, 0, sensory_size).reshape({-1, shape[0], shape[1], shape[2]});
  result.latent = states.slice(1, sensory_size).contiguous();
  result.prediction = model.decode(result.latent);
  const at::Tensor combined = at::where(
      result.sensory.abs().gt(kSensoryTolerance),
      result.sensory,
      result.prediction.mul(2.0).sub(1.0));
  result.scene = combined.add(1.0).mul(0.5).clamp(0.0, 1.0);
  return result;
}

// Sets a `fraction` of all values to 0, as the original's noise.
at::Tensor drop_values(const at::Tensor& images, double fraction, at::Generator& generator) {
  const at::Tensor keep =
      at::rand(images.sizes(), generator, at::TensorOptions(at::kFloat)).ge(fraction);
  return images.mul(keep.to(at::kFloat));
}

// Sensory parts in [-1, 1] shown as images, with 0 (nothing stored) as mid grey.
at::Tensor show_sensory(const at::Tensor& sensory) {
  return sensory.add(1.0).mul(0.5).clamp(0.0, 1.0);
}

void check_image_shape(const RunContext& context, const char* step) {
  const GenerativeModel& model = *context.neocortex;
  const std::vector<std::int64_t> shape = model.image_shape();
  if (context.data.test.images.size(1) != shape[0] || context.data.test.images.size(2) != shape[1]
      || context.data.test.images.size(3) != shape[2]) {
    throw ConfigError(fmt::format(
        "scenario '{}' step {} ({}): the data's images do not fit the neocortex; choose a "
        "neocortex architecture for this data set",
        context.scenario.file.string(),
        context.step_number,
        step));
  }
}

struct MeanAndSem {
  double mean = 0.0;
  double sem = 0.0;
};

MeanAndSem describe(const at::Tensor& values) {
  const at::Tensor doubles = values.to(at::kDouble).contiguous();
  const std::vector<double> list(
      doubles.data_ptr<double>(), doubles.data_ptr<double>() + doubles.numel());
  MeanAndSem result;
  result.mean = mean_and_sem(list, result.sem);
  return result;
}

bool strictly_monotonic(const std::vector<double>& values, bool rising) {
  for (std::size_t i = 1; i < values.size(); ++i) {
    if (rising ? !(values[i] > values[i - 1]) : !(values[i] < values[i - 1])) {
      return false;
    }
  }
  return true;
}

// Pastes `count` translucent white squares at the same places in every image, drawn from a
// generator seeded with `seed`, as the original's unusual features.
at::Tensor add_white_squares(
    const at::Tensor& images, std::int64_t count, std::int64_t size, std::uint64_t seed) {
  at::Tensor result = images.clone();
  std::mt19937_64 random(seed);
  const std::int64_t height = images.size(2);
  const std::int64_t width = images.size(3);
  std::uniform_int_distribution<int> alpha_level(0, 255);
  std::uniform_int_distribution<std::int64_t> row(0, height - size - 1);
  std::uniform_int_distribution<std::int64_t> column(0, width - size - 1);
  for (std::int64_t k = 0; k < count; ++k) {
    const double alpha = alpha_level(random) / 255.0;
    const std::int64_t x = column(random);
    const std::int64_t y = row(random);
    at::Tensor patch = result.slice(2, y, y + size).slice(3, x, x + size);
    patch.mul_(1.0 - alpha).add_(alpha);
  }
  return result;
}

class ExtendedRecallStep final : public Step {
 public:
  explicit ExtendedRecallStep(const Parameters& parameters)
      : thresholds_(parameters.get_float_list("thresholds")),
        items_(parameters.get_int("items")),
        squares_(parameters.get_int("squares")),
        square_size_(parameters.get_int("square_size")),
        square_seed_(parameters.get_int("square_seed")),
        noise_(parameters.get_float("noise")),
        max_steps_(parameters.get_int("max_steps")),
        figures_(parameters.get_int("figures")),
        noise_recalls_(parameters.get_int("noise_recalls")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "extended_recall");
    AssociativeMemory& memory = require_hippocampus(context, "extended_recall");
    check_image_shape(context, "extended_recall");
    const Dataset& test = context.data.test;
    if (items_ > test.images.size(0)) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (extended_recall): items is {} but the test set has {} images; "
          "raise [data] test_items or lower items",
          context.scenario.file.string(),
          context.step_number,
          items_,
          test.images.size(0)));
    }
    // A seeded random choice of test images, each with the same white squares.
    const at::Tensor chosen =
        at::randperm(test.images.size(0), context.generator, at::kLong).slice(0, 0, items_);
    const at::Tensor images = add_white_squares(
        test.images.index_select(0, chosen),
        squares_,
        square_size_,
        static_cast<std::uint64_t>(square_seed_));

    nlohmann::json levels = nlohmann::json::array();
    std::vector<double> error_means;
    std::vector<double> own_error_means;
    std::vector<double> count_means;
    LineSeries error_line{"recall error", {}, {}, {}};
    LineSeries count_line{"sensory elements", {}, {}, {}};
    std::string csv =
        "threshold,item,squared_error,unpredictable_elements,stored_pixels,own_trace\n";
    RecallOptions options;
    options.max_steps = max_steps_;

    for (const double threshold : thresholds_) {
      throw_if_interrupted();
      memory.clear();
      const Traces stored = make_traces(model, images, threshold);
      memory.store(stored.traces);

      const at::Tensor cues = drop_values(images, noise_, context.generator);
      const Traces queries = make_traces(model, cues, threshold);
      const at::Tensor states = memory.recall(queries.traces, options).states;
      const Recollection recalled = split_recalled(model, states);
      const at::Tensor errors = (images - recalled.scene).pow(2).flatten(1).sum(1);
      // Whether each recall ended nearest its own stored trace.
      const at::Tensor nearest = at::cdist(states, stored.traces).argmin(1);
      const at::Tensor own = nearest.eq(at::arange(items_, at::kLong));

      // The neocortex alone: the scene decoded from the noisy cue's latent, with no trace.
      const at::Tensor alone_errors = (images - queries.reconstruction).pow(2).flatten(1).sum(1);

      const MeanAndSem error = describe(errors);
      const MeanAndSem alone_error = describe(alone_errors);
      const MeanAndSem elements = describe(stored.unpredictable_elements);
      const MeanAndSem pixels = describe(stored.stored_pixels);
      const double own_fraction = own.to(at::kDouble).mean().item<double>();
      // The error of the recalls that ended at their own trace, which leaves out the large
      // errors of recalls that ended at another scene.
      const at::Tensor own_errors = errors.masked_select(own);
      const nlohmann::json own_error = own_errors.numel() > 0
          ? nlohmann::json(own_errors.mean().item<double>())
          : nlohmann::json();
      levels.push_back({
          {"threshold", threshold},
          {"mean_squared_error", error.mean},
          {"sem_squared_error", error.sem},
          {"mean_unpredictable_elements", elements.mean},
          {"sem_unpredictable_elements", elements.sem},
          {"mean_stored_pixels", pixels.mean},
          {"recalled_own_trace", own_fraction},
          {"mean_squared_error_own_recalls", own_error},
          {"mean_squared_error_neocortex_alone", alone_error.mean},
      });
      error_means.push_back(error.mean);
      own_error_means.push_back(
          own_error.is_number() ? own_error.get<double>()
                                : std::numeric_limits<double>::quiet_NaN());
      count_means.push_back(elements.mean);
      error_line.x.push_back(threshold);
      error_line.y.push_back(error.mean);
      error_line.errors.push_back(error.sem);
      count_line.x.push_back(threshold);
      count_line.y.push_back(elements.mean);
      count_line.errors.push_back(elements.sem);
      for (std::int64_t i = 0; i < items_; ++i) {
        csv += fmt::format(
            "{},{},{:.6g},{},{},{}\n",
            threshold,
            i,
            errors[i].item<double>(),
            stored.unpredictable_elements[i].item<std::int64_t>(),
            stored.stored_pixels[i].item<std::int64_t>(),
            own[i].item<bool>() ? 1 : 0);
      }
      spdlog::info(
          "threshold {}: summed squared recall error {:.1f} (SEM {:.1f}; neocortex alone {:.1f}), "
          "{:.0f} unpredictable elements (SEM {:.0f}), {:.0f} stored pixels; {:.0f}% of recalls "
          "nearest their own trace",
          threshold,
          error.mean,
          error.sem,
          alone_error.mean,
          elements.mean,
          elements.sem,
          pixels.mean,
          100.0 * own_fraction);

      const std::string tag = fmt::format("{:g}", threshold);
      if (figures_ > 0) {
        // Per item: the scene, the noisy cue, the cue's unpredictable elements, the recalled
        // ones, the decoded recalled latent, and the recalled scene.
        const std::int64_t drawn_items = std::min(figures_, items_);
        const at::Tensor rows = at::stack(
            {images.slice(0, 0, drawn_items),
             cues.slice(0, 0, drawn_items),
             show_sensory(queries.sensory.slice(0, 0, drawn_items)),
             show_sensory(recalled.sensory.slice(0, 0, drawn_items)),
             recalled.prediction.slice(0, 0, drawn_items),
             recalled.scene.slice(0, 0, drawn_items)},
            1);
        write_image_grid(
            context.output.file(fmt::format("figures/extended_recall_t{}.png", tag)),
            rows.flatten(0, 1),
            rows.size(1));
      }
      if (noise_recalls_ > 0) {
        // Recall from pure noise: the noise's sensory part, then what was recalled from it.
        const at::Tensor noise = at::rand(
                                     {noise_recalls_, stored.traces.size(1)},
                                     context.generator,
                                     at::TensorOptions(at::kFloat))
                                     .mul_(2.0)
                                     .sub_(1.0);
        const Recollection from_noise = split_recalled(model, memory.recall(noise, options).states);
        const Recollection probe = split_recalled(model, noise);
        const at::Tensor rows = at::stack(
            {show_sensory(probe.sensory),
             show_sensory(from_noise.sensory),
             from_noise.prediction,
             from_noise.scene},
            1);
        write_image_grid(
            context.output.file(fmt::format("figures/extended_noise_recall_t{}.png", tag)),
            rows.flatten(0, 1),
            rows.size(1));
      }
    }

    auto& summary = context.summary["extended_recall"];
    summary["items"] = items_;
    summary["thresholds"] = levels;
    context.output.write("extended_recall.csv", csv);
    if (thresholds_.size() >= 2) {
      summary["error_rises_with_threshold"] = strictly_monotonic(error_means, true);
      summary["own_recall_error_rises_with_threshold"] = strictly_monotonic(own_error_means, true);
      summary["elements_fall_with_threshold"] = strictly_monotonic(count_means, false);
      write_twin_axis_plot(
          context.output.file("figures/extended_thresholds.png"),
          fmt::format("Recall error and stored sensory elements by threshold, {} images", items_),
          "error threshold",
          {error_line},
          "summed squared error",
          {count_line},
          "sensory elements");
    }
    if (thresholds_.size() >= 3) {
      try {
        const RankCorrelation error = spearman_correlation(thresholds_, error_means);
        const RankCorrelation count = spearman_correlation(thresholds_, count_means);
        summary["spearman_error"] = describe_correlation(error);
        summary["spearman_elements"] = describe_correlation(count);
      } catch (const std::invalid_argument&) {
        // A constant series has no rank correlation.
      }
    }
  }

 private:
  std::vector<double> thresholds_;
  std::int64_t items_;
  std::int64_t squares_;
  std::int64_t square_size_;
  std::int64_t square_seed_;
  double noise_;
  std::int64_t max_steps_;
  std::int64_t figures_;
  std::int64_t noise_recalls_;
};

// Blurs `image` inside a circle and pastes one opaque white square at a place drawn from a hash
// of the image, so every stimulus is ambiguous in its own way.
at::Tensor make_ambiguous(
    const at::Tensor& image,
    double sigma,
    double centre_x,
    double centre_y,
    double radius,
    std::int64_t square_size) {
  const at::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  const cv::Mat source(
      static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_32FC3, hwc.data_ptr());
  cv::Mat blurred;
  cv::GaussianBlur(source, blurred, cv::Size(0, 0), sigma);
  at::Tensor result =
      at::from_blob(blurred.data, {hwc.size(0), hwc.size(1), 3}, at::kFloat).clone();
  const at::Tensor rows = at::arange(hwc.size(0), at::kFloat).unsqueeze(1);
  const at::Tensor columns = at::arange(hwc.size(1), at::kFloat).unsqueeze(0);
  const at::Tensor inside =
      ((columns - centre_x).pow(2) + (rows - centre_y).pow(2)).lt(radius * radius).unsqueeze(2);
  result = at::where(inside, result, hwc).permute({2, 0, 1}).contiguous();

  const std::string hash = stable_hash(std::string_view(
      static_cast<const char*>(image.contiguous().data_ptr()), image.numel() * sizeof(float)));
  std::mt19937_64 random(std::stoull(hash, nullptr, 16));
  std::uniform_int_distribution<std::int64_t> row(0, image.size(1) - 1);
  std::uniform_int_distribution<std::int64_t> column(0, image.size(2) - 1);
  const std::int64_t x = column(random);
  const std::int64_t y = row(random);
  result.slice(1, y, std::min(y + square_size, image.size(1)))
      .slice(2, x, std::min(x + square_size, image.size(2)))
      .fill_(1.0);
  return result;
}

class CarmichaelStep final : public Step {
 public:
  explicit CarmichaelStep(const Parameters& parameters)
      : concepts_(parameters.get_int_list("concepts")),
        threshold_(parameters.get_float("threshold")),
        noise_(parameters.get_float("noise")),
        max_steps_(parameters.get_int("max_steps")),
        blur_sigma_(parameters.get_float("blur_sigma")),
        blur_row_(parameters.get_float("blur_row")),
        scene_{
            static_cast<int>(parameters.get_int("floor_hue")),
            static_cast<int>(parameters.get_int("wall_hue")),
            static_cast<int>(parameters.get_int("object_hue")),
            static_cast<int>(parameters.get_int("scale")),
            0,
            static_cast<int>(parameters.get_int("orientation"))} {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "carmichael");
    AssociativeMemory& memory = require_hippocampus(context, "carmichael");
    check_image_shape(context, "carmichael");
    std::vector<std::int64_t> records;
    for (int shape = 0; shape < kShapes; ++shape) {
      Shapes3dFactors factors = scene_;
      factors.shape = shape;
      try {
        records.push_back(shapes3d_record_of(factors));
      } catch (const std::out_of_range&) {
        throw ConfigError(fmt::format(
            "scenario '{}' step {} (carmichael): a factor index is outside its range; see the "
            "step's parameters in docs/scenario-format.md",
            context.scenario.file.string(),
            context.step_number));
      }
    }
    // One scene per shape, alike in every other factor.
    const Dataset scenes = load_shapes3d_records(
        context.scenario.data, context.scenario.file, at::tensor(records, at::kLong));
    for (const std::int64_t concept_shape : concepts_) {
      if (concept_shape >= kShapes) {
        throw ConfigError(fmt::format(
            "scenario '{}' step {} (carmichael): concept {} is not a shape; use 0 cube, 1 "
            "cylinder, 2 sphere or 3 capsule",
            context.scenario.file.string(),
            context.step_number,
            concept_shape));
      }
    }

    std::vector<at::Tensor> ambiguous;
    for (std::int64_t i = 0; i < kShapes; ++i) {
      ambiguous.push_back(make_ambiguous(
          scenes.images[i], blur_sigma_, kBlurCentreX, blur_row_, kBlurRadius, kSquareSize));
    }
    const at::Tensor stimuli = at::stack(ambiguous);
    const at::Tensor concept_latents = model.encode(scenes.images).mean;
    const SvmClassifier classifier(
        model.encode(context.data.test.images).mean, context.data.test.labels);

    nlohmann::json results = nlohmann::json::array();
    RecallOptions options;
    options.max_steps = max_steps_;
    // The sensory part of the stored traces is the same for every concept.
    const Traces stored = make_traces(model, stimuli, threshold_);
    bool warned_one_shape = false;
    // One value per concept, so that the headline numbers printed after a run show the results.
    std::vector<double> nearer_concept;
    std::vector<double> decoded_as_concept;
    for (const std::int64_t concept_shape : concepts_) {
      memory.clear();
      const at::Tensor concept_latent =
          concept_latents[concept_shape].unsqueeze(0).expand({kShapes, concept_latents.size(1)});
      const std::int64_t sensory_size = stored.sensory[0].numel();
      memory.store(at::cat({stored.traces.slice(1, 0, sensory_size), concept_latent}, 1));

      // The cue is a noisy stimulus with its own latent; the stored trace carries the concept's.
      const at::Tensor cues = drop_values(stimuli, noise_, context.generator);
      const Traces queries = make_traces(model, cues, threshold_);
      const Recollection recalled =
          split_recalled(model, memory.recall(queries.traces, options).states);

      const at::Tensor cue_latents = queries.traces.slice(1, sensory_size);
      const at::Tensor recalled_shapes = classifier.predict(recalled.latent);
      const at::Tensor cue_shapes = classifier.predict(cue_latents);
      if (!warned_one_shape && cue_shapes.eq(cue_shapes[0]).all().item<bool>()) {
        warned_one_shape = true;
        spdlog::warn(
            "carmichael: the shape classifier reads all {} cues as shape {}, so the shares "
            "decoded as the concept say little; the recalled latents' distances to the "
            "concept's still do",
            cue_shapes.size(0),
            cue_shapes[0].item<std::int64_t>());
      }
      // Whether each recalled latent lies nearer the concept's latent than the cue's own.
      const double latent_nearer_concept = (recalled.latent - concept_latent)
                                               .norm(2, {1})
                                               .lt((recalled.latent - cue_latents).norm(2, {1}))
                                               .to(at::kDouble)
                                               .mean()
                                               .item<double>();
      const double recalled_as_concept =
          recalled_shapes.eq(concept_shape).to(at::kDouble).mean().item<double>();
      const double cues_as_concept =
          cue_shapes.eq(concept_shape).to(at::kDouble).mean().item<double>();
      const at::Tensor concept_image =
          scenes.images[concept_shape].unsqueeze(0).expand_as(scenes.images);
      const double closer_to_concept =
          (recalled.scene - concept_image)
              .pow(2)
              .flatten(1)
              .sum(1)
              .lt((recalled.scene - scenes.images).pow(2).flatten(1).sum(1))
              .to(at::kDouble)
              .mean()
              .item<double>();
      nlohmann::json shapes = nlohmann::json::array();
      for (std::int64_t i = 0; i < kShapes; ++i) {
        shapes.push_back({
            {"stimulus_shape", i},
            {"cue_decoded_as", cue_shapes[i].item<std::int64_t>()},
            {"recall_decoded_as", recalled_shapes[i].item<std::int64_t>()},
        });
      }
      nearer_concept.push_back(latent_nearer_concept);
      decoded_as_concept.push_back(recalled_as_concept);
      results.push_back({
          {"concept", concept_shape},
          {"recalled_latent_nearer_concept", latent_nearer_concept},
          {"recalls_decoded_as_concept", recalled_as_concept},
          {"cues_decoded_as_concept", cues_as_concept},
          {"recalls_closer_to_concept_scene", closer_to_concept},
          {"stimuli", shapes},
      });
      spdlog::info(
          "concept shape {}: {:.0f}% of recalled latents lie nearer the concept's than the cue's; "
          "{:.0f}% of recalls decode as the concept (cues alone: {:.0f}%); {:.0f}% of recalled "
          "scenes are nearer the concept's scene than their own",
          concept_shape,
          100.0 * latent_nearer_concept,
          100.0 * recalled_as_concept,
          100.0 * cues_as_concept,
          100.0 * closer_to_concept);

      // Per stimulus: the clear scene, the ambiguous stimulus, the noisy cue, the concept's
      // scene, the decoded recalled latent, and the recalled scene.
      const at::Tensor rows = at::stack(
          {scenes.images, stimuli, cues, concept_image, recalled.prediction, recalled.scene}, 1);
      write_image_grid(
          context.output.file(fmt::format("figures/carmichael_concept_{}.png", concept_shape)),
          rows.flatten(0, 1),
          rows.size(1));
    }
    context.summary["carmichael"] = {
        {"threshold", threshold_},
        {"concepts", results},
        {"recalled_latent_nearer_concept", nearer_concept},
        {"recalls_decoded_as_concept", decoded_as_concept},
    };
  }

 private:
  // The blurred circle's column and radius and the square's side, in pixels of a 64x64 scene,
  // as in the original stimuli.
  static constexpr double kBlurCentreX = 32.0;
  static constexpr double kBlurRadius = 15.0;
  static constexpr std::int64_t kSquareSize = 8;

  std::vector<std::int64_t> concepts_;
  double threshold_;
  double noise_;
  std::int64_t max_steps_;
  double blur_sigma_;
  double blur_row_;
  Shapes3dFactors scene_;
};

}  // namespace

StepKind extended_recall_step_kind() {
  StepKind kind{
      "extended_recall",
      "Store test images as traces of their badly predicted pixels plus their latent means, and "
      "recall them from noisy cues and from noise at each error threshold (extended model)",
      {
          float_list_parameter(
              "thresholds",
              {0.03, 0.15},
              0.0,
              1.0,
              "Channel-mean absolute reconstruction errors above which a pixel is stored"),
          int_parameter("items", 10, 1, std::nullopt, "Test images stored and recalled", "images"),
          int_parameter("squares", 3, 0, 100, "Translucent white squares added to every image"),
          int_parameter(
              "square_size",
              8,
              1,
              63,
              "Side of each white square, less than the images' side",
              "pixels"),
          int_parameter(
              "square_seed", 4321, 0, std::nullopt, "Seed of the squares' places and opacities"),
          float_parameter("noise", 0.1, 0.0, 1.0, "Fraction of cue values set to 0"),
          int_parameter("max_steps", 5, 1, std::nullopt, "Recall steps per cue", "steps"),
          int_parameter(
              "figures", 10, 0, std::nullopt, "Items drawn in each threshold's figure", "images"),
          int_parameter(
              "noise_recalls",
              10,
              0,
              std::nullopt,
              "Recalls from uniform noise drawn for each threshold",
              "cues"),
      },
      [](const Parameters& parameters) { return std::make_unique<ExtendedRecallStep>(parameters); },
      {kHippocampus, kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        const std::vector<double> thresholds = parameters.get_float_list("thresholds");
        if (!std::is_sorted(thresholds.begin(), thresholds.end())
            || std::adjacent_find(thresholds.begin(), thresholds.end()) != thresholds.end()) {
          return "needs thresholds in rising order without repeats, so that the sweep's trends "
                 "and figure read along the threshold; sort them";
        }
        if (parameters.get_int("items") > scenario.data.get_int("test_items")) {
          return fmt::format(
              "stores {} test images, but [data] test_items is {}; raise test_items or lower "
              "items",
              parameters.get_int("items"),
              scenario.data.get_int("test_items"));
        }
        // As in the original, a square's corner is drawn from [0, side - size), so a square
        // never reaches the last row or column.
        const std::vector<std::int64_t> shape =
            source_image_shape(scenario.data.get_string("source"));
        const std::int64_t side = std::min(shape[1], shape[2]);
        if (parameters.get_int("squares") > 0 && parameters.get_int("square_size") >= side) {
          return fmt::format(
              "has square_size {}, but a square must leave at least one row and column free of "
              "the {}x{} images; lower square_size to {} or less",
              parameters.get_int("square_size"),
              shape[1],
              shape[2],
              side - 1);
        }
        return "";
      },
  };
  kind.figures = {
      {"extended_recall_t*",
       "Extended model at the error threshold in the file name; per row: the scene, the noisy "
       "cue, the cue's badly predicted pixels, the recalled ones, the decoded recalled latent, "
       "and the recalled scene with those pixels overlaid."},
      {"extended_noise_recall_t*",
       "Extended model recalling from pure noise; per row: the noise's sensory part, the recalled "
       "sensory part, the decoded recalled latent, and the recalled scene."},
      {"extended_thresholds",
       "Recall error (summed squared error, left axis) and number of stored sensory elements "
       "(right axis) by error threshold: mean and SEM over images."},
  };
  return kind;
}

StepKind carmichael_step_kind() {
  StepKind kind{
      "carmichael",
      "Store ambiguous Shapes3D scenes with the latent of a named shape and recall them from "
      "noisy cues (the Carmichael effect)",
      {
          int_list_parameter(
              "concepts", {0, 2}, 0, 3, "Concept shapes, each stored with all four stimuli"),
          float_parameter(
              "threshold", 0.2, 0.0, 1.0, "Error threshold of the stored sensory elements"),
          float_parameter("noise", 0.1, 0.0, 1.0, "Fraction of cue values set to 0"),
          int_parameter("max_steps", 5, 1, std::nullopt, "Recall steps per cue", "steps"),
          float_parameter("blur_sigma", 3.0, 0.1, 20.0, "Gaussian blur over the object", "pixels"),
          float_parameter(
              "blur_row",
              36.0,
              0.0,
              63.0,
              "Row of the centre of the blurred circle (radius 15, column 32): the middle of the "
              "smallest object in genmem's rendered scenes. The original used row 45 on "
              "DeepMind's images",
              "pixels"),
          int_parameter("floor_hue", 1, 0, 9, "Floor hue index of the stimuli"),
          int_parameter("wall_hue", 3, 0, 9, "Wall hue index of the stimuli"),
          int_parameter("object_hue", 2, 0, 9, "Object hue index of the stimuli"),
          int_parameter("scale", 0, 0, 7, "Scale index of the stimuli"),
          int_parameter("orientation", 7, 0, 14, "Orientation index of the stimuli"),
      },
      [](const Parameters& parameters) { return std::make_unique<CarmichaelStep>(parameters); },
      {kHippocampus, kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const std::string& source = scenario.data.get_string("source");
        if (source != "shapes3d" && source != "shapes3d_rendered") {
          return "needs Shapes3D scenes; set [data] source to \"shapes3d_rendered\" or "
                 "\"shapes3d\"";
        }
        std::vector<std::int64_t> concepts =
            scenario.steps[index].parameters.get_int_list("concepts");
        std::sort(concepts.begin(), concepts.end());
        if (std::adjacent_find(concepts.begin(), concepts.end()) != concepts.end()) {
          return "names a concept twice; list each concept shape once";
        }
        return "";
      },
  };
  kind.figures = {
      {"carmichael_concept_*",
       "Carmichael effect for the concept shape in the file name; per row: the clear scene, the "
       "ambiguous stimulus, the noisy cue, the concept's scene, the decoded recalled latent and "
       "the recalled scene."},
  };
  return kind;
}

}  // namespace genmem
