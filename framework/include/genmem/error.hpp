#pragma once

#include <stdexcept>
#include <string>

namespace genmem {

/// Root of every exception genmem throws. `what()` is one line: where, what, and how to fix it.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  ~Error() override;
};

/// A scenario, command-line option or plugin parameter is invalid.
class ConfigError : public Error {
 public:
  using Error::Error;
  ~ConfigError() override;
};

/// A plugin library could not be found, opened or accepted.
class PluginLoadError : public Error {
 public:
  using Error::Error;
  ~PluginLoadError() override;
};

/// A model failed while storing, recalling, training or evaluating.
class ModelError : public Error {
 public:
  using Error::Error;
  ~ModelError() override;
};

/// Training stopped because the loss stopped being finite.
class TrainingDivergedError : public ModelError {
 public:
  using ModelError::ModelError;
  ~TrainingDivergedError() override;
};

/// A file could not be read, written or parsed.
class IoError : public Error {
 public:
  using Error::Error;
  ~IoError() override;
};

}  // namespace genmem
