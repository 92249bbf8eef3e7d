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

constexpr const char* kRendered = "shapes3d_rendered";

// Makes the run folder `root/name` with the manifest `manifest`, a resolved scenario that reads
// `source`, and, when `checkpoint` is set, a placeholder saved neocortex.
fs::path make_run(
    const fs::path& root,
    const std::string& name,
    const std::string& manifest,
    bool checkpoint = true,
    const std::string& source = kRendered) {
  const fs::path run = root / name;
  fs::create_directories(run / "checkpoints");
  write_text(run / "manifest.json", manifest);
  write_text(run / "scenario.toml", "[data]\nsource = '" + source + "'\n");
  if (checkpoint) {
    write_text(run / "checkpoints/neocortex.pt", "weights");
  }
  return run;
}

TEST(FindCheckpoint, PassesOverRunsWithChanges) {
  TempDir root;
  make_run(root.path(), "20260101T000000Z", R"({"status": "completed", "overrides": []})");
  // Where the data lives and how many threads ran change nothing the model learns.
  const fs::path plain = make_run(
      root.path(),
      "20260102T000000Z",
      R"({"status": "completed", "overrides": ["data.dir=/data", "scenario.threads=1"]})");
  const fs::path control = make_run(
      root.path(),
      "20260103T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images"]})");
  const fs::path removed = make_run(
      root.path(),
      "20260104T000000Z",
      R"({"status": "completed", "overrides": [], "removed_keys": ["models.hippocampus.beta"]})");
  const fs::path real_data = make_run(
      root.path(),
      "20260105T000000Z",
      R"({"status": "completed", "overrides": ["data.source=shapes3d"]})",
      true,
      "shapes3d");
  // Newer still, but one was interrupted and one saved no checkpoint, so neither counts.
  make_run(root.path(), "20260106T000000Z", R"({"status": "interrupted"})");
  make_run(root.path(), "20260107T000000Z", R"({"status": "completed"})", false);

  const CheckpointChoice choice = find_checkpoint(root.path(), kRendered);
  EXPECT_EQ(choice.checkpoint, plain / "checkpoints/neocortex.pt");
  EXPECT_TRUE(choice.changed_settings.empty());
  EXPECT_EQ(choice.data_source, kRendered);
  EXPECT_THAT(choice.passed_over, ElementsAre(real_data, removed, control));

  // The run on real data is the one for a scenario that reads real data.
  const CheckpointChoice on_real = find_checkpoint(root.path(), "shapes3d");
  EXPECT_EQ(on_real.checkpoint, real_data / "checkpoints/neocortex.pt");
  EXPECT_TRUE(on_real.passed_over.empty());
}

TEST(FindCheckpoint, NoSuitableRunChoosesNone) {
  TempDir root;
  const fs::path oldest = make_run(
      root.path(),
      "20260101T000000Z",
      R"({"status": "completed", "overrides": ["data.train_items=10"]})");
  const fs::path newest = make_run(
      root.path(),
      "20260102T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images", "data.dir=/data"],
          "removed_keys": ["models.hippocampus.beta"]})");

  // Every run was passed over, newest first, and the caller names them rather than guessing.
  const CheckpointChoice choice = find_checkpoint(root.path(), kRendered);
  EXPECT_TRUE(choice.checkpoint.empty());
  EXPECT_THAT(choice.passed_over, ElementsAre(newest, oldest));
  EXPECT_THAT(
      changed_settings(newest),
      ElementsAre("steps.3.on=images", "models.hippocampus.beta (removed)"));
}

TEST(FindCheckpoint, NamedRunKeepsChanges) {
  TempDir root;
  const fs::path control = make_run(
      root.path(),
      "20260103T000000Z",
      R"({"status": "completed", "overrides": ["steps.3.on=images"]})",
      true,
      "shapes3d");
  const fs::path checkpoint = control / "checkpoints/neocortex.pt";

  const CheckpointChoice by_folder = find_checkpoint(control, kRendered);
  EXPECT_EQ(by_folder.checkpoint, checkpoint);
  EXPECT_THAT(by_folder.changed_settings, ElementsAre("steps.3.on=images"));
  EXPECT_EQ(by_folder.data_source, "shapes3d");

  const CheckpointChoice by_file = find_checkpoint(checkpoint, kRendered);
  EXPECT_EQ(by_file.checkpoint, checkpoint);
  EXPECT_THAT(by_file.changed_settings, ElementsAre("steps.3.on=images"));
  EXPECT_EQ(by_file.data_source, "shapes3d");

  EXPECT_TRUE(find_checkpoint(root / "missing", kRendered).checkpoint.empty());
}

TEST(FindCheckpoint, DamagedRunsArePassedOver) {
  TempDir root;
  const fs::path plain = make_run(root.path(), "20260101T000000Z", R"({"status": "completed"})");
  const fs::path seeded = make_run(
      root.path(),
      "20260102T000000Z",
      R"({"status": "completed", "overrides": ["scenario.seed=7"]})");
  const fs::path bad_list =
      make_run(root.path(), "20260103T000000Z", R"({"status": "completed", "overrides": "x"})");
  const fs::path bad_entry = make_run(
      root.path(), "20260104T000000Z", R"({"status": "completed", "removed_keys": ["a", 1]})");
  const fs::path bad_scenario =
      make_run(root.path(), "20260105T000000Z", R"({"status": "completed"})");
  write_text(bad_scenario / "scenario.toml", "garbage = = =");

  const CheckpointChoice choice = find_checkpoint(root.path(), kRendered);
  EXPECT_EQ(choice.checkpoint, seeded / "checkpoints/neocortex.pt");
  EXPECT_THAT(choice.passed_over, ElementsAre(bad_scenario, bad_entry, bad_list));
  EXPECT_THAT(changed_settings(bad_list), ElementsAre("overrides (unreadable)"));
  EXPECT_THAT(changed_settings(bad_entry), ElementsAre("removed_keys (unreadable)"));
  EXPECT_TRUE(changed_settings(plain).empty());
}

TEST(FindCheckpoint, NewestByStartTime) {
  TempDir root;
  const fs::path first = make_run(
      root.path(), "zz-first", R"({"status": "completed", "started": "2026-01-01T00:00:00Z"})");
  const fs::path second = make_run(
      root.path(), "aa-second", R"({"status": "completed", "started": "2026-01-02T00:00:00Z"})");

  EXPECT_EQ(
      find_checkpoint(root.path(), kRendered).checkpoint, second / "checkpoints/neocortex.pt");
  write_text(
      first / "manifest.json", R"({"status": "completed", "started": "2026-01-03T00:00:00Z"})");
  EXPECT_EQ(find_checkpoint(root.path(), kRendered).checkpoint, first / "checkpoints/neocortex.pt");
}

TEST(FindCheckpoint, CheckpointOutsideRunHasNoChanges) {
  TempDir root;
  const fs::path checkpoint = root / "neocortex.pt";
  write_text(checkpoint, "weights");

  const CheckpointChoice choice = find_checkpoint(checkpoint, kRendered);
  EXPECT_EQ(choice.checkpoint, checkpoint);
  EXPECT_TRUE(choice.changed_settings.empty());
  EXPECT_EQ(choice.data_source, "");
}

}  // namespace
}  // namespace genmem
