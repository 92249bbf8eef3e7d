#include "classical_hopfield.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <numeric>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <genmem/error.hpp>

namespace genmem {

namespace binary_state {

namespace {

// Layout version of a saved file, the second element of its tuple.
constexpr std::int64_t kFileVersion = 1;

std::string shape_of(const at::Tensor& tensor) {
  return fmt::format("[{}]", fmt::join(tensor.sizes(), ", "));
}

// Returns +1 where `rows` is at least 0 and -1 elsewhere, as a new tensor of type `dtype`.
at::Tensor sign_with_zero_positive(const at::Tensor& rows, at::ScalarType dtype) {
  return rows.ge(0).to(dtype).mul_(2).sub_(1).contiguous();
}

std::vector<char> read_file(const std::string& plugin, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw IoError(fmt::format(
        "{} load: cannot open '{}'. Check that the file exists and is readable.", plugin, path));
  }
  std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  if (file.bad()) {
    throw IoError(fmt::format("{} load: reading '{}' failed.", plugin, path));
  }
  return bytes;
}

}  // namespace

BinaryPatterns::BinaryPatterns(std::string plugin) : plugin_(std::move(plugin)) {}

void BinaryPatterns::clear() {
  values_ = at::Tensor();
  transposed_ = at::Tensor();
}

void BinaryPatterns::check_not_empty(const char* operation) const {
  if (size() == 0) {
    throw ModelError(fmt::format(
        "{} {}: the memory is empty. Call store() or load() first.", plugin_, operation));
  }
}

void BinaryPatterns::check_rows(
    const char* operation, const char* what, const at::Tensor& rows) const {
  if (!rows.defined()) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be a defined tensor. Pass a [rows, D] tensor.", plugin_, operation, what));
  }
  if (rows.dim() != 2) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be a 2-D [rows, D] tensor (got shape {}). Use unsqueeze(0) for a single "
        "row.",
        plugin_,
        operation,
        what,
        shape_of(rows)));
  }
  if (rows.is_complex() || rows.scalar_type() == at::kBool) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be real numbers (got dtype {}).",
        plugin_,
        operation,
        what,
        c10::toString(rows.scalar_type())));
  }
  if (size() > 0 && rows.size(1) != dim()) {
    throw ConfigError(fmt::format(
        "{} {}: {} have dimension {} but the stored patterns have dimension {} (got shape {}). "
        "Pass [rows, {}] tensors or clear() the memory first.",
        plugin_,
        operation,
        what,
        rows.size(1),
        dim(),
        shape_of(rows),
        dim()));
  }
  if (rows.is_floating_point() && !at::isfinite(rows).all().item<bool>()) {
    throw ConfigError(fmt::format(
        "{} {}: {} contain NaN or infinite values. Pass finite values.", plugin_, operation, what));
  }
}

void BinaryPatterns::append(const at::Tensor& rows) {
  check_rows("store", "patterns", rows);
  if (rows.size(0) == 0) {
    return;
  }
  if (rows.size(1) == 0) {
    throw ConfigError(fmt::format(
        "{} store: patterns must have at least one column (got shape {}).",
        plugin_,
        shape_of(rows)));
  }

  const at::Tensor added = sign_with_zero_positive(rows.to(at::kCPU), at::kFloat);
  set_values(values_.defined() ? at::cat({values_, added}, /*dim=*/0) : added);
}

void BinaryPatterns::set_values(at::Tensor values) {
  values_ = std::move(values);
  transposed_ = values_.t().to(at::kChar).contiguous();
}

at::Tensor BinaryPatterns::binarize_cues(const char* operation, const at::Tensor& cues) const {
  check_not_empty(operation);
  check_rows(operation, "cues", cues);
  return sign_with_zero_positive(cues.to(at::kCPU), at::kChar);
}

void BinaryPatterns::save(const std::string& path) const {
  const at::Tensor stored = values_.defined() ? values_ : at::empty({0, 0}, at::kFloat);
  std::vector<char> bytes;
  try {
    bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create(
        {c10::IValue("genmem." + plugin_), c10::IValue(kFileVersion), c10::IValue(stored)}));
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "{} save: serializing the memory for '{}' failed: {}",
        plugin_,
        path,
        error.what_without_backtrace()));
  }

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    throw IoError(fmt::format(
        "{} save: writing '{}' failed. Check that the folder exists and is writable.",
        plugin_,
        path));
  }
}

void BinaryPatterns::load(const std::string& path) {
  const std::vector<char> bytes = read_file(plugin_, path);
  c10::IValue saved;
  try {
    saved = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "{} load: '{}' is not a readable LibTorch pickle file: {}",
        plugin_,
        path,
        error.what_without_backtrace()));
  }

  const std::string kind = "genmem." + plugin_;
  const auto require = [&](bool condition, const std::string& expected) {
    if (!condition) {
      throw IoError(fmt::format(
          "{} load: '{}' is not a saved {} memory (expected {}). Save it with the {} plugin's "
          "save().",
          plugin_,
          path,
          plugin_,
          expected,
          plugin_));
    }
  };
  const std::string layout = fmt::format("a tuple (\"{}\", {}, patterns)", kind, kFileVersion);
  require(saved.isTuple(), layout);
  // A copy, because indexing the tuple's small inline storage trips GCC's -Warray-bounds.
  const std::vector<c10::IValue> fields = saved.toTupleRef().elements().vec();
  require(fields.size() == 3, layout);
  require(fields[0].isString() && fields[0].toStringRef() == kind, layout);
  require(fields[1].isInt() && fields[1].toInt() == kFileVersion, layout);
  require(fields[2].isTensor(), layout);

  const at::Tensor saved_values = fields[2].toTensor();
  require(
      saved_values.dim() == 2 && saved_values.scalar_type() == at::kFloat,
      "float32 patterns of shape [N, D]");
  require(
      saved_values.size(0) == 0 || saved_values.size(1) > 0, "patterns with at least one column");
  require(saved_values.abs().eq(1).all().item<bool>(), "pattern values of +1 and -1 only");

  clear();
  if (saved_values.size(0) > 0) {
    set_values(saved_values.contiguous());
  }
}

Parameters resolve_parameters(
    const char* plugin, const std::vector<ParameterSpec>& specs, const Parameters& configured) {
  Parameters resolved;
  for (const auto& spec : specs) {
    ParameterValue value = spec.default_value;
    if (configured.contains(spec.name)) {
      value = configured.values().at(spec.name);
    }
    const std::string problem = check_parameter_value(spec, value);
    if (!problem.empty()) {
      throw ConfigError(fmt::format(
          "{}: parameter '{}' {}. Set it within the declared range.", plugin, spec.name, problem));
    }
    resolved.set(spec.name, std::move(value));
  }
  return resolved;
}

void require_cpu_device(const char* plugin, const std::string& device) {
  if (device != "cpu") {
    throw ConfigError(fmt::format(
        "{}: device '{}' is not supported because the unit updates run as CPU loops. Use "
        "\"cpu\".",
        plugin,
        device));
  }
}

std::int64_t resolve_max_steps(
    const char* plugin, std::int64_t max_steps, const RecallOptions& options) {
  const std::int64_t resolved = options.max_steps.value_or(max_steps);
  if (resolved < 1) {
    throw ConfigError(
        fmt::format("{} recall: max_steps must be at least 1 (got {}).", plugin, resolved));
  }
  return resolved;
}

SweepOrders::SweepOrders(std::uint64_t seed, std::int64_t dim)
    : generator_(at::detail::createCPUGenerator(seed)), dim_(dim) {}

const std::int64_t* SweepOrders::next() {
  order_ = at::randperm(dim_, generator_, at::kLong);
  return order_.data_ptr<std::int64_t>();
}

RecallResult make_recall_result(std::int64_t batch, std::int64_t max_steps, bool record_energy) {
  RecallResult result;
  result.steps = at::full({batch}, max_steps, at::kLong);
  result.converged = at::zeros({batch}, at::kBool);
  if (record_energy) {
    result.energy = at::empty({batch, max_steps + 1}, at::kDouble);
  }
  return result;
}

void for_each_cue_tile(
    std::int64_t batch,
    std::int64_t patterns,
    std::int64_t chunk_elements,
    const ProgressCallback& on_progress,
    const std::function<void(const CueTile&)>& recall_tile) {
  if (batch == 0) {
    return;
  }
  // A chunk has at least one cue, even when N alone exceeds chunk_elements.
  const std::int64_t chunk = std::clamp<std::int64_t>(chunk_elements / patterns, 1, batch);
  at::Tensor overlaps = at::empty({chunk, patterns}, at::kInt);
  std::int32_t* overlap_data = overlaps.data_ptr<std::int32_t>();
  // With a progress callback, each chunk runs in parts of kProgressCues cues, so that the
  // callback runs on this thread between parts and never on a worker thread.
  const std::int64_t part_cues = on_progress ? kProgressCues : chunk;

  for (std::int64_t start = 0; start < batch; start += chunk) {
    const std::int64_t length = std::min(chunk, batch - start);
    for (std::int64_t part = 0; part < length; part += part_cues) {
      const std::int64_t part_end = std::min(part + part_cues, length);
      const std::int64_t tiles = (part_end - part + kTileCues - 1) / kTileCues;
      // Cues never interact, so each thread runs whole tiles and the results do not depend on
      // the number of threads, the chunk size or the progress parts.
      at::parallel_for(0, tiles, /*grain_size=*/1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t tile = begin; tile < end; ++tile) {
          const std::int64_t offset = part + tile * kTileCues;
          recall_tile(CueTile{
              start + offset,
              std::min(kTileCues, part_end - offset),
              overlap_data + offset * patterns});
        }
      });
      if (on_progress) {
        on_progress(start + part_end, batch);
      }
    }
  }
}

RecallTargets recall_targets(RecallResult& result, std::int64_t max_steps) {
  return RecallTargets{
      result.steps.data_ptr<std::int64_t>(),
      result.converged.data_ptr<bool>(),
      result.energy.defined() ? result.energy.data_ptr<double>() : nullptr,
      max_steps};
}

void compute_overlaps(
    const std::int8_t* transposed,
    std::int64_t count,
    std::int64_t dim,
    const std::int8_t* states,
    const CueTile& tile) {
  for (std::int64_t cue = 0; cue < tile.count; ++cue) {
    const std::int8_t* state = states + cue * dim;
    std::int32_t* overlaps = tile.overlaps + cue * count;
    std::fill(overlaps, overlaps + count, 0);
    for (std::int64_t unit = 0; unit < dim; ++unit) {
      const std::int8_t* column = transposed + unit * count;
      const std::int32_t value = state[unit];
      for (std::int64_t mu = 0; mu < count; ++mu) {
        overlaps[mu] += value * column[mu];
      }
    }
  }
}

void run_sweeps(
    const CueTile& tile,
    const RecallTargets& targets,
    const std::function<
        void(const std::vector<std::int64_t>& active, std::vector<std::int64_t>& flips)>& sweep,
    const std::function<double(std::int64_t cue)>& energy) {
  const std::int64_t columns = targets.max_steps + 1;
  if (targets.energy != nullptr) {
    for (std::int64_t cue = 0; cue < tile.count; ++cue) {
      targets.energy[(tile.first_row + cue) * columns] = energy(cue);
    }
  }

  std::vector<std::int64_t> active(static_cast<std::size_t>(tile.count));
  std::iota(active.begin(), active.end(), 0);
  std::vector<std::int64_t> flips(active.size());
  for (std::int64_t step = 1; step <= targets.max_steps && !active.empty(); ++step) {
    std::fill(flips.begin(), flips.end(), 0);
    sweep(active, flips);

    // A cue that changed no unit has converged. Its energy fills the remaining columns, which
    // later steps overwrite while the cue is still active.
    std::vector<std::int64_t> still_active;
    for (const std::int64_t cue : active) {
      const std::int64_t row = tile.first_row + cue;
      if (targets.energy != nullptr) {
        double* row_energy = targets.energy + row * columns;
        std::fill(row_energy + step, row_energy + columns, energy(cue));
      }
      if (flips[cue] == 0) {
        targets.steps[row] = step;
        targets.converged[row] = true;
      } else {
        still_active.push_back(cue);
      }
    }
    active = std::move(still_active);
  }
}

}  // namespace binary_state

namespace {

constexpr const char* kPlugin = "classical_hopfield";
constexpr const char* kAsynchronous = "asynchronous";
constexpr const char* kSynchronous = "synchronous";

// The stored patterns as the recall loops of one call read them.
struct HebbianNetwork {
  // X^T, int8 [D, N].
  const std::int8_t* transposed = nullptr;
  std::int64_t count = 0;
  std::int64_t dim = 0;
  // Number of patterns whose field terms xi_mu,i m_mu (each at most D in magnitude) an int32 sum
  // can add without overflow.
  std::int64_t field_block = 0;
};

// Returns D h_i = (X^T m)_i - N s_i, the local field of unit i times D, as an exact integer.
std::int64_t scaled_field(
    const HebbianNetwork& network,
    std::int64_t unit,
    const std::int32_t* overlaps,
    std::int8_t current) {
  const std::int8_t* column = network.transposed + unit * network.count;
  std::int64_t field = -network.count * current;
  for (std::int64_t start = 0; start < network.count; start += network.field_block) {
    const std::int64_t end = std::min(network.count, start + network.field_block);
    std::int32_t partial = 0;
    for (std::int64_t mu = start; mu < end; ++mu) {
      // xi_mu,i m_mu as a conditional negation, with a mask of 0 for +1 and all bits set for -1.
      // SSE2, the baseline x86-64 target, has no packed int32 multiplication, and this form
      // vectorises without one.
      const std::int32_t mask = column[mu] >> 1;
      partial += (overlaps[mu] ^ mask) - mask;
    }
    field += partial;
  }
  return field;
}

// Sign of the field, keeping the current value when the field is 0.
std::int8_t updated_value(std::int64_t field, std::int8_t current) {
  if (field > 0) {
    return 1;
  }
  if (field < 0) {
    return -1;
  }
  return current;
}

// Sets unit `unit` to `value` (it had -value) and adds the change 2 value xi_mu,unit to each m_mu.
void flip_unit(
    const HebbianNetwork& network,
    std::int64_t unit,
    std::int8_t value,
    std::int8_t* state,
    std::int32_t* overlaps) {
  state[unit] = value;
  const std::int8_t* column = network.transposed + unit * network.count;
  const std::int32_t change = 2 * value;
  for (std::int64_t mu = 0; mu < network.count; ++mu) {
    overlaps[mu] += change * column[mu];
  }
}

// E = -1/2 s^T W s = -(|m|^2 - N D) / (2 D), because W = (X^T X - N I) / D for +-1 patterns.
double energy_from_overlaps(const HebbianNetwork& network, const std::int32_t* overlaps) {
  std::int64_t squares = 0;
  for (std::int64_t mu = 0; mu < network.count; ++mu) {
    squares += static_cast<std::int64_t>(overlaps[mu]) * overlaps[mu];
  }
  const std::int64_t twice_quadratic = squares - network.count * network.dim;
  return -static_cast<double>(twice_quadratic) / (2.0 * static_cast<double>(network.dim));
}

// One asynchronous sweep: units in `order`, each updated in every active cue before the next.
void sweep_asynchronously(
    const HebbianNetwork& network,
    const std::int64_t* order,
    std::int8_t* states,
    std::int32_t* overlaps,
    const std::vector<std::int64_t>& active,
    std::vector<std::int64_t>& flips) {
  for (std::int64_t position = 0; position < network.dim; ++position) {
    const std::int64_t unit = order[position];
    for (const std::int64_t cue : active) {
      std::int8_t* state = states + cue * network.dim;
      std::int32_t* cue_overlaps = overlaps + cue * network.count;
      const std::int8_t current = state[unit];
      const std::int8_t next =
          updated_value(scaled_field(network, unit, cue_overlaps, current), current);
      if (next != current) {
        flip_unit(network, unit, next, state, cue_overlaps);
        ++flips[cue];
      }
    }
  }
}

// One synchronous sweep: every unit's new value from the fields of the old state, then the flips.
void sweep_synchronously(
    const HebbianNetwork& network,
    std::int8_t* states,
    std::int32_t* overlaps,
    const std::vector<std::int64_t>& active,
    std::vector<std::int8_t>& next,
    std::vector<std::int64_t>& flips) {
  for (std::int64_t unit = 0; unit < network.dim; ++unit) {
    for (const std::int64_t cue : active) {
      const std::int8_t current = states[cue * network.dim + unit];
      const std::int64_t field =
          scaled_field(network, unit, overlaps + cue * network.count, current);
      next[cue * network.dim + unit] = updated_value(field, current);
    }
  }
  for (const std::int64_t cue : active) {
    std::int8_t* state = states + cue * network.dim;
    for (std::int64_t unit = 0; unit < network.dim; ++unit) {
      const std::int8_t value = next[cue * network.dim + unit];
      if (value != state[unit]) {
        flip_unit(network, unit, value, state, overlaps + cue * network.count);
        ++flips[cue];
      }
    }
  }
}

}  // namespace

std::vector<ParameterSpec> classical_hopfield_parameters() {
  return {
      choice_parameter(
          "update",
          kAsynchronous,
          {kAsynchronous, kSynchronous},
          "how a sweep updates the units: \"asynchronous\" one at a time in a seeded random "
          "order, which never raises the energy, or \"synchronous\" all at once, which can end "
          "in a 2-cycle"),
      int_parameter(
          "max_steps",
          20,
          1.0,
          std::nullopt,
          "maximum number of sweeps per cue. A cue stops after a sweep that changes no unit",
          "sweeps"),
      int_parameter(
          "chunk_elements",
          16'777'216,
          1.0,
          std::nullopt,
          "maximum number of values in the int32 [cues, N] overlap matrix of one recall chunk. "
          "Recall splits the cues into chunks of this size or less",
          "elements"),
  };
}

ClassicalHopfield::ClassicalHopfield(const PluginContext& context)
    : seed_(context.seed), patterns_(kPlugin) {
  binary_state::require_cpu_device(kPlugin, context.device);
  const Parameters parameters = binary_state::resolve_parameters(
      kPlugin, classical_hopfield_parameters(), context.parameters);
  update_ = parameters.get_string("update");
  max_steps_ = parameters.get_int("max_steps");
  chunk_elements_ = parameters.get_int("chunk_elements");
}

void ClassicalHopfield::store(const at::Tensor& patterns) {
  patterns_.append(patterns);
}

at::Tensor ClassicalHopfield::energy(const at::Tensor& states) const {
  const at::Tensor values = patterns_.binarize_cues("energy", states).to(at::kFloat);
  const double count = static_cast<double>(size());
  const double dim = static_cast<double>(pattern_dim());

  // The overlaps are sums of D terms of +-1, which float32 represents exactly for D below 2^24.
  const std::int64_t chunk = std::max<std::int64_t>(1, chunk_elements_ / size());
  at::Tensor energies = at::empty({values.size(0)}, at::kDouble);
  for (std::int64_t start = 0; start < values.size(0); start += chunk) {
    const std::int64_t length = std::min(chunk, values.size(0) - start);
    const at::Tensor overlaps =
        at::mm(values.narrow(0, start, length), patterns_.values().t()).to(at::kDouble);
    energies.narrow(0, start, length)
        .copy_((overlaps.square().sum(1) - count * dim).div_(-2.0 * dim));
  }
  return energies;
}

RecallResult ClassicalHopfield::recall(const at::Tensor& cues, const RecallOptions& options) {
  at::Tensor states = patterns_.binarize_cues("recall", cues);
  const std::int64_t max_steps = binary_state::resolve_max_steps(kPlugin, max_steps_, options);
  RecallResult result =
      binary_state::make_recall_result(states.size(0), max_steps, options.record_energy);

  const HebbianNetwork network{
      patterns_.transposed_data(),
      size(),
      pattern_dim(),
      std::max<std::int64_t>(1, std::numeric_limits<std::int32_t>::max() / pattern_dim())};
  const bool asynchronous = update_ == kAsynchronous;
  const binary_state::RecallTargets targets = binary_state::recall_targets(result, max_steps);
  std::int8_t* state_data = states.data_ptr<std::int8_t>();

  binary_state::for_each_cue_tile(
      states.size(0),
      size(),
      chunk_elements_,
      options.on_progress,
      [&](const binary_state::CueTile& tile) {
        std::int8_t* tile_states = state_data + tile.first_row * network.dim;
        binary_state::compute_overlaps(
            network.transposed, network.count, network.dim, tile_states, tile);
        binary_state::SweepOrders orders(seed_, network.dim);
        std::vector<std::int8_t> next(asynchronous ? 0 : tile.count * network.dim);

        const auto sweep = [&](const std::vector<std::int64_t>& active,
                               std::vector<std::int64_t>& flips) {
          if (asynchronous) {
            sweep_asynchronously(network, orders.next(), tile_states, tile.overlaps, active, flips);
          } else {
            sweep_synchronously(network, tile_states, tile.overlaps, active, next, flips);
          }
        };
        const auto cue_energy = [&](std::int64_t cue) {
          return energy_from_overlaps(network, tile.overlaps + cue * network.count);
        };
        binary_state::run_sweeps(tile, targets, sweep, cue_energy);
      });

  result.states = states.to(at::kFloat);
  return result;
}

}  // namespace genmem
