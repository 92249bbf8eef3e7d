#include "dense_associative.hpp"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "classical_hopfield.hpp"
#include "test_support.hpp"

namespace genmem {
namespace {

using testing::HasSubstr;

// Builds a memory from the declared defaults with `overrides` applied.
DenseAssociative make_memory(
    const std::map<std::string, ParameterValue>& overrides = {}, std::uint64_t seed = 7) {
  PluginContext context;
  context.parameters = default_parameters(dense_associative_parameters());
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
  context.seed = seed;
  return DenseAssociative(context);
}

ClassicalHopfield make_classical(std::uint64_t seed = 7) {
  PluginContext context;
  context.parameters = default_parameters(classical_hopfield_parameters());
  context.seed = seed;
  return ClassicalHopfield(context);
}

// Returns `count` random patterns of +1 and -1 values, float32 `[count, dim]`.
at::Tensor random_signs(std::int64_t count, std::int64_t dim) {
  return at::randint(0, 2, {count, dim}, at::kFloat).mul_(2).sub_(1);
}

// Returns `patterns` with exactly `flips` values of each row negated, at random positions.
at::Tensor flip_values(const at::Tensor& patterns, std::int64_t flips) {
  const at::Tensor positions =
      at::rand(patterns.sizes()).argsort(/*dim=*/std::int64_t{1}).narrow(1, 0, flips);
  const at::Tensor signs = at::ones_like(patterns).scatter_(1, positions, -1.0);
  return patterns * signs;
}

// Returns the fraction of values of each row of `states` that equal `targets`, float64 `[B]`.
at::Tensor fraction_equal(const at::Tensor& states, const at::Tensor& targets) {
  return states.eq(targets).to(at::kDouble).mean(/*dim=*/{1});
}

// Returns the number of rows of `states` equal to the same row of `targets`.
std::int64_t exact_rows(const at::Tensor& states, const at::Tensor& targets) {
  return states.eq(targets).all(/*dim=*/1).sum().item<std::int64_t>();
}

TEST(DenseAssociative, ParametersHaveDocumentedDefaults) {
  const DenseAssociative memory = make_memory();

  EXPECT_EQ(memory.interaction(), "polynomial");
  EXPECT_EQ(memory.degree(), 3);
  EXPECT_EQ(memory.max_steps(), 20);
  EXPECT_EQ(memory.chunk_elements(), 16'777'216);
  EXPECT_EQ(memory.seed(), 7U);
  EXPECT_EQ(memory.size(), 0);
}

TEST(DenseAssociative, RejectsInvalidParameters) {
  try {
    make_memory({{"interaction", std::string("cubic")}});
    FAIL() << "interaction = \"cubic\" was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("dense_associative"));
    EXPECT_THAT(error.what(), HasSubstr("'interaction'"));
  }
  try {
    make_memory({{"degree", std::int64_t{1}}});
    FAIL() << "degree = 1 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("'degree'"));
    EXPECT_THAT(error.what(), HasSubstr("at least 2"));
  }
  EXPECT_THROW(make_memory({{"degree", std::int64_t{21}}}), ConfigError);
  EXPECT_THROW(make_memory({{"max_steps", std::int64_t{0}}}), ConfigError);
  EXPECT_THROW(make_memory({{"chunk_elements", std::int64_t{0}}}), ConfigError);

  PluginContext context;
  context.device = "cuda";
  EXPECT_THROW(DenseAssociative memory(context), ConfigError);
}

TEST(DenseAssociative, EnergyMatchesHandComputation) {
  // xi_1 = (1, 1, -1), xi_2 = (1, -1, 1). State (1, 1, 1) has overlaps (1, 1), and (-1, -1, 1),
  // written unbinarised as (-0.5, -3, 0), has overlaps (-3, 1).
  const at::Tensor patterns = at::tensor({1.0F, 1.0F, -1.0F, 1.0F, -1.0F, 1.0F}).reshape({2, 3});
  const at::Tensor states = at::tensor({1.0F, 1.0F, 1.0F, -0.5F, -3.0F, 0.0F}).reshape({2, 3});

  struct Case {
    std::string interaction;
    double first;
    double second;
  };

  const Case cases[] = {
      {"polynomial", -2.0, -(-27.0 + 1.0)},
      {"rectified_polynomial", -2.0, -1.0},
      {"exponential", -(1.0 + std::log(2.0)), -std::log(std::exp(-3.0) + std::exp(1.0))},
  };

  for (const Case& test_case : cases) {
    SCOPED_TRACE(test_case.interaction);
    DenseAssociative memory = make_memory({{"interaction", test_case.interaction}});
    memory.store(patterns);

    const at::Tensor energy = memory.energy(states);

    ASSERT_EQ(energy.scalar_type(), at::kDouble);
    EXPECT_NEAR(energy[0].item<double>(), test_case.first, 1e-12);
    EXPECT_NEAR(energy[1].item<double>(), test_case.second, 1e-12);
  }
}

TEST(DenseAssociative, ZeroEnergyGapKeepsCurrentValue) {
  // The patterns differ only in unit 4. From either one, a_mu,4 = 3 for both patterns, so the gap
  // of unit 4 is (F(4) - F(2)) + (F(2) - F(4)) = 0 for every F. Both patterns are fixed points
  // only because a zero gap keeps the unit's value.
  const at::Tensor patterns =
      at::tensor({1.0F, 1.0F, 1.0F, 1.0F, 1.0F, 1.0F, 1.0F, -1.0F}).reshape({2, 4});

  for (const std::string interaction : {"polynomial", "rectified_polynomial", "exponential"}) {
    SCOPED_TRACE(interaction);
    DenseAssociative memory = make_memory({{"interaction", interaction}});
    memory.store(patterns);

    const RecallResult result = memory.recall(patterns, RecallOptions{});

    EXPECT_TRUE(result.states.equal(patterns)) << result.states;
    EXPECT_TRUE((result.steps == 1).all().item<bool>()) << result.steps;
    EXPECT_TRUE(result.converged.all().item<bool>());
  }
}

TEST(DenseAssociative, DegreeTwoMatchesClassical) {
  // With F(x) = x^2, F(xi + a) - F(-xi + a) = 4 xi a, so the update sums 4 (X^T m - N s)_i: the
  // classical field times 4 D, with the same ties. The same seed gives the same unit orders, so
  // the trajectories are identical, and E = -|m|^2 = 2 D E_classical - N D. With N = 32 and
  // D = 120 the field can be 0 (with N = 30 it is always 2 mod 4), so the tie rule is compared too.
  constexpr std::int64_t kDim = 120;
  constexpr std::int64_t kPatterns = 32;
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  const at::Tensor cues = at::cat({random_signs(20, kDim), flip_values(patterns, 30)});
  DenseAssociative dense = make_memory({{"degree", std::int64_t{2}}});
  ClassicalHopfield classical = make_classical();
  dense.store(patterns);
  classical.store(patterns);
  RecallOptions options;
  options.record_energy = true;

  const RecallResult expected = classical.recall(cues, options);
  const RecallResult actual = dense.recall(cues, options);

  EXPECT_TRUE(actual.states.equal(expected.states));
  EXPECT_TRUE(actual.steps.equal(expected.steps)) << actual.steps << expected.steps;
  EXPECT_TRUE(actual.converged.equal(expected.converged));
  const at::Tensor converted = expected.energy * (2.0 * kDim) - kPatterns * kDim;
  EXPECT_TRUE(actual.energy.equal(converted)) << actual.energy << converted;
  // The case has cues that need several sweeps.
  EXPECT_GT(expected.steps.max().item<std::int64_t>(), 2);
}

TEST(DenseAssociative, RecallsBeyondClassicalCapacity) {
  // N = 0.6 D is over four times the classical capacity 0.138 D. The capacity of degree n grows
  // about as D^(n-1) (Krotov & Hopfield 2016), so degree 3 and 4 still recall every pattern.
  constexpr std::int64_t kDim = 100;
  constexpr std::int64_t kPatterns = 60;
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  const at::Tensor cues = flip_values(patterns, kDim / 10);

  for (const std::string interaction : {"polynomial", "rectified_polynomial"}) {
    for (const std::int64_t degree : {3, 4}) {
      SCOPED_TRACE(interaction + " of degree " + std::to_string(degree));
      DenseAssociative memory = make_memory({{"interaction", interaction}, {"degree", degree}});
      memory.store(patterns);

      const RecallResult result = memory.recall(cues, RecallOptions{});

      EXPECT_EQ(exact_rows(result.states, patterns), kPatterns)
          << fraction_equal(result.states, patterns);
      EXPECT_TRUE(result.converged.all().item<bool>());
    }
  }

  ClassicalHopfield classical = make_classical();
  classical.store(patterns);
  const RecallResult result = classical.recall(cues, RecallOptions{});
  const at::Tensor correct = fraction_equal(result.states, patterns);
  EXPECT_LT(correct.mean().item<double>(), 0.8) << correct;
  EXPECT_EQ(exact_rows(result.states, patterns), 0);
}

TEST(DenseAssociative, ExponentialRecallsTwiceDimensionPatterns) {
  // Demircigil et al. (2017): the exponential interaction stores exponentially many patterns in
  // D. Here N = 2 D, and each cue has 10% of its values flipped.
  constexpr std::int64_t kDim = 40;
  constexpr std::int64_t kPatterns = 2 * kDim;
  DenseAssociative memory = make_memory({{"interaction", std::string("exponential")}});
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  memory.store(patterns);

  const RecallResult result = memory.recall(flip_values(patterns, kDim / 10), RecallOptions{});

  EXPECT_EQ(exact_rows(result.states, patterns), kPatterns)
      << fraction_equal(result.states, patterns);
  EXPECT_TRUE(result.converged.all().item<bool>());
}

TEST(DenseAssociative, EnergyNeverRises) {
  constexpr std::int64_t kDim = 100;
  constexpr std::int64_t kSteps = 20;
  const at::Tensor patterns = random_signs(60, kDim);
  const at::Tensor cues = random_signs(30, kDim);
  RecallOptions options;
  options.record_energy = true;

  for (const std::string interaction : {"polynomial", "rectified_polynomial", "exponential"}) {
    SCOPED_TRACE(interaction);
    DenseAssociative memory = make_memory({{"interaction", interaction}});
    memory.store(patterns);

    const RecallResult result = memory.recall(cues, options);

    ASSERT_EQ(result.energy.sizes(), at::IntArrayRef({30, kSteps + 1}));
    EXPECT_TRUE(result.energy.select(1, 0).allclose(memory.energy(cues), 1e-12, 0.0));
    EXPECT_TRUE(result.energy.select(1, kSteps).allclose(memory.energy(result.states), 1e-12, 0.0));
    // Polynomial energies are exact integers. Exponential ones are log-sum-exp values that
    // round at about 1e-16 relative.
    const at::Tensor before = result.energy.narrow(1, 0, kSteps);
    const at::Tensor after = result.energy.narrow(1, 1, kSteps);
    const at::Tensor rises = after > before + 1e-12 * before.abs();
    EXPECT_FALSE(rises.any().item<bool>()) << result.energy;
    EXPECT_TRUE((result.energy.select(1, kSteps) < result.energy.select(1, 0)).all().item<bool>());
    EXPECT_TRUE(result.converged.all().item<bool>()) << result.steps;
  }
}

TEST(DenseAssociative, ExponentialStaysFiniteAtShapes3dDimension) {
  // D = 12288, the size of a 64x64 RGB Shapes3D image: exp(m) overflows float64 once m > 709,
  // and a stored pattern has m = D.
  constexpr std::int64_t kDim = 12288;
  DenseAssociative memory = make_memory({{"interaction", std::string("exponential")}});
  const at::Tensor patterns = random_signs(4, kDim);
  memory.store(patterns);
  const at::Tensor cues =
      at::cat({patterns.narrow(0, 0, 1), flip_values(patterns.narrow(0, 1, 1), kDim / 10)});
  RecallOptions options;
  options.record_energy = true;

  const RecallResult result = memory.recall(cues, options);

  EXPECT_TRUE(result.states.equal(patterns.narrow(0, 0, 2)));
  // The stored pattern is a fixed point, and the flipped cue needs one sweep to reach its pattern.
  EXPECT_EQ(result.steps[0].item<std::int64_t>(), 1);
  EXPECT_EQ(result.steps[1].item<std::int64_t>(), 2);
  EXPECT_TRUE(result.converged.all().item<bool>());
  ASSERT_TRUE(at::isfinite(result.energy).all().item<bool>()) << result.energy;
  // -log(e^D + sum of three e^m with |m| about sqrt(D)) is -D to within e^(-D / 2).
  EXPECT_DOUBLE_EQ(result.energy[0][0].item<double>(), -static_cast<double>(kDim));
  EXPECT_DOUBLE_EQ(result.energy[1][1].item<double>(), -static_cast<double>(kDim));
  // The flipped cue starts at m = D - 2 (D / 10) = 9832 with its pattern.
  EXPECT_DOUBLE_EQ(result.energy[1][0].item<double>(), -9832.0);
}

TEST(DenseAssociative, SameSeedGivesSameResult) {
  constexpr std::int64_t kDim = 60;
  const at::Tensor patterns = random_signs(200, kDim);
  const at::Tensor cues = random_signs(30, kDim);
  RecallOptions options;
  options.record_energy = true;

  DenseAssociative first = make_memory({}, /*seed=*/11);
  DenseAssociative second = make_memory({}, /*seed=*/11);
  DenseAssociative other_seed = make_memory({}, /*seed=*/12);
  first.store(patterns);
  second.store(patterns);
  other_seed.store(patterns);
  const RecallResult expected = first.recall(cues, options);
  const RecallResult repeated = first.recall(cues, options);
  const RecallResult same_seed = second.recall(cues, options);
  const RecallResult different = other_seed.recall(cues, options);

  for (const RecallResult* result : {&repeated, &same_seed}) {
    EXPECT_TRUE(result->states.equal(expected.states));
    EXPECT_TRUE(result->steps.equal(expected.steps));
    EXPECT_TRUE(result->energy.equal(expected.energy));
  }
  // Random cues lie between many minima, so another unit order reaches other ones.
  EXPECT_FALSE(different.states.equal(expected.states));
}

TEST(DenseAssociative, ChunkedMatchesUnchunked) {
  constexpr std::int64_t kPatterns = 80;
  const at::Tensor patterns = random_signs(kPatterns, 64);
  const at::Tensor cues = random_signs(20, 64);
  RecallOptions options;
  options.record_energy = true;

  for (const std::string interaction : {"polynomial", "exponential"}) {
    SCOPED_TRACE(interaction);
    DenseAssociative whole = make_memory({{"interaction", interaction}});
    DenseAssociative chunked =
        make_memory({{"interaction", interaction}, {"chunk_elements", std::int64_t{kPatterns}}});
    whole.store(patterns);
    chunked.store(patterns);

    const RecallResult expected = whole.recall(cues, options);
    const RecallResult actual = chunked.recall(cues, options);

    EXPECT_TRUE(actual.states.equal(expected.states));
    EXPECT_TRUE(actual.steps.equal(expected.steps));
    EXPECT_TRUE(actual.converged.equal(expected.converged));
    EXPECT_TRUE(actual.energy.equal(expected.energy));
  }
}

TEST(DenseAssociative, SaveThenLoadReproducesRecall) {
  const test_support::TempDir folder;
  const std::string path = (folder / "memory.pt").string();
  DenseAssociative original = make_memory();
  original.store(at::randn({20, 64}));
  original.save(path);

  DenseAssociative restored = make_memory();
  restored.store(at::randn({3, 7}));
  restored.load(path);

  ASSERT_EQ(restored.size(), 20);
  EXPECT_EQ(restored.pattern_dim(), 64);
  EXPECT_TRUE(restored.patterns().equal(original.patterns()));
  const at::Tensor cues = random_signs(5, 64);
  RecallOptions options;
  options.record_energy = true;
  const RecallResult expected = original.recall(cues, options);
  const RecallResult actual = restored.recall(cues, options);
  EXPECT_TRUE(actual.states.equal(expected.states));
  EXPECT_TRUE(actual.steps.equal(expected.steps));
  EXPECT_TRUE(actual.energy.equal(expected.energy));
}

TEST(DenseAssociative, LoadRejectsOtherPluginsFile) {
  const test_support::TempDir folder;
  const std::string path = (folder / "classical.pt").string();
  ClassicalHopfield classical = make_classical();
  classical.store(random_signs(4, 6));
  classical.save(path);
  DenseAssociative memory = make_memory();

  try {
    memory.load(path);
    FAIL() << "a classical_hopfield file was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("classical.pt"));
    EXPECT_THAT(error.what(), HasSubstr("genmem.dense_associative"));
  }
  EXPECT_EQ(memory.size(), 0);
  EXPECT_THROW(memory.load((folder / "missing.pt").string()), IoError);
}

TEST(DenseAssociative, RecallRejectsInvalidInputs) {
  DenseAssociative memory = make_memory();
  try {
    memory.recall(random_signs(2, 8), RecallOptions{});
    FAIL() << "recall on an empty memory succeeded";
  } catch (const ModelError& error) {
    EXPECT_THAT(error.what(), HasSubstr("dense_associative recall"));
    EXPECT_THAT(error.what(), HasSubstr("empty"));
  }

  memory.store(random_signs(5, 8));
  try {
    memory.recall(random_signs(2, 7), RecallOptions{});
    FAIL() << "cues of dimension 7 were accepted by a memory of dimension 8";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("dimension 7"));
    EXPECT_THAT(error.what(), HasSubstr("dimension 8"));
  }
  try {
    memory.recall(at::full({1, 8}, NAN), RecallOptions{});
    FAIL() << "a NaN cue was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("NaN or infinite"));
  }
  EXPECT_THROW(memory.store(at::full({1, 8}, INFINITY)), ConfigError);
  EXPECT_THROW(memory.energy(random_signs(1, 9)), ConfigError);

  RecallOptions zero_steps;
  zero_steps.max_steps = 0;
  EXPECT_THROW(memory.recall(random_signs(1, 8), zero_steps), ConfigError);
}

}  // namespace
}  // namespace genmem
