// Runs genmem's modern Hopfield replay on the inputs that pytorch_reference.py --dump-replay
// wrote, times it, and compares the recalled states with the reference's.
//
// Usage: replay_check FILE [--every-cue] [NAME=VALUE ...]
//
// Each NAME=VALUE sets a modern_hopfield parameter beyond those FILE.json gives, for example
// gram_cache_elements=0 or top_k=0, to check a shortcut against the plain computation. Values
// are integers, or numbers with a decimal point or exponent.
//
// Reads FILE.json (sizes, parameters and the number format genmem recalls in), FILE (float32
// patterns [N, D], then cues [B, D]) and FILE.states (the reference's float32 states [B, D]), all
// little-endian and C-order, as the docstring of pytorch_reference.py describes. Prints one JSON
// object with the replay's name, the wall time of `recall`, cues per second and the mean steps
// taken. The object also gives the largest absolute difference from the reference, the number of
// cues whose difference exceeds 1e-5, how many of those reached a fixed point, and how many cues
// were still moving after the last step.
//
// Exit status: 0 when every cue that reached a fixed point is within 1e-5 of the reference, 1
// when one is not, 2 when an input is missing or malformed or an argument is unknown. The
// reference always runs the full number of steps, while genmem stops a cue once its state is
// unchanged, so in exact arithmetic the two agree on every cue that reaches a fixed point. In
// float32, rounding can leave a slowly converging mixture unchanged on one side while the other
// still moves it, so on the paper's scenes a few such cues differ. Cues still moving after
// the last step are counted and compared, but they fail the check only with --every-cue: in
// float32 their states are transients, which rounding alone can change by more than 1e-5. A NaN
// state counts as a mismatch. GENMEM_THREADS sets LibTorch's intra-op thread count (default 2).

#include <bit>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "benchmark_threads.hpp"
#include "modern_hopfield.hpp"

namespace {

static_assert(
    std::endian::native == std::endian::little,
    "replay files are little-endian float32; this check reads them without byte swapping");

constexpr double kTolerance = 1e-5;

/// Sizes and parameters of one dumped replay, from FILE.json.
struct ReplayDescription {
  std::int64_t patterns = 0;
  std::int64_t dim = 0;
  std::int64_t cues = 0;
  std::int64_t steps = 0;
  double beta = 0.0;
  std::string similarity_scale;
  /// Number format the reference computed in, "float32" or "float64". It is "float32" when
  /// FILE.json has none.
  std::string precision;
  std::int64_t chunk_elements = 0;
  /// The replay's name in the reference's results; "replay/N:.../D:.../cues:.../steps:..." when
  /// FILE.json has none.
  std::string name;
};

ReplayDescription read_description(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    throw genmem::IoError(fmt::format(
        "replay_check: cannot open '{}'. Write it with pytorch_reference.py --dump-replay.", path));
  }
  try {
    const nlohmann::json json = nlohmann::json::parse(file);
    ReplayDescription description;
    description.patterns = json.at("patterns").get<std::int64_t>();
    description.dim = json.at("dim").get<std::int64_t>();
    description.cues = json.at("cues").get<std::int64_t>();
    description.steps = json.at("steps").get<std::int64_t>();
    description.beta = json.at("beta").get<double>();
    description.similarity_scale = json.at("similarity_scale").get<std::string>();
    description.precision = json.value("precision", std::string("float32"));
    description.chunk_elements = json.at("chunk_elements").get<std::int64_t>();
    description.name = json.contains("name") ? json.at("name").get<std::string>()
                                             : fmt::format(
                                                 "replay/N:{}/D:{}/cues:{}/steps:{}",
                                                 description.patterns,
                                                 description.dim,
                                                 description.cues,
                                                 description.steps);
    return description;
  } catch (const nlohmann::json::exception& error) {
    throw genmem::IoError(fmt::format("replay_check: '{}' is malformed: {}", path, error.what()));
  }
}

/// Reads `rows x columns` little-endian float32 values from `path`, whose size must match.
at::Tensor read_float32(const std::string& path, std::int64_t rows, std::int64_t columns) {
  const std::uintmax_t expected = static_cast<std::uintmax_t>(rows * columns) * sizeof(float);
  std::error_code error;
  const std::uintmax_t actual = std::filesystem::file_size(path, error);
  if (error) {
    throw genmem::IoError(
        fmt::format("replay_check: cannot read the size of '{}': {}", path, error.message()));
  }
  if (actual != expected) {
    throw genmem::IoError(fmt::format(
        "replay_check: '{}' has {} bytes but [{}, {}] float32 values need {}. Rerun "
        "pytorch_reference.py --dump-replay with the sizes in the .json file.",
        path,
        actual,
        rows,
        columns,
        expected));
  }

  at::Tensor values = at::empty({rows, columns}, at::kFloat);
  std::ifstream file(path, std::ios::binary);
  file.read(
      reinterpret_cast<char*>(values.data_ptr<float>()), static_cast<std::streamsize>(expected));
  if (!file) {
    throw genmem::IoError(fmt::format("replay_check: reading '{}' failed.", path));
  }
  return values;
}

/// Parses "NAME=VALUE" into a parameter: an integer, else a float, else an error.
std::pair<std::string, genmem::ParameterValue> parse_override(const std::string& text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw genmem::ConfigError(fmt::format(
        "replay_check: '{}' is not NAME=VALUE; write for example gram_cache_elements=0", text));
  }
  const std::string name = text.substr(0, equals);
  const std::string value = text.substr(equals + 1);
  std::size_t used = 0;
  try {
    if (value.find_first_of(".eE") == std::string::npos) {
      const std::int64_t number = std::stoll(value, &used);
      if (used == value.size()) {
        return {name, number};
      }
    } else {
      const double number = std::stod(value, &used);
      if (used == value.size()) {
        return {name, number};
      }
    }
  } catch (const std::exception&) {
  }
  throw genmem::ConfigError(fmt::format(
      "replay_check: the value of '{}' is not a number (got '{}'); write for example {}=0",
      name,
      value,
      name));
}

int run(const std::string& path, bool every_cue, const std::vector<std::string>& overrides) {
  const ReplayDescription description = read_description(path + ".json");
  const at::Tensor inputs =
      read_float32(path, description.patterns + description.cues, description.dim);
  const at::Tensor expected = read_float32(path + ".states", description.cues, description.dim);
  at::set_num_threads(genmem::benchmarks::thread_count());

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::modern_hopfield_parameters());
  context.parameters.set("beta", description.beta);
  context.parameters.set("similarity_scale", description.similarity_scale);
  context.parameters.set("max_steps", description.steps);
  context.parameters.set("precision", description.precision);
  context.parameters.set("chunk_elements", description.chunk_elements);
  for (const std::string& text : overrides) {
    auto [name, value] = parse_override(text);
    context.parameters.set(name, std::move(value));
  }
  genmem::ModernHopfield memory(context);
  memory.store(inputs.narrow(0, 0, description.patterns));
  const at::Tensor cues = inputs.narrow(0, description.patterns, description.cues);

  const auto start = std::chrono::steady_clock::now();
  const genmem::RecallResult result = memory.recall(cues, genmem::RecallOptions{});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const at::Tensor difference = (result.states - expected).abs().amax(/*dim=*/1);
  const double max_difference = difference.max().item<double>();
  const at::Tensor beyond = difference.isnan().logical_or(difference > kTolerance);
  const std::int64_t mismatched = beyond.sum().item<std::int64_t>();
  // A cue that reached a fixed point must match the reference. A cue still moving after the
  // last step is a transient, which float rounding alone can move by more than the tolerance.
  const std::int64_t mismatched_at_fixed_points =
      beyond.logical_and(result.converged).sum().item<std::int64_t>();
  const std::int64_t still_moving = result.converged.logical_not().sum().item<std::int64_t>();
  const nlohmann::json report = {
      {"name", description.name},
      {"seconds", seconds},
      {"cues_per_second", static_cast<double>(description.cues) / seconds},
      {"mean_steps", result.steps.to(at::kDouble).mean().item<double>()},
      {"threads", at::get_num_threads()},
      {"max_abs_difference", max_difference},
      {"mismatched_cues", mismatched},
      {"mismatched_cues_at_fixed_points", mismatched_at_fixed_points},
      {"cues_still_moving", still_moving},
      {"tolerance", kTolerance},
  };
  std::cout << report.dump(2) << '\n';
  return (every_cue ? mismatched : mismatched_at_fixed_points) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: replay_check FILE [--every-cue] [NAME=VALUE ...] (FILE written by "
                 "pytorch_reference.py --dump-replay FILE)\n";
    return 2;
  }
  bool every_cue = false;
  std::vector<std::string> overrides;
  for (int index = 2; index < argc; ++index) {
    const std::string argument = argv[index];
    if (argument == "--every-cue") {
      every_cue = true;
    } else if (argument.starts_with("--")) {
      std::cerr << "replay_check: unknown option '" << argument
                << "'; the only option is --every-cue\n";
      return 2;
    } else {
      overrides.push_back(argument);
    }
  }
  try {
    return run(argv[1], every_cue, overrides);
  } catch (const genmem::Error& error) {
    std::cerr << error.what() << '\n';
    return 2;
  }
}
