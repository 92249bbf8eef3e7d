#pragma once

#include <cstdint>

#include <opencv2/core.hpp>

namespace genmem {

/// Returns the border, in pixels, that zooms a `size`-pixel image to `zoom` percent, as the
/// original boundary-extension code computed it: |int(size / 2 / (zoom / 100) - size / 2)|.
int zoom_border(std::int64_t zoom, int size);

/// Zooms `image` to `zoom` percent at its own size. Below 100 it pads with the edge pixels by
/// zoom_border and shrinks, and above 100 it crops by zoom_border and enlarges, both with bicubic
/// resampling. The rows added or removed are split between top and bottom so that the row at
/// `centre_row` (a fraction of the height) stays in place to within a pixel. 0.5 splits them
/// evenly, as the original did. Columns are always split evenly.
/// NOTE: the border is computed from the width and applied to both axes, so the image must be
/// square, as every data source's images are.
cv::Mat zoom_image(const cv::Mat& image, std::int64_t zoom, double centre_row);

}  // namespace genmem
