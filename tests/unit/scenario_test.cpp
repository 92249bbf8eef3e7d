#include "scenario.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

using ::testing::HasSubstr;

// A minimal valid scenario; tests change one line at a time.
constexpr const char* kValid = R"([scenario]
name = "tiny"
seed = 7

[data]
source = "mnist"
train_items = 100

[models.hippocampus]
plugin = "modern_hopfield"
beta = 20.0

[models.neocortex]
plugin = "vae"
epochs = 2

[[steps]]
run = "store"

[[steps]]
run = "replay"
cues = 50
)";

Scenario parse(const std::string& text, std::vector<std::string> assignments = {}) {
  return parse_scenario(text, "tiny.toml", ScenarioOverrides{std::move(assignments), {}, {}});
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto position = text.find(from);
  EXPECT_NE(position, std::string::npos) << from;
  return text.replace(position, from.size(), to);
}

// Returns the message of the ConfigError that parsing throws, or "" when it does not throw.
std::string config_error(const std::string& text, std::vector<std::string> assignments = {}) {
  try {
    parse(text, std::move(assignments));
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(Scenario, ValidFileFillsDefaults) {
  const Scenario scenario = parse(kValid);
  EXPECT_EQ(scenario.name, "tiny");
  EXPECT_EQ(scenario.seed, 7);
  EXPECT_EQ(scenario.threads, 2);
  EXPECT_EQ(scenario.data.get_int("train_items"), 100);
  EXPECT_EQ(scenario.data.get_int("test_items"), 1500);
  EXPECT_DOUBLE_EQ(scenario.models.at("hippocampus").parameters.get_float("beta"), 20.0);
  EXPECT_EQ(scenario.models.at("hippocampus").parameters.get_int("max_steps"), 10);
  EXPECT_EQ(scenario.models.at("neocortex").parameters.get_int("epochs"), 2);
  ASSERT_EQ(scenario.steps.size(), 2U);
  EXPECT_EQ(scenario.steps[1].kind, "replay");
  EXPECT_EQ(scenario.steps[1].parameters.get_int("cues"), 50);
}

TEST(Scenario, NameMustBeOneFolderName) {
  for (const char* name : {"../../escaped", "a/b", "a\\\\b", "..", "."}) {
    SCOPED_TRACE(name);
    const std::string message =
        config_error(kValid, {std::string("scenario.name=\"") + name + "\""});
    EXPECT_THAT(message, HasSubstr("--set: scenario.name"));
    EXPECT_THAT(message, HasSubstr("must be one folder name"));
  }
  const std::string in_file = config_error(replace(kValid, "name = \"tiny\"", "name = \"../up\""));
  EXPECT_THAT(in_file, HasSubstr("scenario 'tiny.toml' line 2: scenario.name '../up'"));
  EXPECT_EQ(parse(kValid, {"scenario.name=\"shapes3d run.2\""}).name, "shapes3d run.2");
}

TEST(Scenario, MalformedTomlCitesLineAndColumn) {
  const std::string message = config_error(replace(kValid, "seed = 7", "seed = = 7"));
  EXPECT_THAT(message, HasSubstr("scenario 'tiny.toml' line 3, column"));
  EXPECT_THAT(message, HasSubstr("invalid TOML"));
}

TEST(Scenario, MisspeltKeySuggestsDeclaredName) {
  const std::string message = config_error(replace(kValid, "beta = 20.0", "bta = 20.0"));
  EXPECT_THAT(message, HasSubstr("scenario 'tiny.toml' line 11"));
  EXPECT_THAT(message, HasSubstr("unknown key 'models.hippocampus.bta'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'beta'?"));
}

TEST(Scenario, UnknownKeyListsAcceptedKeys) {
  const std::string message = config_error(replace(kValid, "seed = 7", "colour = 7"));
  EXPECT_THAT(message, HasSubstr("unknown key 'scenario.colour'"));
  EXPECT_THAT(message, HasSubstr("[scenario] accepts: name, description, seed"));
}

TEST(Scenario, WrongTypeNamesExpectedType) {
  const std::string message = config_error(replace(kValid, "beta = 20.0", "beta = \"high\""));
  EXPECT_THAT(message, HasSubstr("line 11: 'models.hippocampus.beta' must be a number"));
  EXPECT_THAT(message, HasSubstr("(got \"high\")"));
}

TEST(Scenario, TableWhereValueExpected) {
  const std::string message = config_error(replace(kValid, "beta = 20.0", "beta = [1, 2]"));
  EXPECT_THAT(message, HasSubstr("'models.hippocampus.beta' must be a number (got [1, 2])"));
}

TEST(Scenario, OutOfRangeValueShowsBound) {
  const std::string message = config_error(replace(kValid, "beta = 20.0", "beta = -0.5"));
  EXPECT_THAT(message, HasSubstr("line 11: 'models.hippocampus.beta' must be greater than 0"));
  EXPECT_THAT(message, HasSubstr("(got -0.5)"));
}

TEST(Scenario, UnknownPluginListsTriedPaths) {
  try {
    parse(replace(kValid, "plugin = \"vae\"", "plugin = \"vea\""));
    FAIL() << "expected PluginLoadError";
  } catch (const PluginLoadError& error) {
    EXPECT_THAT(error.what(), HasSubstr("plugin 'vea' was not found (did you mean 'vae'?)"));
    EXPECT_THAT(error.what(), HasSubstr("libgenmem_plugin_vea.so"));
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos);
  }
}

TEST(Scenario, PluginNameWithPathRejected) {
  try {
    parse(replace(kValid, "plugin = \"vae\"", "plugin = \"../vae\""));
    FAIL() << "expected PluginLoadError";
  } catch (const PluginLoadError& error) {
    EXPECT_THAT(
        error.what(),
        HasSubstr("plugin name '../vae' is invalid: a name has only letters, digits, '_' and "
                  "'-', such as 'modern_hopfield'"));
  }
}

TEST(Scenario, PluginInWrongRoleRejected) {
  const std::string message =
      config_error(replace(kValid, "plugin = \"modern_hopfield\"", "plugin = \"vae\""));
  EXPECT_THAT(
      message,
      HasSubstr("'models.hippocampus.plugin' is 'vae', a generative model, but the hippocampus "
                "needs an associative memory"));
}

TEST(Scenario, MisspeltStepSuggestsKind) {
  const std::string message = config_error(replace(kValid, "run = \"store\"", "run = \"stor\""));
  EXPECT_THAT(message, HasSubstr("'steps.1.run' names an unknown step 'stor'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'store'?"));
}

TEST(Scenario, MissingModelsTableRejected) {
  const std::string text = replace(
      replace(kValid, "[models.hippocampus]\nplugin = \"modern_hopfield\"\nbeta = 20.0\n", ""),
      "[models.neocortex]\nplugin = \"vae\"\nepochs = 2\n",
      "");
  EXPECT_THAT(config_error(text), HasSubstr("the [models] table is missing"));
}

TEST(Scenario, StepWithoutItsModelRejected) {
  const std::string text =
      replace(kValid, "[models.hippocampus]\nplugin = \"modern_hopfield\"\nbeta = 20.0\n", "");
  EXPECT_THAT(
      config_error(text),
      HasSubstr("scenario 'tiny.toml': step 1 (store) needs a [models.hippocampus] table"));
}

TEST(Scenario, DecodingLargerThanTestHalfRejected) {
  const std::string text =
      std::string(kValid) + "\n[[steps]]\nrun = \"train\"\ndecoding_train = 800\n";
  EXPECT_THAT(
      config_error(text),
      HasSubstr(
          "step 3 (train) fits the decoder on 800 and scores it on 750 latents, but each must "
          "fit in half of [data] test_items (1500)"));
}

TEST(Scenario, StoreBeyondTrainItemsRejected) {
  EXPECT_THAT(
      config_error(kValid, {"steps.1.items=101"}),
      HasSubstr("step 1 (store) stores 101 items, but [data] train_items is 100"));
}

TEST(Scenario, ReplayBeforeStoreRejected) {
  const std::string text = replace(kValid, "run = \"store\"", "run = \"replay\"");
  EXPECT_THAT(config_error(text), HasSubstr("step 1 (replay) recalls from an empty hippocampus"));
}

TEST(Scenario, TrainOnReplaysNeedsReplay) {
  const std::string text = replace(kValid, "run = \"replay\"\ncues = 50", "run = \"train\"");
  EXPECT_THAT(
      config_error(text), HasSubstr("step 2 (train) trains on replays, but no replay step"));
}

TEST(Scenario, TrainOnNearestMemoriesNeedsReplay) {
  const std::string text =
      replace(kValid, "run = \"replay\"\ncues = 50", "run = \"train\"\non = \"nearest_memories\"");
  EXPECT_THAT(
      config_error(text),
      HasSubstr("step 2 (train) trains on the stored patterns nearest its replays (on = "
                "\"nearest_memories\"), but no replay step"));
}

TEST(Scenario, FolderIsNotScenario) {
  try {
    load_scenario("/tmp", ScenarioOverrides{});
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is a folder, not a file"));
  }
}

TEST(Scenario, SetWholeStepRejected) {
  EXPECT_THAT(config_error(kValid, {"steps.1=5"}), HasSubstr("name a key of the step"));
}

TEST(Scenario, SetOverridesDeclaredKeys) {
  const Scenario scenario = parse(
      kValid,
      {"models.hippocampus.beta=50",
       "models.hippocampus.similarity_scale=none",
       "steps.2.cues=7",
       "models.neocortex.learning_rate=0.01"});
  EXPECT_DOUBLE_EQ(scenario.models.at("hippocampus").parameters.get_float("beta"), 50.0);
  EXPECT_EQ(scenario.models.at("hippocampus").parameters.get_string("similarity_scale"), "none");
  EXPECT_EQ(scenario.steps[1].parameters.get_int("cues"), 7);
  EXPECT_DOUBLE_EQ(scenario.models.at("neocortex").parameters.get_float("learning_rate"), 0.01);
}

TEST(Scenario, SetUnknownKeyRejected) {
  const std::string message = config_error(kValid, {"models.hippocampus.betta=50"});
  EXPECT_THAT(message, HasSubstr("--set: unknown key 'models.hippocampus.betta'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'beta'?"));
}

TEST(Scenario, SetNumberBeyondRangeRejected) {
  const std::string message = config_error(kValid, {"scenario.seed=99999999999999999999"});
  EXPECT_THAT(message, HasSubstr("--set scenario.seed: '99999999999999999999' is not a valid"));
  EXPECT_THAT(message, HasSubstr("not representable in 64 bits"));
  // A plugin that is an integer names the integer, not "a value".
  const std::string plugin =
      config_error(replace(kValid, "plugin = \"modern_hopfield\"", "plugin = 3"));
  EXPECT_THAT(plugin, HasSubstr("must be a string (got an integer)"));
}

TEST(Scenario, SetWithoutValueRejected) {
  EXPECT_THAT(config_error(kValid, {"models.hippocampus.beta"}), HasSubstr("expected key=value"));
}

TEST(Scenario, SetOutOfRangeNamesOption) {
  const std::string message = config_error(kValid, {"steps.2.cues=0"});
  EXPECT_THAT(message, HasSubstr("--set: 'steps.2.cues' must be at least 1 (got 0)"));
}

TEST(Scenario, SetStepIndexOutOfRange) {
  EXPECT_THAT(
      config_error(kValid, {"steps.9.cues=3"}),
      HasSubstr("'steps.9' is not a step; the scenario has steps 1 to 2"));
}

TEST(Scenario, ResolvedFormatParsesToSameValues) {
  const Scenario first = parse(kValid, {"models.hippocampus.beta=33"});
  const Scenario second = parse(format_scenario(first));
  EXPECT_EQ(second.name, first.name);
  EXPECT_EQ(second.seed, first.seed);
  EXPECT_EQ(
      second.models.at("hippocampus").parameters.values(),
      first.models.at("hippocampus").parameters.values());
  EXPECT_EQ(
      second.models.at("neocortex").parameters.values(),
      first.models.at("neocortex").parameters.values());
  EXPECT_EQ(second.steps[1].parameters.values(), first.steps[1].parameters.values());
  EXPECT_EQ(second.data.values(), first.data.values());
}

// A scenario whose last step takes arrays: few_shot's integer sizes.
std::string with_few_shot(const std::string& sizes) {
  return std::string(kValid) + "\n[[steps]]\nrun = \"few_shot\"\nsizes = " + sizes + "\n";
}

TEST(Scenario, IntegerArrayParameterRead) {
  const Scenario scenario = parse(with_few_shot("[10, 20, 100]"));
  EXPECT_EQ(
      scenario.steps[2].parameters.get_int_list("sizes"), (std::vector<std::int64_t>{10, 20, 100}));
}

TEST(Scenario, ArrayParameterChecksElements) {
  // A float is no integer, even when it has no fractional part, as for an integer scalar.
  EXPECT_THAT(
      config_error(with_few_shot("[10, 2.5]")),
      HasSubstr("'steps.3.sizes' must be an array of integers (got an array whose element 1 is "
                "the number 2.5); write it without a decimal point"));
  EXPECT_THAT(
      config_error(with_few_shot("[10, 20.0]")),
      HasSubstr("'steps.3.sizes' must be an array of integers (got an array whose element 1 is "
                "the number 20.0)"));
  EXPECT_THAT(
      config_error(with_few_shot("[10, 1]")),
      HasSubstr("has an element that must be at least 2 (got 1)"));
  EXPECT_THAT(config_error(with_few_shot("[]")), HasSubstr("must be a non-empty array"));
  EXPECT_THAT(
      config_error(with_few_shot("[10, \"20\"]")),
      HasSubstr("must be an array of integers (got an array whose element 1 is a string)"));
  EXPECT_THAT(config_error(with_few_shot("10")), HasSubstr("must be a non-empty array"));
}

TEST(Scenario, SetReplacesArrayAndResolvedFormatKeepsIt) {
  const Scenario first = parse(with_few_shot("[10, 20]"), {"steps.3.sizes=[5, 50, 100]"});
  EXPECT_EQ(
      first.steps[2].parameters.get_int_list("sizes"), (std::vector<std::int64_t>{5, 50, 100}));
  const Scenario second = parse(format_scenario(first));
  EXPECT_EQ(second.steps[2].parameters.values(), first.steps[2].parameters.values());
}

TEST(Scenario, CarmichaelNeedsShapes3dSource) {
  const std::string text = std::string(kValid) + "\n[[steps]]\nrun = \"carmichael\"\n";
  EXPECT_THAT(
      config_error(text),
      HasSubstr("needs Shapes3D scenes; set [data] source to \"shapes3d_rendered\""));
}

TEST(Scenario, SweepThresholdsMustRise) {
  const std::string text =
      std::string(kValid) + "\n[[steps]]\nrun = \"extended_recall\"\nthresholds = [0.2, 0.1]\n";
  EXPECT_THAT(config_error(text), HasSubstr("needs thresholds in rising order without repeats"));
}

TEST(Scenario, SetIgnoresBlanksAroundKeyAndValue) {
  EXPECT_EQ(parse(kValid, {" scenario.seed = 9 "}).seed, 9);
  EXPECT_EQ(normalise_assignment("\tmodels.hippocampus.beta =  50"), "models.hippocampus.beta=50");
  // Blanks inside a quoted value are kept.
  EXPECT_EQ(normalise_assignment("scenario.name = ' a b '"), "scenario.name=' a b '");
}

TEST(Scenario, WhiteSquaresFitTheImages) {
  // MNIST digits are 28x28; a square's corner is drawn from [0, 28 - size).
  const std::string text = std::string(kValid) + "\n[[steps]]\nrun = \"extended_recall\"\n";
  EXPECT_THAT(
      config_error(text + "square_size = 28\n"),
      HasSubstr("step 3 (extended_recall) has square_size 28, but a square must leave at least "
                "one row and column free of the 28x28 images; lower square_size to 27 or less"));
  EXPECT_EQ(parse(text + "square_size = 27\n").steps[2].parameters.get_int("square_size"), 27);
  // Without squares their size does not matter.
  EXPECT_EQ(
      parse(text + "squares = 0\nsquare_size = 60\n").steps[2].parameters.get_int("squares"), 0);
}

TEST(Scenario, BoundaryExtensionClassIsAShape) {
  const std::string text =
      std::string(kValid) + "\n[[steps]]\nrun = \"boundary_extension\"\nclass = 4\n";
  EXPECT_THAT(config_error(text), HasSubstr("'steps.3.class' must be at most 3 (got 4)"));
}

TEST(Scenario, FewShotSizesWithinTrainItems) {
  EXPECT_THAT(
      config_error(with_few_shot("[10, 500]")),
      HasSubstr("fits a classifier on 500 examples, but [data] train_items is 100"));
}

TEST(Scenario, LoadNeedsFile) {
  const std::string text = std::string(kValid) + "\n[[steps]]\nrun = \"load\"\n";
  EXPECT_THAT(config_error(text), HasSubstr("has no file; set file to a checkpoint"));
}

constexpr const char* kCompare = R"(
[compare]
seeds = 3
metrics = ["replay.distinct_memories"]

[compare.vary]
"models.hippocampus.plugin" = ["modern_hopfield", "sparse_hopfield"]
"models.hippocampus.beta" = [10, 20.5]
)";

TEST(Scenario, CompareTableRead) {
  const Scenario scenario = parse(std::string(kValid) + kCompare);
  EXPECT_EQ(scenario.compare.seeds, 3);
  EXPECT_THAT(scenario.compare.metrics, ::testing::ElementsAre("replay.distinct_memories"));
  ASSERT_EQ(scenario.compare.vary.size(), 2U);
  EXPECT_EQ(scenario.compare.vary[0].key, "models.hippocampus.plugin");
  EXPECT_THAT(
      scenario.compare.vary[0].values,
      ::testing::ElementsAre("modern_hopfield", "sparse_hopfield"));
  EXPECT_THAT(scenario.compare.vary[1].values, ::testing::ElementsAre("10", "20.5"));

  // The resolved format keeps the table (with its keys sorted, as toml++ writes them).
  const Scenario again = parse(format_scenario(scenario));
  EXPECT_EQ(again.compare.seeds, 3);
  ASSERT_EQ(again.compare.vary.size(), 2U);
  EXPECT_EQ(again.compare.vary[0].key, "models.hippocampus.beta");
  EXPECT_THAT(again.compare.vary[0].values, ::testing::ElementsAre("10", "20.5"));
}

TEST(Scenario, CompareTableErrorsCiteKey) {
  const std::string base = std::string(kValid) + kCompare;
  EXPECT_THAT(
      config_error(replace(base, "seeds = 3", "seeds = 0")),
      HasSubstr("'compare.seeds' must be an integer from 1 to 1000 (got 0)"));
  EXPECT_THAT(
      config_error(replace(base, "seeds = 3", "seeds = 1001")),
      HasSubstr("'compare.seeds' must be an integer from 1 to 1000 (got 1001)"));
  EXPECT_THAT(
      config_error(
          replace(base, "\"models.hippocampus.beta\" = [10, 20.5]", "\"compare.seeds\" = [1, 2]")),
      HasSubstr("'compare.vary.\"compare.seeds\"': the [compare] table chooses what a comparison "
                "runs, so its keys cannot be varied"));
  EXPECT_THAT(
      config_error(replace(base, "seeds = 3", "seed = 3")),
      HasSubstr("unknown key 'compare.seed'; did you mean 'seeds'?"));
  EXPECT_THAT(
      config_error(replace(base, "[10, 20.5]", "10")),
      HasSubstr("'compare.vary.\"models.hippocampus.beta\"' must be a non-empty array"));
  EXPECT_THAT(
      config_error(replace(base, "[\"replay.distinct_memories\"]", "[1]")),
      HasSubstr("'compare.metrics' must be an array of summary keys"));
  EXPECT_THAT(config_error(replace(base, "seeds = 3", "seeds = 0")), HasSubstr("tiny.toml"));
}

TEST(Scenario, RemovalsApplyBeforeAssignments) {
  ScenarioOverrides overrides;
  overrides.removals = {"models.hippocampus.beta", "models.hippocampus.not_there"};
  const Scenario removed = parse_scenario(kValid, "tiny.toml", overrides);
  // beta falls back to its default, which is also 20; max_steps shows the removal of a set key.
  overrides.removals = {"models.hippocampus.max_steps"};
  overrides.assignments = {"models.hippocampus.beta=7"};
  const Scenario reset = parse_scenario(
      replace(kValid, "beta = 20.0", "beta = 20.0\nmax_steps = 3"), "tiny.toml", overrides);
  EXPECT_EQ(reset.models.at("hippocampus").parameters.get_int("max_steps"), 10);
  EXPECT_DOUBLE_EQ(reset.models.at("hippocampus").parameters.get_float("beta"), 7.0);
  EXPECT_DOUBLE_EQ(removed.models.at("hippocampus").parameters.get_float("beta"), 20.0);
}

TEST(Scenario, CapacitySizesMustRise) {
  const std::string text =
      replace(kValid, "run = \"replay\"\ncues = 50", "run = \"capacity\"\nsizes = [10, 100, 50]");
  EXPECT_THAT(config_error(text), HasSubstr("step 2 (capacity) has sizes that do not rise"));
  const std::string images = replace(
      kValid,
      "run = \"replay\"\ncues = 50",
      "run = \"capacity\"\npatterns = \"training_images\"\nsizes = [10, 200]");
  EXPECT_THAT(
      config_error(images),
      HasSubstr("stores up to 200 training images, but [data] train_items is 100"));
  const std::string repeated = replace(
      kValid, "run = \"replay\"\ncues = 50", "run = \"capacity\"\ncorruptions = [0.1, 0.104]");
  EXPECT_THAT(
      config_error(repeated), HasSubstr("has corruptions that round to the same percentage"));
}

TEST(Scenario, ClosestNameNeedsPlausibleDistance) {
  EXPECT_EQ(closest_name("bta", {"beta", "max_steps"}), "beta");
  EXPECT_EQ(closest_name("learnin_rate", {"learning_rate", "epochs"}), "learning_rate");
  EXPECT_EQ(closest_name("colour", {"seed", "name"}), "");
}

}  // namespace
}  // namespace genmem
