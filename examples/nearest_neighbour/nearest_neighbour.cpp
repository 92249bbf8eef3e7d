// Exports "nearest_neighbour": an associative memory that recalls, for each cue, the stored
// pattern closest to it in Euclidean distance, in one step.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <genmem/error.hpp>
#include <genmem/plugin.hpp>

namespace {

std::vector<genmem::ParameterSpec> nearest_neighbour_parameters() {
  return {
      genmem::int_parameter(
          "chunk_cues",
          1024,
          1,
          std::nullopt,
          "Cues compared with the stored patterns at a time",
          "cues"),
  };
}

class NearestNeighbour final : public genmem::AssociativeMemory {
 public:
  // `context.parameters` has passed validation against nearest_neighbour_parameters(), with
  // defaults filled in, so get_int cannot fail here.
  explicit NearestNeighbour(const genmem::PluginContext& context)
      : chunk_cues_(context.parameters.get_int("chunk_cues")) {
    if (context.device != "cpu") {
      throw genmem::ConfigError(fmt::format(
          "nearest_neighbour supports only device \"cpu\" (got \"{}\"); set scenario.device = "
          "\"cpu\"",
          context.device));
    }
  }

  void store(const at::Tensor& patterns) override {
    check_rows("store", patterns);
    // A copy, so the caller cannot change stored patterns through its tensor.
    const at::Tensor rows = patterns.to(at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    patterns_ = patterns_.defined() ? at::cat({patterns_, rows}) : rows.contiguous();
  }

  genmem::RecallResult recall(
      const at::Tensor& cues, const genmem::RecallOptions& options) override {
    if (size() == 0) {
      throw genmem::ModelError(
          "nearest_neighbour recall: the memory is empty; store patterns first");
    }
    check_rows("recall", cues);
    const at::Tensor queries = cues.to(at::kFloat);
    const std::int64_t count = queries.size(0);

    // One [chunk, N] distance matrix at a time keeps the working memory bounded.
    at::Tensor nearest = at::empty({count}, at::kLong);
    at::Tensor distance = at::empty({count}, at::kDouble);
    for (std::int64_t start = 0; start < count; start += chunk_cues_) {
      const std::int64_t length = std::min(chunk_cues_, count - start);
      const auto [values, indices] = at::cdist(queries.narrow(0, start, length), patterns_).min(1);
      nearest.narrow(0, start, length).copy_(indices);
      distance.narrow(0, start, length).copy_(values);
      if (options.on_progress) {
        options.on_progress(start + length, count);
      }
    }

    genmem::RecallResult result;
    result.states = patterns_.index_select(0, nearest);
    result.steps = at::ones({count}, at::kLong);
    result.converged = at::ones({count}, at::kBool);
    if (options.record_energy) {
      // Energy is the squared distance to the nearest stored pattern: its value for the cue,
      // then 0 after the single step, repeated up to max_steps.
      const std::int64_t max_steps = options.max_steps.value_or(1);
      result.energy = at::zeros({count, max_steps + 1}, at::kDouble);
      result.energy.select(1, 0).copy_(distance.square());
    }
    return result;
  }

  at::Tensor patterns() const override { return patterns_; }

  std::int64_t size() const override { return patterns_.defined() ? patterns_.size(0) : 0; }

  std::int64_t pattern_dim() const override { return patterns_.defined() ? patterns_.size(1) : 0; }

  void clear() override { patterns_ = at::Tensor(); }

  void save(const std::string& path) const override {
    const std::vector<char> bytes = torch::jit::pickle_save(patterns_);
    std::ofstream file(path, std::ios::binary);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!file) {
      throw genmem::IoError(fmt::format("nearest_neighbour save: could not write '{}'", path));
    }
  }

  void load(const std::string& path) override {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      throw genmem::IoError(fmt::format("nearest_neighbour load: could not open '{}'", path));
    }
    const std::vector<char> bytes(
        (std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    c10::IValue saved;
    try {
      saved = torch::jit::pickle_load(bytes);
    } catch (const c10::Error& error) {
      throw genmem::IoError(fmt::format(
          "nearest_neighbour load: '{}' is not a LibTorch pickle file: {}",
          path,
          error.what_without_backtrace()));
    }
    if (!saved.isTensor() || saved.toTensor().dim() != 2) {
      throw genmem::IoError(fmt::format(
          "nearest_neighbour load: '{}' does not contain a [N, D] tensor; save it with save()",
          path));
    }
    patterns_ = saved.toTensor().to(at::kFloat).contiguous();
  }

 private:
  void check_rows(const char* call, const at::Tensor& rows) const {
    const bool matrix = rows.dim() == 2;
    if (!matrix || (size() > 0 && rows.size(1) != pattern_dim())) {
      throw genmem::ConfigError(fmt::format(
          "nearest_neighbour {}: expected a [rows, {}] tensor (got shape [{}])",
          call,
          size() > 0 ? std::to_string(pattern_dim()) : "D",
          fmt::join(rows.sizes(), ", ")));
    }
  }

  std::int64_t chunk_cues_;
  at::Tensor patterns_;
};

}  // namespace

GENMEM_MEMORY_PLUGIN(
    "nearest_neighbour",
    "0.1.0",
    "Recalls the stored pattern nearest to each cue, in one step",
    nearest_neighbour_parameters,
    NearestNeighbour)
