#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "steps/run_context.hpp"
#include "steps/step.hpp"
#include "test_support.hpp"
#include "tiny_generative_model.hpp"

namespace genmem {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;

// A memory whose every recall lands on the stored patterns listed in `landings`, in turn, each
// multiplied by `scale`.
class ScriptedMemory final : public AssociativeMemory {
 public:
  explicit ScriptedMemory(std::vector<std::int64_t> landings, double scale = 1.0)
      : landings_(std::move(landings)), scale_(scale) {}

  void store(const at::Tensor& patterns) override {
    patterns_ = patterns_.defined() ? at::cat({patterns_, patterns}) : patterns.clone();
  }

  RecallResult recall(const at::Tensor& cues, const RecallOptions& /*options*/) override {
    const at::Tensor chosen =
        at::tensor(landings_, at::kLong).remainder(patterns_.size(0)).slice(0, 0, cues.size(0));
    return {
        patterns_.index_select(0, chosen) * scale_,
        at::ones({cues.size(0)}, at::kLong),
        at::ones({cues.size(0)}, at::kBool),
        {}};
  }

  at::Tensor patterns() const override { return patterns_; }

  std::int64_t size() const override { return patterns_.defined() ? patterns_.size(0) : 0; }

  std::int64_t pattern_dim() const override { return 4; }

  void clear() override { patterns_ = at::Tensor(); }

  void save(const std::string& /*path*/) const override {}

  void load(const std::string& /*path*/) override {}

 private:
  std::vector<std::int64_t> landings_;
  double scale_;
  at::Tensor patterns_;
};

// A generative model that records the images passed to `fit`, encodes each image as its four
// pixels and decodes them back.
class RecordingModel final : public test_support::TinyGenerativeModel {
 public:
  RecordingModel() : TinyGenerativeModel(4) {}

  FitSummary fit(
      const at::Tensor& images,
      const EpochCallback& /*on_epoch*/,
      const ProgressCallback& /*on_batch*/) override {
    trained_on = images.clone();
    return {};
  }

  Encoding encode(const at::Tensor& images) override {
    const at::Tensor mean = images.flatten(1);
    return {mean, at::zeros_like(mean)};
  }

  at::Tensor decode(const at::Tensor& latents) override { return latents.reshape({-1, 1, 2, 2}); }

  at::Tensor trained_on;
};

// Four distinct 1x2x2 images with labels 0, 0, 1, 1 and a factor "hue" of 0, 1, 2, 2.
DataSplit four_images() {
  const at::Tensor images = at::eye(4, at::kFloat).reshape({4, 1, 2, 2});
  const at::Tensor labels = at::tensor({0, 0, 1, 1}, at::kLong);
  Dataset dataset{images, labels, "class", 2, {{"hue", at::tensor({0, 1, 2, 2}, at::kLong)}}};
  return {dataset, dataset};
}

// Runs one step of kind `name` with its defaults, changed by `changes`.
void run_step(RunContext& context, const char* name, const Parameters& changes) {
  const StepKind* kind = find_step_kind(name);
  Parameters parameters = default_parameters(kind->parameters);
  for (const auto& [key, value] : changes.values()) {
    parameters.set(key, value);
  }
  ++context.step_number;
  kind->create(parameters)->run(context);
}

// Runs a replay step of `cues` cues that neither saves nor draws anything.
void run_replay(RunContext& context, std::int64_t cues) {
  Parameters replay;
  replay.set("cues", cues);
  replay.set("cache", false);
  replay.set("figure_items", std::int64_t{0});
  run_step(context, "replay", replay);
}

struct ReplayFixture {
  test_support::TempDir root;
  Scenario scenario;
  RunFolder folder = RunFolder::create(root.path(), "replay-test", "");
  RunContext context{scenario, folder, four_images()};
};

// Returns parameters that set a train step's `on` to `source`.
Parameters train_on(const std::string& source) {
  Parameters parameters;
  parameters.set("on", source);
  return parameters;
}

TEST(ReplayStep, ReportsHowReplaysSpreadOverEachFactor) {
  ReplayFixture fixture;
  RunContext& context = fixture.context;
  fixture.scenario.steps = {{"store", {}}, {"replay", {}}, {"train", train_on("replays")}};
  // Eight replays: five land on image 0, one on image 1, two on image 3.
  ScriptedMemory memory({0, 0, 0, 0, 0, 1, 3, 3});
  context.hippocampus = &memory;

  run_step(context, "store", Parameters());
  run_replay(context, 8);

  const nlohmann::json& summary = context.summary["replay"];
  EXPECT_EQ(summary["distinct_memories"].get<int>(), 3);
  EXPECT_THAT(
      summary["class_fractions"].get<std::vector<double>>(),
      ElementsAre(DoubleNear(0.75, 1e-12), DoubleNear(0.25, 1e-12)));
  // Hue 0 gets 5/8 of the replays against 1/4 of the stored images, hue 1 gets 1/8 against 1/4
  // and hue 2 gets 2/8 against 2/4: total variation (0.375 + 0.125 + 0.25) / 2.
  EXPECT_THAT(
      summary["factor_fractions"]["hue"].get<std::vector<double>>(),
      ElementsAre(DoubleNear(0.625, 1e-12), DoubleNear(0.125, 1e-12), DoubleNear(0.25, 1e-12)));
  EXPECT_NEAR(summary["factor_bias"]["hue"].get<double>(), 0.375, 1e-12);
  EXPECT_NEAR(summary["class_bias"].get<double>(), 0.25, 1e-12);
  // The later step trains on the replays themselves, so no stored patterns are kept.
  EXPECT_FALSE(context.replayed_memory.defined());
}

TEST(ReplayStep, KeepsPatternsForNextStep) {
  ReplayFixture fixture;
  RunContext& context = fixture.context;
  fixture.scenario.steps = {{"store", {}}, {"replay", {}}, {"train", train_on("nearest_memories")}};
  ScriptedMemory memory({0, 1});
  context.hippocampus = &memory;

  run_step(context, "store", Parameters());
  run_replay(context, 2);

  ASSERT_TRUE(context.replayed_memory.defined());
  EXPECT_TRUE(at::equal(context.replayed_memory, memory.patterns()));
}

TEST(ReplayStep, FactorsAreLeftOutWhenAStoreHadNone) {
  ReplayFixture fixture;
  RunContext& context = fixture.context;
  fixture.scenario.steps = {{"store", {}}, {"store", {}}, {"replay", {}}};
  ScriptedMemory memory({0, 1, 2, 3});
  context.hippocampus = &memory;

  Parameters store;
  store.set("items", std::int64_t{2});
  run_step(context, "store", store);
  // A second store from data without factors: the stored patterns' factors are then unknown.
  context.data.train.factors.clear();
  run_step(context, "store", store);
  ASSERT_EQ(memory.size(), 4);
  run_replay(context, 4);

  const nlohmann::json& summary = context.summary["replay"];
  EXPECT_EQ(summary["distinct_memories"].get<int>(), 2);
  EXPECT_FALSE(summary.contains("factor_fractions"));
  EXPECT_FALSE(summary.contains("factor_bias"));
}

TEST(ReplayStep, NearestMemoriesTrainOnStoredImages) {
  ReplayFixture fixture;
  RunContext& context = fixture.context;
  // Each replay is half of a stored pattern, so as an image it is 0.75 where the stored image is
  // 1 and 0.25 where it is 0. It still ends nearest that pattern.
  ScriptedMemory memory({2, 0, 2}, 0.5);
  RecordingModel model;
  context.hippocampus = &memory;
  context.neocortex = &model;
  fixture.scenario.steps = {
      {"store", {}},
      {"replay", {}},
      {"train", train_on("replays")},
      {"train", train_on("nearest_memories")},
      {"train", train_on("nearest_memories")}};

  run_step(context, "store", Parameters());
  run_replay(context, 3);
  Parameters train;
  train.set("measure", false);
  train.set("on", std::string("replays"));
  run_step(context, "train", train);
  const at::Tensor image_2 = at::tensor({0.0F, 0.0F, 1.0F, 0.0F}).reshape({1, 2, 2});
  EXPECT_TRUE(at::allclose(model.trained_on[0], 0.25 + 0.5 * image_2));

  train.set("on", std::string("nearest_memories"));
  run_step(context, "train", train);
  const at::Tensor expected =
      at::eye(4, at::kFloat).index_select(0, at::tensor({2, 0, 2})).reshape({3, 1, 2, 2});
  ASSERT_EQ(model.trained_on.sizes(), expected.sizes());
  ASSERT_EQ(model.trained_on.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(model.trained_on, expected)) << model.trained_on;

  // A later step that empties the hippocampus and stores other patterns changes nothing.
  memory.clear();
  memory.store(at::zeros({1, 4}));
  run_step(context, "train", train);
  EXPECT_TRUE(at::equal(model.trained_on, expected)) << model.trained_on;
}

}  // namespace
}  // namespace genmem
