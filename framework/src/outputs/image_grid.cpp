#include "outputs/image_grid.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <genmem/error.hpp>

#include "outputs/run_folder.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr int kGap = 2;

void write_png(const fs::path& path, const cv::Mat& image) {
  std::vector<unsigned char> buffer;
  if (!cv::imencode(".png", image, buffer)) {
    throw IoError(fmt::format("could not encode '{}' as PNG", path.string()));
  }
  write_file_atomically(path, std::string(buffer.begin(), buffer.end()));
}

// A qualitative palette (Tableau 10) in BGR order, for up to ten classes.
cv::Scalar class_colour(std::int64_t label) {
  static const std::vector<cv::Scalar> palette = {
      {180, 119, 31},
      {14, 127, 255},
      {44, 160, 44},
      {40, 39, 214},
      {189, 103, 148},
      {75, 86, 140},
      {194, 119, 227},
      {127, 127, 127},
      {34, 189, 188},
      {207, 190, 23}};
  return palette[static_cast<std::size_t>(label) % palette.size()];
}

}  // namespace

void write_image_grid(
    const fs::path& path, const at::Tensor& images, std::int64_t columns, std::int64_t scale) {
  const std::int64_t count = images.size(0);
  const std::int64_t channels = images.size(1);
  const int height = static_cast<int>(images.size(2) * scale);
  const int width = static_cast<int>(images.size(3) * scale);
  const std::int64_t rows = (count + columns - 1) / columns;

  // [N, C, H, W] in [0, 1] to [N, H, W, C] bytes, with RGB turned into OpenCV's BGR.
  at::Tensor pixels = images.detach().to(at::kFloat).clamp(0, 1).mul(255).round().to(at::kByte);
  if (channels == 3) {
    pixels = pixels.flip({1});
  }
  pixels = pixels.permute({0, 2, 3, 1}).contiguous();

  cv::Mat canvas(
      static_cast<int>(rows) * (height + kGap) + kGap,
      static_cast<int>(columns) * (width + kGap) + kGap,
      channels == 3 ? CV_8UC3 : CV_8UC1,
      cv::Scalar::all(255));
  for (std::int64_t i = 0; i < count; ++i) {
    cv::Mat tile(
        static_cast<int>(images.size(2)),
        static_cast<int>(images.size(3)),
        channels == 3 ? CV_8UC3 : CV_8UC1,
        pixels[i].data_ptr());
    cv::Mat scaled;
    cv::resize(tile, scaled, cv::Size(width, height), 0, 0, cv::INTER_NEAREST);
    const int x = kGap + static_cast<int>(i % columns) * (width + kGap);
    const int y = kGap + static_cast<int>(i / columns) * (height + kGap);
    scaled.copyTo(canvas(cv::Rect(x, y, width, height)));
  }
  write_png(path, canvas);
}

void write_scatter_plot(
    const fs::path& path,
    const at::Tensor& points,
    const at::Tensor& labels,
    const std::string& title,
    const std::string& label_name) {
  constexpr int kSize = 600;
  constexpr int kMargin = 40;
  constexpr int kLegendWidth = 120;
  cv::Mat canvas(kSize, kSize + kLegendWidth, CV_8UC3, cv::Scalar::all(255));

  const at::Tensor xy = points.to(at::kFloat).contiguous();
  const at::Tensor low = std::get<0>(xy.min(0));
  const at::Tensor high = std::get<0>(xy.max(0));
  const at::Tensor span = (high - low).clamp_min(1e-12);
  const at::Tensor unit = ((xy - low) / span).contiguous();
  const at::Tensor classes = labels.to(at::kLong).contiguous();

  const float* coords = unit.data_ptr<float>();
  const std::int64_t* label_values = classes.data_ptr<std::int64_t>();
  const int plot = kSize - 2 * kMargin;
  cv::rectangle(canvas, {kMargin, kMargin}, {kMargin + plot, kMargin + plot}, cv::Scalar::all(0));
  // Points stay `kInset` pixels inside the frame, so markers at the extremes are drawn whole.
  constexpr int kInset = 6;
  const auto inner = static_cast<float>(plot - 2 * kInset);
  for (std::int64_t i = 0; i < unit.size(0); ++i) {
    const int x = kMargin + kInset + static_cast<int>(coords[2 * i] * inner);
    const int y = kMargin + plot - kInset - static_cast<int>(coords[2 * i + 1] * inner);
    cv::circle(canvas, {x, y}, 3, class_colour(label_values[i]), cv::FILLED, cv::LINE_AA);
  }
  cv::putText(
      canvas,
      title,
      {kMargin, 25},
      cv::FONT_HERSHEY_SIMPLEX,
      0.6,
      cv::Scalar::all(0),
      1,
      cv::LINE_AA);

  const std::int64_t num_classes = classes.numel() > 0 ? classes.max().item<std::int64_t>() + 1 : 0;
  cv::putText(
      canvas,
      label_name,
      {kSize, kMargin},
      cv::FONT_HERSHEY_SIMPLEX,
      0.5,
      cv::Scalar::all(0),
      1,
      cv::LINE_AA);
  for (std::int64_t c = 0; c < num_classes; ++c) {
    const int y = kMargin + 20 + static_cast<int>(c) * 20;
    cv::circle(canvas, {kSize + 8, y - 4}, 5, class_colour(c), cv::FILLED, cv::LINE_AA);
    cv::putText(
        canvas,
        std::to_string(c),
        {kSize + 20, y},
        cv::FONT_HERSHEY_SIMPLEX,
        0.5,
        cv::Scalar::all(0),
        1,
        cv::LINE_AA);
  }
  write_png(path, canvas);
}

}  // namespace genmem
