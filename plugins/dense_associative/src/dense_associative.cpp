#include "dense_associative.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <genmem/error.hpp>

namespace genmem {

namespace {

constexpr const char* kPlugin = "dense_associative";
constexpr const char* kPolynomial = "polynomial";
constexpr const char* kRectifiedPolynomial = "rectified_polynomial";
constexpr const char* kExponential = "exponential";

// The stored patterns and the tabulated interaction F as the recall loops of one call read them.
// Overlaps and the arguments a_mu,i are integers in [-D, D], so F is evaluated once per value.
struct DenseNetwork {
  // X^T, int8 [D, N].
  const std::int8_t* transposed = nullptr;
  std::int64_t count = 0;
  std::int64_t dim = 0;
  bool exponential = false;
  // Polynomial interactions: gap_terms[a + D] = F(a + 1) - F(a - 1) for a in [-D, D].
  // Exponential: gap_terms[j] = exp(j - 2D) for j in [0, 2D].
  std::vector<double> gap_terms;
  // Polynomial interactions: energy_terms[m + D] = F(m) for m in [-D, D]. Empty otherwise.
  std::vector<double> energy_terms;
};

// Returns x^n, or max(x, 0)^n when `rectified`, in 80-bit long double on x86-64, so that the
// differences F(a + 1) - F(a - 1) keep more digits than the double they are rounded to.
long double polynomial_interaction(std::int64_t x, std::int64_t degree, bool rectified) {
  if (rectified && x < 0) {
    return 0.0L;
  }
  long double power = 1.0L;
  for (std::int64_t k = 0; k < degree; ++k) {
    power *= static_cast<long double>(x);
  }
  return power;
}

DenseNetwork make_network(
    const binary_state::BinaryPatterns& patterns,
    const std::string& interaction,
    std::int64_t degree) {
  DenseNetwork network;
  network.transposed = patterns.transposed_data();
  network.count = patterns.size();
  network.dim = patterns.dim();
  network.exponential = interaction == kExponential;
  const std::int64_t dim = network.dim;
  network.gap_terms.assign(static_cast<std::size_t>(2 * dim + 1), 0.0);

  if (network.exponential) {
    for (std::int64_t j = 0; j <= 2 * dim; ++j) {
      network.gap_terms[j] = std::exp(static_cast<double>(j - 2 * dim));
    }
    return network;
  }

  // |F| is largest at x = D, and an energy or an update sums N values of at most 2 F(D).
  const bool rectified = interaction == kRectifiedPolynomial;
  const double largest_sum =
      static_cast<double>(2.0L * polynomial_interaction(dim, degree, rectified) * network.count);
  if (!std::isfinite(largest_sum)) {
    throw ConfigError(fmt::format(
        "{} recall: the interaction x^{} overflows float64 at D = {} with N = {}. Use a lower "
        "degree.",
        kPlugin,
        degree,
        dim,
        network.count));
  }
  network.energy_terms.resize(network.gap_terms.size());
  for (std::int64_t m = -dim; m <= dim; ++m) {
    network.energy_terms[m + dim] =
        static_cast<double>(polynomial_interaction(m, degree, rectified));
  }
  // a_mu,i = m_mu - xi_mu,i s_i lies in [-(D - 1), D - 1], so the two end entries stay 0.
  for (std::int64_t a = 1 - dim; a <= dim - 1; ++a) {
    network.gap_terms[a + dim] = static_cast<double>(
        polynomial_interaction(a + 1, degree, rectified)
        - polynomial_interaction(a - 1, degree, rectified));
  }
  return network;
}

// Returns the shift that turns an argument a_mu,i into its index in `gap_terms`. For the
// exponential it is 2D - c with c = max_mu m_mu + 1, which is at least every a_mu,i, so that
// index a + 2D - c picks e^(a - c): no term exceeds 1, and the largest is at least e^-2.
std::int64_t gap_index_shift(const DenseNetwork& network, const std::int32_t* overlaps) {
  if (!network.exponential) {
    return network.dim;
  }
  const std::int32_t largest = *std::max_element(overlaps, overlaps + network.count);
  return 2 * network.dim - (static_cast<std::int64_t>(largest) + 1);
}

// Returns E(s_i = -1) - E(s_i = +1) = sum_mu [F(xi_mu,i + a_mu,i) - F(-xi_mu,i + a_mu,i)], whose
// sign is the value of s_i with the lower energy. Because xi_mu,i is +-1, each term is
// xi_mu,i (F(a + 1) - F(a - 1)). For the exponential that is xi_mu,i 2 sinh(1) e^a, and the
// sum is returned divided by the positive 2 sinh(1) e^c (see `gap_index_shift`).
double energy_gap(
    const DenseNetwork& network,
    std::int64_t unit,
    const std::int32_t* overlaps,
    std::int8_t current,
    std::int64_t shift) {
  const std::int8_t* column = network.transposed + unit * network.count;
  const double* terms = network.gap_terms.data();
  const auto term = [&](std::int64_t mu) {
    const std::int64_t argument = overlaps[mu] - column[mu] * current;
    return static_cast<double>(column[mu]) * terms[argument + shift];
  };

  // Four partial sums let the additions overlap instead of each waiting for the one before, and
  // their fixed order gives the same result on every run.
  double partial[4] = {0.0, 0.0, 0.0, 0.0};
  std::int64_t mu = 0;
  for (; mu + 4 <= network.count; mu += 4) {
    partial[0] += term(mu);
    partial[1] += term(mu + 1);
    partial[2] += term(mu + 2);
    partial[3] += term(mu + 3);
  }
  for (; mu < network.count; ++mu) {
    partial[0] += term(mu);
  }
  return (partial[0] + partial[1]) + (partial[2] + partial[3]);
}

// Sets unit `unit` to `value` (it had -value), adds 2 value xi_mu,unit to each m_mu, and returns
// the cue's new index shift.
std::int64_t flip_unit(
    const DenseNetwork& network,
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
  return gap_index_shift(network, overlaps);
}

// -sum_mu F(m_mu), or for the exponential -log(sum_mu exp(m_mu)), computed around the largest
// overlap so that it stays finite.
double energy_from_overlaps(const DenseNetwork& network, const std::int32_t* overlaps) {
  if (network.exponential) {
    const std::int32_t largest = *std::max_element(overlaps, overlaps + network.count);
    double sum = 0.0;
    for (std::int64_t mu = 0; mu < network.count; ++mu) {
      sum += std::exp(static_cast<double>(overlaps[mu] - largest));
    }
    return -(static_cast<double>(largest) + std::log(sum));
  }
  double sum = 0.0;
  for (std::int64_t mu = 0; mu < network.count; ++mu) {
    sum += network.energy_terms[overlaps[mu] + network.dim];
  }
  return -sum;
}

}  // namespace

std::vector<ParameterSpec> dense_associative_parameters() {
  return {
      choice_parameter(
          "interaction",
          kPolynomial,
          {kPolynomial, kRectifiedPolynomial, kExponential},
          "interaction function F of the energy E = -sum_mu F(xi_mu . s): \"polynomial\" x^n, "
          "\"rectified_polynomial\" max(x, 0)^n, \"exponential\" exp(x)"),
      int_parameter(
          "degree",
          3,
          2.0,
          20.0,
          "exponent n of the polynomial interactions, ignored by \"exponential\". Capacity grows "
          "about as D^(n-1). The limit of 20 keeps D^n within float64 for D below 10^15"),
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

DenseAssociative::DenseAssociative(const PluginContext& context)
    : seed_(context.seed), patterns_(kPlugin) {
  binary_state::require_cpu_device(kPlugin, context.device);
  const Parameters parameters =
      binary_state::resolve_parameters(kPlugin, dense_associative_parameters(), context.parameters);
  interaction_ = parameters.get_string("interaction");
  degree_ = parameters.get_int("degree");
  max_steps_ = parameters.get_int("max_steps");
  chunk_elements_ = parameters.get_int("chunk_elements");
}

void DenseAssociative::store(const at::Tensor& patterns) {
  patterns_.append(patterns);
}

at::Tensor DenseAssociative::energy(const at::Tensor& states) const {
  const at::Tensor values = patterns_.binarize_cues("energy", states).to(at::kFloat);

  // The overlaps are sums of D terms of +-1, which float32 represents exactly for D below 2^24.
  const std::int64_t chunk = std::max<std::int64_t>(1, chunk_elements_ / size());
  at::Tensor energies = at::empty({values.size(0)}, at::kDouble);
  for (std::int64_t start = 0; start < values.size(0); start += chunk) {
    const std::int64_t length = std::min(chunk, values.size(0) - start);
    at::Tensor overlaps =
        at::mm(values.narrow(0, start, length), patterns_.values().t()).to(at::kDouble);
    at::Tensor chunk_energy;
    if (interaction_ == kExponential) {
      chunk_energy = at::logsumexp(overlaps, /*dim=*/{1}).neg();
    } else {
      if (interaction_ == kRectifiedPolynomial) {
        overlaps.clamp_min_(0.0);
      }
      chunk_energy = overlaps.pow(degree_).sum(1).neg();
    }
    energies.narrow(0, start, length).copy_(chunk_energy);
  }
  return energies;
}

RecallResult DenseAssociative::recall(const at::Tensor& cues, const RecallOptions& options) {
  at::Tensor states = patterns_.binarize_cues("recall", cues);
  const std::int64_t max_steps = binary_state::resolve_max_steps(kPlugin, max_steps_, options);
  RecallResult result =
      binary_state::make_recall_result(states.size(0), max_steps, options.record_energy);

  const DenseNetwork network = make_network(patterns_, interaction_, degree_);
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
        std::vector<std::int64_t> shifts(static_cast<std::size_t>(tile.count));
        for (std::int64_t cue = 0; cue < tile.count; ++cue) {
          shifts[cue] = gap_index_shift(network, tile.overlaps + cue * network.count);
        }

        binary_state::SweepOrders orders(seed_, network.dim);

        // Units in this sweep's order, each updated in every active cue before the next.
        const auto sweep = [&](const std::vector<std::int64_t>& active,
                               std::vector<std::int64_t>& flips) {
          const std::int64_t* order = orders.next();
          for (std::int64_t position = 0; position < network.dim; ++position) {
            const std::int64_t unit = order[position];
            for (const std::int64_t cue : active) {
              std::int8_t* state = tile_states + cue * network.dim;
              std::int32_t* overlaps = tile.overlaps + cue * network.count;
              const std::int8_t current = state[unit];
              const double gap = energy_gap(network, unit, overlaps, current, shifts[cue]);
              const std::int8_t next = gap > 0.0 ? 1 : (gap < 0.0 ? -1 : current);
              if (next != current) {
                shifts[cue] = flip_unit(network, unit, next, state, overlaps);
                ++flips[cue];
              }
            }
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
