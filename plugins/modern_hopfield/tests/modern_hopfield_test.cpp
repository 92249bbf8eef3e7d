#include "modern_hopfield.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

namespace genmem {
namespace {

using testing::HasSubstr;

// Builds a memory from the declared defaults with `overrides` applied.
ModernHopfield make_memory(const std::map<std::string, ParameterValue>& overrides = {}) {
  PluginContext context;
  context.parameters = default_parameters(modern_hopfield_parameters());
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
  return ModernHopfield(context);
}

// Returns `count` random patterns of +1 and -1 values, float32 `[count, dim]`.
at::Tensor random_signs(std::int64_t count, std::int64_t dim) {
  return at::randint(0, 2, {count, dim}, at::kFloat).mul_(2).sub_(1);
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// A folder under the system temporary directory, removed when the test ends.
class TemporaryFolder {
 public:
  TemporaryFolder()
      : path_(
          std::filesystem::temp_directory_path()
          / ("genmem_modern_hopfield_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }

  ~TemporaryFolder() { std::filesystem::remove_all(path_); }

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(ModernHopfield, ParametersHaveDocumentedDefaults) {
  const ModernHopfield memory = make_memory();

  EXPECT_DOUBLE_EQ(memory.beta(), 20.0);
  EXPECT_EQ(memory.similarity_scale(), "inv_sqrt_dim");
  EXPECT_EQ(memory.max_steps(), 10);
  EXPECT_DOUBLE_EQ(memory.tolerance(), 0.0);
  EXPECT_EQ(memory.chunk_elements(), 16'777'216);
  EXPECT_EQ(memory.size(), 0);
  EXPECT_EQ(memory.pattern_dim(), 0);
}

TEST(ModernHopfield, RejectsInvalidParameters) {
  try {
    make_memory({{"beta", 0.0}});
    FAIL() << "beta = 0 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("'beta'"));
    EXPECT_THAT(error.what(), HasSubstr("greater than 0"));
  }
  EXPECT_THROW(make_memory({{"similarity_scale", std::string("sqrt")}}), ConfigError);
  EXPECT_THROW(make_memory({{"max_steps", std::int64_t{0}}}), ConfigError);
  EXPECT_THROW(make_memory({{"tolerance", -1e-3}}), ConfigError);
  EXPECT_THROW(make_memory({{"chunk_elements", std::int64_t{0}}}), ConfigError);
}

TEST(ModernHopfield, StoreAppendsAndChecksDimension) {
  ModernHopfield memory = make_memory();
  const at::Tensor first = at::randn({3, 5});
  const at::Tensor second = at::randn({2, 5}, at::kDouble);

  memory.store(first);
  memory.store(second);

  ASSERT_EQ(memory.size(), 5);
  EXPECT_EQ(memory.pattern_dim(), 5);
  EXPECT_EQ(memory.patterns().scalar_type(), at::kFloat);
  EXPECT_TRUE(memory.patterns().is_contiguous());
  EXPECT_TRUE(memory.patterns().narrow(0, 0, 3).equal(first));
  EXPECT_TRUE(memory.patterns().narrow(0, 3, 2).equal(second.to(at::kFloat)));

  // The memory keeps its own copy.
  first.fill_(0.0);
  EXPECT_FALSE(memory.patterns().narrow(0, 0, 3).equal(first));

  try {
    memory.store(at::randn({2, 4}));
    FAIL() << "patterns of dimension 4 were stored next to dimension 5";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("dimension 4"));
    EXPECT_THAT(error.what(), HasSubstr("dimension 5"));
  }
  EXPECT_THROW(memory.store(at::randn({5})), ConfigError);
  EXPECT_THROW(memory.store(at::full({1, 5}, NAN)), ConfigError);
  EXPECT_THROW(memory.store(at::full({1, 5}, INFINITY)), ConfigError);
  EXPECT_EQ(memory.size(), 5);

  memory.clear();
  EXPECT_EQ(memory.size(), 0);
  EXPECT_EQ(memory.pattern_dim(), 0);
  memory.store(at::randn({1, 4}));
  EXPECT_EQ(memory.pattern_dim(), 4);
}

TEST(ModernHopfield, OneStepMatchesHandComputation) {
  ModernHopfield memory = make_memory({{"beta", 0.5}, {"similarity_scale", std::string("none")}});
  memory.store(at::tensor({1.0F, 2.0F, 0.0F, 0.0F, -1.0F, 1.0F}).reshape({2, 3}));
  const at::Tensor cue = at::tensor({0.5F, 0.0F, 1.0F}).reshape({1, 3});

  RecallOptions options;
  options.max_steps = 1;
  options.record_energy = true;
  const RecallResult result = memory.recall(cue, options);

  // Logits are beta * <x, xi> = 0.5 * (0.5, 1.0), so the weights are a two-way softmax.
  const double weight_first = 1.0 / (1.0 + std::exp(0.25));
  const double weight_second = 1.0 - weight_first;
  const at::Tensor states = result.states.to(at::kDouble);
  EXPECT_NEAR(states[0][0].item<double>(), weight_first, 1e-6);
  EXPECT_NEAR(states[0][1].item<double>(), 2.0 * weight_first - weight_second, 1e-6);
  EXPECT_NEAR(states[0][2].item<double>(), weight_second, 1e-6);
  EXPECT_EQ(result.steps[0].item<std::int64_t>(), 1);
  EXPECT_FALSE(result.converged[0].item<bool>());

  // Eq. 2 for the cue: M^2 = |(1, 2, 0)|^2 = 5 and xi.xi = 1.25.
  const double cue_energy = -std::log(std::exp(0.25) + std::exp(0.5)) / 0.5 + 0.5 * 1.25
      + std::log(2.0) / 0.5 + 0.5 * 5.0;
  ASSERT_EQ(result.energy.sizes(), at::IntArrayRef({1, 2}));
  EXPECT_EQ(result.energy.scalar_type(), at::kDouble);
  EXPECT_NEAR(result.energy[0][0].item<double>(), cue_energy, 1e-12);
}

TEST(ModernHopfield, RecallsStoredPatternFromCorruptedCue) {
  constexpr std::int64_t kPatterns = 50;
  constexpr std::int64_t kDim = 256;
  ModernHopfield memory = make_memory({{"beta", 10.0}, {"similarity_scale", std::string("none")}});
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  memory.store(patterns);

  // Replace 30% of each cue's values with random signs at random positions.
  const at::Tensor targets = patterns.narrow(0, 0, 10);
  const at::Tensor corrupted = at::rand({10, kDim}) < 0.3;
  const at::Tensor cues = at::where(corrupted, random_signs(10, kDim), targets);
  ASSERT_GT(max_abs_diff(cues, targets), 1.0);

  const RecallResult result = memory.recall(cues, RecallOptions{});

  for (std::int64_t row = 0; row < 10; ++row) {
    SCOPED_TRACE("cue " + std::to_string(row));
    EXPECT_LT(max_abs_diff(result.states[row], targets[row]), 1e-5);
    // The first step reaches the pattern, and the second leaves it unchanged.
    EXPECT_EQ(result.steps[row].item<std::int64_t>(), 2);
    EXPECT_TRUE(result.converged[row].item<bool>());
  }
}

TEST(ModernHopfield, EnergyNeverIncreases) {
  constexpr std::int64_t kSteps = 8;
  ModernHopfield memory = make_memory({{"beta", 4.0}, {"max_steps", kSteps}});
  memory.store(at::randn({100, 64}));
  const at::Tensor cues = at::randn({20, 64});

  RecallOptions options;
  options.record_energy = true;
  const RecallResult result = memory.recall(cues, options);
  ASSERT_EQ(result.energy.sizes(), at::IntArrayRef({20, kSteps + 1}));
  EXPECT_TRUE(result.energy.select(1, 0).allclose(memory.energy(cues)));

  const at::Tensor energy = result.energy.to(at::kCPU);
  for (std::int64_t row = 0; row < energy.size(0); ++row) {
    for (std::int64_t step = 1; step <= kSteps; ++step) {
      const double before = energy[row][step - 1].item<double>();
      const double after = energy[row][step].item<double>();
      EXPECT_LE(after, before + 1e-9 * std::abs(before))
          << "cue " << row << ", step " << step << ": energy rose from " << before << " to "
          << after;
    }
    EXPECT_LT(energy[row][kSteps].item<double>(), energy[row][0].item<double>()) << "cue " << row;
  }
}

TEST(ModernHopfield, LowBetaRecallsMixture) {
  constexpr std::int64_t kPatterns = 50;
  ModernHopfield memory = make_memory({{"beta", 1e-3}, {"similarity_scale", std::string("none")}});
  const at::Tensor patterns = random_signs(kPatterns, 256);
  memory.store(patterns);
  const at::Tensor cue = patterns.narrow(0, 0, 1);

  const RecallResult result = memory.recall(cue, RecallOptions{});
  const at::Tensor state = result.states[0];

  // With nearly uniform softmax weights the state is close to the mean of all patterns.
  const at::Tensor mean = patterns.mean(0);
  EXPECT_LT(max_abs_diff(state, mean), 0.05);

  // Far from any single pattern, including the one the cue started from.
  const at::Tensor cosines = at::matmul(patterns, state) / (patterns.norm(2, 1) * state.norm());
  EXPECT_LT(cosines.max().item<double>(), 0.5);
  EXPECT_GT(max_abs_diff(state, patterns[0]), 0.5);
}

TEST(ModernHopfield, ChunkedMatchesUnchunked) {
  constexpr std::int64_t kPatterns = 100;
  const std::map<std::string, ParameterValue> shared = {{"beta", 2.0}, {"tolerance", 1e-4}};
  std::map<std::string, ParameterValue> tiny = shared;
  tiny["chunk_elements"] = std::int64_t{3 * kPatterns};
  ModernHopfield whole = make_memory(shared);
  ModernHopfield chunked = make_memory(tiny);
  const at::Tensor patterns = at::randn({kPatterns, 64});
  whole.store(patterns);
  chunked.store(patterns);
  const at::Tensor cues = at::randn({16, 64});

  RecallOptions options;
  options.record_energy = true;
  const RecallResult expected = whole.recall(cues, options);
  const RecallResult actual = chunked.recall(cues, options);

  EXPECT_LT(max_abs_diff(actual.states, expected.states), 1e-6);
  EXPECT_TRUE(actual.steps.equal(expected.steps)) << actual.steps << expected.steps;
  EXPECT_TRUE(actual.converged.equal(expected.converged));
  const std::int64_t last = actual.energy.size(1) - 1;
  EXPECT_LT(max_abs_diff(actual.energy.select(1, last), expected.energy.select(1, last)), 1e-6);
  // Float32 products round differently for different batch sizes, and a state passing between
  // metastable states amplifies that while it moves, so intermediate energies agree to about
  // 2e-6 relative (largest difference 1.6e-4 at energies near 80).
  EXPECT_TRUE(actual.energy.allclose(expected.energy, /*rtol=*/1e-5, /*atol=*/0.0));
  // The case mixes cues that stop early and cues that run all steps.
  EXPECT_TRUE(expected.converged.any().item<bool>());
  EXPECT_FALSE(expected.converged.all().item<bool>());
}

TEST(ModernHopfield, Float64PrecisionMatchesFloat32) {
  // A mixture regime (beta 1, D 64), where rounding differences do not flip a one-hot softmax.
  const at::Tensor patterns = at::rand({200, 64}).mul_(2).sub_(1);
  const at::Tensor cues = at::rand({30, 64}).mul_(2).sub_(1);
  ModernHopfield single = make_memory({{"beta", 1.0}, {"max_steps", std::int64_t{5}}});
  ModernHopfield double_precision = make_memory(
      {{"beta", 1.0}, {"max_steps", std::int64_t{5}}, {"precision", std::string("float64")}});
  single.store(patterns);
  double_precision.store(patterns);

  const RecallResult expected = single.recall(cues, RecallOptions{});
  const RecallResult result = double_precision.recall(cues, RecallOptions{});
  EXPECT_EQ(result.states.scalar_type(), at::kFloat);
  EXPECT_EQ(double_precision.patterns().scalar_type(), at::kFloat);
  EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-5);
}

TEST(ModernHopfield, ToleranceControlsEarlyExit) {
  constexpr std::int64_t kSteps = 10;
  const at::Tensor patterns = at::randn({100, 64});
  const at::Tensor cues = at::randn({16, 64});

  // beta_eff = 1 / sqrt(64) keeps each state a mixture (largest softmax weight about 0.015). It
  // moves less at each step, but none of these seeded cues reaches an unchanged state in 10 steps.
  ModernHopfield exact = make_memory({{"beta", 1.0}, {"max_steps", kSteps}});
  exact.store(patterns);
  const RecallResult fixed = exact.recall(cues, RecallOptions{});
  EXPECT_TRUE((fixed.steps == kSteps).all().item<bool>()) << fixed.steps;
  EXPECT_FALSE(fixed.converged.any().item<bool>());

  ModernHopfield tolerant =
      make_memory({{"beta", 1.0}, {"max_steps", kSteps}, {"tolerance", 1e-3}});
  tolerant.store(patterns);
  const RecallResult early = tolerant.recall(cues, RecallOptions{});
  EXPECT_TRUE((early.steps < kSteps).any().item<bool>()) << early.steps;
  EXPECT_TRUE(early.converged.any().item<bool>());
  EXPECT_TRUE((early.steps <= kSteps).all().item<bool>());

  // A cue that stopped early is within a few tolerances of where the full run ends.
  EXPECT_LT(max_abs_diff(early.states, fixed.states), 1e-2);
}

TEST(ModernHopfield, RecallOptionsOverrideMaxSteps) {
  ModernHopfield memory = make_memory({{"beta", 6.0}});
  memory.store(at::randn({30, 64}));

  RecallOptions options;
  options.max_steps = 3;
  options.record_energy = true;
  const RecallResult result = memory.recall(at::randn({4, 64}), options);

  EXPECT_TRUE((result.steps == 3).all().item<bool>()) << result.steps;
  EXPECT_EQ(result.energy.size(1), 4);

  options.max_steps = 0;
  EXPECT_THROW(memory.recall(at::randn({4, 64}), options), ConfigError);
}

TEST(ModernHopfield, StoppedCueRepeatsLastEnergy) {
  ModernHopfield memory = make_memory({{"beta", 10.0}, {"similarity_scale", std::string("none")}});
  const at::Tensor patterns = random_signs(20, 64);
  memory.store(patterns);

  RecallOptions options;
  options.record_energy = true;
  const RecallResult result = memory.recall(patterns.narrow(0, 0, 2), options);

  ASSERT_EQ(result.steps[0].item<std::int64_t>(), 1);
  const at::Tensor energy = result.energy[0];
  EXPECT_TRUE(energy.narrow(0, 1, energy.size(0) - 1).eq(energy[1]).all().item<bool>()) << energy;
}

TEST(ModernHopfield, SaveThenLoadReproducesRecall) {
  const TemporaryFolder folder;
  const std::string path = folder.file("memory.pt");
  ModernHopfield original = make_memory({{"beta", 8.0}});
  original.store(at::randn({20, 16}));
  original.save(path);

  ModernHopfield restored = make_memory({{"beta", 8.0}});
  restored.store(at::randn({3, 7}));
  restored.load(path);

  ASSERT_EQ(restored.size(), 20);
  EXPECT_EQ(restored.pattern_dim(), 16);
  EXPECT_TRUE(restored.patterns().equal(original.patterns()));
  const at::Tensor cues = at::randn({5, 16});
  RecallOptions options;
  options.record_energy = true;
  const RecallResult expected = original.recall(cues, options);
  const RecallResult actual = restored.recall(cues, options);
  EXPECT_TRUE(actual.states.equal(expected.states));
  EXPECT_TRUE(actual.steps.equal(expected.steps));
  EXPECT_TRUE(actual.energy.equal(expected.energy));
}

TEST(ModernHopfield, LoadRejectsMismatchedOrBrokenFiles) {
  const TemporaryFolder folder;
  const std::string path = folder.file("memory.pt");
  ModernHopfield original = make_memory({{"beta", 8.0}});
  original.store(at::randn({4, 6}));
  original.save(path);

  ModernHopfield other_beta = make_memory({{"beta", 9.0}});
  try {
    other_beta.load(path);
    FAIL() << "a file saved with beta = 8 was loaded with beta = 9";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("beta = 8"));
    EXPECT_THAT(error.what(), HasSubstr("beta = 9"));
  }
  EXPECT_EQ(other_beta.size(), 0);

  ModernHopfield other_scale =
      make_memory({{"beta", 8.0}, {"similarity_scale", std::string("none")}});
  EXPECT_THROW(other_scale.load(path), ConfigError);

  try {
    original.load(folder.file("missing.pt"));
    FAIL() << "a missing file was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("missing.pt"));
  }

  const std::string garbage = folder.file("garbage.pt");
  std::ofstream(garbage) << "not a pickle";
  try {
    original.load(garbage);
    FAIL() << "a text file was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("garbage.pt"));
  }
  EXPECT_EQ(original.size(), 4);
}

TEST(ModernHopfield, RecallRejectsInvalidInputs) {
  ModernHopfield memory = make_memory();
  try {
    memory.recall(at::randn({2, 8}), RecallOptions{});
    FAIL() << "recall on an empty memory succeeded";
  } catch (const ModelError& error) {
    EXPECT_THAT(error.what(), HasSubstr("empty"));
  }

  memory.store(at::randn({5, 8}));
  try {
    memory.recall(at::randn({2, 7}), RecallOptions{});
    FAIL() << "cues of dimension 7 were accepted by a memory of dimension 8";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("dimension 7"));
    EXPECT_THAT(error.what(), HasSubstr("dimension 8"));
  }
  try {
    memory.recall(at::randn({8}), RecallOptions{});
    FAIL() << "a 1-D cue was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("2-D"));
    EXPECT_THAT(error.what(), HasSubstr("[8]"));
  }
  try {
    memory.recall(at::full({1, 8}, NAN), RecallOptions{});
    FAIL() << "a NaN cue was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("NaN"));
  }
}

TEST(ModernHopfield, RecallOfNoCuesIsEmpty) {
  ModernHopfield memory = make_memory();
  memory.store(at::randn({5, 8}));
  RecallOptions options;
  options.record_energy = true;

  const RecallResult result = memory.recall(at::empty({0, 8}), options);

  EXPECT_EQ(result.states.sizes(), at::IntArrayRef({0, 8}));
  EXPECT_EQ(result.steps.size(0), 0);
  EXPECT_EQ(result.energy.sizes(), at::IntArrayRef({0, 11}));
}

}  // namespace
}  // namespace genmem
