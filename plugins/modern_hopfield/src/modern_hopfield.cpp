#include "modern_hopfield.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
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
constexpr const char* kSeparationSoftmax = "softmax";
constexpr const char* kSeparationSparsemax = "sparsemax";
constexpr const char* kSeparationEntmax15 = "entmax15";

// Number of values that `max_row_norm` and the energy convert to float64 at a time: 2^20 values
// (8 MiB), so that neither makes a float64 copy of all stored patterns.
constexpr std::int64_t kFloat64BlockElements = std::int64_t{1} << 20;

// A saved file's tuple starts with "genmem." and the plugin name, then this layout version.
constexpr std::int64_t kFileVersion = 1;

const char* separation_name(Separation separation) {
  switch (separation) {
    case Separation::kSoftmax:
      return kSeparationSoftmax;
    case Separation::kSparsemax:
      return kSeparationSparsemax;
    case Separation::kEntmax15:
      return kSeparationEntmax15;
  }
  return "";
}

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

c10::Device parse_device(const std::string& plugin, const std::string& name) {
  std::optional<c10::Device> device;
  try {
    device = c10::Device(name);
  } catch (const c10::Error&) {
    throw ConfigError(
        fmt::format("{}: device '{}' is invalid. Use \"cpu\" or \"cuda\".", plugin, name));
  }
  if (device->is_cuda() && !at::hasCUDA()) {
    throw ConfigError(fmt::format(
        "{}: device '{}' was requested but this LibTorch build has no CUDA support. Use \"cpu\".",
        plugin,
        name));
  }
  return *device;
}

// Returns the value of each declared parameter, taking the default where `configured` has none.
Parameters resolve_parameters(
    const std::string& plugin,
    const std::vector<ParameterSpec>& specs,
    const Parameters& configured) {
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

// Throws `IoError` naming `path` unless `condition` holds.
void require_file_layout(
    const std::string& plugin,
    bool condition,
    const std::string& path,
    const std::string& expected) {
  if (!condition) {
    throw IoError(fmt::format(
        "{0} load: '{1}' is not a saved {0} memory (expected {2}). Save it with the {0} plugin.",
        plugin,
        path,
        expected));
  }
}

// Returns the numbers in [0, count) that are not in `rows` (int64), in increasing order.
at::Tensor other_rows(std::int64_t count, const at::Tensor& rows) {
  at::Tensor others = at::ones({count}, rows.options().dtype(at::kBool));
  others.index_fill_(0, rows, false);
  return others.nonzero().squeeze(1);
}

// Returns the minimum number of rows out of `rows` that `top_k_mm_out` needs to pass its test.
std::int64_t top_k_min_rows(std::int64_t rows, double min_share) {
  return std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::ceil(min_share * static_cast<double>(rows))));
}

// Returns `patterns [N, D] x patterns^T`, `[N, N]`. The matrix is symmetric, so only the blocks
// on and above the diagonal are multiplied, 36 of 64 with 8 row blocks, and the others are
// copied from them.
at::Tensor gram_matrix(const at::Tensor& patterns) {
  const std::int64_t count = patterns.size(0);
  const std::int64_t blocks = std::clamp<std::int64_t>(count / 1024, 1, 8);
  const std::int64_t block = (count + blocks - 1) / blocks;
  at::Tensor gram = at::empty({count, count}, patterns.options());
  for (std::int64_t first = 0; first < count; first += block) {
    const std::int64_t rows = std::min(block, count - first);
    const at::Tensor left = patterns.narrow(0, first, rows);
    at::Tensor band = gram.narrow(0, first, rows).narrow(1, first, count - first);
    at::mm_out(band, left, patterns.narrow(0, first, count - first).t());
    if (first + rows < count) {
      gram.narrow(0, first + rows, count - first - rows)
          .narrow(1, first, rows)
          .copy_(band.narrow(1, rows, count - first - rows).t());
    }
  }
  return gram;
}

// Returns the rows of `weights [B, N]` whose weights outside their k largest sum to at most
// `tolerance`, or nothing when fewer than `min_rows` pass. `weights` is restored before return.
std::optional<TopKRows> select_top_k_rows(
    at::Tensor& weights, std::int64_t k, double tolerance, std::int64_t min_rows) {
  // A row can pass only if its k largest weights sum to about 1 - tolerance, so its largest
  // weight is at least (1 - tolerance) / k. This test costs one pass over the weights and
  // spares top-k selection for rows that cannot pass. The 1% margin covers weight sums that
  // rounding leaves below 1. A row wrongly skipped here only takes the full product.
  const double min_largest = 0.99 * (1.0 - tolerance) / static_cast<double>(k);
  const at::Tensor candidates =
      (at::amax(weights, /*dim=*/{1}) >= min_largest).nonzero().squeeze(1);
  if (candidates.size(0) < min_rows) {
    return std::nullopt;
  }

  // Sum the weights outside the top k by zeroing the top k in place and restoring them after.
  // Subtracting the top-k sum from the row sum instead would lose the tail to cancellation,
  // because a float32 sum near 1 has rounding errors of 6e-8 and more, as large as the default
  // tolerance.
  const bool all_candidates = candidates.size(0) == weights.size(0);
  at::Tensor candidate_weights = all_candidates ? weights : weights.index_select(0, candidates);
  auto [values, indices] =
      at::topk(candidate_weights, k, /*dim=*/1, /*largest=*/true, /*sorted=*/false);
  candidate_weights.scatter_(/*dim=*/1, indices, 0.0);
  const at::Tensor tail = candidate_weights.sum(/*dim=*/1);
  if (all_candidates) {
    weights.scatter_(/*dim=*/1, indices, values);
  }

  const at::Tensor passed = (tail <= tolerance).nonzero().squeeze(1);
  if (passed.size(0) < min_rows) {
    return std::nullopt;
  }
  if (passed.size(0) == candidates.size(0)) {
    return TopKRows{candidates, values, indices};
  }
  return TopKRows{
      candidates.index_select(0, passed),
      values.index_select(0, passed),
      indices.index_select(0, passed)};
}

// Returns `out [P, C]` with `out[r] = sum_i values[offsets[r] + i] * table[indices[offsets[r] +
// i]]` over the terms of row r, which run from `offsets[r]` to the next row's offset or the end.
// LibTorch's embedding bag adds each scaled table row straight into its output row, so no
// gathered copy of the table rows is formed. For 1,535 rows of 32 terms over a 10,000 x 12,288
// float32 table, on 2 threads of a 2-core AMD EPYC, it took 0.11 s against 1.27 s as a gather
// and a batched product (PyTorch 1.13, the same library). Its float64 loop runs on one thread.
at::Tensor weighted_row_sums(
    const at::Tensor& table,
    const at::Tensor& indices,
    const at::Tensor& values,
    const at::Tensor& offsets) {
  return std::get<0>(at::embedding_bag(
      table,
      indices,
      offsets,
      /*scale_grad_by_freq=*/false,
      /*mode=*/0,
      /*sparse=*/false,
      values));
}

// Writes sum_i values[r, i] * patterns[indices[r, i]] into row `selected.rows[r]` of `out`.
// `in_order` is true when `selected.rows` is 0, 1, ... B - 1.
void sum_top_k_patterns(
    at::Tensor& out, const at::Tensor& patterns, const TopKRows& selected, bool in_order) {
  const std::int64_t count = selected.rows.size(0);
  const std::int64_t k = selected.values.size(1);
  const at::Tensor offsets = at::arange(0, count * k, k, selected.indices.options());
  const at::Tensor sums = weighted_row_sums(
      patterns, selected.indices.reshape({-1}), selected.values.reshape({-1}), offsets);
  if (in_order) {
    out.narrow(0, 0, count).copy_(sums);
  } else {
    out.index_copy_(0, selected.rows, sums);
  }
}

// Returns the rows of `narrow` and `wide` together in increasing order, each with as many
// weights as `wide` has. The weights added to `narrow`'s rows are zeros, with the row's first
// pattern index.
TopKRows merge_top_k_rows(const TopKRows& narrow, const TopKRows& wide) {
  const std::int64_t extra = wide.values.size(1) - narrow.values.size(1);
  const at::Tensor values = at::cat(
      {narrow.values, at::zeros({narrow.values.size(0), extra}, narrow.values.options())}, 1);
  const at::Tensor indices =
      at::cat({narrow.indices, narrow.indices.narrow(1, 0, 1).expand({-1, extra})}, 1);
  const auto [rows, order] = at::cat({narrow.rows, wide.rows}).sort();
  return TopKRows{
      rows,
      at::cat({values, wide.values}).index_select(0, order),
      at::cat({indices, wide.indices}).index_select(0, order)};
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
      int_parameter(
          "top_k",
          8,
          0.0,
          std::nullopt,
          "number of largest retrieval weights from which a step computes a cue's next state "
          "when the other weights sum to at most top_k_tolerance. 0 always uses all stored "
          "patterns",
          "patterns"),
      float_parameter(
          "top_k_tolerance",
          1e-7,
          0.0,
          1.0,
          "largest total retrieval weight outside the top_k largest at which a step uses only "
          "those top_k patterns. Each value of the next state then differs from the product "
          "over all patterns by at most this times the largest absolute stored value, which is "
          "at most the largest pattern norm"),
      int_parameter(
          "gram_cache_elements",
          268'435'456,
          0.0,
          std::nullopt,
          "largest number of values in the cache of rows of X X^T (stored patterns times stored "
          "patterns) that one recall keeps. A cue whose state is the sum of its top_k patterns "
          "gets its logits from those rows instead of from all D values of every stored "
          "pattern. When it is at least N^2, N <= D and the cues number at least N / 2, a first "
          "step with widely spread weights takes the next logits from the whole of X X^T. 0 "
          "always computes the logits from the stored patterns",
          "elements"),
  };
}

std::vector<ParameterSpec> sparse_hopfield_parameters() {
  std::vector<ParameterSpec> specs = modern_hopfield_parameters();
  specs.front().help =
      "inverse temperature: scale of the logits before the separation. Larger values give "
      "sparser weights and recall single patterns";
  specs.push_back(choice_parameter(
      "separation",
      kSeparationSparsemax,
      {kSeparationSparsemax, kSeparationEntmax15, kSeparationSoftmax},
      "map from logits to retrieval weights: \"sparsemax\" and \"entmax15\" give exact zeros "
      "for distant patterns; \"softmax\" is the dense modern Hopfield network"));
  return specs;
}

at::Tensor& separate_(at::Tensor& logits, Separation separation) {
  if (separation == Separation::kSoftmax) {
    return at::softmax_out(logits, logits, /*dim=*/1);
  }
  // Both sparse maps are threshold functions of the sorted logits (Martins & Astudillo 2016;
  // Peters et al. 2019, Algorithm 2). Subtracting each row's maximum changes neither.
  logits.sub_(std::get<0>(logits.max(/*dim=*/1, /*keepdim=*/true)));
  if (separation == Separation::kEntmax15) {
    logits.mul_(0.5);
  }
  const at::Tensor sorted = std::get<0>(logits.sort(/*dim=*/1, /*descending=*/true));
  const at::Tensor ranks = at::arange(1, logits.size(1) + 1, logits.options()).unsqueeze(0);
  at::Tensor threshold;
  if (separation == Separation::kSparsemax) {
    // The support is the largest k with 1 + k z_(k) > sum of the k largest logits; the
    // threshold is (that sum - 1) / k.
    const at::Tensor sums = sorted.cumsum(1);
    const at::Tensor support = (ranks * sorted + 1 > sums).sum(1, /*keepdim=*/true);
    threshold = (sums.gather(1, support - 1) - 1) / support.to(logits.scalar_type());
    return logits.sub_(threshold).clamp_min_(0);
  }
  // 1.5-entmax on z/2. For each k, the threshold is the one that makes the k largest values sum
  // to one after squaring. The support is the largest k whose threshold lies below z_(k).
  const at::Tensor means = sorted.cumsum(1) / ranks;
  const at::Tensor mean_squares = sorted.square().cumsum(1) / ranks;
  const at::Tensor spread = ranks * (mean_squares - means.square());
  const at::Tensor delta = ((1 - spread) / ranks).clamp_min(0);
  const at::Tensor thresholds = means - delta.sqrt();
  const at::Tensor support = (thresholds <= sorted).sum(1, /*keepdim=*/true);
  threshold = thresholds.gather(1, support - 1);
  return logits.sub_(threshold).clamp_min_(0).square_();
}

std::int64_t top_k_mm_out(
    at::Tensor& out,
    at::Tensor& weights,
    const at::Tensor& patterns,
    std::int64_t top_k,
    double tolerance,
    double min_share,
    TopKRows* selected_rows) {
  if (selected_rows != nullptr) {
    *selected_rows = TopKRows{};
  }
  const std::int64_t rows = weights.size(0);
  const std::int64_t count = patterns.size(0);
  const std::int64_t k = std::min(top_k, count);
  if (k == 0 || k == count || rows == 0) {
    at::mm_out(out, weights, patterns);
    return 0;
  }

  const std::optional<TopKRows> selected =
      select_top_k_rows(weights, k, tolerance, top_k_min_rows(rows, min_share));
  if (!selected) {
    at::mm_out(out, weights, patterns);
    return 0;
  }

  std::int64_t passed_count = selected->rows.size(0);
  sum_top_k_patterns(out, patterns, *selected, passed_count == rows);
  if (selected_rows != nullptr) {
    *selected_rows = *selected;
  }

  if (passed_count == rows) {
    return passed_count;
  }

  // Rows that fail the test with k often pass it with kTopKWideFactor * k, and a sum of that
  // many patterns still costs far less than a row of the full product.
  at::Tensor remaining_rows = other_rows(rows, selected->rows);
  at::Tensor remaining = weights.index_select(0, remaining_rows);
  const std::int64_t wide_k = std::min(kTopKWideFactor * k, count);
  std::optional<TopKRows> wide;
  if (wide_k < count) {
    wide = select_top_k_rows(remaining, wide_k, tolerance, /*min_rows=*/1);
  }
  if (wide) {
    const TopKRows wide_rows{
        remaining_rows.index_select(0, wide->rows), wide->values, wide->indices};
    sum_top_k_patterns(out, patterns, wide_rows, /*in_order=*/false);
    passed_count += wide_rows.rows.size(0);
    if (selected_rows != nullptr) {
      *selected_rows = merge_top_k_rows(*selected_rows, wide_rows);
    }
    const at::Tensor dense = other_rows(remaining_rows.size(0), wide->rows);
    remaining_rows = remaining_rows.index_select(0, dense);
    remaining = remaining.index_select(0, dense);
  }
  if (remaining_rows.size(0) > 0) {
    out.index_copy_(0, remaining_rows, at::mm(remaining, patterns));
  }
  return passed_count;
}

at::Tensor separation_entropy(const at::Tensor& weights, Separation separation) {
  switch (separation) {
    case Separation::kSoftmax:
      return -at::special_xlogy(weights, weights).sum(1);
    case Separation::kSparsemax:
      return 0.5 * (1 - weights.square().sum(1));
    case Separation::kEntmax15:
      return (4.0 / 3.0) * (1 - weights.pow(1.5).sum(1));
  }
  return {};
}

ModernHopfield::ModernHopfield(const PluginContext& context)
    : ModernHopfield(context, "modern_hopfield", modern_hopfield_parameters()) {}

SparseHopfield::SparseHopfield(const PluginContext& context)
    : ModernHopfield(context, "sparse_hopfield", sparse_hopfield_parameters()) {}

ModernHopfield::ModernHopfield(
    const PluginContext& context, std::string name, const std::vector<ParameterSpec>& specs)
    : name_(std::move(name)), device_(parse_device(name_, context.device)) {
  const Parameters parameters = resolve_parameters(name_, specs, context.parameters);
  if (parameters.contains("separation")) {
    const std::string separation = parameters.get_string("separation");
    separation_ = separation == kSeparationSparsemax ? Separation::kSparsemax
        : separation == kSeparationEntmax15          ? Separation::kEntmax15
                                                     : Separation::kSoftmax;
  }
  beta_ = parameters.get_float("beta");
  similarity_scale_ = parameters.get_string("similarity_scale");
  max_steps_ = parameters.get_int("max_steps");
  tolerance_ = parameters.get_float("tolerance");
  chunk_elements_ = parameters.get_int("chunk_elements");
  dtype_ = parameters.get_string("precision") == "float64" ? at::kDouble : at::kFloat;
  top_k_ = parameters.get_int("top_k");
  top_k_tolerance_ = parameters.get_float("top_k_tolerance");
  gram_cache_elements_ = parameters.get_int("gram_cache_elements");
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
    throw ModelError(
        fmt::format("{} {}: the memory is empty. Call store() or load() first.", name_, operation));
  }
}

void ModernHopfield::check_rows(
    const char* operation, const char* what, const at::Tensor& rows) const {
  if (!rows.defined()) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be a defined tensor. Pass a [rows, D] tensor.", name_, operation, what));
  }
  if (rows.dim() != 2) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be a 2-D [rows, D] tensor (got shape {}). Use "
        "unsqueeze(0) for a single row.",
        name_,
        operation,
        what,
        shape_of(rows)));
  }
  if (rows.is_complex() || rows.scalar_type() == at::kBool) {
    throw ConfigError(fmt::format(
        "{} {}: {} must be real numbers (got dtype {}).",
        name_,
        operation,
        what,
        c10::toString(rows.scalar_type())));
  }
  if (size() > 0 && rows.size(1) != pattern_dim()) {
    throw ConfigError(fmt::format(
        "{} {}: {} have dimension {} but the stored patterns have dimension {} "
        "(got shape {}). Pass [rows, {}] tensors or clear() the memory first.",
        name_,
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
        "{} store: patterns must have at least one column (got shape {}).",
        name_,
        shape_of(patterns)));
  }

  const at::Tensor added = patterns.to(device_, dtype_).contiguous();
  const std::optional<double> added_max_norm = max_row_norm(added);
  if (!added_max_norm) {
    throw ConfigError(fmt::format(
        "{} store: patterns contain NaN or infinite values. Store finite values.", name_));
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

  if (separation_ == Separation::kSoftmax) {
    // Ramsauer et al. 2020, Eq. 2 with beta_eff in place of beta:
    // E = -(1/beta_eff) logsumexp(beta_eff X xi) + 0.5 xi.xi + (1/beta_eff) log N + 0.5 M^2.
    const at::Tensor log_sum_exp = at::logsumexp(logits.mul_(beta_eff), /*dim=*/{1});
    const double constant =
        std::log(static_cast<double>(count)) / beta_eff + 0.5 * max_norm_ * max_norm_;
    return log_sum_exp.div(-beta_eff) + 0.5 * xi.square().sum(1) + constant;
  }
  // The same form with logsumexp replaced by the convex conjugate of the negative entropy that
  // matches the separation (Hu et al. 2023): max over weights p of <p, z> + H(p), attained at
  // p = separation(z). E = -(1/beta_eff) (<p, z> + H(p)) + 0.5 xi.xi + 0.5 M^2.
  const at::Tensor scaled = logits.mul_(beta_eff);
  at::Tensor weights = scaled.clone();
  separate_(weights, separation_);
  const at::Tensor conjugate = (weights * scaled).sum(1) + separation_entropy(weights, separation_);
  return conjugate.div(-beta_eff) + 0.5 * xi.square().sum(1) + 0.5 * max_norm_ * max_norm_;
}

RecallResult ModernHopfield::recall(const at::Tensor& cues, const RecallOptions& options) {
  check_not_empty("recall");
  check_rows("recall", "cues", cues);
  const std::int64_t max_steps = options.max_steps.value_or(max_steps_);
  if (max_steps < 1) {
    throw ConfigError(
        fmt::format("{} recall: max_steps must be at least 1 (got {}).", name_, max_steps));
  }

  const at::Tensor initial = cues.to(device_, dtype_).contiguous();
  if (!max_row_norm(initial)) {
    throw ConfigError(
        fmt::format("{} recall: cues contain NaN or infinite values. Pass finite cues.", name_));
  }

  top_k_updates_ = 0;
  gram_updates_ = 0;
  gram_rows_ = 0;
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
  RecallWorkspace workspace;
  workspace.whole_gram_allowed = use_whole_gram(batch, max_steps, options.record_energy);
  workspace.state = at::empty({chunk, pattern_dim()}, initial.options());
  workspace.next = at::empty({chunk, pattern_dim()}, initial.options());
  workspace.weights = at::empty({chunk, size()}, initial.options());
  for (std::int64_t start = 0; start < batch; start += chunk) {
    const std::int64_t length = std::min(chunk, batch - start);
    const ShortcutCounts counts =
        recall_chunk(initial.narrow(0, start, length), start, max_steps, workspace, result);
    top_k_updates_ += counts.top_k;
    gram_updates_ += counts.gram;
    if (options.on_progress) {
      options.on_progress(start + length, batch);
    }
  }
  gram_rows_ = workspace.gram_used;

  if (options.record_energy) {
    // A cue that stopped after k steps repeats its energy E_k in columns k+1 to max_steps.
    const at::Tensor columns = at::arange(max_steps + 1, index_options).unsqueeze(0);
    const at::Tensor source = at::minimum(columns, result.steps.unsqueeze(1));
    result.energy = result.energy.gather(/*dim=*/1, source);
  }
  result.states = result.states.to(at::kFloat);
  return result;
}

bool ModernHopfield::use_whole_gram(
    std::int64_t batch, std::int64_t max_steps, bool record_energy) const {
  const std::int64_t count = size();
  // X X^T costs about N^2 D / 2 multiply-adds with its symmetry, and each cue whose first step
  // it lets skip saves two products of D N, so it pays off from about N / 2 cues on. Logits from
  // it cost N^2 per cue instead of D N, so it needs N <= D.
  return top_k_ > 0 && top_k_ < count && max_steps >= 2 && !record_energy && count <= pattern_dim()
      && 2 * batch >= count && gram_cache_elements_ / count >= count;
}

bool ModernHopfield::gram_logits(
    at::Tensor& weights,
    const at::Tensor& state,
    const TopKRows& sparse,
    RecallWorkspace& workspace,
    const at::Tensor& confirm,
    at::Tensor& mixed) const {
  const std::int64_t count = size();
  const std::int64_t capacity = std::min(count, gram_cache_elements_ / count);
  const std::int64_t sparse_count = sparse.rows.size(0);
  if (capacity == 0 || sparse_count == 0) {
    return false;
  }

  // Terms at most `negligible` are left out: together they change no logit by more than one
  // rounding unit of the largest logit a state can have, beta_eff * M^2. The largest term of
  // each row is always kept, so every row's pattern indices include one with a cached row.
  const auto [values, order] = sparse.values.sort(/*dim=*/1, /*descending=*/true);
  const at::Tensor indices = sparse.indices.gather(1, order);
  const double epsilon = dtype_ == at::kDouble ? 1.1e-16 : 6.0e-8;
  const double negligible = epsilon / static_cast<double>(values.size(1));
  at::Tensor dropped = values <= negligible;
  dropped.select(1, 0).fill_(false);
  const at::Tensor kept_terms = dropped.logical_not();
  const at::Tensor term_counts = kept_terms.sum(/*dim=*/1);
  // The kept terms of each row are a prefix of its sorted terms, so in row-major order the
  // flattened terms of one row are contiguous.
  const at::Tensor kept_values = values.masked_select(kept_terms);
  const at::Tensor kept_indices = indices.masked_select(kept_terms);

  // Compute the rows of X X^T that are not cached yet, unless there are too many.
  if (!workspace.gram_slot.defined()) {
    workspace.gram_slot = at::full({count}, -1, kept_indices.options());
  }
  const at::Tensor needed = std::get<0>(at::_unique(kept_indices));
  const at::Tensor missing = needed.index_select(
      0, (workspace.gram_slot.index_select(0, needed) < 0).nonzero().squeeze(1));
  const std::int64_t added = missing.size(0);
  if (added > kGramNewRowsPerCue * weights.size(0) || workspace.gram_used + added > capacity) {
    return false;
  }
  if (added > 0) {
    const std::int64_t used = workspace.gram_used;
    if (!workspace.gram.defined() || workspace.gram.size(0) < used + added) {
      const std::int64_t old_rows = workspace.gram.defined() ? workspace.gram.size(0) : 0;
      const std::int64_t rows = std::min(capacity, std::max(2 * old_rows, used + added));
      at::Tensor grown = at::empty({rows, count}, patterns_.options());
      if (used > 0) {
        grown.narrow(0, 0, used).copy_(workspace.gram.narrow(0, 0, used));
      }
      workspace.gram = grown;
    }
    at::Tensor target = workspace.gram.narrow(0, used, added);
    at::mm_out(target, patterns_.index_select(0, missing), patterns_.t());
    workspace.gram_slot.index_copy_(0, missing, at::arange(used, used + added, missing.options()));
    workspace.gram_used = used + added;
  }

  mixed = at::zeros({weights.size(0)}, sparse.rows.options().dtype(at::kBool));
  mixed.index_copy_(0, sparse.rows, term_counts > 1);

  // The logits of a state sum_j v_j x_j are sum_j v_j (X X^T)[j], each row over its own kept
  // terms.
  const at::Tensor offsets = term_counts.cumsum(/*dim=*/0).sub_(term_counts);
  const at::Tensor logits = weighted_row_sums(
      workspace.gram, workspace.gram_slot.index_select(0, kept_indices), kept_values, offsets);
  weights.index_copy_(0, sparse.rows, logits);

  // A row to confirm gets the plain logits x_j . xi of the patterns of its kept terms, which
  // held all but at most `top_k_tolerance` plus `eps` of its weight in the previous step. Its
  // other logits enter its softmax only through that small remainder, so their rounding in the
  // sums above changes its weights by far less than a rounding unit. The row then counts as
  // plain and may stop. The products run in blocks of terms whose copies of patterns and states
  // take at most one `[A, max(N, D)]` buffer each.
  // NOTE: this is true while `top_k_tolerance` times the logits' rounding error stays below
  // `eps`. At the default 1e-7 and the paper's replay in float32, the product is about 1e-11.
  if (confirm.defined()) {
    const at::Tensor term_rows =
        at::repeat_interleave(at::arange(sparse_count, term_counts.options()), term_counts);
    const at::Tensor confirmed_terms =
        confirm.index_select(0, sparse.rows).index_select(0, term_rows).nonzero().squeeze(1);
    const std::int64_t confirmed_count = confirmed_terms.size(0);
    const std::int64_t block =
        std::max<std::int64_t>(1, weights.size(0) * std::max(count, pattern_dim()) / pattern_dim());
    for (std::int64_t start = 0; start < confirmed_count; start += block) {
      const at::Tensor terms =
          confirmed_terms.narrow(0, start, std::min(block, confirmed_count - start));
      const at::Tensor rows = sparse.rows.index_select(0, term_rows.index_select(0, terms));
      const at::Tensor columns = kept_indices.index_select(0, terms);
      const at::Tensor plain =
          patterns_.index_select(0, columns).mul_(state.index_select(0, rows)).sum(/*dim=*/1);
      weights.index_put_({rows, columns}, plain);
      mixed.index_put_({rows}, false);
    }
  }
  if (sparse_count == weights.size(0)) {
    return true;
  }

  const at::Tensor dense_rows = other_rows(weights.size(0), sparse.rows);
  weights.index_copy_(0, dense_rows, at::mm(state.index_select(0, dense_rows), patterns_.t()));
  return true;
}

ModernHopfield::ShortcutCounts ModernHopfield::recall_chunk(
    const at::Tensor& cues,
    std::int64_t first_row,
    std::int64_t max_steps,
    RecallWorkspace& workspace,
    RecallResult& result) const {
  ShortcutCounts counts;
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
  // Active rows whose state the previous step computed from their top k patterns.
  TopKRows sparse;
  // Active rows whose logits in this step summed several rows of X X^T, bool `[active]`, or
  // undefined when no row's did.
  at::Tensor mixed;
  // Active rows whose state once looked unchanged after mixed logits, bool `[active]`, or
  // undefined. From then on, their logits for the patterns they mix are plain products.
  at::Tensor confirm;
  // Logits of the next step when the previous one computed them from its weights, else undefined.
  at::Tensor next_logits;
  // True in the step after one that left the state out. No cue can stop in that step.
  bool after_skipped_state = false;
  const std::int64_t k = std::min(top_k_, size());

  for (std::int64_t step = 1; step <= max_steps; ++step) {
    const std::int64_t active = active_rows.size(0);
    at::Tensor state = workspace.state.narrow(0, 0, active);
    at::Tensor next = workspace.next.narrow(0, 0, active);
    at::Tensor weights = workspace.weights.narrow(0, 0, active);

    // Ramsauer et al. 2020, Eq. 3: one retrieval step, xi_new = X^T softmax(beta_eff X xi),
    // or sparsemax or 1.5-entmax in place of softmax. Each subtracts the row's maximum first,
    // so large logits do not overflow. Rows with concentrated weights take the top-k shortcut.
    mixed = at::Tensor();
    if (next_logits.defined()) {
      weights.copy_(next_logits);
      next_logits = at::Tensor();
    } else if (
        sparse.rows.defined() && gram_logits(weights, state, sparse, workspace, confirm, mixed)) {
      counts.gram += sparse.rows.size(0);
    } else {
      at::mm_out(weights, state, transposed);
    }
    weights.mul_(beta_eff);
    separate_(weights, separation_);

    // From noise, the first step's weights are often spread over many patterns, so its state
    // would be a full product and the next logits another. With all of X X^T, computed the
    // first time this happens, the next logits are the weights times X X^T, one product of N
    // instead of two of D, and the state is left out. A cue that had reached a fixed point
    // after it stays there, so skipping the stopping tests of this step and the next costs it
    // at most two more steps.
    if (workspace.whole_gram_allowed && step == 1 && step < max_steps
        && !select_top_k_rows(
            weights, k, top_k_tolerance_, top_k_min_rows(active, kTopKMinShare))) {
      if (workspace.gram_used < size()) {
        workspace.gram = gram_matrix(patterns_);
        workspace.gram_slot = at::arange(size(), active_rows.options());
        workspace.gram_used = size();
      }
      next_logits = at::mm(weights, workspace.gram);
      counts.gram += active;
      after_skipped_state = true;
      continue;
    }
    counts.top_k +=
        top_k_mm_out(next, weights, patterns_, top_k_, top_k_tolerance_, kTopKMinShare, &sparse);

    // The old state is no longer needed, so its buffer takes |xi_new - xi_old|.
    at::sub_out(state, next, state).abs_();
    const at::Tensor max_change = at::amax(state, /*dim=*/{1});
    std::swap(workspace.state, workspace.next);
    if (record_energy) {
      result.energy.select(1, step).index_copy_(0, active_rows, energy_of_chunk(next));
    }

    at::Tensor done = max_change <= tolerance_;
    if (after_skipped_state) {
      done.fill_(false);
      after_skipped_state = false;
    }
    const at::Tensor confirmed = confirm.defined() ? confirm.nonzero().squeeze(1) : at::Tensor();
    if (confirmed.defined() && confirmed.size(0) > 0) {
      // A confirmed cue's plain-logit steps can alternate between neighbouring float values
      // without end. So it also stops once a step moves no value by more than twice the machine
      // epsilon times its largest value, which allows two rounding units where a value crosses
      // a power of two.
      const double epsilon = dtype_ == at::kDouble ? std::numeric_limits<double>::epsilon()
                                                   : std::numeric_limits<float>::epsilon();
      const at::Tensor states = next.index_select(0, confirmed);
      const at::Tensor largest =
          at::maximum(at::amax(states, /*dim=*/{1}), at::amin(states, /*dim=*/{1}).neg_());
      const at::Tensor settled =
          max_change.index_select(0, confirmed) <= largest.mul_(2.0 * epsilon);
      done.index_fill_(0, confirmed.masked_select(settled), true);
    }
    if (mixed.defined()) {
      // A cue whose logits summed several rows of X X^T may stop only after a step with plain
      // logits for the patterns it mixes: the sums round differently from the plain products,
      // and a slowly moving mixture could otherwise look unchanged and stop early. Such a cue
      // takes those plain logits in every later step (see `gram_logits`), so that consecutive
      // steps round alike and it can stop.
      const at::Tensor unconfirmed = done.logical_and(mixed);
      done.logical_and_(mixed.logical_not());
      if (unconfirmed.any().item<bool>()) {
        confirm = confirm.defined() ? confirm.logical_or(unconfirmed) : unconfirmed;
      }
    }
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
      return counts;
    }

    // Drop the converged cues so that later steps compute only the active ones.
    const at::Tensor still_active = done.logical_not().nonzero().squeeze(1);
    workspace.state.narrow(0, 0, still_active.size(0)).copy_(next.index_select(0, still_active));
    active_rows = active_rows.index_select(0, still_active);
    if (confirm.defined()) {
      confirm = confirm.index_select(0, still_active);
    }
    if (sparse.rows.defined()) {
      // Renumber the sparse rows to their places among the cues still active.
      at::Tensor place = at::full({active}, -1, still_active.options());
      place.index_copy_(0, still_active, at::arange(still_active.size(0), still_active.options()));
      const at::Tensor renumbered = place.index_select(0, sparse.rows);
      const at::Tensor kept = (renumbered >= 0).nonzero().squeeze(1);
      sparse = TopKRows{
          renumbered.index_select(0, kept),
          sparse.values.index_select(0, kept),
          sparse.indices.index_select(0, kept)};
    }
  }

  result.states.index_copy_(0, active_rows, workspace.state.narrow(0, 0, active_rows.size(0)));
  return counts;
}

std::string ModernHopfield::file_kind() const {
  return "genmem." + name_;
}

void ModernHopfield::save(const std::string& path) const {
  const at::Tensor stored =
      patterns_.defined() ? patterns_.to(at::kCPU) : at::empty({0, 0}, dtype_);
  std::vector<char> bytes;
  try {
    std::vector<c10::IValue> fields{
        c10::IValue(file_kind()),
        c10::IValue(kFileVersion),
        c10::IValue(stored),
        c10::IValue(beta_),
        c10::IValue(similarity_scale_)};
    if (separation_ != Separation::kSoftmax) {
      fields.emplace_back(std::string(separation_name(separation_)));
    }
    bytes = torch::jit::pickle_save(c10::ivalue::Tuple::create(std::move(fields)));
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "{} save: serializing the memory for '{}' failed: {}",
        name_,
        path,
        error.what_without_backtrace()));
  }

  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  if (!file) {
    throw IoError(fmt::format(
        "{} save: writing '{}' failed. Check that the folder exists and is "
        "writable.",
        name_,
        path));
  }
}

void ModernHopfield::load(const std::string& path) {
  const std::vector<char> bytes = read_file(name_, path);
  c10::IValue saved;
  try {
    saved = torch::jit::pickle_load(bytes);
  } catch (const c10::Error& error) {
    throw IoError(fmt::format(
        "{} load: '{}' is not a readable LibTorch pickle file: {}",
        name_,
        path,
        error.what_without_backtrace()));
  }

  const bool sparse = separation_ != Separation::kSoftmax;
  const std::string layout = fmt::format(
      "a tuple (\"{}\", 1, patterns, beta, scale{})", file_kind(), sparse ? ", separation" : "");
  require_file_layout(name_, saved.isTuple(), path, layout);
  // A copy, because indexing the tuple's small inline storage trips GCC's -Warray-bounds.
  const std::vector<c10::IValue> fields = saved.toTupleRef().elements().vec();
  require_file_layout(name_, fields.size() == (sparse ? 6U : 5U), path, layout);
  require_file_layout(
      name_, fields[0].isString() && fields[0].toStringRef() == file_kind(), path, layout);
  require_file_layout(name_, fields[1].isInt() && fields[1].toInt() == kFileVersion, path, layout);
  require_file_layout(
      name_,
      fields[2].isTensor() && fields[3].isDouble() && fields[4].isString()
          && (!sparse || fields[5].isString()),
      path,
      layout);
  if (sparse && fields[5].toStringRef() != separation_name(separation_)) {
    throw ConfigError(fmt::format(
        "{} load: '{}' was saved with separation = \"{}\", but this memory has separation = "
        "\"{}\". Set the parameter to match the file.",
        name_,
        path,
        fields[5].toStringRef(),
        separation_name(separation_)));
  }

  const double saved_beta = fields[3].toDouble();
  const std::string& saved_scale = fields[4].toStringRef();
  if (saved_beta != beta_ || saved_scale != similarity_scale_) {
    throw ConfigError(fmt::format(
        "{} load: '{}' was saved with beta = {} and similarity_scale = \"{}\", but "
        "this memory has beta = {} and similarity_scale = \"{}\". Set the parameters to match "
        "the file.",
        name_,
        path,
        saved_beta,
        saved_scale,
        beta_,
        similarity_scale_));
  }

  const at::Tensor saved_patterns = fields[2].toTensor();
  require_file_layout(
      name_,
      saved_patterns.dim() == 2
          && (saved_patterns.scalar_type() == at::kFloat
              || saved_patterns.scalar_type() == at::kDouble),
      path,
      "float32 or float64 patterns of shape [N, D]");
  require_file_layout(
      name_,
      saved_patterns.size(0) == 0 || saved_patterns.size(1) > 0,
      path,
      "patterns with at least one column");
  const at::Tensor loaded = saved_patterns.to(device_, dtype_).contiguous();
  const std::optional<double> loaded_max_norm = max_row_norm(loaded);
  require_file_layout(name_, loaded_max_norm.has_value(), path, "finite pattern values");

  clear();
  if (loaded.size(0) > 0) {
    patterns_ = loaded;
    max_norm_ = *loaded_max_norm;
  }
}

}  // namespace genmem
