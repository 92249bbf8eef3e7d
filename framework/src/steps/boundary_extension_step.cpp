// Boundary extension and contraction: test scenes are zoomed in or out, reconstructed by the
// neocortex from a noisy copy, and the object's height in the reconstruction is compared with its
// height in the zoomed scene. If reconstructions drift toward the typical view, zoomed-in views
// come back with a smaller object and zoomed-out views with a larger one. The original's VAE
// showed both, but genmem's replay-trained VAEs show only the first.

#include <algorithm>
#include <cmath>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include <genmem/error.hpp>

#include "analysis/statistics.hpp"
#include "data/shapes3d_renderer.hpp"
#include "interrupt.hpp"
#include "outputs/charts.hpp"
#include "outputs/image_grid.hpp"
#include "progress.hpp"
#include "steps/run_context.hpp"
#include "steps/step.hpp"
#include "steps/zoom.hpp"

namespace genmem {
namespace {

// k-means settings of the original segmentation: 100 iterations or a centre shift below 0.2,
// best of 10 random starts.
constexpr int kKMeansIterations = 100;
constexpr double kKMeansEpsilon = 0.2;
constexpr int kKMeansAttempts = 10;

cv::Mat to_mat(const at::Tensor& image) {
  const at::Tensor bytes =
      image.mul(255.0).round_().clamp_(0, 255).to(at::kByte).permute({1, 2, 0}).contiguous();
  return cv::Mat(
             static_cast<int>(bytes.size(0)),
             static_cast<int>(bytes.size(1)),
             CV_8UC3,
             bytes.data_ptr())
      .clone();
}

at::Tensor to_tensor(const cv::Mat& mat) {
  const at::Tensor bytes = at::from_blob(mat.data, {mat.rows, mat.cols, 3}, at::kByte).clone();
  return bytes.permute({2, 0, 1}).to(at::kFloat).div_(255.0).contiguous();
}

// Rows of the image, as fractions of its height, where the object's body lies.
struct RowWindow {
  double from;
  double to;
};

// Segments `image` into `clusters` colours with k-means and returns the object's height: the
// number of pixels in the middle column that belong to the segment most common in the column's
// rows `window`.
int object_height(const cv::Mat& image, int clusters, RowWindow window, std::uint64_t seed) {
  cv::Mat samples;
  image.reshape(1, image.rows * image.cols).convertTo(samples, CV_32F);
  cv::Mat assignment;
  cv::Mat centres;
  cv::setRNGSeed(static_cast<int>(seed % 2147483647U));
  cv::kmeans(
      samples,
      clusters,
      assignment,
      cv::TermCriteria(
          cv::TermCriteria::EPS + cv::TermCriteria::MAX_ITER, kKMeansIterations, kKMeansEpsilon),
      kKMeansAttempts,
      cv::KMEANS_RANDOM_CENTERS,
      centres);
  const int column = image.cols / 2;
  const auto segment = [&](int row) {
    return assignment.at<int>(row * image.cols + column);
  };
  std::vector<int> counts(static_cast<std::size_t>(clusters), 0);
  const int from = static_cast<int>(image.rows * window.from);
  const int to = std::max(from + 1, static_cast<int>(image.rows * window.to));
  for (int row = from; row < to; ++row) {
    ++counts[static_cast<std::size_t>(segment(row))];
  }
  const int object =
      static_cast<int>(std::max_element(counts.begin(), counts.end()) - counts.begin());
  int height = 0;
  for (int row = 0; row < image.rows; ++row) {
    height += segment(row) == object ? 1 : 0;
  }
  return height;
}

// Returns the object's height: the pixels of the middle column whose hue is within half the
// Shapes3D hue spacing of `hue` (a fraction of the colour wheel). Pixels too grey or too dark to
// have a defined hue are not counted.
int object_height_by_hue(const cv::Mat& image, double hue) {
  constexpr double kHalfSpacing = 0.05;  // of the wheel: the hues are 0.1 apart
  constexpr int kMinSaturation = 90;     // of 255
  constexpr int kMinValue = 40;          // of 255
  cv::Mat hsv;
  cv::cvtColor(image, hsv, cv::COLOR_RGB2HSV);
  const int column = image.cols / 2;
  int height = 0;
  for (int row = 0; row < image.rows; ++row) {
    const cv::Vec3b pixel = hsv.at<cv::Vec3b>(row, column);
    // OpenCV's 8-bit hue runs from 0 to 179 around the wheel.
    const double pixel_hue = pixel[0] / 180.0;
    const double distance = std::abs(pixel_hue - hue);
    const bool same_hue = std::min(distance, 1.0 - distance) <= kHalfSpacing;
    height += same_hue && pixel[1] >= kMinSaturation && pixel[2] >= kMinValue ? 1 : 0;
  }
  return height;
}

class BoundaryExtensionStep final : public Step {
 public:
  explicit BoundaryExtensionStep(const Parameters& parameters)
      : items_(parameters.get_int("items")),
        zooms_(parameters.get_int_list("zoom_levels")),
        noise_(parameters.get_float("noise")),
        clusters_(parameters.get_int("clusters")),
        label_(parameters.get_int("class")),
        distinct_hues_(parameters.get_bool("distinct_hues")),
        examples_(parameters.get_int("examples")),
        window_{parameters.get_float("object_rows_from"), parameters.get_float("object_rows_to")},
        by_hue_(parameters.get_string("measure") == "object_hue"),
        centre_row_(parameters.get_float("zoom_centre_row")) {}

  void run(RunContext& context) override {
    at::NoGradGuard no_grad;
    GenerativeModel& model = require_neocortex(context, "boundary_extension");
    const Dataset& test = context.data.test;
    const at::Tensor chosen = choose(context);
    const std::int64_t n = chosen.size(0);
    const at::Tensor originals = test.images.index_select(0, chosen);
    std::vector<cv::Mat> scenes;
    std::vector<double> object_hues;
    for (std::int64_t i = 0; i < n; ++i) {
      scenes.push_back(to_mat(originals[i]));
      if (by_hue_) {
        const auto index = test.factors.at("object_hue")[chosen[i].item<std::int64_t>()];
        object_hues.push_back(
            shapes3d_factor_value(2, static_cast<int>(index.item<std::int64_t>())));
      }
    }

    std::vector<std::string> categories;
    BarSeries bars{"change in object height", {}, {}};
    BoxSeries boxes{"change in object height", {}};
    nlohmann::json levels = nlohmann::json::array();
    // The scale index (0 to 7) of each scene, or "" where the source gives none, so that changes
    // can be split by the object's size in the unzoomed scene.
    std::vector<std::string> scales(static_cast<std::size_t>(n));
    if (test.factors.count("scale") > 0) {
      const at::Tensor scale = test.factors.at("scale").index_select(0, chosen);
      for (std::int64_t i = 0; i < n; ++i) {
        scales[static_cast<std::size_t>(i)] = std::to_string(scale[i].item<std::int64_t>());
      }
    }
    std::string csv = "item,scale,zoom,input_height,output_height,change\n";
    std::vector<double> level_means;
    std::vector<double> zoom_values;
    double zoomed_in_sum = 0.0;
    double zoomed_out_sum = 0.0;
    std::int64_t zoomed_in_count = 0;
    std::int64_t zoomed_out_count = 0;
    std::optional<double> unzoomed_mean;
    std::vector<at::Tensor> example_inputs;
    std::vector<at::Tensor> example_outputs;

    ProgressBar progress(
        "boundary extension", static_cast<std::int64_t>(zooms_.size()) * n, "images");
    for (const std::int64_t zoom : zooms_) {
      throw_if_interrupted();
      std::vector<cv::Mat> zoomed;
      std::vector<at::Tensor> zoomed_tensors;
      for (const cv::Mat& scene : scenes) {
        zoomed.push_back(zoom_image(scene, zoom, centre_row_));
        zoomed_tensors.push_back(to_tensor(zoomed.back()));
      }
      const at::Tensor inputs = at::stack(zoomed_tensors);
      // As in the original, 10% of the values are set to 0 before reconstruction; the input's
      // height is measured on the clean zoomed scene.
      const at::Tensor keep =
          at::rand(inputs.sizes(), context.generator, at::TensorOptions(at::kFloat)).ge(noise_);
      const at::Tensor noisy = inputs.mul(keep.to(at::kFloat));
      const at::Tensor outputs = model.decode(model.encode(noisy).mean);

      std::vector<double> changes;
      double input_heights = 0.0;
      double output_heights = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        // k-means starts are seeded per image, so every run segments the same image alike.
        const std::uint64_t seed = static_cast<std::uint64_t>(context.scenario.seed) * 1000003U
            + static_cast<std::uint64_t>(i);
        const auto clusters = static_cast<int>(clusters_);
        const cv::Mat& input = zoomed[static_cast<std::size_t>(i)];
        const cv::Mat output = to_mat(outputs[i]);
        const int input_height = by_hue_ ? object_height_by_hue(input, object_hues[i])
                                         : object_height(input, clusters, window_, seed);
        const int output_height = by_hue_ ? object_height_by_hue(output, object_hues[i])
                                          : object_height(output, clusters, window_, seed);
        const double change = input_height == 0
            ? 0.0
            : static_cast<double>(output_height - input_height) / input_height;
        changes.push_back(change);
        input_heights += input_height;
        output_heights += output_height;
        csv += fmt::format(
            "{},{},{},{},{},{:.6g}\n",
            i,
            scales[static_cast<std::size_t>(i)],
            zoom,
            input_height,
            output_height,
            change);
        progress.advance(1);
      }
      if (examples_ > 0) {
        example_inputs.push_back(noisy.slice(0, 0, examples_));
        example_outputs.push_back(outputs.slice(0, 0, examples_));
      }

      double sem = 0.0;
      const double mean = mean_and_sem(changes, sem);
      const BoxStats box = box_stats(changes, 10.0, 90.0);
      levels.push_back({
          {"zoom", zoom},
          {"border", zoom_border(zoom, static_cast<int>(test.images.size(3)))},
          {"mean", mean},
          {"sem", sem},
          {"p10", box.whisker_low},
          {"q1", box.q1},
          {"median", box.median},
          {"q3", box.q3},
          {"p90", box.whisker_high},
          {"input_height_mean", input_heights / static_cast<double>(n)},
          {"output_height_mean", output_heights / static_cast<double>(n)},
      });
      categories.push_back(std::to_string(zoom));
      bars.values.push_back(mean);
      bars.errors.push_back(sem);
      boxes.boxes.push_back(box);
      level_means.push_back(mean);
      zoom_values.push_back(static_cast<double>(zoom));
      if (zoom > 100) {
        zoomed_in_sum += mean;
        ++zoomed_in_count;
      } else if (zoom < 100) {
        zoomed_out_sum += mean;
        ++zoomed_out_count;
      } else {
        unzoomed_mean = mean;
      }
      progress.clear();
      spdlog::info(
          "zoom {}%: object height changes by {:+.3f} (SEM {:.3f}, median {:+.3f}) over {} images",
          zoom,
          mean,
          sem,
          box.median,
          n);
    }

    auto& summary = context.summary["boundary_extension"];
    summary["items"] = n;
    summary["levels"] = levels;
    // Each side is judged against no change, as the original's figure reads, and against the
    // change at 100%, which is the measure's own bias on unzoomed scenes.
    if (zoomed_in_count > 0) {
      const double zoomed_in_mean = zoomed_in_sum / static_cast<double>(zoomed_in_count);
      summary["zoomed_in_mean_change"] = zoomed_in_mean;
      summary["zoomed_in_smaller"] = zoomed_in_mean < 0.0;
      if (unzoomed_mean) {
        summary["zoomed_in_smaller_than_unzoomed"] = zoomed_in_mean < *unzoomed_mean;
      }
    }
    if (zoomed_out_count > 0) {
      const double zoomed_out_mean = zoomed_out_sum / static_cast<double>(zoomed_out_count);
      summary["zoomed_out_mean_change"] = zoomed_out_mean;
      summary["zoomed_out_larger"] = zoomed_out_mean > 0.0;
      if (unzoomed_mean) {
        summary["zoomed_out_larger_than_unzoomed"] = zoomed_out_mean > *unzoomed_mean;
      }
    }
    if (zoom_values.size() >= 3) {
      try {
        const RankCorrelation correlation = spearman_correlation(zoom_values, level_means);
        summary["spearman_zoom_vs_mean_change"] = describe_correlation(correlation);
      } catch (const std::invalid_argument&) {
        // Every level had the same mean change, so there is no rank correlation to report.
      }
    }
    context.output.write("boundary_extension.csv", csv);

    // The original plotted the zoom levels from zoomed in to zoomed out.
    std::reverse(categories.begin(), categories.end());
    std::reverse(bars.values.begin(), bars.values.end());
    std::reverse(bars.errors.begin(), bars.errors.end());
    std::reverse(boxes.boxes.begin(), boxes.boxes.end());
    const std::string title = fmt::format("Change in object height by zoom (%), {} images", n);
    write_bar_chart(
        context.output.file("figures/boundary_extension_bars.png"),
        title + ", mean and SEM",
        "relative change",
        categories,
        {bars});
    write_box_plot(
        context.output.file("figures/boundary_extension_box.png"),
        title + ", whiskers at 10th and 90th percentiles",
        "relative change",
        categories,
        {boxes});
    if (!example_inputs.empty()) {
      // One row per example: its noisy inputs at every zoom level, then their reconstructions.
      const at::Tensor inputs = at::stack(example_inputs, 1);
      const at::Tensor outputs = at::stack(example_outputs, 1);
      const at::Tensor rows = at::cat({inputs, outputs}, 1);
      write_image_grid(
          context.output.file("figures/boundary_extension_examples.png"),
          rows.flatten(0, 1),
          rows.size(1));
    }
  }

 private:
  // The test images of the chosen class (with object, floor and wall hues all different when
  // `distinct_hues`), in test-set order, at most `items_` of them.
  at::Tensor choose(const RunContext& context) const {
    const Dataset& test = context.data.test;
    if (label_ >= test.num_classes) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (boundary_extension): class {} is not a {}; use 0 to {}",
          context.scenario.file.string(),
          context.step_number,
          label_,
          test.label_name,
          test.num_classes - 1));
    }
    at::Tensor keep = test.labels.eq(label_);
    if (distinct_hues_ || by_hue_) {
      for (const char* factor : {"object_hue", "floor_hue", "wall_hue"}) {
        if (test.factors.count(factor) == 0) {
          throw ConfigError(fmt::format(
              "scenario '{}' step {} (boundary_extension): distinct_hues and the object_hue "
              "measure need the {} of each image, which the '{}' source does not give; set "
              "distinct_hues = false and measure = \"kmeans\"",
              context.scenario.file.string(),
              context.step_number,
              factor,
              context.scenario.data.get_string("source")));
        }
      }
      const at::Tensor object = test.factors.at("object_hue");
      keep =
          keep & object.ne(test.factors.at("floor_hue")) & object.ne(test.factors.at("wall_hue"));
    }
    const at::Tensor chosen = keep.nonzero().squeeze(1);
    if (chosen.size(0) == 0) {
      throw ConfigError(fmt::format(
          "scenario '{}' step {} (boundary_extension): no test image of {} {} qualifies; raise "
          "[data] test_items",
          context.scenario.file.string(),
          context.step_number,
          test.label_name,
          label_));
    }
    if (chosen.size(0) < items_) {
      spdlog::warn(
          "boundary_extension: only {} test images qualify, fewer than items = {}; raise [data] "
          "test_items or subset for more",
          chosen.size(0),
          items_);
    }
    return chosen.slice(0, 0, items_);
  }

  std::int64_t items_;
  std::vector<std::int64_t> zooms_;
  double noise_;
  std::int64_t clusters_;
  std::int64_t label_;
  bool distinct_hues_;
  std::int64_t examples_;
  RowWindow window_;
  bool by_hue_;
  double centre_row_;
};

}  // namespace

StepKind boundary_extension_step_kind() {
  StepKind kind{
      "boundary_extension",
      "Zoom test images in and out, reconstruct them from noisy copies, and measure the change "
      "in the object's height (boundary extension and contraction)",
      {
          int_parameter("items", 500, 1, std::nullopt, "Test images measured", "images"),
          int_list_parameter(
              "zoom_levels",
              {80, 85, 90, 95, 100, 105, 110, 115, 120},
              50,
              200,
              "Zoom levels; below 100 zooms out (edge padding), above 100 zooms in (cropping)",
              "percent"),
          float_parameter(
              "zoom_centre_row",
              0.5,
              0.0,
              1.0,
              "Row, as a fraction of the image height, that stays in place when a view is "
              "zoomed, to within a pixel. 0.5, as in the original, zooms about the middle row. "
              "0.75 keeps the lowest pixels of the objects of rendered Shapes3D scenes near "
              "their row"),
          float_parameter(
              "noise", 0.1, 0.0, 1.0, "Fraction of input values set to 0 before reconstruction"),
          int_parameter("clusters", 5, 2, 32, "k-means colour segments used to find the object"),
          int_parameter("class", 0, 0, kShapes - 1, "Shape of the scenes used (0 is cube)"),
          bool_parameter(
              "distinct_hues",
              true,
              "Use only images whose object hue differs from the floor and wall hues"),
          int_parameter(
              "examples", 5, 0, 100, "Images shown at every zoom level in the example figure"),
          choice_parameter(
              "measure",
              "kmeans",
              {"kmeans", "object_hue"},
              "How the object's height is found in the middle column: the most common of the "
              "k-means colour segments in the object rows (the original), or the pixels with "
              "the object's hue"),
          float_parameter(
              "object_rows_from",
              0.5,
              0.0,
              1.0,
              "Start of the rows, as a fraction of the image height, whose most common segment "
              "in the middle column is taken as the object"),
          float_parameter(
              "object_rows_to",
              0.8,
              0.0,
              1.0,
              "End (exclusive) of those rows; 0.8 as in the original, which must stay within "
              "the object's body at every zoom level"),
      },
      [](const Parameters& parameters) {
        return std::make_unique<BoundaryExtensionStep>(parameters);
      },
      {kNeocortex},
      [](const Scenario& scenario, std::size_t index) -> std::string {
        const Parameters& parameters = scenario.steps[index].parameters;
        if (scenario.data.get_string("source") == "mnist") {
          return "needs colour scenes with an object on a floor; set [data] source to "
                 "\"shapes3d_rendered\" or \"shapes3d\"";
        }
        if (parameters.get_float("object_rows_from") >= parameters.get_float("object_rows_to")) {
          return fmt::format(
              "has object_rows_from {} at or after object_rows_to {}; the object's rows must "
              "not be empty",
              parameters.get_float("object_rows_from"),
              parameters.get_float("object_rows_to"));
        }
        const std::vector<std::int64_t> zooms = parameters.get_int_list("zoom_levels");
        if (!std::is_sorted(zooms.begin(), zooms.end())
            || std::adjacent_find(zooms.begin(), zooms.end()) != zooms.end()) {
          return "needs zoom_levels in rising order without repeats; sort them";
        }
        return "";
      },
  };
  kind.figures = {
      {"boundary_extension_bars",
       "Boundary extension: relative change in object height between each zoomed, noisy input and "
       "its reconstruction, by zoom level: mean and SEM over images. Positive means the "
       "reconstruction shows the object larger."},
      {"boundary_extension_box",
       "The same changes in object height as box plots, with whiskers at the 10th and 90th "
       "percentiles."},
      {"boundary_extension_examples",
       "Examples: each pair of rows shows one image's noisy inputs at every zoom level, then "
       "their reconstructions."},
  };
  return kind;
}

}  // namespace genmem
