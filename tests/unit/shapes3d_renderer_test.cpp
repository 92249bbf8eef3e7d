#include "data/shapes3d_renderer.hpp"

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace genmem {
namespace {

// Red and cyan (hue 0.0 and 0.5) differ in every channel, so every pixel that shows the
// changed surface changes.
constexpr int kHueA = 0;
constexpr int kHueB = 5;

// Returns a bool `[64, 64]` mask of pixels where two renders differ.
at::Tensor changed_pixels(const Shapes3dFactors& first, const Shapes3dFactors& second) {
  const at::Tensor a = render_shapes3d(first).to(at::kShort);
  const at::Tensor b = render_shapes3d(second).to(at::kShort);
  return (a - b).abs().amax(2) > 0;
}

at::Tensor object_pixels(Shapes3dFactors factors) {
  Shapes3dFactors other = factors;
  factors.object_hue = kHueA;
  other.object_hue = kHueB;
  return changed_pixels(factors, other);
}

at::Tensor floor_pixels(Shapes3dFactors factors) {
  Shapes3dFactors other = factors;
  factors.floor_hue = kHueA;
  other.floor_hue = kHueB;
  return changed_pixels(factors, other);
}

at::Tensor wall_pixels(Shapes3dFactors factors) {
  Shapes3dFactors other = factors;
  factors.wall_hue = kHueA;
  other.wall_hue = kHueB;
  return changed_pixels(factors, other);
}

// Channels of render_shapes3d_coverage.
constexpr int kWallChannel = 0;
constexpr int kFloorChannel = 1;
constexpr int kObjectChannel = 2;

// The minimum coverage at which a red-to-cyan hue change must change an output pixel. The change
// moves each channel of a canvas pixel by its visible coverage times its brightness, which is at
// least the object's ambient term 0.3 (the floor and the wall are brighter). An output pixel with
// coverage c therefore moves by at least 255 * 0.3 * c before rounding to uint8. A move of 1 or
// more always changes the byte, so the pixel changes once c >= 0.0131. The cube leaves a few rim
// pixels of its anti-aliased outline at brightness 0. They add at most 0.0054 to an output pixel's
// coverage over all 120 cube scales and orientations (measured on the renderer's layers), so 0.02
// covers both. A pixel with smaller coverage may round to the same byte.
constexpr float kMinChangingCoverage = 0.02F;

int64_t count_pixels(const at::Tensor& mask) {
  return mask.sum().item<int64_t>();
}

// Describes the pixels of `mask [64, 64]` for a failure message: their count and the first one's
// row, column and coverage.
std::string describe_pixels(const at::Tensor& mask, const at::Tensor& coverage) {
  const at::Tensor positions = mask.nonzero();
  std::ostringstream text;
  text << positions.size(0) << " pixels";
  if (positions.size(0) > 0) {
    const int64_t row = positions[0][0].item<int64_t>();
    const int64_t column = positions[0][1].item<int64_t>();
    text << ", first at row " << row << " column " << column << " with coverage "
         << coverage[row][column].item<float>();
  }
  return text.str();
}

// Scenes for the coverage tests: every shape at the smallest and the largest scale, each at four
// orientations (-30, about -17, 0 and 30 degrees), with distinct hues on the three surfaces.
std::vector<Shapes3dFactors> coverage_test_scenes() {
  std::vector<Shapes3dFactors> scenes;
  for (int shape = 0; shape < kShapes; ++shape) {
    for (const int scale : {0, kScales - 1}) {
      for (const int orientation : {0, 3, 7, 14}) {
        scenes.push_back(Shapes3dFactors{2, 6, 8, scale, shape, orientation});
      }
    }
  }
  return scenes;
}

// Checks, for every coverage test scene, that the pixels that `changed_by_hue` reports are exactly
// the ones that coverage channel `channel` predicts: none where the coverage is 0, and every one
// where it is at least kMinChangingCoverage.
void expect_hue_changes_match_coverage(int channel, at::Tensor (*changed_by_hue)(Shapes3dFactors)) {
  for (const Shapes3dFactors& factors : coverage_test_scenes()) {
    SCOPED_TRACE(
        testing::Message() << "shape " << factors.shape << " scale " << factors.scale
                           << " orientation " << factors.orientation);
    const at::Tensor coverage = render_shapes3d_coverage(factors)[channel];
    const at::Tensor changed = changed_by_hue(factors);

    const at::Tensor changed_uncovered = changed & (coverage == 0);
    EXPECT_EQ(count_pixels(changed_uncovered), 0)
        << "changed pixels without coverage: " << describe_pixels(changed_uncovered, coverage);

    const at::Tensor covered = coverage >= kMinChangingCoverage;
    const at::Tensor covered_unchanged = covered & ~changed;
    EXPECT_EQ(count_pixels(covered_unchanged), 0)
        << "unchanged pixels with coverage of at least " << kMinChangingCoverage << ": "
        << describe_pixels(covered_unchanged, coverage);

    // Guards against a vacuous pass: the surface shows in every scene.
    EXPECT_GT(count_pixels(covered), 50);
  }
}

// Returns the indices of image rows that contain a pixel of `mask [64, 64]`.
at::Tensor rows_with_pixels(const at::Tensor& mask) {
  return mask.any(1).nonzero().flatten();
}

TEST(Shapes3dRenderer, IdenticalFactorsRenderIdentically) {
  const Shapes3dFactors factors{3, 7, 1, 5, 0, 11};
  EXPECT_TRUE(at::equal(render_shapes3d(factors), render_shapes3d(factors)));
}

TEST(Shapes3dRenderer, ImageIsUint8Hwc) {
  const at::Tensor image = render_shapes3d(Shapes3dFactors{});
  EXPECT_EQ(image.scalar_type(), at::kByte);
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{64, 64, 3}));
}

TEST(Shapes3dRenderer, RecordRoundTrip) {
  for (const std::int64_t record : {0L, 1L, 15L, 59L, 12345L, 239999L, 479998L, 479999L}) {
    EXPECT_EQ(shapes3d_record_of(shapes3d_factors_of(record)), record) << "record " << record;
  }
  const Shapes3dFactors last = shapes3d_factors_of(479999);
  EXPECT_EQ(last.floor_hue, 9);
  EXPECT_EQ(last.wall_hue, 9);
  EXPECT_EQ(last.object_hue, 9);
  EXPECT_EQ(last.scale, 7);
  EXPECT_EQ(last.shape, 3);
  EXPECT_EQ(last.orientation, 14);
  EXPECT_EQ(
      shapes3d_record_of(Shapes3dFactors{1, 2, 3, 4, 2, 5}),
      ((((1 * 10 + 2) * 10 + 3) * 8 + 4) * 4 + 2) * 15 + 5);
}

TEST(Shapes3dRenderer, RecordOrderIsFactorOrder) {
  const Shapes3dFactors first = shapes3d_factors_of(0);
  const Shapes3dFactors second = shapes3d_factors_of(1);
  EXPECT_EQ(second.orientation, first.orientation + 1);
  EXPECT_EQ(second.shape, first.shape);
  EXPECT_EQ(second.scale, first.scale);
  EXPECT_EQ(second.object_hue, first.object_hue);

  const Shapes3dFactors fifteenth = shapes3d_factors_of(15);
  EXPECT_EQ(fifteenth.shape, first.shape + 1);
  EXPECT_EQ(fifteenth.orientation, first.orientation);
  EXPECT_EQ(fifteenth.scale, first.scale);
  EXPECT_EQ(fifteenth.floor_hue, first.floor_hue);

  // One step of the slowest factor, floor hue, skips every combination of the other five.
  const Shapes3dFactors floor_step = shapes3d_factors_of(48000);
  EXPECT_EQ(floor_step.floor_hue, 1);
  EXPECT_EQ(floor_step.wall_hue, 0);
}

TEST(Shapes3dRenderer, InvalidIndicesRejected) {
  EXPECT_THROW(shapes3d_factors_of(-1), std::out_of_range);
  EXPECT_THROW(shapes3d_factors_of(kShapes3dRecords), std::out_of_range);
  EXPECT_THROW(shapes3d_record_of(Shapes3dFactors{0, 0, 0, 8, 0, 0}), std::out_of_range);
  EXPECT_THROW(shapes3d_factor_value(6, 0), std::out_of_range);
  EXPECT_THROW(shapes3d_factor_value(5, 15), std::out_of_range);
  EXPECT_THROW(render_shapes3d(Shapes3dFactors{0, 0, 0, 0, 4, 0}), std::out_of_range);
  EXPECT_THROW(render_shapes3d_coverage(Shapes3dFactors{0, 0, 0, 0, 4, 0}), std::out_of_range);
}

TEST(Shapes3dRenderer, HueGridsAreTenths) {
  for (int factor = 0; factor < 3; ++factor) {
    for (int index = 0; index < 10; ++index) {
      EXPECT_DOUBLE_EQ(shapes3d_factor_value(factor, index), index / 10.0)
          << "factor " << factor << " index " << index;
    }
  }
}

TEST(Shapes3dRenderer, ScaleGridSpansEightSteps) {
  EXPECT_DOUBLE_EQ(shapes3d_factor_value(3, 0), 0.75);
  EXPECT_DOUBLE_EQ(shapes3d_factor_value(3, kScales - 1), 1.25);
  for (int index = 1; index < kScales; ++index) {
    const double step = shapes3d_factor_value(3, index) - shapes3d_factor_value(3, index - 1);
    EXPECT_NEAR(step, 0.5 / 7.0, 1e-12) << "index " << index;
  }
}

TEST(Shapes3dRenderer, ShapeGridIsIds) {
  for (int index = 0; index < kShapes; ++index) {
    EXPECT_DOUBLE_EQ(shapes3d_factor_value(4, index), index);
  }
}

TEST(Shapes3dRenderer, OrientationGridSpansFifteenSteps) {
  EXPECT_DOUBLE_EQ(shapes3d_factor_value(5, 0), -30.0);
  EXPECT_DOUBLE_EQ(shapes3d_factor_value(5, kOrientations - 1), 30.0);
  EXPECT_DOUBLE_EQ(shapes3d_factor_value(5, 7), 0.0);
  for (int index = 1; index < kOrientations; ++index) {
    const double step = shapes3d_factor_value(5, index) - shapes3d_factor_value(5, index - 1);
    EXPECT_NEAR(step, 60.0 / 14.0, 1e-12) << "index " << index;
  }
}

TEST(Shapes3dRenderer, CoverageSumsToOne) {
  for (const Shapes3dFactors& factors : coverage_test_scenes()) {
    SCOPED_TRACE(
        testing::Message() << "shape " << factors.shape << " scale " << factors.scale
                           << " orientation " << factors.orientation);
    const at::Tensor coverage = render_shapes3d_coverage(factors);
    ASSERT_EQ(coverage.scalar_type(), at::kFloat);
    ASSERT_EQ(coverage.sizes(), (std::vector<int64_t>{3, 64, 64}));
    EXPECT_GE(coverage.min().item<float>(), 0.0F);
    EXPECT_LE(coverage.max().item<float>(), 1.0F + 1e-6F);
    EXPECT_LE((coverage.sum(0) - 1.0F).abs().max().item<float>(), 1e-5F);
  }
}

TEST(Shapes3dRenderer, ObjectHueChangesOnlyObjectPixels) {
  expect_hue_changes_match_coverage(kObjectChannel, object_pixels);
}

TEST(Shapes3dRenderer, FloorHueChangesOnlyFloorPixels) {
  expect_hue_changes_match_coverage(kFloorChannel, floor_pixels);
}

TEST(Shapes3dRenderer, WallHueChangesOnlyWallPixels) {
  expect_hue_changes_match_coverage(kWallChannel, wall_pixels);
}

TEST(Shapes3dRenderer, ObjectCoverageMatchesProjectedArea) {
  // The renderer draws on a canvas 4 times the output size, with the camera 25 degrees above the
  // horizon and an orthographic projection. Lengths below are in output pixels.
  constexpr double kCanvasPixel = 0.25;
  const double elevation = 25.0 * std::numbers::pi / 180.0;
  const double cos_e = std::cos(elevation);
  const double sin_e = std::sin(elevation);

  for (int shape = 0; shape < kShapes; ++shape) {
    for (const int scale : {0, kScales - 1}) {
      for (const int orientation : {0, 3, 7, 14}) {
        const double size = shapes3d_factor_value(3, scale) * kCanvasPixel;
        const double turn = shapes3d_factor_value(5, orientation) * std::numbers::pi / 180.0;
        // The exact projected area of the object and the perimeter of its outline, or for the
        // cube an upper bound on that perimeter.
        double area = 0.0;
        double perimeter = 0.0;
        switch (shape) {
          case 0: {
            // A box of half width h and height 2h. Each visible face adds its area times the
            // cosine between its normal and the view direction, and the outline lies inside a
            // box of width w and height 2h cos(e) + w sin(e).
            const double h = 46.0 * size;
            const double spread = std::abs(std::cos(turn)) + std::abs(std::sin(turn));
            area = 4.0 * h * h * (sin_e + cos_e * spread);
            const double width = 2.0 * h * spread;
            perimeter = 2.0 * (width + 2.0 * h * cos_e + width * sin_e);
            break;
          }
          case 1: {
            // An upright cylinder of radius r and height 2r: a 2r by 2r cos(e) rectangle with
            // half an ellipse of semi-axes r and r sin(e) at each end. The ellipse perimeter is
            // Ramanujan's approximation, within 0.01% for this shape.
            const double r = 46.0 * size;
            const double b = r * sin_e;
            area = 4.0 * r * r * cos_e + std::numbers::pi * r * b;
            const double ellipse =
                std::numbers::pi * (3.0 * (r + b) - std::sqrt((3.0 * r + b) * (r + 3.0 * b)));
            perimeter = 4.0 * r * cos_e + ellipse;
            break;
          }
          case 2: {
            const double r = 52.5 * size;
            area = std::numbers::pi * r * r;
            perimeter = 2.0 * std::numbers::pi * r;
            break;
          }
          default: {
            // A 2r by 2r rectangle with a half disc of radius r at each end.
            const double r = 31.5 * size;
            area = 4.0 * r * r + std::numbers::pi * r * r;
            perimeter = 4.0 * r + 2.0 * std::numbers::pi * r;
            break;
          }
        }
        const at::Tensor coverage =
            render_shapes3d_coverage(Shapes3dFactors{0, 0, 0, scale, shape, orientation});
        const double covered = coverage[kObjectChannel].sum().item<double>();
        SCOPED_TRACE(
            testing::Message() << "shape " << shape << " scale " << scale << " orientation "
                               << orientation << " exact area " << area);

        // OpenCV's anti-aliased fill (4.6) shades a rim outside the exact outline, so the covered
        // area exceeds the exact one. The rim adds as much area as widening the outline by less
        // than one canvas pixel (about 0.8 for the sphere, measured). Widening a convex outline of
        // perimeter P by w adds P w + pi w^2 (Steiner's formula).
        EXPECT_GE(covered, area);
        EXPECT_LE(
            covered,
            area + perimeter * kCanvasPixel + std::numbers::pi * kCanvasPixel * kCanvasPixel);
      }
    }
  }
}

TEST(Shapes3dRenderer, ObjectStaysInsideImage) {
  for (int shape = 0; shape < kShapes; ++shape) {
    for (const int orientation : {0, 7, 14}) {
      const at::Tensor object =
          object_pixels(Shapes3dFactors{0, 0, 0, kScales - 1, shape, orientation});
      SCOPED_TRACE(testing::Message() << "shape " << shape << " orientation " << orientation);
      EXPECT_FALSE(object.select(0, 0).any().item<bool>());
      EXPECT_FALSE(object.select(0, 63).any().item<bool>());
      EXPECT_FALSE(object.select(1, 0).any().item<bool>());
      EXPECT_FALSE(object.select(1, 63).any().item<bool>());
    }
  }
}

TEST(Shapes3dRenderer, FloorInLowerPartWallInUpperPart) {
  const Shapes3dFactors factors{4, 1, 9, 3, 2, 7};
  const at::Tensor floor_rows = rows_with_pixels(floor_pixels(factors));
  const at::Tensor wall_rows = rows_with_pixels(wall_pixels(factors));

  // The horizon is at row 38, and the wall shows beside the narrow far end of the floor down to
  // row 44.
  EXPECT_GE(floor_rows.min().item<int64_t>(), 37);
  EXPECT_EQ(floor_rows.max().item<int64_t>(), 63);
  EXPECT_EQ(wall_rows.min().item<int64_t>(), 0);
  EXPECT_LE(wall_rows.max().item<int64_t>(), 44);
}

TEST(Shapes3dRenderer, ObjectGrowsWithScale) {
  for (int shape = 0; shape < kShapes; ++shape) {
    const int64_t small =
        object_pixels(Shapes3dFactors{0, 0, 0, 0, shape, 3}).sum().item<int64_t>();
    const int64_t large =
        object_pixels(Shapes3dFactors{0, 0, 0, kScales - 1, shape, 3}).sum().item<int64_t>();
    // The area grows with the square of the scale, (1.25 / 0.75)^2 = 2.8 times, less the
    // outline pixels that both sizes share.
    EXPECT_GT(large, 2 * small) << "shape " << shape;
  }
}

TEST(Shapes3dRenderer, OrientationTurnsOnlyTheCube) {
  const at::Tensor left = render_shapes3d(Shapes3dFactors{1, 2, 3, 4, 0, 0});
  const at::Tensor right = render_shapes3d(Shapes3dFactors{1, 2, 3, 4, 0, 14});
  EXPECT_FALSE(at::equal(left, right));
  const at::Tensor sphere_left = render_shapes3d(Shapes3dFactors{1, 2, 3, 4, 2, 0});
  const at::Tensor sphere_right = render_shapes3d(Shapes3dFactors{1, 2, 3, 4, 2, 14});
  EXPECT_TRUE(at::equal(sphere_left, sphere_right));
}

TEST(Shapes3dRenderer, RecordBatchMatchesSingleRenders) {
  const at::Tensor records = at::tensor({0L, 15L, 250000L, 479999L}, at::kLong);
  const at::Tensor images = render_shapes3d_records(records);
  EXPECT_EQ(images.scalar_type(), at::kFloat);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{4, 3, 64, 64}));
  EXPECT_GE(images.min().item<float>(), 0.0F);
  EXPECT_LE(images.max().item<float>(), 1.0F);
  for (int64_t i = 0; i < records.size(0); ++i) {
    const at::Tensor expected = render_shapes3d(shapes3d_factors_of(records[i].item<int64_t>()))
                                    .permute({2, 0, 1})
                                    .to(at::kFloat)
        / 255.0;
    EXPECT_TRUE(at::allclose(images[i], expected, 0.0, 1e-6))
        << "record " << records[i].item<int64_t>();
  }
}

TEST(Shapes3dRenderer, RecordBatchRejectsWrongType) {
  EXPECT_THROW(render_shapes3d_records(at::zeros({3}, at::kInt)), std::invalid_argument);
  EXPECT_THROW(render_shapes3d_records(at::tensor({480000L}, at::kLong)), std::out_of_range);
}

}  // namespace
}  // namespace genmem
