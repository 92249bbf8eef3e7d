#include "data/shapes3d_renderer.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace genmem {

namespace {

// Scenes are drawn at 4x the output size and reduced with area averaging, which anti-aliases.
constexpr int kSupersample = 4;
constexpr int kCanvasSize = kShapes3dImageSize * kSupersample;

// Canvas rows: the floor starts at the horizon and the object rests on the floor at
// `kObjectBaseY` (output row 45). The floor is a trapezoid that is narrower at the horizon.
constexpr double kHorizonY = 152.0;
constexpr double kFloorTopInset = 16.0;
constexpr double kFloorBottomOverhang = 64.0;
constexpr double kObjectCentreX = 128.0;
constexpr double kObjectBaseY = 180.0;

// The camera looks down at the object by this angle, so top faces are visible.
constexpr double kElevationRadians = 25.0 * std::numbers::pi / 180.0;

// Drawing coordinates carry this many fractional bits (OpenCV's `shift` argument).
constexpr int kShift = 4;
constexpr double kShiftScale = 1 << kShift;

// Unit light direction (x right, y up, z toward the camera): from the upper left, in front.
constexpr std::array<double, 3> kLight = {-0.537, 0.716, 0.447};
constexpr double kAmbient = 0.3;

constexpr std::array<int, kShapes3dFactorCount> kFactorSizes = {
    kFloorHues, kWallHues, kObjectHues, kScales, kShapes, kOrientations};

using Rgb = std::array<float, 3>;
using Vector3 = std::array<double, 3>;

// Converts a hue fraction at full saturation and value to RGB in [0, 1].
Rgb hue_to_rgb(double hue) {
  const double sector = hue * 6.0;
  const int index = static_cast<int>(std::floor(sector)) % 6;
  const auto rising = static_cast<float>(sector - std::floor(sector));
  const float falling = 1.0F - rising;
  switch (index) {
    case 0:
      return {1.0F, rising, 0.0F};
    case 1:
      return {falling, 1.0F, 0.0F};
    case 2:
      return {0.0F, 1.0F, rising};
    case 3:
      return {0.0F, falling, 1.0F};
    case 4:
      return {rising, 0.0F, 1.0F};
    default:
      return {1.0F, 0.0F, falling};
  }
}

// Returns the diffuse brightness of a surface with unit normal `normal`.
float lambert(const Vector3& normal) {
  const double cosine = normal[0] * kLight[0] + normal[1] * kLight[1] + normal[2] * kLight[2];
  return static_cast<float>(kAmbient + (1.0 - kAmbient) * std::max(0.0, cosine));
}

cv::Point fixed_point(double x, double y) {
  return {
      static_cast<int>(std::lround(x * kShiftScale)),
      static_cast<int>(std::lround(y * kShiftScale))};
}

void fill_polygon(cv::Mat& mask, const std::vector<cv::Point2d>& corners, int line_type) {
  std::vector<cv::Point> points;
  points.reserve(corners.size());
  for (const cv::Point2d& corner : corners) {
    points.push_back(fixed_point(corner.x, corner.y));
  }
  cv::fillPoly(
      mask, std::vector<std::vector<cv::Point>>{points}, cv::Scalar(255), line_type, kShift);
}

void fill_ellipse(
    cv::Mat& mask,
    cv::Point2d centre,
    double half_width,
    double half_height,
    double start_degrees,
    double end_degrees,
    int line_type) {
  const cv::Size axes(
      static_cast<int>(std::lround(half_width * kShiftScale)),
      static_cast<int>(std::lround(half_height * kShiftScale)));
  cv::ellipse(
      mask,
      fixed_point(centre.x, centre.y),
      axes,
      0.0,
      start_degrees,
      end_degrees,
      cv::Scalar(255),
      cv::FILLED,
      line_type,
      kShift);
}

// A layer to blend onto the canvas: an anti-aliased coverage mask (CV_8U, 255 is fully covered)
// and a brightness (CV_32F) that multiplies the layer's colour.
struct Layer {
  cv::Mat coverage = cv::Mat::zeros(kCanvasSize, kCanvasSize, CV_8U);
  cv::Mat brightness = cv::Mat::zeros(kCanvasSize, kCanvasSize, CV_32F);
};

void blend(cv::Mat& canvas, const Layer& layer, const Rgb& colour) {
  for (int y = 0; y < kCanvasSize; ++y) {
    auto* out = canvas.ptr<cv::Vec3f>(y);
    const auto* coverage = layer.coverage.ptr<unsigned char>(y);
    const auto* brightness = layer.brightness.ptr<float>(y);
    for (int x = 0; x < kCanvasSize; ++x) {
      const float alpha = static_cast<float>(coverage[x]) / 255.0F;
      for (int c = 0; c < 3; ++c) {
        out[x][c] = (1.0F - alpha) * out[x][c] + alpha * brightness[x] * colour[c];
      }
    }
  }
}

// The wall covers the whole canvas and darkens slightly toward the horizon.
Layer wall_layer() {
  Layer layer;
  layer.coverage.setTo(255);
  for (int y = 0; y < kCanvasSize; ++y) {
    const double depth = std::min(1.0, (y + 0.5) / kHorizonY);
    layer.brightness.row(y).setTo(0.9 - 0.25 * depth);
  }
  return layer;
}

// The floor is a trapezoid below the horizon, lighter toward the camera.
Layer floor_layer() {
  Layer layer;
  const double bottom = kCanvasSize;
  fill_polygon(
      layer.coverage,
      {{kFloorTopInset, kHorizonY},
       {kCanvasSize - kFloorTopInset, kHorizonY},
       {kCanvasSize + kFloorBottomOverhang, bottom},
       {-kFloorBottomOverhang, bottom}},
      cv::LINE_AA);
  for (int y = 0; y < kCanvasSize; ++y) {
    const double nearness = std::clamp((y + 0.5 - kHorizonY) / (bottom - kHorizonY), 0.0, 1.0);
    layer.brightness.row(y).setTo(0.75 + 0.25 * nearness);
  }
  return layer;
}

// Draws a box of half width `half_size` and height 2 * `half_size`, turned by `degrees` about
// the vertical axis and projected orthographically. Only the faces that point toward the camera
// are drawn, and each face gets flat Lambert shading.
void draw_cube(Layer& layer, double half_size, double degrees) {
  const double angle = degrees * std::numbers::pi / 180.0;
  const double cos_a = std::cos(angle);
  const double sin_a = std::sin(angle);
  const double cos_e = std::cos(kElevationRadians);
  const double sin_e = std::sin(kElevationRadians);

  // Turns an object-space vector (x right, y up, z toward the camera) about the vertical axis.
  auto turn = [&](const Vector3& v) -> Vector3 {
    return {v[0] * cos_a + v[2] * sin_a, v[1], -v[0] * sin_a + v[2] * cos_a};
  };
  auto project = [&](const Vector3& corner) {
    const Vector3 p = turn(corner);
    return cv::Point2d(kObjectCentreX + p[0], kObjectBaseY - (p[1] * cos_e - p[2] * sin_e));
  };

  const double h = half_size;

  struct Face {
    Vector3 normal;
    std::array<Vector3, 4> corners;
  };

  const std::array<Face, 5> faces = {{
      {{0, 1, 0}, {{{-h, 2 * h, -h}, {h, 2 * h, -h}, {h, 2 * h, h}, {-h, 2 * h, h}}}},
      {{0, 0, 1}, {{{-h, 0, h}, {h, 0, h}, {h, 2 * h, h}, {-h, 2 * h, h}}}},
      {{0, 0, -1}, {{{-h, 0, -h}, {h, 0, -h}, {h, 2 * h, -h}, {-h, 2 * h, -h}}}},
      {{1, 0, 0}, {{{h, 0, -h}, {h, 0, h}, {h, 2 * h, h}, {h, 2 * h, -h}}}},
      {{-1, 0, 0}, {{{-h, 0, -h}, {-h, 0, h}, {-h, 2 * h, h}, {-h, 2 * h, -h}}}},
  }};

  // Faces of a convex body that point toward the camera never overlap, so they need no depth
  // sorting.
  // The brightness is filled without anti-aliasing so that edges between faces do not let the
  // background through, and the union of the faces gives the anti-aliased coverage.
  for (const Face& face : faces) {
    const Vector3 normal = turn(face.normal);
    const double toward_camera = normal[1] * sin_e + normal[2] * cos_e;
    if (toward_camera <= 1e-9) {
      continue;
    }
    std::vector<cv::Point2d> outline;
    for (const Vector3& corner : face.corners) {
      outline.push_back(project(corner));
    }
    fill_polygon(layer.coverage, outline, cv::LINE_AA);
    cv::Mat face_mask = cv::Mat::zeros(kCanvasSize, kCanvasSize, CV_8U);
    fill_polygon(face_mask, outline, cv::LINE_8);
    // NOTE: the 3x3 dilation misses a few canvas pixels at the rim of the anti-aliased outline
    // (alpha at most 16/255). They keep brightness 0 and darken the outline slightly, and a fix
    // would change the rendered images.
    cv::dilate(face_mask, face_mask, cv::Mat());
    layer.brightness.setTo(lambert(normal), face_mask);
  }
}

// Draws an upright cylinder of radius `radius` and height 2 * `radius`, shaded by the angle
// around its axis, with a flat-shaded elliptical top.
void draw_cylinder(Layer& layer, double radius) {
  const double squash = std::sin(kElevationRadians);
  const double top_y = kObjectBaseY - 2.0 * radius * std::cos(kElevationRadians);
  const cv::Point2d base(kObjectCentreX, kObjectBaseY);
  const cv::Point2d top(kObjectCentreX, top_y);

  fill_polygon(
      layer.coverage,
      {{kObjectCentreX - radius, top_y},
       {kObjectCentreX + radius, top_y},
       {kObjectCentreX + radius, kObjectBaseY},
       {kObjectCentreX - radius, kObjectBaseY}},
      cv::LINE_AA);
  fill_ellipse(layer.coverage, base, radius, radius * squash, 0.0, 180.0, cv::LINE_AA);
  fill_ellipse(layer.coverage, top, radius, radius * squash, 0.0, 360.0, cv::LINE_AA);

  for (int x = 0; x < kCanvasSize; ++x) {
    const double across = std::clamp((x + 0.5 - kObjectCentreX) / radius, -1.0, 1.0);
    layer.brightness.col(x).setTo(lambert({across, 0.0, std::sqrt(1.0 - across * across)}));
  }
  cv::Mat top_mask = cv::Mat::zeros(kCanvasSize, kCanvasSize, CV_8U);
  fill_ellipse(top_mask, top, radius, radius * squash, 0.0, 360.0, cv::LINE_8);
  layer.brightness.setTo(lambert({0.0, 1.0, 0.0}), top_mask);
}

// Draws a vertical capsule: a band of half width `radius` between canvas rows `top_y` and
// `bottom_y` with half-circle ends. A sphere is the case `top_y == bottom_y`. Each pixel is
// shaded with the normal of the round surface nearest to the camera.
void draw_capsule(Layer& layer, double radius, double top_y, double bottom_y) {
  const cv::Point2d top(kObjectCentreX, top_y);
  const cv::Point2d bottom(kObjectCentreX, bottom_y);
  if (bottom_y > top_y) {
    fill_polygon(
        layer.coverage,
        {{kObjectCentreX - radius, top_y},
         {kObjectCentreX + radius, top_y},
         {kObjectCentreX + radius, bottom_y},
         {kObjectCentreX - radius, bottom_y}},
        cv::LINE_AA);
  }
  fill_ellipse(layer.coverage, top, radius, radius, 0.0, 360.0, cv::LINE_AA);
  fill_ellipse(layer.coverage, bottom, radius, radius, 0.0, 360.0, cv::LINE_AA);

  for (int y = 0; y < kCanvasSize; ++y) {
    auto* brightness = layer.brightness.ptr<float>(y);
    const double axis_y = std::clamp(y + 0.5, top_y, bottom_y);
    for (int x = 0; x < kCanvasSize; ++x) {
      double dx = (x + 0.5 - kObjectCentreX) / radius;
      double dy = (axis_y - (y + 0.5)) / radius;
      const double length = std::hypot(dx, dy);
      if (length > 1.0) {
        dx /= length;
        dy /= length;
      }
      const double dz = std::sqrt(std::max(0.0, 1.0 - dx * dx - dy * dy));
      brightness[x] = lambert({dx, dy, dz});
    }
  }
}

Layer object_layer(int shape, double scale, double degrees) {
  Layer layer;
  switch (shape) {
    case 0:
      draw_cube(layer, 46.0 * scale, degrees);
      break;
    case 1:
      draw_cylinder(layer, 46.0 * scale);
      break;
    case 2: {
      const double radius = 52.5 * scale;
      draw_capsule(layer, radius, kObjectBaseY - radius, kObjectBaseY - radius);
      break;
    }
    default: {
      // NOTE: the capsule, sphere and cylinder are symmetric about the vertical axis, so only the
      // cube shows the orientation factor.
      const double radius = 31.5 * scale;
      draw_capsule(layer, radius, kObjectBaseY - 3.0 * radius, kObjectBaseY - radius);
      break;
    }
  }
  return layer;
}

// The layers of a scene, back to front. Each one is blended over the ones behind it.
struct SceneLayers {
  Layer wall;
  Layer floor;
  Layer object;
};

SceneLayers scene_layers(const Shapes3dFactors& factors) {
  return {
      wall_layer(),
      floor_layer(),
      object_layer(
          factors.shape,
          shapes3d_factor_value(3, factors.scale),
          shapes3d_factor_value(5, factors.orientation))};
}

// Reduces a canvas to the output size by area averaging, which anti-aliases.
cv::Mat reduce_canvas(const cv::Mat& canvas) {
  cv::Mat reduced;
  cv::resize(
      canvas, reduced, cv::Size(kShapes3dImageSize, kShapes3dImageSize), 0, 0, cv::INTER_AREA);
  return reduced;
}

void check_index(int factor, int index) {
  if (index < 0 || index >= kFactorSizes[static_cast<std::size_t>(factor)]) {
    throw std::out_of_range(fmt::format(
        "Shapes3D factor {} index {} is invalid, expected 0 to {}",
        factor,
        index,
        kFactorSizes[static_cast<std::size_t>(factor)] - 1));
  }
}

}  // namespace

double shapes3d_factor_value(int factor, int index) {
  if (factor < 0 || factor >= kShapes3dFactorCount) {
    throw std::out_of_range(fmt::format(
        "Shapes3D factor {} is invalid, expected 0 to {}", factor, kShapes3dFactorCount - 1));
  }
  check_index(factor, index);
  switch (factor) {
    case 0:
    case 1:
    case 2:
      return index / 10.0;
    case 3:
      return 0.75 + 0.5 * index / (kScales - 1);
    case 4:
      return index;
    default:
      return -30.0 + 60.0 * index / (kOrientations - 1);
  }
}

Shapes3dFactors shapes3d_factors_of(std::int64_t record) {
  if (record < 0 || record >= kShapes3dRecords) {
    throw std::out_of_range(fmt::format(
        "Shapes3D record {} is invalid, expected 0 to {}", record, kShapes3dRecords - 1));
  }
  Shapes3dFactors factors;
  factors.orientation = static_cast<int>(record % kOrientations);
  record /= kOrientations;
  factors.shape = static_cast<int>(record % kShapes);
  record /= kShapes;
  factors.scale = static_cast<int>(record % kScales);
  record /= kScales;
  factors.object_hue = static_cast<int>(record % kObjectHues);
  record /= kObjectHues;
  factors.wall_hue = static_cast<int>(record % kWallHues);
  factors.floor_hue = static_cast<int>(record / kWallHues);
  return factors;
}

std::int64_t shapes3d_record_of(const Shapes3dFactors& factors) {
  const std::array<int, kShapes3dFactorCount> indices = {
      factors.floor_hue,
      factors.wall_hue,
      factors.object_hue,
      factors.scale,
      factors.shape,
      factors.orientation};
  std::int64_t record = 0;
  for (int factor = 0; factor < kShapes3dFactorCount; ++factor) {
    check_index(factor, indices[static_cast<std::size_t>(factor)]);
    record = record * kFactorSizes[static_cast<std::size_t>(factor)]
        + indices[static_cast<std::size_t>(factor)];
  }
  return record;
}

at::Tensor render_shapes3d(const Shapes3dFactors& factors) {
  // Validates every index before drawing.
  shapes3d_record_of(factors);

  const SceneLayers layers = scene_layers(factors);
  cv::Mat canvas(kCanvasSize, kCanvasSize, CV_32FC3, cv::Scalar::all(0));
  blend(canvas, layers.wall, hue_to_rgb(shapes3d_factor_value(1, factors.wall_hue)));
  blend(canvas, layers.floor, hue_to_rgb(shapes3d_factor_value(0, factors.floor_hue)));
  blend(canvas, layers.object, hue_to_rgb(shapes3d_factor_value(2, factors.object_hue)));

  cv::Mat bytes;
  reduce_canvas(canvas).convertTo(bytes, CV_8UC3, 255.0);

  // The canvas channels are RGB throughout, so the bytes need no reordering.
  at::Tensor image = at::empty({kShapes3dImageSize, kShapes3dImageSize, 3}, at::kByte);
  std::copy(bytes.datastart, bytes.dataend, image.data_ptr<std::uint8_t>());
  return image;
}

at::Tensor render_shapes3d_coverage(const Shapes3dFactors& factors) {
  // Validates every index before drawing.
  shapes3d_record_of(factors);

  // A layer with alpha a covers that fraction of a canvas pixel and leaves 1 - a of the layers
  // behind it visible, the same weights that blend() gives their colours.
  const SceneLayers layers = scene_layers(factors);
  cv::Mat visible(kCanvasSize, kCanvasSize, CV_32FC3);
  for (int y = 0; y < kCanvasSize; ++y) {
    auto* visible_row = visible.ptr<cv::Vec3f>(y);
    const auto* wall_row = layers.wall.coverage.ptr<unsigned char>(y);
    const auto* floor_row = layers.floor.coverage.ptr<unsigned char>(y);
    const auto* object_row = layers.object.coverage.ptr<unsigned char>(y);
    for (int x = 0; x < kCanvasSize; ++x) {
      const float wall_alpha = static_cast<float>(wall_row[x]) / 255.0F;
      const float floor_alpha = static_cast<float>(floor_row[x]) / 255.0F;
      const float object_alpha = static_cast<float>(object_row[x]) / 255.0F;
      visible_row[x][0] = (1.0F - object_alpha) * (1.0F - floor_alpha) * wall_alpha;
      visible_row[x][1] = (1.0F - object_alpha) * floor_alpha;
      visible_row[x][2] = object_alpha;
    }
  }

  const cv::Mat reduced = reduce_canvas(visible);
  at::Tensor coverage = at::empty({kShapes3dImageSize, kShapes3dImageSize, 3}, at::kFloat);
  std::copy(
      reduced.ptr<float>(), reduced.ptr<float>() + coverage.numel(), coverage.data_ptr<float>());
  return coverage.permute({2, 0, 1}).contiguous();
}

at::Tensor render_shapes3d_records(const at::Tensor& records) {
  if (records.scalar_type() != at::kLong || records.dim() != 1) {
    throw std::invalid_argument(fmt::format(
        "render_shapes3d_records expects int64 records [N], got {} with {} dimensions",
        std::string(at::toString(records.scalar_type())),
        records.dim()));
  }
  const at::Tensor indices = records.contiguous().cpu();
  const std::int64_t count = indices.size(0);
  at::Tensor images = at::empty({count, kShapes3dImageSize, kShapes3dImageSize, 3}, at::kByte);
  const auto* record = indices.data_ptr<std::int64_t>();
  // Validates every record first, so no exception is thrown inside the parallel loop.
  for (std::int64_t i = 0; i < count; ++i) {
    shapes3d_factors_of(record[i]);
  }
  at::parallel_for(0, count, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      images[i].copy_(render_shapes3d(shapes3d_factors_of(record[i])));
    }
  });
  return images.permute({0, 3, 1, 2}).to(at::kFloat).div(255.0).contiguous();
}

}  // namespace genmem
