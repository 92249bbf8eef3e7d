#include <gtest/gtest.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>

namespace genmem {
namespace {

TEST(Parameters, FloatRangeRejectsBelowMinimum) {
  auto spec = float_parameter("beta", 20.0, 0.0, std::nullopt, "inverse temperature");
  spec.min_exclusive = true;
  EXPECT_EQ(check_parameter_value(spec, -0.5), "must be greater than 0 (got -0.5)");
  EXPECT_EQ(check_parameter_value(spec, 0.0), "must be greater than 0 (got 0.0)");
  EXPECT_EQ(check_parameter_value(spec, 1e-9), "");
}

TEST(Parameters, IntegerAcceptedForFloat) {
  const auto spec = float_parameter("beta", 20.0, 0.0, 100.0, "inverse temperature");
  EXPECT_EQ(check_parameter_value(spec, std::int64_t{50}), "");
  EXPECT_EQ(check_parameter_value(spec, std::int64_t{500}), "must be at most 100 (got 500)");
}

TEST(Parameters, FloatRejectedForInteger) {
  const auto spec = int_parameter("epochs", 10, 1, std::nullopt, "epochs");
  EXPECT_EQ(check_parameter_value(spec, 2.5), "must be an integer (got 2.5)");
  EXPECT_EQ(check_parameter_value(spec, std::int64_t{0}), "must be at least 1 (got 0)");
}

TEST(Parameters, ChoiceListsAllowedValues) {
  const auto spec = choice_parameter("loss", "l1", {"l1", "bce"}, "loss");
  EXPECT_EQ(
      check_parameter_value(spec, std::string("mse")), R"(must be one of "l1", "bce" (got "mse"))");
  EXPECT_EQ(check_parameter_value(spec, std::string("bce")), "");
}

TEST(Parameters, NonFiniteFloatRejected) {
  const auto spec = float_parameter("rate", 0.1, std::nullopt, std::nullopt, "rate");
  EXPECT_EQ(check_parameter_value(spec, std::nan("")), "must be a finite number (got nan)");
}

TEST(Parameters, GettersConvertAndCheckTypes) {
  Parameters parameters({{"beta", std::int64_t{3}}, {"name", std::string("x")}});
  EXPECT_DOUBLE_EQ(parameters.get_float("beta"), 3.0);
  EXPECT_EQ(parameters.get_string("name"), "x");
  EXPECT_THROW(parameters.get_bool("beta"), ConfigError);
  EXPECT_THROW(parameters.get_int("missing"), ConfigError);
}

}  // namespace
}  // namespace genmem
