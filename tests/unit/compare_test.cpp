#include "compare.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Scenario scenario_with_modern_hopfield() {
  Scenario scenario;
  scenario.models["hippocampus"] = {
      "hippocampus",
      "modern_hopfield",
      Parameters({{"beta", 20.0}, {"max_steps", std::int64_t{10}}})};
  return scenario;
}

const std::vector<std::string> kKnown{"beta", "max_steps", "update", "interaction"};

std::vector<std::string> declared(const std::string& plugin) {
  if (plugin == "modern_hopfield") {
    return {"beta", "max_steps"};
  }
  if (plugin == "classical_hopfield") {
    return {"max_steps", "update"};
  }
  return {};
}

TEST(CompareVariants, CartesianProductInAxisOrder) {
  const auto variants = build_variants(
      scenario_with_modern_hopfield(),
      {{"models.hippocampus.beta", {"10", "20"}}, {"data.train_items", {"100", "200", "300"}}},
      declared,
      kKnown);

  ASSERT_EQ(variants.size(), 6U);
  EXPECT_EQ(variants[0].label, "beta=10, train_items=100");
  EXPECT_EQ(variants[5].label, "beta=20, train_items=300");
  EXPECT_THAT(
      variants[1].assignments, ElementsAre("models.hippocampus.beta=10", "data.train_items=200"));
  EXPECT_EQ(variants[1].slug, "beta-10_train_items-200");
  EXPECT_THAT(variants[1].removals, IsEmpty());
}

TEST(CompareVariants, ParametersFollowTheVariantsPlugin) {
  const auto variants = build_variants(
      scenario_with_modern_hopfield(),
      {{"models.hippocampus.plugin", {"modern_hopfield", "classical_hopfield"}},
       {"models.hippocampus.beta", {"10", "20"}}},
      declared,
      kKnown);

  // classical_hopfield has no beta, so its two variants are one, and the scenario's beta is
  // removed for it while max_steps, which it declares, stays.
  ASSERT_EQ(variants.size(), 3U);
  EXPECT_EQ(variants[0].label, "plugin=modern_hopfield, beta=10");
  EXPECT_EQ(variants[1].label, "plugin=modern_hopfield, beta=20");
  EXPECT_EQ(variants[2].label, "plugin=classical_hopfield");
  EXPECT_THAT(variants[2].assignments, ElementsAre("models.hippocampus.plugin=classical_hopfield"));
  EXPECT_THAT(variants[2].removals, ElementsAre("models.hippocampus.beta"));
  EXPECT_THAT(variants[0].removals, IsEmpty());
}

TEST(CompareVariants, NoAxesGiveOneBaseVariant) {
  const auto variants = build_variants(scenario_with_modern_hopfield(), {}, declared, kKnown);
  ASSERT_EQ(variants.size(), 1U);
  EXPECT_EQ(variants[0].label, "base");
  EXPECT_EQ(variants[0].slug, "base");
  EXPECT_THAT(variants[0].assignments, IsEmpty());
}

TEST(CompareVariants, UndeclaredKeyRejected) {
  try {
    build_variants(
        scenario_with_modern_hopfield(),
        {{"models.hippocampus.bta", {"10", "20"}}},
        declared,
        kKnown);
    FAIL() << "a key no plugin declares was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("no plugin found declares a parameter 'bta'"));
    EXPECT_THAT(error.what(), HasSubstr("did you mean 'beta'?"));
  }
  EXPECT_THROW(
      build_variants(
          scenario_with_modern_hopfield(), {{"scenario.seed", {"1", "2"}}}, declared, kKnown),
      ConfigError);
}

TEST(CompareVariants, KeyOfAbsentPluginLeftOut) {
  // Only a plugin outside this comparison declares `interaction`, so it changes nothing.
  const auto variants = build_variants(
      scenario_with_modern_hopfield(),
      {{"models.hippocampus.interaction", {"polynomial", "exponential"}}},
      declared,
      kKnown);
  ASSERT_EQ(variants.size(), 1U);
  EXPECT_EQ(variants[0].label, "base");
}

TEST(CompareVariants, CollidingFolderNamesNumbered) {
  const auto variants = build_variants(
      scenario_with_modern_hopfield(), {{"scenario.name", {"a b", "a_b"}}}, declared, kKnown);
  ASSERT_EQ(variants.size(), 2U);
  EXPECT_EQ(variants[0].slug, "name-a_b");
  EXPECT_EQ(variants[1].slug, "name-a_b-2");
}

TEST(CompareVary, SplitsValuesAtCommas) {
  const CompareAxis axis = parse_vary("models.hippocampus.beta=10,20.5,\"x\"");
  EXPECT_EQ(axis.key, "models.hippocampus.beta");
  EXPECT_THAT(axis.values, ElementsAre("10", "20.5", "\"x\""));
}

TEST(CompareVary, TrimsSpacesAndRepeats) {
  const CompareAxis axis = parse_vary(" models.hippocampus.beta = 10, 20 ,10");
  EXPECT_EQ(axis.key, "models.hippocampus.beta");
  EXPECT_THAT(axis.values, ElementsAre("10", "20"));
}

TEST(CompareVary, KeepsCommasInsideArraysTablesAndStrings) {
  const CompareAxis axis = parse_vary(
      "steps.3.thresholds=[0.01, 0.05],[0.1,[0.2]], {a = 1, b = 2},\"x,y\",'p,q',\"say \\\",\"");
  EXPECT_EQ(axis.key, "steps.3.thresholds");
  EXPECT_THAT(
      axis.values,
      ElementsAre(
          "[0.01, 0.05]", "[0.1,[0.2]]", "{a = 1, b = 2}", "\"x,y\"", "'p,q'", "\"say \\\",\""));
}

TEST(CompareVary, MalformedTextRejected) {
  for (const char* text :
       {"models.hippocampus.beta", "=10,20", "beta=", "beta=10,,20", "beta=[1,2", "beta=\"a,b"}) {
    SCOPED_TRACE(text);
    try {
      parse_vary(text);
      FAIL() << "accepted";
    } catch (const ConfigError& error) {
      EXPECT_THAT(error.what(), HasSubstr(std::string("--vary '") + text + "'"));
    }
  }
}

TEST(CompareSummary, FlattensNumbersByDottedKey) {
  const auto summary = nlohmann::json::parse(R"({
    "replay": {"distinct_memories": 4750, "class_fractions": [0.1, 0.9], "reused_from": ""},
    "training": {"stopped_early": true, "decoding_accuracy_after": 0.644},
    "scenario": "mnist"
  })");
  const auto metrics = flatten_summary(summary);
  ASSERT_EQ(metrics.size(), 3U);
  EXPECT_EQ(metrics.at("replay.distinct_memories"), 4750.0);
  EXPECT_EQ(metrics.at("training.stopped_early"), 1.0);
  EXPECT_EQ(metrics.at("training.decoding_accuracy_after"), 0.644);
}

}  // namespace
}  // namespace genmem
