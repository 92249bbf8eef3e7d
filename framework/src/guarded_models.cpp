#include "guarded_models.hpp"

#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

// Maximum length of a plugin message kept whole. A longer one is cut, so the error stays one
// readable line.
constexpr std::size_t kMaxPluginMessage = 1000;

// Returns a plugin's message fit for a one-line error: a placeholder when it is empty, and the
// first `kMaxPluginMessage` characters with a note when it is longer.
std::string plugin_message(const std::string& message) {
  if (message.empty()) {
    return "(the plugin gave no message)";
  }
  if (message.size() <= kMaxPluginMessage) {
    return message;
  }
  return fmt::format(
      "{}... (cut from {} characters)", message.substr(0, kMaxPluginMessage), message.size());
}

template <typename Call>
auto guard(const std::string& plugin, const char* call_name, Call&& call) -> decltype(call()) {
  const auto message = [&](const std::exception& error) {
    return fmt::format(
        "plugin '{}' failed in {}: {}",
        plugin,
        call_name,
        plugin_message(first_line(error.what())));
  };
  try {
    return call();
  } catch (const TrainingDivergedError& error) {
    throw TrainingDivergedError(message(error));
  } catch (const ConfigError& error) {
    throw ConfigError(message(error));
  } catch (const IoError& error) {
    throw IoError(message(error));
  } catch (const std::exception& error) {
    throw ModelError(message(error));
  }
}

std::string describe(at::ScalarType type, at::IntArrayRef sizes) {
  return fmt::format("{} [{}]", c10::toString(type), fmt::join(sizes, ", "));
}

std::string describe(const at::Tensor& tensor) {
  return tensor.defined() ? describe(tensor.scalar_type(), tensor.sizes()) : "nothing";
}

// Checks one tensor a plugin returned against its documented type and shape, so that a plugin's
// mistake is reported as its own rather than as a LibTorch error in the step that uses it.
void check_result(
    const std::string& plugin,
    const char* call_name,
    const char* what,
    const at::Tensor& tensor,
    at::ScalarType type,
    at::IntArrayRef sizes) {
  if (tensor.defined() && tensor.scalar_type() == type && tensor.sizes() == sizes) {
    return;
  }
  throw ModelError(fmt::format(
      "plugin '{}' returned {} as {} from {}, expected {}; fix the plugin's {}",
      plugin,
      describe(tensor),
      what,
      call_name,
      describe(type, sizes),
      call_name));
}

void check_finite(
    const std::string& plugin, const char* call_name, const char* what, const at::Tensor& tensor) {
  if (!at::isfinite(tensor).all().item<bool>()) {
    throw ModelError(fmt::format(
        "plugin '{}' returned {} with NaN or infinite values from {}; fix the plugin's {}",
        plugin,
        what,
        call_name,
        call_name));
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
    RecallResult result = guard(plugin_, "recall", [&] { return inner_->recall(cues, options); });
    const std::int64_t count = cues.size(0);
    check_result(plugin_, "recall", "states", result.states, at::kFloat, {count, cues.size(1)});
    check_finite(plugin_, "recall", "states", result.states);
    check_result(plugin_, "recall", "steps", result.steps, at::kLong, {count});
    check_result(plugin_, "recall", "converged", result.converged, at::kBool, {count});
    return result;
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
    Encoding encoding = guard(plugin_, "encode", [&] { return inner_->encode(images); });
    const std::vector<std::int64_t> sizes{images.size(0), latent_dim()};
    check_result(plugin_, "encode", "the mean", encoding.mean, at::kFloat, sizes);
    check_finite(plugin_, "encode", "the mean", encoding.mean);
    return encoding;
  }

  at::Tensor decode(const at::Tensor& latents) override {
    at::Tensor images = guard(plugin_, "decode", [&] { return inner_->decode(latents); });
    check_images(images, "decode", latents.size(0));
    return images;
  }

  at::Tensor sample(std::int64_t n) override {
    at::Tensor images = guard(plugin_, "sample", [&] { return inner_->sample(n); });
    check_images(images, "sample", n);
    return images;
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
  // Checks that `call_name` returned `count` finite float32 images of the model's shape.
  void check_images(const at::Tensor& images, const char* call_name, std::int64_t count) const {
    std::vector<std::int64_t> sizes = image_shape();
    sizes.insert(sizes.begin(), count);
    check_result(plugin_, call_name, "images", images, at::kFloat, sizes);
    check_finite(plugin_, call_name, "images", images);
  }

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
