#include "classical_hopfield.hpp"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

using testing::HasSubstr;

// Builds a memory from the declared defaults with `overrides` applied.
ClassicalHopfield make_memory(
    const std::map<std::string, ParameterValue>& overrides = {}, std::uint64_t seed = 7) {
  PluginContext context;
  context.parameters = default_parameters(classical_hopfield_parameters());
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
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

// Returns the first `count` rows of the Sylvester Hadamard matrix of size `dim` (a power of 2):
// entry (i, j) is (-1)^popcount(i & j), so distinct rows are orthogonal.
at::Tensor hadamard_rows(std::int64_t count, std::int64_t dim) {
  at::Tensor rows = at::empty({count, dim}, at::kFloat);
  for (std::int64_t i = 0; i < count; ++i) {
    for (std::int64_t j = 0; j < dim; ++j) {
      rows[i][j] = __builtin_popcountll(static_cast<unsigned long long>(i & j)) % 2 == 0 ? 1 : -1;
    }
  }
  return rows;
}

TEST(ClassicalHopfield, ParametersHaveDocumentedDefaults) {
  const ClassicalHopfield memory = make_memory();

  EXPECT_EQ(memory.update(), "asynchronous");
  EXPECT_EQ(memory.max_steps(), 20);
  EXPECT_EQ(memory.chunk_elements(), 16'777'216);
  EXPECT_EQ(memory.seed(), 7U);
  EXPECT_EQ(memory.size(), 0);
  EXPECT_EQ(memory.pattern_dim(), 0);
}

TEST(ClassicalHopfield, RejectsInvalidParameters) {
  try {
    make_memory({{"update", std::string("random")}});
    FAIL() << "update = \"random\" was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("classical_hopfield"));
    EXPECT_THAT(error.what(), HasSubstr("'update'"));
  }
  EXPECT_THROW(make_memory({{"max_steps", std::int64_t{0}}}), ConfigError);
  EXPECT_THROW(make_memory({{"chunk_elements", std::int64_t{0}}}), ConfigError);

  PluginContext context;
  context.device = "cuda";
  try {
    ClassicalHopfield memory(context);
    FAIL() << "device \"cuda\" was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("'cuda'"));
    EXPECT_THAT(error.what(), HasSubstr("\"cpu\""));
  }
}

TEST(ClassicalHopfield, StoreBinarisesBySign) {
  ClassicalHopfield memory = make_memory();
  const at::Tensor grey = at::tensor({0.3F, -0.2F, 0.0F, -1.0F}).reshape({1, 4});
  const at::Tensor integers = at::tensor({-3, 0, 5, 0}, at::kInt).reshape({1, 4});

  memory.store(grey);
  memory.store(integers);

  ASSERT_EQ(memory.size(), 2);
  EXPECT_EQ(memory.pattern_dim(), 4);
  EXPECT_EQ(memory.patterns().scalar_type(), at::kFloat);
  const at::Tensor expected = at::tensor({1.0F, -1.0F, 1.0F, -1.0F, -1.0F, 1.0F, 1.0F, 1.0F});
  EXPECT_TRUE(memory.patterns().equal(expected.reshape({2, 4}))) << memory.patterns();

  // The memory keeps its own binarised copy.
  grey.fill_(-0.5);
  EXPECT_TRUE(memory.patterns().equal(expected.reshape({2, 4})));

  memory.clear();
  EXPECT_EQ(memory.size(), 0);
  EXPECT_EQ(memory.pattern_dim(), 0);
  memory.store(at::randn({1, 3}));
  EXPECT_EQ(memory.pattern_dim(), 3);
}

TEST(ClassicalHopfield, EnergyMatchesHandComputation) {
  // xi_1 = (1, 1, -1) and xi_2 = (1, -1, 1) give W = (1/3) [[0, 0, 0], [0, 0, -2], [0, -2, 0]].
  ClassicalHopfield memory = make_memory();
  memory.store(at::tensor({1.0F, 1.0F, -1.0F, 1.0F, -1.0F, 1.0F}).reshape({2, 3}));
  const at::Tensor states =
      at::tensor({1.0F, 1.0F, 1.0F, 1.0F, 1.0F, -1.0F, 0.5F, -2.0F, -0.1F}).reshape({3, 3});

  const at::Tensor energy = memory.energy(states);

  ASSERT_EQ(energy.scalar_type(), at::kDouble);
  // (1, 1, 1): s^T W s = 2 W_23 = -4/3. (1, 1, -1): 2 W_23 (1)(-1) = 4/3. The third state
  // binarises to (1, -1, -1), so s^T W s = 2 W_23 (-1)(-1) = -4/3.
  EXPECT_DOUBLE_EQ(energy[0].item<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(energy[1].item<double>(), -2.0 / 3.0);
  EXPECT_DOUBLE_EQ(energy[2].item<double>(), 2.0 / 3.0);
}

TEST(ClassicalHopfield, StoredPatternEnergyMatchesClosedForm) {
  constexpr std::int64_t kDim = 64;
  constexpr std::int64_t kPatterns = 8;

  // One pattern: m = D, so E = -(D^2 - D) / (2 D) = -(D - 1) / 2.
  ClassicalHopfield single = make_memory();
  const at::Tensor pattern = random_signs(1, kDim);
  single.store(pattern);
  EXPECT_DOUBLE_EQ(single.energy(pattern)[0].item<double>(), -(kDim - 1) / 2.0);

  // Orthogonal patterns: m = (D, 0, ..., 0), so E = -(D - N) / 2. Each is a fixed point, because
  // W xi_1 = (1 - N / D) xi_1.
  ClassicalHopfield orthogonal = make_memory();
  const at::Tensor patterns = hadamard_rows(kPatterns, kDim);
  orthogonal.store(patterns);
  const at::Tensor energy = orthogonal.energy(patterns);
  for (std::int64_t row = 0; row < kPatterns; ++row) {
    EXPECT_DOUBLE_EQ(energy[row].item<double>(), -(kDim - kPatterns) / 2.0) << "pattern " << row;
  }

  RecallOptions options;
  options.record_energy = true;
  const RecallResult result = orthogonal.recall(patterns, options);
  EXPECT_TRUE(result.states.equal(patterns));
  EXPECT_TRUE((result.steps == 1).all().item<bool>()) << result.steps;
  EXPECT_TRUE(result.converged.all().item<bool>());
  EXPECT_TRUE((result.energy == -(kDim - kPatterns) / 2.0).all().item<bool>()) << result.energy;
}

TEST(ClassicalHopfield, RecallsSinglePatternFromTwentyPercentFlips) {
  constexpr std::int64_t kDim = 100;
  const at::Tensor pattern = random_signs(1, kDim);
  const at::Tensor cue = flip_values(pattern, 20);
  ASSERT_EQ(cue.ne(pattern).sum().item<std::int64_t>(), 20);

  for (const std::string update : {"asynchronous", "synchronous"}) {
    SCOPED_TRACE(update);
    ClassicalHopfield memory = make_memory({{"update", update}});
    memory.store(pattern);
    RecallOptions options;
    options.record_energy = true;

    const RecallResult result = memory.recall(cue, options);

    EXPECT_TRUE(result.states.equal(pattern));
    EXPECT_EQ(result.states.scalar_type(), at::kFloat);
    // The first sweep corrects every flipped unit, and the second changes nothing.
    EXPECT_EQ(result.steps[0].item<std::int64_t>(), 2);
    EXPECT_TRUE(result.converged[0].item<bool>());
    ASSERT_EQ(result.energy.sizes(), at::IntArrayRef({1, 21}));
    // The cue has overlap m = 60: E = -(60^2 - 100) / 200. The pattern has E = -(D - 1) / 2.
    EXPECT_DOUBLE_EQ(result.energy[0][0].item<double>(), -17.5);
    EXPECT_TRUE((result.energy[0].narrow(0, 1, 20) == -49.5).all().item<bool>()) << result.energy;
  }
}

TEST(ClassicalHopfield, ZeroFieldKeepsCurrentValue) {
  // The patterns differ only in unit 4. From either one, unit 4 has the field
  // D h_4 = 1 * m_1 - 1 * m_2 - 2 s_4 = 0 (m = (4, 2) and s_4 = 1, or m = (2, 4) and s_4 = -1),
  // and units 1 to 3 have D h = 4 s. So both patterns are fixed points only because a zero field
  // keeps the unit's value.
  const at::Tensor patterns =
      at::tensor({1.0F, 1.0F, 1.0F, 1.0F, 1.0F, 1.0F, 1.0F, -1.0F}).reshape({2, 4});

  for (const std::string update : {"asynchronous", "synchronous"}) {
    SCOPED_TRACE(update);
    ClassicalHopfield memory = make_memory({{"update", update}});
    memory.store(patterns);

    const RecallResult result = memory.recall(patterns, RecallOptions{});

    EXPECT_TRUE(result.states.equal(patterns)) << result.states;
    EXPECT_TRUE((result.steps == 1).all().item<bool>()) << result.steps;
    EXPECT_TRUE(result.converged.all().item<bool>());
  }
}

TEST(ClassicalHopfield, EnergyNeverRisesAsynchronously) {
  constexpr std::int64_t kDim = 200;
  constexpr std::int64_t kSteps = 30;
  ClassicalHopfield memory = make_memory({{"max_steps", kSteps}});
  memory.store(random_signs(40, kDim));
  const at::Tensor cues = random_signs(20, kDim);

  RecallOptions options;
  options.record_energy = true;
  const RecallResult result = memory.recall(cues, options);

  ASSERT_EQ(result.energy.sizes(), at::IntArrayRef({20, kSteps + 1}));
  EXPECT_TRUE(result.energy.select(1, 0).equal(memory.energy(cues)));
  EXPECT_TRUE(result.energy.select(1, kSteps).equal(memory.energy(result.states)));
  // Energies are exact multiples of 1 / (2 D), so the comparison needs no tolerance.
  const at::Tensor rises = result.energy.narrow(1, 1, kSteps) > result.energy.narrow(1, 0, kSteps);
  EXPECT_FALSE(rises.any().item<bool>()) << result.energy;
  EXPECT_TRUE((result.energy.select(1, kSteps) < result.energy.select(1, 0)).all().item<bool>());
  EXPECT_TRUE(result.converged.all().item<bool>()) << result.steps;
}

TEST(ClassicalHopfield, RecallsRandomPatternsBelowCapacity) {
  // N = 0.05 D, well below the capacity 0.138 D of Amit, Gutfreund & Sompolinsky (1985).
  constexpr std::int64_t kDim = 500;
  constexpr std::int64_t kPatterns = 25;
  ClassicalHopfield memory = make_memory();
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  memory.store(patterns);

  const RecallResult result = memory.recall(flip_values(patterns, kDim / 10), RecallOptions{});

  const at::Tensor correct = fraction_equal(result.states, patterns);
  EXPECT_GE(correct.min().item<double>(), 0.99) << correct;
  EXPECT_GE(correct.mean().item<double>(), 0.998) << correct;
  EXPECT_TRUE(result.converged.all().item<bool>());
}

TEST(ClassicalHopfield, FailsWellAboveCapacity) {
  // N = 0.3 D, about twice the capacity 0.138 D: the retrieval states are gone, so recall drifts
  // to spurious states far from the stored patterns.
  constexpr std::int64_t kDim = 500;
  constexpr std::int64_t kPatterns = 150;
  ClassicalHopfield memory = make_memory({{"max_steps", std::int64_t{50}}});
  const at::Tensor patterns = random_signs(kPatterns, kDim);
  memory.store(patterns);
  const at::Tensor targets = patterns.narrow(0, 0, 50);

  const RecallResult result = memory.recall(flip_values(targets, kDim / 10), RecallOptions{});

  const at::Tensor correct = fraction_equal(result.states, targets);
  // The cues start with 90% of the values right, and recall ends with far fewer.
  EXPECT_LT(correct.mean().item<double>(), 0.8) << correct;
  EXPECT_EQ(correct.eq(1.0).sum().item<std::int64_t>(), 0) << correct;
}

TEST(ClassicalHopfield, SynchronousUpdateEndsInTwoCycle) {
  // With one stored pattern xi and a cue s orthogonal to it, W s = (xi (xi . s) - s) / D = -s / D,
  // so a synchronous step negates the state, and -s is orthogonal to xi again.
  constexpr std::int64_t kSteps = 5;
  const at::Tensor pattern = at::ones({1, 8});
  const at::Tensor cue = at::tensor({1.0F, -1.0F, 1.0F, -1.0F, 1.0F, -1.0F, 1.0F, -1.0F});
  RecallOptions options;
  options.record_energy = true;
  options.max_steps = kSteps;

  ClassicalHopfield synchronous = make_memory({{"update", std::string("synchronous")}});
  synchronous.store(pattern);
  const RecallResult cycle = synchronous.recall(cue.reshape({1, 8}), options);

  EXPECT_TRUE(cycle.states[0].equal(-cue)) << cycle.states;
  EXPECT_EQ(cycle.steps[0].item<std::int64_t>(), kSteps);
  EXPECT_FALSE(cycle.converged[0].item<bool>());
  // Both states of the cycle have m = 0, so E = N D / (2 D) = 1/2.
  EXPECT_TRUE((cycle.energy == 0.5).all().item<bool>()) << cycle.energy;

  options.max_steps = kSteps + 1;
  EXPECT_TRUE(synchronous.recall(cue.reshape({1, 8}), options).states[0].equal(cue));

  // Asynchronously, the first flip gives m = +-2, and every later unit follows that sign.
  ClassicalHopfield asynchronous = make_memory();
  asynchronous.store(pattern);
  const RecallResult settled = asynchronous.recall(cue.reshape({1, 8}), options);
  EXPECT_EQ(settled.states.sum().abs().item<double>(), 8.0) << settled.states;
  EXPECT_EQ(settled.steps[0].item<std::int64_t>(), 2);
  EXPECT_TRUE(settled.converged[0].item<bool>());
  EXPECT_DOUBLE_EQ(settled.energy[0][2].item<double>(), -3.5);
}

TEST(ClassicalHopfield, SameSeedGivesSameResult) {
  constexpr std::int64_t kDim = 200;
  const at::Tensor patterns = random_signs(60, kDim);
  const at::Tensor cues = random_signs(30, kDim);
  RecallOptions options;
  options.record_energy = true;

  ClassicalHopfield first = make_memory({}, /*seed=*/11);
  ClassicalHopfield second = make_memory({}, /*seed=*/11);
  ClassicalHopfield other_seed = make_memory({}, /*seed=*/12);
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
  // With N = 0.3 D there are many spurious minima, so another order reaches other ones.
  EXPECT_FALSE(different.states.equal(expected.states));
}

TEST(ClassicalHopfield, ChunkedMatchesUnchunked) {
  constexpr std::int64_t kPatterns = 50;
  const at::Tensor patterns = random_signs(kPatterns, 128);
  const at::Tensor cues = flip_values(patterns.narrow(0, 0, 20), 30);
  RecallOptions options;
  options.record_energy = true;

  for (const std::string update : {"asynchronous", "synchronous"}) {
    SCOPED_TRACE(update);
    ClassicalHopfield whole = make_memory({{"update", update}});
    ClassicalHopfield chunked =
        make_memory({{"update", update}, {"chunk_elements", std::int64_t{kPatterns}}});
    whole.store(patterns);
    chunked.store(patterns);

    const RecallResult expected = whole.recall(cues, options);
    const RecallResult actual = chunked.recall(cues, options);

    EXPECT_TRUE(actual.states.equal(expected.states));
    EXPECT_TRUE(actual.steps.equal(expected.steps)) << actual.steps << expected.steps;
    EXPECT_TRUE(actual.converged.equal(expected.converged));
    EXPECT_TRUE(actual.energy.equal(expected.energy));
  }
}

TEST(ClassicalHopfield, ProgressReportsLeaveResultUnchanged) {
  // Chunks of 20,000 / 50 = 400 cues, each reported every 256 cues and at its end.
  constexpr std::int64_t kPatterns = 50;
  const at::Tensor patterns = random_signs(kPatterns, 64);
  const at::Tensor cues = random_signs(600, 64);
  ClassicalHopfield memory = make_memory({{"chunk_elements", std::int64_t{400 * kPatterns}}});
  memory.store(patterns);
  RecallOptions options;
  options.record_energy = true;
  const RecallResult expected = memory.recall(cues, options);

  std::vector<std::pair<std::int64_t, std::int64_t>> reports;
  options.on_progress = [&](std::int64_t done, std::int64_t total) {
    reports.emplace_back(done, total);
  };
  const RecallResult actual = memory.recall(cues, options);

  const std::vector<std::pair<std::int64_t, std::int64_t>> expected_reports = {
      {256, 600}, {400, 600}, {600, 600}};
  EXPECT_EQ(reports, expected_reports);
  EXPECT_TRUE(actual.states.equal(expected.states));
  EXPECT_TRUE(actual.steps.equal(expected.steps));
  EXPECT_TRUE(actual.converged.equal(expected.converged));
  EXPECT_TRUE(actual.energy.equal(expected.energy));
}

TEST(ClassicalHopfield, StoppedCueRepeatsLastEnergy) {
  ClassicalHopfield memory = make_memory({{"max_steps", std::int64_t{6}}});
  const at::Tensor patterns = random_signs(5, 100);
  memory.store(patterns);
  RecallOptions options;
  options.record_energy = true;

  const RecallResult result = memory.recall(flip_values(patterns.narrow(0, 1, 1), 10), options);

  ASSERT_EQ(result.steps[0].item<std::int64_t>(), 2);
  const at::Tensor energy = result.energy[0];
  EXPECT_TRUE(energy.narrow(0, 1, 6).eq(energy[1]).all().item<bool>()) << energy;
  EXPECT_LT(energy[1].item<double>(), energy[0].item<double>());
}

TEST(ClassicalHopfield, SaveThenLoadReproducesRecall) {
  const test_support::TempDir folder;
  const std::string path = (folder / "memory.pt").string();
  ClassicalHopfield original = make_memory();
  original.store(at::randn({20, 64}));
  original.save(path);

  ClassicalHopfield restored = make_memory();
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

  // An empty memory saves and loads as empty.
  ClassicalHopfield empty = make_memory();
  empty.save(path);
  restored.load(path);
  EXPECT_EQ(restored.size(), 0);
}

TEST(ClassicalHopfield, LoadRejectsBrokenFiles) {
  const test_support::TempDir folder;
  ClassicalHopfield memory = make_memory();
  memory.store(random_signs(4, 6));

  try {
    memory.load((folder / "missing.pt").string());
    FAIL() << "a missing file was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("missing.pt"));
  }

  const std::string garbage = (folder / "garbage.pt").string();
  test_support::write_text(garbage, "not a pickle");
  EXPECT_THROW(memory.load(garbage), IoError);

  const auto write_pickle = [](const std::string& path, const c10::IValue& value) {
    const std::vector<char> bytes = torch::jit::pickle_save(value);
    std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  };
  const std::string other_kind = (folder / "other.pt").string();
  write_pickle(
      other_kind,
      c10::ivalue::Tuple::create(
          {c10::IValue(std::string("genmem.modern_hopfield")),
           c10::IValue(std::int64_t{1}),
           c10::IValue(random_signs(2, 6))}));
  try {
    memory.load(other_kind);
    FAIL() << "a file of another plugin was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("other.pt"));
    EXPECT_THAT(error.what(), HasSubstr("genmem.classical_hopfield"));
  }

  const std::string grey = (folder / "grey.pt").string();
  write_pickle(
      grey,
      c10::ivalue::Tuple::create(
          {c10::IValue(std::string("genmem.classical_hopfield")),
           c10::IValue(std::int64_t{1}),
           c10::IValue(at::full({2, 6}, 0.5F))}));
  try {
    memory.load(grey);
    FAIL() << "a file with values other than +1 and -1 was loaded";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("+1 and -1"));
  }
  EXPECT_EQ(memory.size(), 4);
}

TEST(ClassicalHopfield, RecallRejectsInvalidInputs) {
  ClassicalHopfield memory = make_memory();
  try {
    memory.recall(random_signs(2, 8), RecallOptions{});
    FAIL() << "recall on an empty memory succeeded";
  } catch (const ModelError& error) {
    EXPECT_THAT(error.what(), HasSubstr("classical_hopfield recall"));
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
    memory.recall(at::randn({8}), RecallOptions{});
    FAIL() << "a 1-D cue was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("2-D"));
    EXPECT_THAT(error.what(), HasSubstr("[8]"));
  }
  for (const float value : {NAN, INFINITY, -INFINITY}) {
    SCOPED_TRACE(value);
    at::Tensor cue = random_signs(1, 8);
    cue[0][3] = value;
    try {
      memory.recall(cue, RecallOptions{});
      FAIL() << "a non-finite cue was accepted";
    } catch (const ConfigError& error) {
      EXPECT_THAT(error.what(), HasSubstr("NaN or infinite"));
    }
  }
  EXPECT_THROW(memory.store(at::full({1, 8}, NAN)), ConfigError);
  EXPECT_THROW(memory.store(random_signs(1, 9)), ConfigError);
  EXPECT_EQ(memory.size(), 5);

  RecallOptions zero_steps;
  zero_steps.max_steps = 0;
  EXPECT_THROW(memory.recall(random_signs(1, 8), zero_steps), ConfigError);
}

TEST(ClassicalHopfield, RecallOfNoCuesIsEmpty) {
  ClassicalHopfield memory = make_memory();
  memory.store(random_signs(5, 8));
  RecallOptions options;
  options.record_energy = true;

  const RecallResult result = memory.recall(at::empty({0, 8}), options);

  EXPECT_EQ(result.states.sizes(), at::IntArrayRef({0, 8}));
  EXPECT_EQ(result.steps.size(0), 0);
  EXPECT_EQ(result.energy.sizes(), at::IntArrayRef({0, 21}));
}

}  // namespace
}  // namespace genmem
