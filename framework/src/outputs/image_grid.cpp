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

}  // namespace genmem
