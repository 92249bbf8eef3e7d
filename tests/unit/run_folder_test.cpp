#include "outputs/run_folder.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(RunFolder, NewFolderPerRun) {
  test_support::TempDir root;
  const RunFolder first = RunFolder::create(root.path(), "demo", "");
  const RunFolder second = RunFolder::create(root.path(), "demo", "");
  EXPECT_NE(first.path(), second.path());
  EXPECT_TRUE(fs::is_directory(first.path() / "figures"));
  EXPECT_EQ(first.path().parent_path(), root / "demo");
}

TEST(RunFolder, CheckpointsFolderAppearsWithFirstCheckpoint) {
  test_support::TempDir root;
  const RunFolder folder = RunFolder::create(root.path(), "demo", "");
  EXPECT_FALSE(fs::exists(folder.path() / "checkpoints"));
  folder.save_checkpoint(
      "model.pt", [](const std::string& path) { test_support::write_text(path, "weights"); });
  EXPECT_EQ(test_support::read_text(folder.path() / "checkpoints/model.pt"), "weights");
  EXPECT_FALSE(fs::exists(folder.path() / "checkpoints/model.pt.tmp"));
}

TEST(RunFolder, NonEmptyExplicitFolderKept) {
  test_support::TempDir root;
  const fs::path existing = root / "earlier";
  fs::create_directories(existing);
  test_support::write_text(existing / "summary.json", "{\"kept\": true}");
  try {
    RunFolder::create(root.path(), "demo", existing);
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("already exists and is not empty"));
  }
  EXPECT_EQ(test_support::read_text(existing / "summary.json"), "{\"kept\": true}");
}

TEST(RunFolder, FileAsOutputFolderRejected) {
  test_support::TempDir root;
  test_support::write_text(root / "scenario.toml", "x");
  try {
    RunFolder::create(root.path(), "demo", root / "scenario.toml");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is a file, not a folder"));
  }
  EXPECT_EQ(test_support::read_text(root / "scenario.toml"), "x");
}

TEST(RunFolder, FolderInsideAnEarlierRunRejected) {
  test_support::TempDir root;
  const RunFolder earlier = RunFolder::create(root.path(), "demo", root / "earlier");
  earlier.write("manifest.json", "{}");
  try {
    RunFolder::create(root.path(), "demo", root / "earlier" / "figures" / "new");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is inside the folder of the run '"));
    EXPECT_THAT(error.what(), HasSubstr("choose a folder outside it"));
  }
  EXPECT_FALSE(fs::exists(root / "earlier" / "figures" / "new"));
}

TEST(RunFolder, UnwritableLocationRejected) {
  test_support::TempDir root;
  test_support::write_text(root / "file", "x");
  try {
    RunFolder::create(root.path(), "demo", root / "file" / "run");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("could not create output folder"));
    EXPECT_THAT(error.what(), HasSubstr("--output"));
  }
}

TEST(RunFolder, AtomicWriteReplacesWholeFile) {
  test_support::TempDir root;
  write_file_atomically(root / "a.txt", "first version, longer");
  write_file_atomically(root / "a.txt", "second");
  EXPECT_EQ(test_support::read_text(root / "a.txt"), "second");
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(root.path())) {
    ++files;
  }
  EXPECT_EQ(files, 1);
}

}  // namespace
}  // namespace genmem
