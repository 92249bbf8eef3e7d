#include "steps/load_step.hpp"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using test_support::write_text;
using ::testing::ElementsAre;

// Makes the run folder `root/name` with the manifest `manifest` and, when `checkpoint` is set,
// a (placeholder) saved neocortex.
fs::path make_run(
    const fs::path& root, const std::string& name, const std::string& manifest, bool checkpoint) {
  const fs::path run = root / name;
  fs::create_directories(run / "checkpoints");
  write_text(run / "manifest.json", manifest);
  if (checkpoint) {
    write_text(run / "checkpoints/neocortex.pt", "weights");
  }
  return run;
}

TEST(FindCheckpoint, PassesOverRunsWithOverrides) {
  TempDir root;
  make_run(root.path(), "20260101T000000Z", R"({"status": "completed", "overrides": []})", true);
  const fs::path plain =
      make_run(root.path(), "20260102T000000Z", R"({"status": "completed"})", true);
  const fs::path control = make_run(
      root.path(),
      "20260103T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images"]})",
      true);
  const fs::path removed = make_run(
      root.path(),
      "20260104T000000Z",
      R"({"status": "completed", "overrides": [], "removed_keys": ["models.hippocampus.beta"]})",
      true);
  // Newer still, but one was interrupted and one saved no checkpoint, so neither counts.
  make_run(root.path(), "20260105T000000Z", R"({"status": "interrupted"})", true);
  make_run(root.path(), "20260106T000000Z", R"({"status": "completed"})", false);

  const CheckpointChoice choice = find_checkpoint(root.path());
  EXPECT_EQ(choice.checkpoint, plain / "checkpoints/neocortex.pt");
  EXPECT_TRUE(choice.overrides.empty());
  EXPECT_THAT(choice.passed_over, ElementsAre(removed, control));
}

TEST(FindCheckpoint, AllOverriddenTakesNewest) {
  TempDir root;
  make_run(
      root.path(),
      "20260101T000000Z",
      R"({"status": "completed", "overrides": ["data.train_items=10"]})",
      true);
  const fs::path newest = make_run(
      root.path(),
      "20260102T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images", "seed=2"],
          "removed_keys": ["models.hippocampus.beta"]})",
      true);

  const CheckpointChoice choice = find_checkpoint(root.path());
  EXPECT_EQ(choice.checkpoint, newest / "checkpoints/neocortex.pt");
  EXPECT_THAT(
      choice.overrides, ElementsAre("steps.3.on=images", "seed=2", "-models.hippocampus.beta"));
  EXPECT_TRUE(choice.passed_over.empty());
}

TEST(FindCheckpoint, NamedRunKeepsOverrides) {
  TempDir root;
  const fs::path control = make_run(
      root.path(),
      "20260103T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images"]})",
      true);
  const fs::path checkpoint = control / "checkpoints/neocortex.pt";

  const CheckpointChoice by_folder = find_checkpoint(control);
  EXPECT_EQ(by_folder.checkpoint, checkpoint);
  EXPECT_THAT(by_folder.overrides, ElementsAre("steps.3.on=images"));

  const CheckpointChoice by_file = find_checkpoint(checkpoint);
  EXPECT_EQ(by_file.checkpoint, checkpoint);
  EXPECT_THAT(by_file.overrides, ElementsAre("steps.3.on=images"));

  EXPECT_TRUE(find_checkpoint(root / "missing").checkpoint.empty());
}

}  // namespace
}  // namespace genmem
