#include "outputs/run_folder.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include <genmem/error.hpp>

namespace genmem {
namespace fs = std::filesystem;

void write_file_atomically(const fs::path& path, const std::string& content) {
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  });
}

void write_file_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
  const fs::path temporary = path.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    write(out);
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw IoError(fmt::format(
          "could not write '{}'; check that the folder exists, is writable and has free space",
          path.string()));
    }
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    fs::remove(temporary, error);
    throw IoError(fmt::format("could not rename the temporary file to '{}'", path.string()));
  }
}

std::string format_utc_now(const char* format) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[64];
  std::strftime(text, sizeof(text), format, &parts);
  return text;
}

fs::path enclosing_run_folder(const fs::path& path) {
  std::error_code error;
  for (fs::path parent = fs::absolute(path).parent_path(); !parent.empty();
       parent = parent.parent_path()) {
    if (fs::exists(parent / "manifest.json", error)) {
      return parent;
    }
    if (parent == parent.root_path()) {
      break;
    }
  }
  return {};
}

namespace {

void create_new_folder(const fs::path& path) {
  std::error_code error;
  if (fs::exists(path, error)) {
    if (!fs::is_directory(path, error)) {
      throw IoError(fmt::format(
          "output folder '{}' is a file, not a folder; choose a new folder with --output",
          path.string()));
    }
    if (!fs::is_empty(path, error)) {
      throw IoError(fmt::format(
          "output folder '{}' already exists and is not empty; choose a new folder so that the "
          "earlier run is kept",
          path.string()));
    }
  }
  // A run inside an earlier run's folder would mix its files with that run's.
  if (const fs::path run = enclosing_run_folder(path); !run.empty()) {
    throw IoError(fmt::format(
        "output folder '{}' is inside the folder of the run '{}'; choose a folder outside it",
        path.string(),
        run.string()));
  }
  fs::create_directories(path, error);
  if (error) {
    throw IoError(fmt::format(
        "could not create output folder '{}': {}; choose a writable location with --output",
        path.string(),
        error.message()));
  }
  // Probe that files can be written before any expensive work starts.
  const fs::path probe = path / ".write-test";
  std::ofstream out(probe);
  if (!out) {
    throw IoError(fmt::format(
        "output folder '{}' is not writable; choose a writable location with --output",
        path.string()));
  }
  out.close();
  fs::remove(probe, error);
}

}  // namespace

RunFolder RunFolder::create(
    const fs::path& root, const std::string& scenario_name, const fs::path& explicit_dir) {
  fs::path path = explicit_dir;
  if (path.empty()) {
    const fs::path base = root / scenario_name / format_utc_now("%Y%m%dT%H%M%SZ");
    path = base;
    for (int suffix = 2; fs::exists(path); ++suffix) {
      path = base.string() + fmt::format("-{}", suffix);
    }
  }
  create_new_folder(path);
  std::error_code error;
  fs::create_directories(path / "figures", error);
  if (error) {
    throw IoError(fmt::format("could not create folders inside '{}'", path.string()));
  }
  return RunFolder(path);
}

void RunFolder::write(const std::string& relative, const std::string& content) const {
  write_file_atomically(path_ / relative, content);
}

void RunFolder::save_checkpoint(
    const std::string& name, const std::function<void(const std::string&)>& save) const {
  const fs::path target = path_ / "checkpoints" / name;
  const fs::path temporary = target.string() + ".tmp";
  std::error_code error;
  fs::create_directories(target.parent_path(), error);
  if (error) {
    throw IoError(
        fmt::format("could not create '{}': {}", target.parent_path().string(), error.message()));
  }
  save(temporary.string());
  fs::rename(temporary, target, error);
  if (error) {
    throw IoError(
        fmt::format("could not write checkpoint '{}': {}", target.string(), error.message()));
  }
}

}  // namespace genmem
