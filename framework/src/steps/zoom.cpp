#include "steps/zoom.hpp"

#include <cmath>
#include <cstdlib>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace genmem {

int zoom_border(std::int64_t zoom, int size) {
  const double half = size / 2.0;
  return std::abs(static_cast<int>(half / (static_cast<double>(zoom) / 100.0) - half));
}

cv::Mat zoom_image(const cv::Mat& image, std::int64_t zoom, double centre_row) {
  const int border = zoom_border(zoom, image.cols);
  if (border == 0) {
    return image.clone();
  }
  const auto top = static_cast<int>(std::lround(2.0 * border * centre_row));
  const int bottom = 2 * border - top;
  cv::Mat framed;
  if (zoom < 100) {
    cv::copyMakeBorder(image, framed, top, bottom, border, border, cv::BORDER_REPLICATE);
  } else {
    framed = image(cv::Rect(border, top, image.cols - 2 * border, image.rows - 2 * border));
  }
  cv::Mat resized;
  cv::resize(framed, resized, image.size(), 0, 0, cv::INTER_CUBIC);
  return resized;
}

}  // namespace genmem
