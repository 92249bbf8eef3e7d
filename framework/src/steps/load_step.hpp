#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace genmem {

/// The checkpoint that a load step's `file` names.
struct CheckpointChoice {
  /// The checkpoint file, or an empty path when `file` names none.
  std::filesystem::path checkpoint;
  /// The `--set` assignments and removed keys recorded in the manifest of the run that saved
  /// the checkpoint; empty for a run made from its scenario file as written.
  std::vector<std::string> overrides;
  /// Completed runs newer than the chosen one that were passed over because they were made with
  /// overrides, newest first.
  std::vector<std::filesystem::path> passed_over;
};

/// Resolves `file`: a checkpoint file, a run folder, or a folder of run folders. In a folder of
/// runs it takes the newest completed run with a checkpoint that was made without `--set`
/// overrides, so that a control run with a changed setting is not analysed in place of the
/// scenario's own model. When every completed run there has overrides, it takes the newest.
CheckpointChoice find_checkpoint(const std::filesystem::path& file);

/// Returns the overrides that the manifest of the run folder `run` records: its `overrides`
/// assignments, then each of its `removed_keys` as "-key".
std::vector<std::string> run_overrides(const std::filesystem::path& run);

}  // namespace genmem
