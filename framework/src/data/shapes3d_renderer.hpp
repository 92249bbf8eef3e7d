#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace genmem {

// Value counts of the six 3dshapes factors, in record order (floor hue varies slowest).
inline constexpr int kFloorHues = 10;
inline constexpr int kWallHues = 10;
inline constexpr int kObjectHues = 10;
inline constexpr int kScales = 8;
inline constexpr int kShapes = 4;
inline constexpr int kOrientations = 15;
inline constexpr int kShapes3dFactorCount = 6;
inline constexpr std::int64_t kShapes3dRecords = 480000;

/// Version of the renderer's images, raised whenever any rendered pixel changes, so that cached
/// scenes from an older renderer are never reused.
inline constexpr int kShapes3dRendererVersion = 3;

/// Image side length of a rendered scene in pixels.
inline constexpr int kShapes3dImageSize = 64;

/// Value indices of one 3dshapes scene, each in [0, count) for its factor.
struct Shapes3dFactors {
  int floor_hue = 0;
  int wall_hue = 0;
  int object_hue = 0;
  int scale = 0;
  /// 0 cube, 1 cylinder, 2 sphere, 3 capsule.
  int shape = 0;
  int orientation = 0;
};

/// Returns the value of `factor` (0 floor hue, 1 wall hue, 2 object hue, 3 scale, 4 shape,
/// 5 orientation) at value index `index`. Hues are fractions of the colour wheel, 0.0 to 0.9 in
/// steps of 0.1. Scales run from 0.75 to 1.25 in 8 even steps, and shapes are the ids 0 to 3.
/// Orientations run from -30 to 30 degrees in 15 even steps. Throws std::out_of_range for an
/// invalid factor or index.
double shapes3d_factor_value(int factor, int index);

/// Returns the factor indices of record `record` in [0, kShapes3dRecords), where orientation
/// varies fastest and floor hue slowest. Throws std::out_of_range for other records.
Shapes3dFactors shapes3d_factors_of(std::int64_t record);

/// Returns the record index of `factors`, the inverse of shapes3d_factors_of. Throws
/// std::out_of_range when a factor index is outside its range.
std::int64_t shapes3d_record_of(const Shapes3dFactors& factors);

/// Renders the scene of `factors` as uint8 RGB `[64, 64, 3]` (height, width, channel): a back
/// wall, a floor in the lower part and a lit object standing on the floor at the centre. The
/// image is drawn anti-aliased at 256x256 and reduced with area averaging. It is a stand-in that
/// follows the 3dshapes factor layout, not a copy of DeepMind's images. Rendering is
/// deterministic.
at::Tensor render_shapes3d(const Shapes3dFactors& factors);

/// Computes how much of each output pixel the wall, the floor and the object of the scene of
/// `factors` cover, as float32 `[3, 64, 64]` with channels wall, floor, object. The coverage is
/// what stays visible after nearer surfaces occlude farther ones, averaged over the 256x256
/// canvas with the same area reduction as render_shapes3d, so the three channels sum to 1 at
/// each pixel up to float rounding. A pixel where a surface's coverage is 0 keeps its value when
/// that surface's hue changes. Throws std::out_of_range for an invalid factor index.
at::Tensor render_shapes3d_coverage(const Shapes3dFactors& factors);

/// Renders the scenes of int64 record indices `records [N]` as float32 `[N, 3, 64, 64]` in
/// [0, 1], equal to render_shapes3d divided by 255.
at::Tensor render_shapes3d_records(const at::Tensor& records);

}  // namespace genmem
