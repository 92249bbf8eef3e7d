#include "data/shapes3d_renderer.hpp"

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

// Returns the pixels of `mask` that have a 4-neighbour outside the mask (its outline).
at::Tensor outline(const at::Tensor& mask) {
  const at::Tensor padded = at::constant_pad_nd(mask.to(at::kByte), {1, 1, 1, 1}, 0).to(at::kBool);
  const int64_t size = mask.size(0);
  const at::Tensor interior = padded.slice(0, 0, size).slice(1, 1, size + 1)
      & padded.slice(0, 2, size + 2).slice(1, 1, size + 1)
      & padded.slice(0, 1, size + 1).slice(1, 0, size)
      & padded.slice(0, 1, size + 1).slice(1, 2, size + 2);
  return mask & ~interior;
}

// Returns the pixels of `mask` within 2 pixels of its outside. Area averaging (cv::INTER_AREA)
// spreads an anti-aliased edge of the 4x canvas over up to 2 output pixels.
at::Tensor edge_band(const at::Tensor& mask) {
  const at::Tensor first = outline(mask);
  return first | outline(mask & ~first);
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

TEST(Shapes3dRenderer, HueChangesAffectSeparateRegions) {
  for (int shape = 0; shape < kShapes; ++shape) {
    for (const int scale : {0, kScales - 1}) {
      const Shapes3dFactors factors{2, 6, 8, scale, shape, 3};
      const at::Tensor object = object_pixels(factors);
      const at::Tensor floor = floor_pixels(factors);
      const at::Tensor wall = wall_pixels(factors);
      SCOPED_TRACE(testing::Message() << "shape " << shape << " scale " << scale);

      // Anti-aliased pixels on the object's edge mix the object with the floor or the wall, so
      // both hues change them. Every shared pixel must therefore lie on the object's edge.
      const at::Tensor object_outline = edge_band(object);
      EXPECT_EQ((object & floor & ~object_outline).sum().item<int64_t>(), 0);
      EXPECT_EQ((object & wall & ~object_outline).sum().item<int64_t>(), 0);

      // The floor's edge is a straight, anti-aliased line at the horizon and along its slanted
      // sides, so floor and wall share at most that line. It covers 64 pixels at the horizon
      // and about 6 rows of each slanted side.
      EXPECT_LE((floor & wall).sum().item<int64_t>(), 64 + 2 * 8);

      // The object is not hidden by the scene, so its hue changes a sizeable region.
      EXPECT_GT(object.sum().item<int64_t>(), 100);
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
