#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "modern_hopfield.hpp"

namespace genmem {
namespace {

using testing::HasSubstr;

PluginContext make_context(
    const std::vector<ParameterSpec>& specs,
    const std::map<std::string, ParameterValue>& overrides) {
  PluginContext context;
  context.parameters = default_parameters(specs);
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
  return context;
}

SparseHopfield make_sparse(const std::map<std::string, ParameterValue>& overrides = {}) {
  return SparseHopfield(make_context(sparse_hopfield_parameters(), overrides));
}

ModernHopfield make_dense(const std::map<std::string, ParameterValue>& overrides = {}) {
  return ModernHopfield(make_context(modern_hopfield_parameters(), overrides));
}

at::Tensor random_signs(std::int64_t count, std::int64_t dim) {
  return at::randint(0, 2, {count, dim}, at::kFloat).mul_(2).sub_(1);
}

// Mean over cues of the summed squared difference between recalled states and targets.
double mean_squared_error(const at::Tensor& states, const at::Tensor& targets) {
  return (states - targets).square().sum(1).mean().item<double>();
}

at::Tensor separated(std::vector<double> logits, Separation separation) {
  at::Tensor row = at::tensor(logits, at::kDouble).unsqueeze(0);
  separate_(row, separation);
  return row.squeeze(0);
}

TEST(SparseHopfield, SparsemaxMatchesHandComputation) {
  // Sorted logits 1, 0.5, -1: the two largest satisfy 1 + k z_(k) > sum, so the threshold is
  // (1 + 0.5 - 1) / 2 = 0.25.
  const at::Tensor weights = separated({0.5, 1.0, -1.0}, Separation::kSparsemax);
  EXPECT_NEAR(weights[0].item<double>(), 0.25, 1e-12);
  EXPECT_NEAR(weights[1].item<double>(), 0.75, 1e-12);
  EXPECT_EQ(weights[2].item<double>(), 0.0);

  // A gap of more than 1 leaves a single pattern.
  const at::Tensor one_hot = separated({3.0, 1.5, 0.0}, Separation::kSparsemax);
  EXPECT_EQ(one_hot[0].item<double>(), 1.0);
  EXPECT_EQ(one_hot[1].item<double>(), 0.0);
}

TEST(SparseHopfield, Entmax15MatchesHandComputation) {
  // For logits (1, 0), 1.5-entmax is (0.5 - tau)^2 + (0 - tau)^2 = 1 with both in the support,
  // so tau = (1 - sqrt(7)) / 4.
  const double tau = (1.0 - std::sqrt(7.0)) / 4.0;
  const at::Tensor weights = separated({1.0, 0.0}, Separation::kEntmax15);
  EXPECT_NEAR(weights[0].item<double>(), (0.5 - tau) * (0.5 - tau), 1e-12);
  EXPECT_NEAR(weights[1].item<double>(), tau * tau, 1e-12);

  // Entmax keeps more patterns than sparsemax and fewer than softmax.
  const std::vector<double> logits{2.0, 1.2, 0.9, -0.5, -3.0};
  const auto support = [&](Separation separation) {
    return (separated(logits, separation) > 0).sum().item<std::int64_t>();
  };
  EXPECT_EQ(support(Separation::kSparsemax), 2);
  EXPECT_EQ(support(Separation::kEntmax15), 3);
  EXPECT_EQ(support(Separation::kSoftmax), 5);
  for (const Separation separation :
       {Separation::kSoftmax, Separation::kSparsemax, Separation::kEntmax15}) {
    EXPECT_NEAR(separated(logits, separation).sum().item<double>(), 1.0, 1e-12);
  }
}

TEST(SparseHopfield, OneStepMixesOnlyTheSupport) {
  SparseHopfield memory = make_sparse({{"beta", 1.0}, {"similarity_scale", std::string("none")}});
  memory.store(at::tensor({1.0F, 0.0F, 0.0F, 1.0F, -1.0F, 0.0F}).reshape({3, 2}));
  const at::Tensor cue = at::tensor({0.5F, 0.5F}).reshape({1, 2});

  RecallOptions options;
  options.record_energy = true;
  const RecallResult result = memory.recall(cue, options);

  // Logits (0.5, 0.5, -0.5) give sparsemax weights (0.5, 0.5, 0): the third pattern has no
  // share, so the cue is already a fixed point, which softmax would pull towards (-1, 0).
  EXPECT_TRUE(result.states.allclose(cue));
  EXPECT_EQ(result.steps[0].item<std::int64_t>(), 1);
  EXPECT_TRUE(result.converged[0].item<bool>());
  // E = -(<p, z> + 0.5 (1 - |p|^2)) + 0.5 |xi|^2 + 0.5 M^2 = -(0.5 + 0.25) + 0.25 + 0.5 = 0.
  EXPECT_NEAR(result.energy[0][0].item<double>(), 0.0, 1e-12);

  ModernHopfield dense = make_dense({{"beta", 1.0}, {"similarity_scale", std::string("none")}});
  dense.store(memory.patterns());
  options.max_steps = 1;
  EXPECT_LT(dense.recall(cue, options).states[0][0].item<double>(), 0.45);
}

TEST(SparseHopfield, RecallsStoredPatternExactly) {
  constexpr std::int64_t kDim = 256;
  SparseHopfield memory = make_sparse({{"beta", 10.0}, {"similarity_scale", std::string("none")}});
  const at::Tensor patterns = random_signs(50, kDim);
  memory.store(patterns);
  const at::Tensor targets = patterns.narrow(0, 0, 10);
  const at::Tensor cues = at::where(at::rand({10, kDim}) < 0.3, random_signs(10, kDim), targets);

  const RecallResult result = memory.recall(cues, RecallOptions{});

  // Sparsemax puts all weight on the nearest pattern, so the state is the pattern itself, not a
  // softmax average within float32 rounding of it.
  EXPECT_TRUE(result.states.equal(targets));
  EXPECT_TRUE(result.converged.all().item<bool>());
}

TEST(SparseHopfield, EnergyNeverIncreases) {
  for (const std::string separation : {"sparsemax", "entmax15"}) {
    SCOPED_TRACE(separation);
    constexpr std::int64_t kSteps = 8;
    SparseHopfield memory =
        make_sparse({{"beta", 4.0}, {"max_steps", kSteps}, {"separation", separation}});
    memory.store(at::randn({100, 64}));
    const at::Tensor cues = at::randn({20, 64});
    RecallOptions options;
    options.record_energy = true;
    const at::Tensor energy = memory.recall(cues, options).energy;
    EXPECT_TRUE(energy.select(1, 0).allclose(memory.energy(cues)));
    const at::Tensor rises = energy.narrow(1, 1, kSteps) - energy.narrow(1, 0, kSteps);
    EXPECT_LE(rises.max().item<double>(), 1e-9 * energy.abs().max().item<double>());
    EXPECT_TRUE((energy.select(1, kSteps) < energy.select(1, 0)).all().item<bool>());
  }
}

TEST(SparseHopfield, SparseRecallIsNoWorseThanDenseAndDegradesWithLoad) {
  // With correlated patterns and a moderate beta, softmax blends neighbours while the sparse
  // maps drop distant ones, so their retrieval error is at most the dense one (Hu et al. 2023).
  // With 2,000 patterns some stored neighbour overlaps a cue more than its own pattern does, so the
  // error of all three rises.
  constexpr std::int64_t kDim = 100;
  const auto error_at = [&](std::int64_t count, const std::string& separation) {
    at::manual_seed(7);
    const at::Tensor prototype = random_signs(1, kDim);
    const at::Tensor patterns =
        at::where(at::rand({count, kDim}) < 0.3, random_signs(count, kDim), prototype);
    const at::Tensor targets = patterns.narrow(0, 0, 20);
    const at::Tensor cues = at::where(at::rand({20, kDim}) < 0.4, random_signs(20, kDim), targets);
    const std::map<std::string, ParameterValue> settings{
        {"beta", 2.0}, {"similarity_scale", std::string("inv_sqrt_dim")}};
    if (separation == "softmax") {
      ModernHopfield dense = make_dense(settings);
      dense.store(patterns);
      return mean_squared_error(dense.recall(cues, RecallOptions{}).states, targets);
    }
    auto sparse_settings = settings;
    sparse_settings["separation"] = separation;
    SparseHopfield sparse = make_sparse(sparse_settings);
    sparse.store(patterns);
    return mean_squared_error(sparse.recall(cues, RecallOptions{}).states, targets);
  };

  const double dense_few = error_at(20, "softmax");
  const double sparsemax_few = error_at(20, "sparsemax");
  const double entmax_few = error_at(20, "entmax15");
  EXPECT_LE(sparsemax_few, dense_few);
  EXPECT_LE(entmax_few, dense_few);
  EXPECT_LT(sparsemax_few, 1.0);

  for (const std::string separation : {"softmax", "sparsemax", "entmax15"}) {
    EXPECT_GT(error_at(2000, separation), 4.0 * error_at(20, separation) + 1.0) << separation;
  }
}

// A folder under the system temporary directory, removed when the test ends.
class TemporaryFolder {
 public:
  TemporaryFolder()
      : path_(
          std::filesystem::temp_directory_path()
          / ("genmem_sparse_hopfield_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }

  ~TemporaryFolder() { std::filesystem::remove_all(path_); }

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

TEST(SparseHopfield, SaveThenLoadChecksPluginAndSeparation) {
  const TemporaryFolder folder;
  SparseHopfield saved = make_sparse({{"separation", std::string("entmax15")}});
  saved.store(at::randn({5, 8}));
  saved.save(folder.file("sparse.pt"));

  SparseHopfield loaded = make_sparse({{"separation", std::string("entmax15")}});
  loaded.load(folder.file("sparse.pt"));
  EXPECT_TRUE(loaded.patterns().equal(saved.patterns()));

  SparseHopfield other = make_sparse({{"separation", std::string("sparsemax")}});
  try {
    other.load(folder.file("sparse.pt"));
    FAIL() << "a file saved with entmax15 loaded into a sparsemax memory";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("separation = \"entmax15\""));
    EXPECT_THAT(error.what(), HasSubstr("separation = \"sparsemax\""));
  }

  ModernHopfield dense = make_dense();
  dense.store(at::randn({5, 8}));
  dense.save(folder.file("dense.pt"));
  try {
    other.load(folder.file("dense.pt"));
    FAIL() << "a modern_hopfield file loaded into sparse_hopfield";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("sparse_hopfield load"));
    EXPECT_THAT(error.what(), HasSubstr("genmem.sparse_hopfield"));
  }
  EXPECT_THROW(dense.load(folder.file("sparse.pt")), IoError);
}

TEST(SparseHopfield, ParametersAndErrorsNameThePlugin) {
  const SparseHopfield memory = make_sparse();
  EXPECT_EQ(memory.separation(), Separation::kSparsemax);
  EXPECT_EQ(make_dense().separation(), Separation::kSoftmax);

  try {
    make_sparse({{"separation", std::string("argmax")}});
    FAIL() << "separation = argmax was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("sparse_hopfield: parameter 'separation'"));
  }
  SparseHopfield empty = make_sparse();
  try {
    empty.recall(at::randn({1, 4}), RecallOptions{});
    FAIL() << "recall from an empty memory succeeded";
  } catch (const ModelError& error) {
    EXPECT_THAT(error.what(), HasSubstr("sparse_hopfield recall"));
  }
}

}  // namespace
}  // namespace genmem
