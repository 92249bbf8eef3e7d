#include "modern_hopfield.hpp"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

/// Recalls `cues` from `patterns` with `settings` and no rows of X X^T (`gram_cache_elements`
/// 0), and checks that the recall used none.
RecallResult recall_without_gram(
    std::map<std::string, ParameterValue> settings,
    const at::Tensor& patterns,
    const at::Tensor& cues) {
  settings["gram_cache_elements"] = std::int64_t{0};
  ModernHopfield plain = make_memory(settings);
  plain.store(patterns);
  RecallResult result = plain.recall(cues, RecallOptions{});
  EXPECT_EQ(plain.gram_updates(), 0);
  EXPECT_EQ(plain.gram_rows(), 0);
  return result;
}

/// Checks that every cue stopped at the same step as in `expected` or one step later.
void expect_same_step_or_one_later(const at::Tensor& steps, const at::Tensor& expected) {
  const at::Tensor gaps = steps - expected;
  EXPECT_GE(gaps.min().item<std::int64_t>(), 0) << steps << expected;
  EXPECT_LE(gaps.max().item<std::int64_t>(), 1) << steps << expected;
}

// Returns the Sylvester-Hadamard matrix of order 16, float32 `[16, 16]`: orthogonal rows of +1
// and -1, whose first column is all +1 and whose other columns each sum to 0.
at::Tensor hadamard16() {
  at::Tensor matrix = at::ones({1, 1});
  while (matrix.size(0) < 16) {
    matrix = at::cat({at::cat({matrix, matrix}, 1), at::cat({matrix, -matrix}, 1)}, 0);
  }
  return matrix;
}

// Builds a sparse modern Hopfield memory from the declared defaults with `overrides` applied.
SparseHopfield make_sparse_memory(const std::map<std::string, ParameterValue>& overrides) {
  PluginContext context;
  context.parameters = default_parameters(sparse_hopfield_parameters());
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
  return SparseHopfield(context);
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
  EXPECT_EQ(memory.top_k(), 8);
  EXPECT_DOUBLE_EQ(memory.top_k_tolerance(), 1e-7);
  EXPECT_EQ(memory.gram_cache_elements(), 268'435'456);
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

TEST(ModernHopfield, RejectsInvalidTopKParameters) {
  try {
    make_memory({{"top_k", std::int64_t{-1}}});
    FAIL() << "top_k = -1 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_STREQ(
        error.what(),
        "modern_hopfield: parameter 'top_k' must be at least 0 (got -1). Set it within the "
        "declared range.");
  }
  try {
    make_memory({{"top_k_tolerance", -1e-9}});
    FAIL() << "top_k_tolerance = -1e-9 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("'top_k_tolerance' must be at least 0"));
    EXPECT_THAT(error.what(), testing::Not(HasSubstr("\n")));
  }
  try {
    make_memory({{"top_k_tolerance", 1.5}});
    FAIL() << "top_k_tolerance = 1.5 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("'top_k_tolerance' must be at most 1 (got 1.5)"));
    EXPECT_THAT(error.what(), testing::Not(HasSubstr("\n")));
  }

  // The bounds themselves are valid: 0 turns the shortcut off, and a tolerance of 1 accepts
  // every row.
  EXPECT_EQ(make_memory({{"top_k", std::int64_t{0}}}).top_k(), 0);
  EXPECT_DOUBLE_EQ(make_memory({{"top_k_tolerance", 0.0}}).top_k_tolerance(), 0.0);
  EXPECT_DOUBLE_EQ(make_memory({{"top_k_tolerance", 1.0}}).top_k_tolerance(), 1.0);
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

TEST(ModernHopfield, RecallReportsProgressPerChunk) {
  // 10 patterns and chunk_elements 30 give chunks of 3 cues: 10 cues take 4 chunks.
  ModernHopfield memory = make_memory({{"chunk_elements", std::int64_t{30}}});
  memory.store(random_signs(10, 16));
  std::vector<std::pair<std::int64_t, std::int64_t>> reports;
  RecallOptions options;
  options.on_progress = [&](std::int64_t done, std::int64_t total) {
    reports.emplace_back(done, total);
  };

  memory.recall(at::randn({10, 16}), options);

  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {
      {3, 10}, {6, 10}, {9, 10}, {10, 10}};
  EXPECT_EQ(reports, expected);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().first, reports.back().second);
  for (std::size_t i = 1; i < reports.size(); ++i) {
    EXPECT_GE(reports[i].first, reports[i - 1].first) << "report " << i;
  }
}

TEST(ModernHopfield, TopKProductKeepsWithinBound) {
  // With top_k = 2: row 0 has 1e-8 of its weight outside the top two, and row 1 none. Row 2
  // spreads its weight evenly, and row 3 leaves 0.1 outside its top two.
  const at::Tensor patterns =
      at::tensor({1.0F, 2.0F, -3.0F, 4.0F, 0.5F, 0.25F, -8.0F, 1.0F}).reshape({4, 2});
  at::Tensor weights = at::stack(
      {at::tensor({0.6F, 0.4F, 1e-8F, 0.0F}),
       at::tensor({0.0F, 0.0F, 0.3F, 0.7F}),
       at::tensor({0.25F, 0.25F, 0.25F, 0.25F}),
       at::tensor({0.5F, 0.4F, 0.05F, 0.05F})});
  const at::Tensor original = weights.clone();
  const at::Tensor full = at::mm(weights, patterns);
  at::Tensor out = at::empty({4, 2});

  // Half the rows pass, so a minimum share of 0.5 takes the shortcut and 0.75 does not.
  EXPECT_EQ(top_k_mm_out(out, weights, patterns, /*top_k=*/2, /*tolerance=*/1e-7, 0.5), 2);
  EXPECT_TRUE(weights.equal(original));
  EXPECT_NEAR(out[0][0].item<double>(), 0.6 * 1.0 + 0.4 * -3.0, 1e-6);
  EXPECT_NEAR(out[0][1].item<double>(), 0.6 * 2.0 + 0.4 * 4.0, 1e-6);
  // The bound: 1e-7 times the largest absolute stored value, 8.
  EXPECT_LE(max_abs_diff(out[0], full[0]), 1e-7 * 8.0);
  // Row 1's top two hold all of its weight, so only rounding separates it from the full product.
  EXPECT_LT(max_abs_diff(out[1], full[1]), 1e-6);
  EXPECT_LT(max_abs_diff(out.narrow(0, 2, 2), full.narrow(0, 2, 2)), 1e-6);

  at::Tensor plain = at::empty({4, 2});
  EXPECT_EQ(top_k_mm_out(plain, weights, patterns, /*top_k=*/2, /*tolerance=*/1e-7, 0.75), 0);
  EXPECT_TRUE(plain.equal(full));
  EXPECT_EQ(top_k_mm_out(plain, weights, patterns, /*top_k=*/0, /*tolerance=*/1.0, 0.0), 0);
  EXPECT_TRUE(plain.equal(full));
  EXPECT_EQ(top_k_mm_out(plain, weights, patterns, /*top_k=*/4, /*tolerance=*/1.0, 0.0), 0);
  EXPECT_TRUE(plain.equal(full));

  // A tolerance of 0.2 also admits row 3.
  EXPECT_EQ(top_k_mm_out(plain, weights, patterns, /*top_k=*/2, /*tolerance=*/0.2, 0.0), 3);
  EXPECT_NEAR(plain[3][0].item<double>(), 0.5 * 1.0 + 0.4 * -3.0, 1e-6);
  EXPECT_NEAR(plain[3][1].item<double>(), 0.5 * 2.0 + 0.4 * 4.0, 1e-6);
  EXPECT_TRUE(weights.equal(original));
}

TEST(ModernHopfield, TopKRecallsHadamardPatternExactly) {
  // With orthogonal +-1 patterns and one value of row 5 flipped, the logits are
  // beta <x_j, cue> = 2 * 14 for row 5 and 2 * (+-2) for the others. The weight outside the
  // largest is at most 15 e^-24 = 6e-10, so float32 rounds row 5's weight to exactly 1 and the
  // next state is row 5 exactly, on the shortcut and on the full product.
  const at::Tensor patterns = hadamard16();
  at::Tensor cue = patterns.narrow(0, 5, 1).clone();
  cue[0][3] = -cue[0][3];
  RecallOptions options;
  options.record_energy = true;

  ModernHopfield shortcut = make_memory(
      {{"beta", 2.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}});
  shortcut.store(patterns);
  const RecallResult result = shortcut.recall(cue, options);

  EXPECT_TRUE(result.states.equal(patterns.narrow(0, 5, 1))) << result.states;
  EXPECT_EQ(result.steps[0].item<std::int64_t>(), 2);
  EXPECT_TRUE(result.converged[0].item<bool>());
  EXPECT_EQ(shortcut.top_k_updates(), 2);

  ModernHopfield full = make_memory(
      {{"beta", 2.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{0}}});
  full.store(patterns);
  const RecallResult expected = full.recall(cue, options);
  EXPECT_EQ(full.top_k_updates(), 0);
  EXPECT_TRUE(result.states.equal(expected.states));
  EXPECT_TRUE(result.steps.equal(expected.steps));
  EXPECT_TRUE(result.energy.equal(expected.energy));
}

TEST(ModernHopfield, TopKKeepsTwoPatternMixture) {
  // The midpoint of rows 2 and 9 has logits 4 * 8 for both and 0 for the other 14 rows, so the
  // weight outside the top two is 14 / (2 e^32 + 14) = 9e-14. The top-2 state is exactly the
  // midpoint, a fixed point. The full product adds at most 9e-14 to any value.
  const at::Tensor patterns = hadamard16();
  const at::Tensor cue = (patterns.narrow(0, 2, 1) + patterns.narrow(0, 9, 1)) / 2;

  ModernHopfield shortcut = make_memory(
      {{"beta", 4.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}});
  shortcut.store(patterns);
  const RecallResult result = shortcut.recall(cue, RecallOptions{});
  EXPECT_TRUE(result.states.equal(cue)) << result.states;
  EXPECT_EQ(result.steps[0].item<std::int64_t>(), 1);
  EXPECT_TRUE(result.converged[0].item<bool>());
  EXPECT_EQ(shortcut.top_k_updates(), 1);

  // With top_k = 1 half the weight lies outside, so every step takes the full product.
  ModernHopfield single = make_memory(
      {{"beta", 4.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{1}}});
  single.store(patterns);
  const RecallResult full = single.recall(cue, RecallOptions{});
  EXPECT_EQ(single.top_k_updates(), 0);
  EXPECT_LT(max_abs_diff(full.states, cue), 1e-12);
}

TEST(ModernHopfield, TopKFallsBackWhenWeightsSpread) {
  // The midpoint of rows 2 and 9 at beta 0.1 and 1: logits 8 beta for both and 0 for the other
  // 14 rows. One step gives (w_a - w_o)(x_2 + x_9) + 16 w_o e_1, with
  // w_a = e^(8 beta) / (2 e^(8 beta) + 14) and w_o = 1 / (2 e^(8 beta) + 14), because the 16
  // rows sum to 16 e_1. At beta 0.1 the largest weight (0.12) rules the shortcut out at once.
  // At beta 1 the top two hold 0.998 and the weight outside them is 2.3e-3, above the tolerance.
  const at::Tensor patterns = hadamard16();
  const at::Tensor pair = patterns.narrow(0, 2, 1) + patterns.narrow(0, 9, 1);
  const at::Tensor cue = pair / 2;
  RecallOptions options;
  options.max_steps = 1;

  for (const double beta : {0.1, 1.0}) {
    SCOPED_TRACE("beta " + std::to_string(beta));
    const std::map<std::string, ParameterValue> settings = {
        {"beta", beta}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}};
    ModernHopfield shortcut = make_memory(settings);
    shortcut.store(patterns);
    const RecallResult result = shortcut.recall(cue, options);
    EXPECT_EQ(shortcut.top_k_updates(), 0);

    const double denominator = 2.0 * std::exp(8.0 * beta) + 14.0;
    const double pair_weight = std::exp(8.0 * beta) / denominator;
    const double other_weight = 1.0 / denominator;
    at::Tensor hand = (pair_weight - other_weight) * pair.to(at::kDouble);
    hand[0][0] += 16.0 * other_weight;
    EXPECT_LT(max_abs_diff(result.states.to(at::kDouble), hand), 1e-6);

    std::map<std::string, ParameterValue> off = settings;
    off["top_k"] = std::int64_t{0};
    ModernHopfield full = make_memory(off);
    full.store(patterns);
    EXPECT_TRUE(result.states.equal(full.recall(cue, options).states));
  }
}

TEST(ModernHopfield, TopKMixesShortcutAndFullRows) {
  // Four cues at beta 2: two with one flipped value of rows 5 and 11 pass (weight outside the
  // top two below 6e-10), and two midpoints of two rows fail (14 / (2 e^16 + 14) = 8e-7 outside
  // the top two). Half the rows pass, above the minimum share of 0.25, so one step computes
  // both kinds.
  const at::Tensor patterns = hadamard16();
  at::Tensor cues = at::stack(
      {patterns[5],
       (patterns[2] + patterns[9]) / 2,
       patterns[11],
       (patterns[0] + patterns[7]) / 2});
  cues[0][3] = -cues[0][3];
  cues[2][6] = -cues[2][6];
  RecallOptions options;
  options.max_steps = 1;

  ModernHopfield shortcut = make_memory(
      {{"beta", 2.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}});
  shortcut.store(patterns);
  const RecallResult result = shortcut.recall(cues, options);
  EXPECT_EQ(shortcut.top_k_updates(), 2);
  EXPECT_TRUE(result.states[0].equal(patterns[5]));
  EXPECT_TRUE(result.states[2].equal(patterns[11]));

  const double denominator = 2.0 * std::exp(16.0) + 14.0;
  const double pair_weight = std::exp(16.0) / denominator;
  const double other_weight = 1.0 / denominator;
  for (const std::int64_t row : {1, 3}) {
    SCOPED_TRACE("cue " + std::to_string(row));
    at::Tensor hand = (pair_weight - other_weight) * (2.0 * cues[row].to(at::kDouble));
    hand[0] += 16.0 * other_weight;
    EXPECT_LT(max_abs_diff(result.states[row].to(at::kDouble), hand), 1e-6);
  }

  ModernHopfield full = make_memory(
      {{"beta", 2.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{0}}});
  full.store(patterns);
  EXPECT_LT(max_abs_diff(result.states, full.recall(cues, options).states), 1e-6);
}

TEST(ModernHopfield, TopKWideTestTakesMixturesOfMorePatterns) {
  // Two cues at beta 4 with top_k 2: row 5 with one value flipped passes the test with 2 weights,
  // and the mean of rows 1, 2 and 3 fails it (a third of its weight lies outside its top 2) but
  // passes it with kTopKWideFactor * 2 = 8, with 13 e^-21.3 / 3 = 2e-9 outside its top 3.
  ASSERT_GE(kTopKWideFactor * 2, 3);
  const at::Tensor patterns = hadamard16();
  at::Tensor cues = at::stack({patterns[5], (patterns[1] + patterns[2] + patterns[3]) / 3});
  cues[0][3] = -cues[0][3];
  RecallOptions options;
  options.max_steps = 1;

  ModernHopfield shortcut = make_memory(
      {{"beta", 4.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}});
  shortcut.store(patterns);
  const RecallResult result = shortcut.recall(cues, options);
  EXPECT_EQ(shortcut.top_k_updates(), 2);
  EXPECT_TRUE(result.states[0].equal(patterns[5]));
  EXPECT_LT(max_abs_diff(result.states[1], cues[1]), 1e-7);

  ModernHopfield full = make_memory(
      {{"beta", 4.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{0}}});
  full.store(patterns);
  EXPECT_LT(max_abs_diff(result.states, full.recall(cues, options).states), 1e-7);
}

TEST(ModernHopfield, TopKMatchesFullProductOnRandomPatterns) {
  // Uniform patterns and noise cues in [-1, 1] (N 2,000, D 256, beta 20 scaled by 1/sqrt(D)).
  // The first step spreads the weights over a few patterns, and later steps concentrate them
  // on one, so recall uses both paths.
  const at::Tensor patterns = at::rand({2000, 256}).mul_(2).sub_(1);
  const at::Tensor cues = at::rand({200, 256}).mul_(2).sub_(1);
  RecallOptions options;
  options.record_energy = true;

  const std::vector<std::pair<double, std::string>> cases = {
      {0.0, "float32"}, {1e-6, "float32"}, {1e-6, "float64"}};
  for (const auto& [tolerance, precision] : cases) {
    SCOPED_TRACE("tolerance " + std::to_string(tolerance) + ", " + precision);
    const std::map<std::string, ParameterValue> settings = {
        {"tolerance", tolerance}, {"precision", precision}, {"top_k", std::int64_t{8}}};
    ModernHopfield shortcut = make_memory(settings);
    shortcut.store(patterns);
    const RecallResult result = shortcut.recall(cues, options);
    std::map<std::string, ParameterValue> off = settings;
    off["top_k"] = std::int64_t{0};
    ModernHopfield full = make_memory(off);
    full.store(patterns);
    const RecallResult expected = full.recall(cues, options);

    EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-5);
    EXPECT_TRUE(result.converged.equal(expected.converged));
    EXPECT_TRUE(result.energy.allclose(expected.energy, /*rtol=*/1e-6, /*atol=*/0.0));
    EXPECT_EQ(full.top_k_updates(), 0);
    const std::int64_t updates = result.steps.sum().item<std::int64_t>();
    EXPECT_GT(shortcut.top_k_updates(), 0);
    EXPECT_LT(shortcut.top_k_updates(), updates);
    // A cue whose last logits summed several rows of X X^T takes one more step, with plain
    // logits for the patterns it mixes, before it stops, so it may stop one step later than
    // with the full product.
    const at::Tensor step_gaps = result.steps - expected.steps;
    EXPECT_LE(step_gaps.max().item<std::int64_t>(), 1) << result.steps << expected.steps;
    if (tolerance > 0.0) {
      EXPECT_GE(step_gaps.min().item<std::int64_t>(), 0) << result.steps << expected.steps;
      continue;
    }
    // NOTE: with tolerance 0 a cue stops only on an unchanged state, so rounding differences of
    // about 1e-10 between the shortcut and the full product can also move its stop one step
    // earlier. In 20 seeded runs of this case 1 of 4,000 cues did, and none with 1e-6.
    EXPECT_GE(step_gaps.min().item<std::int64_t>(), -1) << result.steps << expected.steps;
  }
}

TEST(ModernHopfield, TopKIsExactForSparseSupport) {
  // Sparsemax and 1.5-entmax give exact zeros, so a row whose support fits in the top k has no
  // weight outside it, and the shortcut sums the same terms as the full product.
  const at::Tensor patterns = at::rand({500, 64}).mul_(2).sub_(1);
  const at::Tensor cues = at::rand({50, 64}).mul_(2).sub_(1);
  for (const std::string separation : {"sparsemax", "entmax15"}) {
    SCOPED_TRACE(separation);
    SparseHopfield shortcut =
        make_sparse_memory({{"separation", separation}, {"top_k", std::int64_t{8}}});
    shortcut.store(patterns);
    const RecallResult result = shortcut.recall(cues, RecallOptions{});
    SparseHopfield full =
        make_sparse_memory({{"separation", separation}, {"top_k", std::int64_t{0}}});
    full.store(patterns);
    const RecallResult expected = full.recall(cues, RecallOptions{});

    EXPECT_GT(shortcut.top_k_updates(), 0);
    // Summation order alone separates the two, by a few float32 roundings.
    EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-6);
    EXPECT_TRUE(result.steps.equal(expected.steps)) << result.steps << expected.steps;
    EXPECT_TRUE(result.converged.equal(expected.converged));
  }
}

TEST(ModernHopfield, GramRowsGiveTheLogitsOfTopKStates) {
  // Four cues, each row 1, 5, 5 or 9 of the Hadamard matrix with one value flipped. At beta 2
  // the first step lands every cue exactly on its row through the top-k shortcut, so the second
  // step takes its logits from the rows of X X^T of patterns 1, 5 and 9, finds the states
  // unchanged and stops.
  const at::Tensor patterns = hadamard16();
  const std::vector<std::int64_t> targets = {1, 5, 5, 9};
  at::Tensor cues = patterns.index_select(0, at::tensor(targets, at::kLong)).clone();
  for (std::int64_t row = 0; row < 4; ++row) {
    cues[row][row + 2] = -cues[row][row + 2];
  }
  const std::map<std::string, ParameterValue> settings = {
      {"beta", 2.0}, {"similarity_scale", std::string("none")}, {"top_k", std::int64_t{2}}};

  ModernHopfield cached = make_memory(settings);
  cached.store(patterns);
  const RecallResult result = cached.recall(cues, RecallOptions{});
  for (std::int64_t row = 0; row < 4; ++row) {
    EXPECT_TRUE(result.states[row].equal(patterns[targets[row]])) << "cue " << row;
  }
  EXPECT_TRUE(result.steps.equal(at::full({4}, 2, at::kLong))) << result.steps;
  EXPECT_EQ(cached.top_k_updates(), 8);
  EXPECT_EQ(cached.gram_updates(), 4);
  EXPECT_EQ(cached.gram_rows(), 3);

  const RecallResult expected = recall_without_gram(settings, patterns, cues);
  EXPECT_TRUE(result.states.equal(expected.states));
  EXPECT_TRUE(result.steps.equal(expected.steps));

  // The cache keeps at most gram_cache_elements / N rows. Two rows are too few for the three
  // patterns, so every step takes the plain product, and three rows are enough.
  std::map<std::string, ParameterValue> small = settings;
  small["gram_cache_elements"] = std::int64_t{2 * 16};
  ModernHopfield too_small = make_memory(small);
  too_small.store(patterns);
  EXPECT_TRUE(too_small.recall(cues, RecallOptions{}).states.equal(expected.states));
  EXPECT_EQ(too_small.gram_updates(), 0);
  small["gram_cache_elements"] = std::int64_t{3 * 16};
  ModernHopfield just_enough = make_memory(small);
  just_enough.store(patterns);
  EXPECT_TRUE(just_enough.recall(cues, RecallOptions{}).states.equal(expected.states));
  EXPECT_EQ(just_enough.gram_updates(), 4);
}

TEST(ModernHopfield, GramRowsSkipThreePatternMixture) {
  // The mean of rows 1, 2 and 3 has logits beta * 16 / 3 for those rows and 0 for the others.
  // At beta 4 the weight outside them is 13 e^-21.3 = 7e-9, so the top-3 shortcut holds, but the
  // next logits would need three new rows of X X^T for one cue, more than kGramNewRowsPerCue,
  // so the second step takes the plain product.
  // The equal mixture is an unstable fixed point, because each step multiplies a difference
  // between the three weights by 16 * beta / 3 = 21. Two steps keep rounding too small to matter.
  ASSERT_EQ(kGramNewRowsPerCue, 2);
  const at::Tensor patterns = hadamard16();
  const at::Tensor cue = (patterns[1] + patterns[2] + patterns[3]).div(3).unsqueeze(0);
  ModernHopfield memory = make_memory(
      {{"beta", 4.0},
       {"similarity_scale", std::string("none")},
       {"top_k", std::int64_t{3}},
       {"max_steps", std::int64_t{2}}});
  memory.store(patterns);
  const RecallResult result = memory.recall(cue, RecallOptions{});
  EXPECT_GT(memory.top_k_updates(), 0);
  EXPECT_EQ(memory.gram_updates(), 0);
  EXPECT_EQ(memory.gram_rows(), 0);
  EXPECT_LT(max_abs_diff(result.states, cue), 1e-3);
}

TEST(ModernHopfield, GramRowsConfirmStableMixture) {
  // Patterns x_a = h0 + 0.1 h1 and x_b = h0 - 0.1 h1 beside Hadamard rows h2 to h15. At beta
  // 1.25 without scaling, a state s h0 + 0.1 d h1 gives x_a and x_b logits 20 apart from the
  // others, so the weight outside the top two is 14 e^-20 = 2.9e-8 and every step takes the
  // top-2 shortcut, from step 2 on with logits summed from two rows of X X^T. The weight
  // difference d maps to tanh(0.2 d), so the equal mixture h0 is a stable fixed point that the
  // cue approaches with two kept terms to the end. Its state stops changing only once rounding
  // hides d, and then only a step with plain logits for x_a and x_b lets it stop: without that
  // step no mixture cue would converge.
  at::Tensor patterns = hadamard16();
  const at::Tensor h0 = patterns[0].clone();
  const at::Tensor h1 = patterns[1].clone();
  patterns[0] = h0 + 0.1 * h1;
  patterns[1] = h0 - 0.1 * h1;
  // Two cues one value away from h2 and h5 stop within a few steps, and the mixtures, whose d
  // after step 1 is about 0.008, 0.04 and 0.2, stop a step or two apart. Dropping the cues that
  // stop renumbers the mixtures between the step that flags them and the one that confirms them.
  at::Tensor cues = at::stack(
      {patterns[2],
       patterns[5],
       0.52 * patterns[0] + 0.48 * patterns[1],
       0.6 * patterns[0] + 0.4 * patterns[1],
       patterns[0]});
  cues[0][3] = -cues[0][3];
  cues[1][6] = -cues[1][6];

  for (const std::string precision : {"float32", "float64"}) {
    for (const std::int64_t chunk_cues : {5, 2}) {
      SCOPED_TRACE(precision + ", chunks of " + std::to_string(chunk_cues));
      const std::map<std::string, ParameterValue> settings = {
          {"beta", 1.25},
          {"similarity_scale", std::string("none")},
          {"top_k", std::int64_t{2}},
          {"max_steps", std::int64_t{40}},
          {"precision", precision},
          {"chunk_elements", chunk_cues * 16}};
      ModernHopfield cached = make_memory(settings);
      cached.store(patterns);
      const RecallResult result = cached.recall(cues, RecallOptions{});
      const RecallResult expected = recall_without_gram(settings, patterns, cues);

      EXPECT_GT(cached.gram_updates(), 0);
      EXPECT_TRUE(result.converged.all().item<bool>()) << result.steps;
      EXPECT_TRUE(expected.converged.all().item<bool>()) << expected.steps;
      EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-6);
      for (std::int64_t row = 2; row < 5; ++row) {
        EXPECT_LT(max_abs_diff(result.states[row], h0), 1e-6) << "cue " << row;
      }
      EXPECT_LT(max_abs_diff(result.states[0], patterns[2]), 1e-6);
      EXPECT_LT(max_abs_diff(result.states[1], patterns[5]), 1e-6);
      // The plain logits round differently from the summed ones, so a mixture may take a step
      // or two more or less to settle.
      const at::Tensor gaps = (result.steps - expected.steps).abs();
      EXPECT_LE(gaps.max().item<std::int64_t>(), 2) << result.steps << expected.steps;
    }
  }
}

TEST(ModernHopfield, GramRowsMatchPlainProductAcrossChunks) {
  // Uniform patterns and noise cues in [-1, 1] (N 2,000, D 256, beta 20 scaled by 1/sqrt(D)),
  // recalled in chunks of 50 cues, so cues stop at different steps within a chunk and later
  // chunks reuse the rows earlier ones computed.
  const at::Tensor patterns = at::rand({2000, 256}).mul_(2).sub_(1);
  const at::Tensor cues = at::rand({200, 256}).mul_(2).sub_(1);
  for (const std::string precision : {"float32", "float64"}) {
    SCOPED_TRACE(precision);
    const std::map<std::string, ParameterValue> settings = {
        {"tolerance", 1e-6}, {"precision", precision}, {"chunk_elements", std::int64_t{100'000}}};
    ModernHopfield cached = make_memory(settings);
    cached.store(patterns);
    const RecallResult result = cached.recall(cues, RecallOptions{});
    const RecallResult expected = recall_without_gram(settings, patterns, cues);

    EXPECT_GT(cached.gram_updates(), 0);
    EXPECT_GT(cached.gram_rows(), 0);
    EXPECT_LE(cached.gram_rows(), 2000);
    EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-5);
    EXPECT_TRUE(result.converged.equal(expected.converged));
    // A cue that stops on logits summed from several rows confirms with one step of plain
    // logits for the patterns it mixes.
    expect_same_step_or_one_later(result.steps, expected.steps);
  }
}

TEST(ModernHopfield, WholeGramLeavesOutTheFirstState) {
  // Uniform patterns in [-1, 1] with N 64 <= D 256 and 64 cues, so recall computes all of
  // X X^T. Cues 0 to 7 are stored patterns and the others uniform noise. At beta 20 scaled by
  // 1/sqrt(D), the noise cues' first weights are spread too widely for the top-k shortcut, and
  // fewer than a quarter of the cues pass it. So the first step's states are left out, and the
  // second step's logits are the weights times X X^T. The plain computation stops the stored
  // patterns after step 1, which leaves them unchanged; without the first state, they stop
  // after step 3. The states must equal the plain computation's.
  at::manual_seed(3);
  const at::Tensor patterns = at::rand({64, 256}).mul_(2).sub_(1);
  at::Tensor cues = at::rand({64, 256}).mul_(2).sub_(1);
  cues.narrow(0, 0, 8).copy_(patterns.narrow(0, 0, 8));
  const std::map<std::string, ParameterValue> settings = {{"tolerance", 1e-6}};
  ModernHopfield whole = make_memory(settings);
  whole.store(patterns);
  const RecallResult result = whole.recall(cues, RecallOptions{});
  const RecallResult expected = recall_without_gram(settings, patterns, cues);

  EXPECT_EQ(whole.gram_rows(), 64);
  EXPECT_LT(max_abs_diff(result.states, expected.states), 1e-5);
  EXPECT_TRUE(result.converged.equal(expected.converged));
  EXPECT_TRUE(expected.steps.narrow(0, 0, 8).equal(at::full({8}, 1, at::kLong))) << expected.steps;
  EXPECT_TRUE(result.steps.narrow(0, 0, 8).equal(at::full({8}, 3, at::kLong))) << result.steps;
  // For the noise cues, the rule for mixed cues adds at most one step.
  expect_same_step_or_one_later(result.steps.narrow(0, 8, 56), expected.steps.narrow(0, 8, 56));

  // With fewer cues than N / 2, or a cache smaller than N^2, recall does not compute X X^T.
  whole.recall(cues.narrow(0, 0, 31), RecallOptions{});
  EXPECT_LT(whole.gram_rows(), 64);
  std::map<std::string, ParameterValue> small = settings;
  small["gram_cache_elements"] = std::int64_t{64 * 64 - 1};
  ModernHopfield too_small = make_memory(small);
  too_small.store(patterns);
  too_small.recall(cues, RecallOptions{});
  EXPECT_LT(too_small.gram_rows(), 64);
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
