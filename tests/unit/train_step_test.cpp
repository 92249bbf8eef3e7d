#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "steps/run_context.hpp"
#include "steps/step.hpp"
#include "test_support.hpp"
#include "tiny_generative_model.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A generative model whose training completes `good_epochs` epochs and then diverges.
class DivergingModel final : public test_support::TinyGenerativeModel {
 public:
  explicit DivergingModel(std::int64_t good_epochs)
      : TinyGenerativeModel(2), good_epochs_(good_epochs) {}

  FitSummary fit(
      const at::Tensor& /*images*/,
      const EpochCallback& on_epoch,
      const ProgressCallback& /*on_batch*/) override {
    on_epoch(EpochReport{0, std::nan(""), std::nan(""), std::nan(""), 0.0});
    for (std::int64_t epoch = 1; epoch <= good_epochs_; ++epoch) {
      on_epoch(EpochReport{epoch, 10.0 / static_cast<double>(epoch), 9.0, 1.0, 0.1});
    }
    throw TrainingDivergedError(
        "loss became NaN at epoch " + std::to_string(good_epochs_ + 1) + ", batch 4");
  }

  Encoding encode(const at::Tensor& images) override {
    // Latents that carry the label perfectly: the mean brightness of each image.
    const at::Tensor mean = images.mean({1, 2, 3}).unsqueeze(1).repeat({1, 2});
    return {mean, at::zeros_like(mean)};
  }

  void save(const std::string& path) const override {
    ++saves_;
    test_support::write_text(path, "epoch checkpoint " + std::to_string(saves_));
  }

 private:
  std::int64_t good_epochs_;
  mutable int saves_ = 0;
};

// Ten images per class for two classes, each image's brightness equal to its label.
DataSplit two_class_data() {
  const at::Tensor labels = at::arange(2, at::kLong).repeat_interleave(10);
  const at::Tensor images =
      labels.to(at::kFloat).reshape({20, 1, 1, 1}).expand({20, 1, 2, 2}).contiguous();
  Dataset dataset{images, labels, "class", 2, {}};
  return {dataset, dataset};
}

struct TrainFixture {
  test_support::TempDir root;
  Scenario scenario;
  RunFolder folder = RunFolder::create(root.path(), "train-test", "");
};

void run_train_step(
    TrainFixture& fixture, GenerativeModel& model, DataSplit data = two_class_data()) {
  const StepKind* kind = find_step_kind("train");
  Parameters parameters = default_parameters(kind->parameters);
  parameters.set("on", std::string("images"));
  parameters.set("decoding_train", std::int64_t{10});
  parameters.set("decoding_test", std::int64_t{10});
  RunContext context(fixture.scenario, fixture.folder, std::move(data));
  context.neocortex = &model;
  context.step_number = 1;
  kind->create(parameters)->run(context);
}

TEST(TrainStep, DivergenceKeepsLastGoodCheckpoint) {
  TrainFixture fixture;
  DivergingModel model(/*good_epochs=*/2);
  try {
    run_train_step(fixture, model);
    FAIL() << "expected TrainingDivergedError";
  } catch (const TrainingDivergedError& error) {
    EXPECT_THAT(error.what(), HasSubstr("loss became NaN at epoch 3, batch 4"));
    EXPECT_THAT(error.what(), HasSubstr("the last good checkpoint, from epoch 2, is kept at"));
  }
  const fs::path checkpoint = fixture.folder.file("checkpoints/neocortex.pt");
  EXPECT_EQ(test_support::read_text(checkpoint), "epoch checkpoint 2");
  EXPECT_FALSE(fs::exists(checkpoint.string() + ".tmp"));

  // metrics.csv keeps every measured epoch: the header, epoch 0 and epochs 1 and 2.
  const std::string metrics = test_support::read_text(fixture.folder.file("metrics.csv"));
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 4);
  EXPECT_THAT(metrics, HasSubstr("\n2,5,9,1,"));
}

TEST(TrainStep, DivergenceBeforeAnyEpochSaysNoCheckpoint) {
  TrainFixture fixture;
  DivergingModel model(/*good_epochs=*/0);
  try {
    run_train_step(fixture, model);
    FAIL() << "expected TrainingDivergedError";
  } catch (const TrainingDivergedError& error) {
    EXPECT_THAT(error.what(), HasSubstr("no epoch completed, so there is no checkpoint"));
  }
  EXPECT_FALSE(fs::exists(fixture.folder.file("checkpoints/neocortex.pt")));
}

TEST(TrainStep, MeasuresDecodingEveryEpoch) {
  TrainFixture fixture;
  DivergingModel model(/*good_epochs=*/1);
  EXPECT_THROW(run_train_step(fixture, model), TrainingDivergedError);
  const std::string metrics = test_support::read_text(fixture.folder.file("metrics.csv"));
  // The latents separate the classes perfectly, so the classifier scores 1 on both rows.
  EXPECT_THAT(metrics, HasSubstr("\n0,,,,"));
  EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 3);
  EXPECT_THAT(metrics, ::testing::ContainsRegex("\n1,10,9,1,[0-9.]+,1,"));
}

TEST(TrainStep, DecodesEveryFactorIntoItsOwnColumn) {
  TrainFixture fixture;
  DivergingModel model(/*good_epochs=*/1);
  DataSplit data = two_class_data();
  // "inverse" is carried by the latents as well as the label; "index_parity" alternates within
  // each class, which latents of one value per class cannot separate.
  data.test.factors["inverse"] = 1 - data.test.labels;
  data.test.factors["index_parity"] = at::arange(20, at::kLong).remainder(2);
  EXPECT_THROW(run_train_step(fixture, model, data), TrainingDivergedError);
  const std::string metrics = test_support::read_text(fixture.folder.file("metrics.csv"));
  EXPECT_THAT(
      metrics,
      HasSubstr("test_reconstruction_error,decoding_accuracy,decoding_index_parity,"
                "decoding_inverse,seconds"));
  // Epoch 1: label and inverse decode perfectly. The parity classifier makes one guess per class,
  // so it is right on at most 0.6 of the 10 scored items.
  EXPECT_THAT(metrics, ::testing::ContainsRegex("\n1,10,9,1,[0-9.]+,1,0(\\.[0-6][0-9]*)?,1,"));
}

}  // namespace
}  // namespace genmem
