#include "steps/zoom.hpp"

#include <array>
#include <utility>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace genmem {
namespace {

// A 64x64 image whose row r has the value 2r in every pixel and channel,
// so a row's value shows which source row it was sampled from.
cv::Mat row_ramp() {
  cv::Mat image(64, 64, CV_8UC3);
  for (int row = 0; row < image.rows; ++row) {
    image.row(row).setTo(cv::Scalar::all(2 * row));
  }
  return image;
}

double row_value(const cv::Mat& image, int row) {
  return image.at<cv::Vec3b>(row, image.cols / 2)[0];
}

TEST(Zoom, BordersMatchOriginalTable) {
  const std::array<std::pair<std::int64_t, int>, 9> table = {
      {{80, 8}, {85, 5}, {90, 3}, {95, 1}, {100, 0}, {105, 1}, {110, 2}, {115, 4}, {120, 5}}};
  for (const auto& [zoom, border] : table) {
    EXPECT_EQ(zoom_border(zoom, 64), border) << "zoom " << zoom;
  }
}

TEST(Zoom, HundredPercentIsUnchanged) {
  const cv::Mat image = row_ramp();
  const cv::Mat zoomed = zoom_image(image, 100, 0.5);
  EXPECT_EQ(cv::norm(zoomed, image, cv::NORM_INF), 0.0);
}

TEST(Zoom, MiddleCentreKeepsMiddleRow) {
  const cv::Mat image = row_ramp();
  for (const std::int64_t zoom : {80, 120}) {
    const cv::Mat zoomed = zoom_image(image, zoom, 0.5);
    ASSERT_EQ(zoomed.size(), image.size());
    // Row 32 of the zoomed image samples near row 32 of the input image (value 64) at either zoom.
    EXPECT_NEAR(row_value(zoomed, 32), 64.0, 2.0) << "zoom " << zoom;
  }
  // Cropping 5 rows from each side enlarges by 64/54, so the top row samples near row 5.
  EXPECT_NEAR(row_value(zoom_image(image, 120, 0.5), 0), 10.0, 3.0);
}

TEST(Zoom, BottomCentreKeepsBottomRow) {
  const cv::Mat image = row_ramp();
  // With the bottom row fixed, zooming in moves row 10 to the top (10 rows cropped at 120%), and
  // zooming out fills the top rows with copies of row 0. The last row keeps its value.
  const cv::Mat zoomed_in = zoom_image(image, 120, 1.0);
  EXPECT_NEAR(row_value(zoomed_in, 63), 126.0, 1.0);
  EXPECT_NEAR(row_value(zoomed_in, 0), 20.0, 3.0);
  const cv::Mat zoomed_out = zoom_image(image, 80, 1.0);
  EXPECT_NEAR(row_value(zoomed_out, 63), 126.0, 1.0);
  EXPECT_EQ(row_value(zoomed_out, 0), 0.0);
  // The 16 rows padded at the top repeat row 0 and shrink into the top 12.8 rows.
  EXPECT_EQ(row_value(zoomed_out, 10), 0.0);
  EXPECT_GT(row_value(zoomed_out, 20), 0.0);
}

TEST(Zoom, ThreeQuarterCentreKeepsRow48) {
  const cv::Mat image = row_ramp();
  for (const std::int64_t zoom : {80, 90, 110, 120}) {
    EXPECT_NEAR(row_value(zoom_image(image, zoom, 0.75), 48), 96.0, 2.0) << "zoom " << zoom;
  }
}

TEST(Zoom, ExtremesKeepSizeAndEdgeRows) {
  const cv::Mat image = row_ramp();
  for (const std::int64_t zoom : {50, 200}) {
    const cv::Mat top_fixed = zoom_image(image, zoom, 0.0);
    ASSERT_EQ(top_fixed.size(), image.size()) << "zoom " << zoom;
    EXPECT_NEAR(row_value(top_fixed, 0), 0.0, 1.0) << "zoom " << zoom;
    const cv::Mat bottom_fixed = zoom_image(image, zoom, 1.0);
    ASSERT_EQ(bottom_fixed.size(), image.size()) << "zoom " << zoom;
    EXPECT_NEAR(row_value(bottom_fixed, 63), 126.0, 1.0) << "zoom " << zoom;
  }
}

}  // namespace
}  // namespace genmem
