#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace genmem {

/// The checkpoint that a load step's `file` names, and how the run that saved it was made.
struct CheckpointChoice {
  /// The checkpoint file, or an empty path when `file` names none.
  std::filesystem::path checkpoint;
  /// Settings that the run's command line changed and that change what the model learns (see
  /// `changed_settings`). Empty for a run of its scenario file as written.
  std::vector<std::string> changed_settings;
  /// The run's `[data] source`, or "" when its run folder has none that can be read.
  std::string data_source;
  /// Completed runs newer than the chosen one that were passed over, newest first.
  std::vector<std::filesystem::path> passed_over;
};

/// Resolves `file`: a checkpoint file, a run folder, or a folder of run folders. In a folder of
/// runs it takes the newest completed run with a checkpoint, no changed settings and a resolved
/// scenario that reads `data_source`. A control run of the scenario is thus not analysed in
/// place of its own model. Newest means the latest `started` time in the manifest, then the
/// greatest folder name. When no run there qualifies, it takes the newest.
CheckpointChoice find_checkpoint(const std::filesystem::path& file, const std::string& data_source);

/// Returns the changes to its scenario file that the manifest of the run folder `run` records
/// and that change what the model learns. These are the `overrides` assignments, except those
/// that set where the data is read or how the run computes (`data.dir`, `data.file`,
/// `data.source`, `scenario.seed`, `scenario.threads`, `scenario.device`), then each of the
/// `removed_keys` as "KEY (removed)". A list that is not an array of strings gives "overrides
/// (unreadable)" or "removed_keys (unreadable)". A manifest without the lists, as written before
/// genmem recorded them, gives no changes.
std::vector<std::string> changed_settings(const std::filesystem::path& run);

}  // namespace genmem
