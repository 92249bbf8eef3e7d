#include "guarded_models.hpp"

#include <fmt/format.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

template <typename Call>
auto guard(const std::string& plugin, const char* call_name, Call&& call) -> decltype(call()) {
  const auto prefix = [&] {
    return fmt::format("plugin '{}' failed in {}: ", plugin, call_name);
  };
  try {
    return call();
  } catch (const TrainingDivergedError& error) {
    throw TrainingDivergedError(prefix() + error.what());
  } catch (const ConfigError& error) {
    throw ConfigError(prefix() + error.what());
  } catch (const IoError& error) {
    throw IoError(prefix() + error.what());
  } catch (const std::exception& error) {
    throw ModelError(prefix() + first_line(error.what()));
  }
}

class GuardedMemory final : public AssociativeMemory {
 public:
  GuardedMemory(std::string plugin, std::unique_ptr<AssociativeMemory> inner)
      : plugin_(std::move(plugin)), inner_(std::move(inner)) {}

  void store(const at::Tensor& patterns) override {
    guard(plugin_, "store", [&] { inner_->store(patterns); });
  }

  RecallResult recall(const at::Tensor& cues, const RecallOptions& options) override {
    return guard(plugin_, "recall", [&] { return inner_->recall(cues, options); });
  }

  at::Tensor patterns() const override {
    return guard(plugin_, "patterns", [&] { return inner_->patterns(); });
  }

  std::int64_t size() const override {
    return guard(plugin_, "size", [&] { return inner_->size(); });
  }

  std::int64_t pattern_dim() const override {
    return guard(plugin_, "pattern_dim", [&] { return inner_->pattern_dim(); });
  }

  void clear() override {
    guard(plugin_, "clear", [&] { inner_->clear(); });
  }

  void save(const std::string& path) const override {
    guard(plugin_, "save", [&] { inner_->save(path); });
  }

  void load(const std::string& path) override {
    guard(plugin_, "load", [&] { inner_->load(path); });
  }

 private:
  std::string plugin_;
  std::unique_ptr<AssociativeMemory> inner_;
};

class GuardedModel final : public GenerativeModel {
 public:
  GuardedModel(std::string plugin, std::unique_ptr<GenerativeModel> inner)
      : plugin_(std::move(plugin)), inner_(std::move(inner)) {}

  FitSummary fit(
      const at::Tensor& images,
      const EpochCallback& on_epoch,
      const ProgressCallback& on_batch) override {
    // Errors raised by the framework's own callbacks pass through unchanged.
    std::exception_ptr callback_error;
    EpochCallback checked = [&](const EpochReport& report) {
      try {
        return on_epoch(report);
      } catch (...) {
        callback_error = std::current_exception();
        throw;
      }
    };
    // An empty callback stays empty, because plugins skip the progress work when it is.
    ProgressCallback checked_batch;
    if (on_batch) {
      checked_batch = [&](std::int64_t done, std::int64_t total) {
        try {
          on_batch(done, total);
        } catch (...) {
          callback_error = std::current_exception();
          throw;
        }
      };
    }
    try {
      return guard(plugin_, "fit", [&] { return inner_->fit(images, checked, checked_batch); });
    } catch (...) {
      if (callback_error) {
        std::rethrow_exception(callback_error);
      }
      throw;
    }
  }

  Encoding encode(const at::Tensor& images) override {
    return guard(plugin_, "encode", [&] { return inner_->encode(images); });
  }

  at::Tensor decode(const at::Tensor& latents) override {
    return guard(plugin_, "decode", [&] { return inner_->decode(latents); });
  }

  at::Tensor sample(std::int64_t n) override {
    return guard(plugin_, "sample", [&] { return inner_->sample(n); });
  }

  std::map<std::string, at::Tensor> representations(const at::Tensor& images) override {
    return guard(plugin_, "representations", [&] { return inner_->representations(images); });
  }

  std::int64_t latent_dim() const override {
    return guard(plugin_, "latent_dim", [&] { return inner_->latent_dim(); });
  }

  std::vector<std::int64_t> image_shape() const override {
    return guard(plugin_, "image_shape", [&] { return inner_->image_shape(); });
  }

  void save(const std::string& path) const override {
    guard(plugin_, "save", [&] { inner_->save(path); });
  }

  void load(const std::string& path) override {
    guard(plugin_, "load", [&] { inner_->load(path); });
  }

 private:
  std::string plugin_;
  std::unique_ptr<GenerativeModel> inner_;
};

}  // namespace

std::string first_line(const char* message) {
  std::string text(message);
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::unique_ptr<AssociativeMemory> make_guarded_memory(
    std::string plugin, std::unique_ptr<AssociativeMemory> memory) {
  return std::make_unique<GuardedMemory>(std::move(plugin), std::move(memory));
}

std::unique_ptr<GenerativeModel> make_guarded_model(
    std::string plugin, std::unique_ptr<GenerativeModel> model) {
  return std::make_unique<GuardedModel>(std::move(plugin), std::move(model));
}

}  // namespace genmem
