#include "modern_hopfield.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <genmem/error.hpp>

namespace genmem {

namespace {

constexpr const char* kScaleInvSqrtDim = "inv_sqrt_dim";
constexpr const char* kScaleNone = "none";

// Number of values that `max_row_norm` and the energy convert to float64 at a time: 2^20 values
// (8 MiB), so that neither makes a float64 copy of all stored patterns.
constexpr std::int64_t kFloat64BlockElements = std::int64_t{1} << 20;

// First element of a saved file's tuple, and the layout version that follows it.
constexpr const char* kFileKind = "genmem.modern_hopfield";
constexpr std::int64_t kFileVersion = 1;

std::string shape_of(const at::Tensor& tensor) {
  return fmt::format("[{}]", fmt::join(tensor.sizes(), ", "));
}

// Returns the largest Euclidean norm of a row of `rows [N, D]`, or nothing when a value is NaN or
// infinite. Squares of finite float32 values cannot overflow float64, so a non-finite norm means
// a non-finite value.
std::optional<double> max_row_norm(const at::Tensor& rows) {
  const std::int64_t columns = std::max<std::int64_t>(1, rows.size(1));
  const std::int64_t block = std::max<std::int64_t>(1, kFloat64BlockElements / columns);
  double largest = 0.0;
  for (std::int64_t start = 0; start < rows.size(0); start += block) {
    const std::int64_t length = std::min(block, rows.size(0) - start);
    const at::Tensor values = rows.narrow(0, start, length).to(at::kDouble);
    const double block_max = values.square().sum(1).max().item<double>();
    if (!std::isfinite(block_max)) {
      return std::nullopt;
    }
    largest = std::max(largest, block_max);
  }
  return std::sqrt(largest);
}

c10::Device parse_device(const std::string& name) {
  std::optional<c10::Device> device;
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(
        fmt::format("modern_hopfield: device '{}' is invalid. Use \"cpu\" or \"cuda\".", name));
  }
  if (device->is_cuda() && !at::hasCUDA()) {
    throw ConfigError(fmt::format(
        "modern_hopfield: device '{}' was requested but this LibTorch build has no CUDA support. "
        "Use \"cpu\".",
        name));
  }
  return *device;
}

// Returns the value of each declared parameter, taking the default where `configured` has none.
Parameters resolve_parameters(const Parameters& configured) {
  Parameters resolved;
  for (const auto& spec : modern_hopfield_parameters()) {
    ParameterValue value = spec.default_value;
    if (configured.contains(spec.name)) {
      value = configured.values().at(spec.name);
    }
    const std::string problem = check_parameter_value(spec, value);
    if (!problem.empty()) {
      throw ConfigError(fmt::format(
          "modern_hopfield: parameter '{}' {}. Set it within the declared range.",
          spec.name,
          problem));
    }
    resolved.set(spec.name, std::move(value));
  }
  return resolved;
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw IoError(fmt::format(
        "modern_hopfield load: cannot open '{}'. Check that the file exists and is readable.",
        path));
  }
  std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  if (file.bad()) {
    throw IoError(fmt::format("modern_hopfield load: reading '{}' failed.", path));
  }
  return bytes;
}

// Throws `IoError` naming `path` unless `condition` holds.
void require_file_layout(bool condition, const std::string& path, const char* expected) {
  if (!condition) {
    throw IoError(fmt::format(
        "modern_hopfield load: '{}' is not a saved modern Hopfield memory (expected {}). Save "
        "it with ModernHopfield::save.",
        path,
        expected));
  }
}

}  // namespace

std::vector<ParameterSpec> modern_hopfield_parameters() {
  ParameterSpec beta = float_parameter(
      "beta",
      20.0,
      0.0,
      std::nullopt,
      "inverse temperature of the softmax. Larger values recall single patterns, smaller values "
      "recall mixtures");
  beta.min_exclusive = true;

  return {
      beta,
      choice_parameter(
          "similarity_scale",
          kScaleInvSqrtDim,
          {kScaleInvSqrtDim, kScaleNone},
          "scale of the logits: \"inv_sqrt_dim\" uses beta * <x, xi> / sqrt(D), \"none\" uses "
          "beta * <x, xi>"),
      int_parameter(
          "max_steps", 10, 1.0, std::nullopt, "maximum number of update steps per cue", "steps"),
      float_parameter(
          "tolerance",
          0.0,
          0.0,
          std::nullopt,
          "largest change of any value in one step at which a cue stops. 0 requires an "
          "unchanged state"),
      int_parameter(
          "chunk_elements",
          16'777'216,
          1.0,
          std::nullopt,
          "maximum number of values in the [cues, N] logit matrix of one recall chunk. Recall "
          "splits the cues into chunks of this size or less",
          "elements"),
      choice_parameter(
          "precision",
          "float32",
          {"float32", "float64"},
          "number format of the stored patterns and of recall. The original code computed in "
          "float64; float32 halves the memory. Recalled states are float32 either way"),
  };
}

ModernHopfield::ModernHopfield(const PluginContext& context)
    : device_(parse_device(context.device)) {
  const Parameters parameters = resolve_parameters(context.parameters);
  beta_ = parameters.get_float("beta");
  similarity_scale_ = parameters.get_string("similarity_scale");
  max_steps_ = parameters.get_int("max_steps");
  tolerance_ = parameters.get_float("tolerance");
  chunk_elements_ = parameters.get_int("chunk_elements");
  dtype_ = parameters.get_string("precision") == "float64" ? at::kDouble : at::kFloat;
}

at::Tensor ModernHopfield::patterns() const {
  // NOTE: in float64 mode this is a float32 copy, not a view, because callers expect float32.
  return patterns_.defined() && dtype_ != at::kFloat ? patterns_.to(at::kFloat) : patterns_;
}

std::int64_t ModernHopfield::size() const {
  return patterns_.defined() ? patterns_.size(0) : 0;
}

std::int64_t ModernHopfield::pattern_dim() const {
  return patterns_.defined() ? patterns_.size(1) : 0;
}

double ModernHopfield::effective_beta() const {
  check_not_empty("effective_beta");
  if (similarity_scale_ == kScaleNone) {
    return beta_;
  }
  return beta_ / std::sqrt(static_cast<double>(pattern_dim()));
}

void ModernHopfield::clear() {
  patterns_ = at::Tensor();
  max_norm_ = 0.0;
}

void ModernHopfield::check_not_empty(const char* operation) const {
  if (size() == 0) {
    throw ModelError(fmt::format(
        "modern_hopfield {}: the memory is empty. Call store() or load() first.", operation));
  }
}

void ModernHopfield::check_rows(
    const char* operation, const char* what, const at::Tensor& rows) const {
  if (!rows.defined()) {
    throw ConfigError(fmt::format(
        "modern_hopfield {}: {} must be a defined tensor. Pass a [rows, D] tensor.",
        operation,
        what));
  }
  if (rows.dim() != 2) {
    throw ConfigError(fmt::format(
        "modern_hopfield {}: {} must be a 2-D [rows, D] tensor (got shape {}). Use "
        "unsqueeze(0) for a single row.",
        operation,
        what,
        shape_of(rows)));
  }
  if (rows.is_complex() || rows.scalar_type() == at::kBool) {
    throw ConfigError(fmt::format(
        "modern_hopfield {}: {} must be real numbers (got dtype {}).",
        operation,
        what,
        c10::toString(rows.scalar_type())));
  }
  if (size() > 0 && rows.size(1) != pattern_dim()) {
    throw ConfigError(fmt::format(
        "modern_hopfield {}: {} have dimension {} but the stored patterns have dimension {} "
        "(got shape {}). Pass [rows, {}] tensors or clear() the memory first.",
        operation,
        what,
        rows.size(1),
        pattern_dim(),
        shape_of(rows),
        pattern_dim()));
  }
}

void ModernHopfield::store(const at::Tensor& patterns) {
  check_rows("store", "patterns", patterns);
  if (patterns.size(0) == 0) {
    return;
  }
  if (patterns.size(1) == 0) {
    throw ConfigError(fmt::format(
        "modern_hopfield store: patterns must have at least one column (got shape {}).",
        shape_of(patterns)));
  }

  const at::Tensor added = patterns.to(device_, dtype_).contiguous();
  const std::optional<double> added_max_norm = max_row_norm(added);
  if (!added_max_norm) {
    throw ConfigError(
        "modern_hopfield store: patterns contain NaN or infinite values. Store finite values.");
  }

  if (patterns_.defined()) {
    patterns_ = at::cat({patterns_, added}, /*dim=*/0);
  } else if (added.data_ptr() == patterns.data_ptr()) {
    // The caller's tensor already has the stored type and is contiguous, so copy it to keep the
    // caller from changing stored patterns through it.
    patterns_ = added.clone();
  } else {
    patterns_ = added;
  }
  max_norm_ = std::max(max_norm_, *added_max_norm);
}

at::Tensor ModernHopfield::energy(const at::Tensor& states) const {
  check_not_empty("energy");
  check_rows("energy", "states", states);

  const at::Tensor values = states.to(device_, dtype_);
  const std::int64_t chunk = std::max<std::int64_t>(1, chunk_elements_ / size());
  at::Tensor energies = at::empty({values.size(0)}, values.options().dtype(at::kDouble));
  for (std::int64_t start = 0; start < values.size(0); start += chunk) {
    const std::int64_t length = std::min(chunk, values.size(0) - start);
    energies.narrow(0, start, length).copy_(energy_of_chunk(values.narrow(0, start, length)));
  }
  return energies;
}

at::Tensor ModernHopfield::energy_of_chunk(const at::Tensor& states) const {
  const at::Tensor xi = states.to(at::kDouble);
  const std::int64_t count = size();
  const std::int64_t dim = pattern_dim();
  const double beta_eff = effective_beta();

  // The logits X xi in float64, converting a block of stored patterns at a time.
  at::Tensor logits = at::empty({xi.size(0), count}, xi.options());
  const std::int64_t block = std::max<std::int64_t>(1, kFloat64BlockElements / dim);
  for (std::int64_t start = 0; start < count; start += block) {
    const std::int64_t length = std::min(block, count - start);
    const at::Tensor pattern_block = patterns_.narrow(0, start, length).to(at::kDouble);
    logits.narrow(1, start, length).copy_(at::mm(xi, pattern_block.t()));
  }

  // Ramsauer et al. 2020, Eq. 2 with beta_eff in place of beta:
  // E = -(1/beta_eff) logsumexp(beta_eff X xi) + 0.5 xi.xi + (1/beta_eff) log N + 0.5 M^2.
  const at::Tensor log_sum_exp = at::logsumexp(logits.mul_(beta_eff), /*dim=*/{1});
  const double constant =
      std::log(static_cast<double>(count)) / beta_eff + 0.5 * max_norm_ * max_norm_;
  return log_sum_exp.div(-beta_eff) + 0.5 * xi.square().sum(1) + constant;
}

RecallResult ModernHopfield::recall(const at::Tensor& cues, const RecallOptions& options) {
  check_not_empty("recall");
  check_rows("recall", "cues", cues);
  const std::int64_t max_steps = options.max_steps.value_or(max_steps_);
  if (max_steps < 1) {
    throw ConfigError(
        fmt::format("modern_hopfield recall: max_steps must be at least 1 (got {}).", max_steps));
  }

  const at::Tensor initial = cues.to(device_, dtype_).contiguous();
  if (!max_row_norm(initial)) {
    throw ConfigError(
        "modern_hopfield recall: cues contain NaN or infinite values. Pass finite cues.");
  }

  const std::int64_t batch = initial.size(0);
  const at::TensorOptions index_options = initial.options().dtype(at::kLong);
  RecallResult result;
  result.states = at::empty_like(initial);
  result.steps = at::full({batch}, max_steps, index_options);
  result.converged = at::zeros({batch}, initial.options().dtype(at::kBool));
  if (options.record_energy) {
    result.energy = at::empty({batch, max_steps + 1}, initial.options().dtype(at::kDouble));
  }
  if (batch == 0) {
    return result;
  }

  // Each chunk forms a [chunk, N] logit matrix. A chunk has at least one cue, even when N alone
  // exceeds chunk_elements.
  const std::int64_t chunk = std::clamp<std::int64_t>(chunk_elements_ / size(), 1, batch);
  RecallWorkspace workspace{
      at::empty({chunk, pattern_dim()}, initial.options()),
      at::empty({chunk, pattern_dim()}, initial.options()),
      at::empty({chunk, size()}, initial.options())};
  for (std::int64_t start = 0; start < batch; start += chunk) {
    const std::int64_t length = std::min(chunk, batch - start);
    recall_chunk(initial.narrow(0, start, length), start, max_steps, workspace, result);
  }

  if (options.record_energy) {
    // A cue that stopped after k steps repeats its energy E_k in columns k+1 to max_steps.
    const at::Tensor columns = at::arange(max_steps + 1, index_options).unsqueeze(0);
    const at::Tensor source = at::minimum(columns, result.steps.unsqueeze(1));
    result.energy = result.energy.gather(/*dim=*/1, source);
  }
  result.states = result.states.to(at::kFloat);
  return result;
}

void ModernHopfield::recall_chunk(
    const at::Tensor& cues,
    std::int64_t first_row,
    std::int64_t max_steps,
    RecallWorkspace& workspace,
    RecallResult& result) const {
  const bool record_energy = result.energy.defined();
  const double beta_eff = effective_beta();
  const at::Tensor transposed = patterns_.t();

  // Rows of `result` that the cues still iterating belong to, in workspace order.
  at::Tensor active_rows =
      at::arange(first_row, first_row + cues.size(0), cues.options().dtype(at::kLong));
  workspace.state.narrow(0, 0, cues.size(0)).copy_(cues);
  if (record_energy) {
    result.energy.select(1, 0).narrow(0, first_row, cues.size(0)).copy_(energy_of_chunk(cues));
  }

  for (std::int64_t step = 1; step <= max_steps; ++step) {
    const std::int64_t active = active_rows.size(0);
    at::Tensor state = workspace.state.narrow(0, 0, active);
    at::Tensor next = workspace.next.narrow(0, 0, active);
    at::Tensor weights = workspace.weights.narrow(0, 0, active);

    // Ramsauer et al. 2020, Eq. 3: one retrieval step, xi_new = X^T softmax(beta_eff X xi).
    // The softmax subtracts each row's maximum first, so large logits do not overflow.
    at::mm_out(weights, state, transposed);
    weights.mul_(beta_eff);
    at::softmax_out(weights, weights, /*dim=*/1);
    at::mm_out(next, weights, patterns_);

    // The old state is no longer needed, so its buffer takes |xi_new - xi_old|.
    at::sub_out(state, next, state).abs_();
    const at::Tensor max_change = at::amax(state, /*dim=*/{1});
    std::swap(workspace.state, workspace.next);
    if (record_energy) {
      result.energy.select(1, step).index_copy_(0, active_rows, energy_of_chunk(next));
    }

    const at::Tensor done = max_change <= tolerance_;
    const std::int64_t done_count = done.sum().item<std::int64_t>();
    if (done_count == 0) {
      continue;
    }
    const at::Tensor finished = done.nonzero().squeeze(1);
    const at::Tensor finished_rows = active_rows.index_select(0, finished);
    result.states.index_copy_(0, finished_rows, next.index_select(0, finished));
    result.steps.index_fill_(0, finished_rows, step);
    result.converged.index_fill_(0, finished_rows, true);
    if (done_count == active) {
      return;
    }

    // Drop the converged cues so that later steps compute only the active ones.
    const at::Tensor still_active = done.logical_not().nonzero().squeeze(1);
    workspace.state.narrow(0, 0, still_active.size(0)).copy_(next.index_select(0, still_active));
    active_rows = active_rows.index_select(0, still_active);
  }

  result.states.index_copy_(0, active_rows, workspace.state.narrow(0, 0, active_rows.size(0)));
}

void ModernHopfield::save(const std::string& path) const {
  const at::Tensor stored =
      patterns_.defined() ? patterns_.to(at::kCPU) : at::empty({0, 0}, dtype_);
  std::vector<char> bytes;
  try {
    bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create(
        {c10::IValue(std::string(kFileKind)),
         c10::IValue(kFileVersion),
         c10::IValue(stored),
         c10::IValue(beta_),
         c10::IValue(similarity_scale_)}));
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "modern_hopfield save: serializing the memory for '{}' failed: {}",
        path,
        error.what_without_backtrace()));
  }

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    throw IoError(fmt::format(
        "modern_hopfield save: writing '{}' failed. Check that the folder exists and is "
        "writable.",
        path));
  }
}

void ModernHopfield::load(const std::string& path) {
  const std::vector<char> bytes = read_file(path);
  c10::IValue saved;
  try {
    saved = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "modern_hopfield load: '{}' is not a readable LibTorch pickle file: {}",
        path,
        error.what_without_backtrace()));
  }

  const char* layout = "a tuple (\"genmem.modern_hopfield\", 1, patterns, beta, scale)";
  require_file_layout(saved.isTuple(), path, layout);
  // A copy, because indexing the tuple's small inline storage trips GCC's -Warray-bounds.
  const std::vector<c10::IValue> fields = saved.toTupleRef().elements().vec();
  require_file_layout(fields.size() == 5, path, layout);
  require_file_layout(fields[0].isString() && fields[0].toStringRef() == kFileKind, path, layout);
  require_file_layout(fields[1].isInt() && fields[1].toInt() == kFileVersion, path, layout);
  require_file_layout(
      fields[2].isTensor() && fields[3].isDouble() && fields[4].isString(), path, layout);

  const double saved_beta = fields[3].toDouble();
  const std::string& saved_scale = fields[4].toStringRef();
  if (saved_beta != beta_ || saved_scale != similarity_scale_) {
    throw ConfigError(fmt::format(
        "modern_hopfield load: '{}' was saved with beta = {} and similarity_scale = \"{}\", but "
        "this memory has beta = {} and similarity_scale = \"{}\". Set the parameters to match "
        "the file.",
        path,
        saved_beta,
        saved_scale,
        beta_,
        similarity_scale_));
  }

  const at::Tensor saved_patterns = fields[2].toTensor();
  require_file_layout(
      saved_patterns.dim() == 2
          && (saved_patterns.scalar_type() == at::kFloat
              || saved_patterns.scalar_type() == at::kDouble),
      path,
      "float32 or float64 patterns of shape [N, D]");
  require_file_layout(
      saved_patterns.size(0) == 0 || saved_patterns.size(1) > 0,
      path,
      "patterns with at least one column");
  const at::Tensor loaded = saved_patterns.to(device_, dtype_).contiguous();
  const std::optional<double> loaded_max_norm = max_row_norm(loaded);
  require_file_layout(loaded_max_norm.has_value(), path, "finite pattern values");

  clear();
  if (loaded.size(0) > 0) {
    patterns_ = loaded;
    max_norm_ = *loaded_max_norm;
  }
}

}  // namespace genmem
