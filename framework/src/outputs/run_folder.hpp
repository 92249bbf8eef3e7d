#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>

namespace genmem {

/// Formats the current UTC time with `std::strftime`, for example "%Y-%m-%dT%H:%M:%SZ".
std::string format_utc_now(const char* format);

/// Writes `content` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees a half-written file. Throws IoError naming the path.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

/// Writes `path` in the same way, with `write` filling the temporary file's stream. Throws
/// IoError when the stream fails.
void write_file_atomically(
    const std::filesystem::path& path, const std::function<void(std::ostream&)>& write);

/// Returns the nearest folder above `path` that contains a run's `manifest.json`, or an empty
/// path when no folder above it does.
std::filesystem::path enclosing_run_folder(const std::filesystem::path& path);

/// The folder one run writes into. It is created new and never reused: an existing, non-empty
/// folder is rejected, so an earlier run's results are never overwritten.
class RunFolder {
 public:
  /// Creates `explicit_dir` when given, else `<root>/<scenario name>/<UTC timestamp>` (with a
  /// numeric suffix when that exists already), with `figures/` inside. `checkpoints/` appears
  /// with the first checkpoint saved.
  static RunFolder create(
      const std::filesystem::path& root,
      const std::string& scenario_name,
      const std::filesystem::path& explicit_dir);

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path file(const std::string& relative) const { return path_ / relative; }

  void write(const std::string& relative, const std::string& content) const;

  /// Saves `checkpoints/<name>`, creating the folder if needed, through `save`, which writes to the
  /// path it is given: a temporary file that replaces the checkpoint only once complete.
  void save_checkpoint(
      const std::string& name, const std::function<void(const std::string&)>& save) const;

 private:
  explicit RunFolder(std::filesystem::path path) : path_(std::move(path)) {}

  std::filesystem::path path_;
};

}  // namespace genmem
