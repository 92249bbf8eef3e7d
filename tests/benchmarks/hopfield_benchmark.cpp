// Recall throughput of the modern Hopfield network with N = 10,000 stored random patterns.
//
// Arguments per case: pattern dimension D, number of cues, maximum update steps. The memory uses
// the default parameters (beta = 20 scaled by 1/sqrt(D), tolerance 0, top_k = 8). With uniform
// random patterns and cues the softmax saturates after the first step, so each cue stops once its
// state is unchanged, after about 3 steps on average. The `mean_steps` counter reports the steps
// taken.
//
// GENMEM_THREADS sets LibTorch's intra-op thread count (default 2). The D = 12,288 cases store
// 10,000 x 12,288 float32 values, about 0.5 GB, and the process peaks at about 1.2 GB resident
// because `store` copies its input. BM_LargeMemory stores 100,000 such patterns and peaks at
// about 10 GB.

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "benchmark_threads.hpp"
#include "modern_hopfield.hpp"

namespace {

constexpr std::int64_t kStoredPatterns = 10'000;

// Returns the value in kB of `field` ("VmHWM:", "VmRSS:") in /proc/self/status, or -1.
double status_kilobytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) {
      std::istringstream values(line.substr(field.size()));
      double kilobytes = -1.0;
      values >> kilobytes;
      return kilobytes;
    }
  }
  return -1.0;
}

// Resets the process's peak resident size (VmHWM) to its current size; Linux 4.0 and later.
void reset_peak_resident() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

void BM_Recall(benchmark::State& state) {
  const std::int64_t dim = state.range(0);
  const std::int64_t cue_count = state.range(1);
  const std::int64_t steps = state.range(2);
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::modern_hopfield_parameters());
  genmem::ModernHopfield memory(context);
  memory.store(at::rand({kStoredPatterns, dim}).mul_(2).sub_(1));
  const at::Tensor cues = at::rand({cue_count, dim}).mul_(2).sub_(1);

  genmem::RecallOptions options;
  options.max_steps = steps;
  double mean_steps = 0.0;
  for (auto _ : state) {
    genmem::RecallResult result = memory.recall(cues, options);
    benchmark::DoNotOptimize(result.states.data_ptr());
    mean_steps = result.steps.to(at::kDouble).mean().item<double>();
  }

  state.counters["cues_per_second"] = benchmark::Counter(
      static_cast<double>(cue_count * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["mean_steps"] = mean_steps;
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

BENCHMARK(BM_Recall)
    ->ArgNames({"D", "cues", "steps"})
    ->Args({784, 256, 1})
    ->Args({784, 256, 10})
    ->Args({12'288, 64, 1})
    ->Args({12'288, 64, 10})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Cost of recall as N, D and the number of cues grow: uniform patterns and noise cues in [-1, 1],
// default parameters, at most `steps` steps. Arguments: N, D, cues, steps. With one step, each
// cue runs the first step, which multiplies it by every stored pattern.
void BM_RecallScaling(benchmark::State& state) {
  const std::int64_t count = state.range(0);
  const std::int64_t dim = state.range(1);
  const std::int64_t cue_count = state.range(2);
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::modern_hopfield_parameters());
  genmem::ModernHopfield memory(context);
  memory.store(at::rand({count, dim}).mul_(2).sub_(1));
  const at::Tensor cues = at::rand({cue_count, dim}).mul_(2).sub_(1);
  genmem::RecallOptions options;
  options.max_steps = state.range(3);
  for (auto _ : state) {
    genmem::RecallResult result = memory.recall(cues, options);
    benchmark::DoNotOptimize(result.states.data_ptr());
  }
  state.counters["cues_per_second"] = benchmark::Counter(
      static_cast<double>(cue_count * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

BENCHMARK(BM_RecallScaling)
    ->ArgNames({"N", "D", "cues", "steps"})
    // N at D 784 and 256 cues.
    ->Args({1'000, 784, 256, 1})
    ->Args({3'000, 784, 256, 1})
    ->Args({10'000, 784, 256, 1})
    ->Args({30'000, 784, 256, 1})
    ->Args({100'000, 784, 256, 1})
    // D at N 10,000 and 64 cues.
    ->Args({10'000, 64, 64, 1})
    ->Args({10'000, 256, 64, 1})
    ->Args({10'000, 1'024, 64, 1})
    ->Args({10'000, 4'096, 64, 1})
    ->Args({10'000, 12'288, 64, 1})
    // Cues at N 10,000 and D 784.
    ->Args({10'000, 784, 1, 1})
    ->Args({10'000, 784, 16, 1})
    ->Args({10'000, 784, 64, 1})
    ->Args({10'000, 784, 1'024, 1})
    ->Args({10'000, 784, 4'096, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Stores 100,000 uniform patterns in [-1, 1] of D = 12,288 (4.9 GB of float32) and recalls 64
// cues, each a stored pattern with noise of standard deviation 0.3 added, with the default
// parameters. Counters: `recalled_share`, the share of cues whose state is within 1e-5 of their
// pattern; `peak_GB`, the largest resident size of the process while the case ran, from
// /proc/self/status; `store_seconds`; and `cues_per_second`.
void BM_LargeMemory(benchmark::State& state) {
  constexpr std::int64_t kCount = 100'000;
  constexpr std::int64_t kDim = 12'288;
  constexpr std::int64_t kCues = 64;
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);
  reset_peak_resident();

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::modern_hopfield_parameters());
  genmem::ModernHopfield memory(context);
  at::Tensor targets = at::randint(kCount, {kCues}, at::kLong);
  at::Tensor cues;
  double store_seconds = 0.0;
  {
    const at::Tensor patterns = at::rand({kCount, kDim}).mul_(2).sub_(1);
    cues = patterns.index_select(0, targets).add_(at::randn({kCues, kDim}).mul_(0.3));
    const auto start = std::chrono::steady_clock::now();
    memory.store(patterns);
    store_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  double recalled = 0.0;
  for (auto _ : state) {
    genmem::RecallResult result = memory.recall(cues, genmem::RecallOptions{});
    const at::Tensor expected = memory.patterns().index_select(0, targets);
    const at::Tensor error = (result.states - expected).abs().amax(/*dim=*/{1});
    recalled = (error <= 1e-5).to(at::kDouble).mean().item<double>();
  }

  state.counters["recalled_share"] = recalled;
  state.counters["peak_GB"] = status_kilobytes("VmHWM:") * 1024.0 / 1e9;
  state.counters["store_seconds"] = store_seconds;
  state.counters["cues_per_second"] = benchmark::Counter(
      static_cast<double>(kCues * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

BENCHMARK(BM_LargeMemory)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Recall with the top-k shortcut off (top_k = 0) and on (top_k = 8, the default). Arguments: D,
// number of cues, top_k; at most 10 steps. The `top_k_share` counter is the share of cue updates
// that took the shortcut. The D = 12,288 cases store as many values as the Shapes3D replay
// (10,000 patterns of 64 x 64 x 3 values), with 512 cues in place of 10,000.
void BM_RecallTopK(benchmark::State& state) {
  const std::int64_t dim = state.range(0);
  const std::int64_t cue_count = state.range(1);
  const std::int64_t top_k = state.range(2);
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::modern_hopfield_parameters());
  context.parameters.set("top_k", top_k);
  genmem::ModernHopfield memory(context);
  memory.store(at::rand({kStoredPatterns, dim}).mul_(2).sub_(1));
  const at::Tensor cues = at::rand({cue_count, dim}).mul_(2).sub_(1);

  double mean_steps = 0.0;
  double top_k_share = 0.0;
  for (auto _ : state) {
    genmem::RecallResult result = memory.recall(cues, genmem::RecallOptions{});
    benchmark::DoNotOptimize(result.states.data_ptr());
    const double updates = result.steps.to(at::kDouble).sum().item<double>();
    mean_steps = updates / static_cast<double>(cue_count);
    top_k_share = static_cast<double>(memory.top_k_updates()) / updates;
  }

  state.counters["cues_per_second"] = benchmark::Counter(
      static_cast<double>(cue_count * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["mean_steps"] = mean_steps;
  state.counters["top_k_share"] = top_k_share;
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

BENCHMARK(BM_RecallTopK)
    ->ArgNames({"D", "cues", "top_k"})
    ->Args({784, 256, 0})
    ->Args({784, 256, 8})
    ->Args({12'288, 512, 0})
    ->Args({12'288, 512, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// One `top_k_mm_out` call, the second product of a recall step, on `rows` weight rows of which
// `percent_passing` put all but about 1e-20 of their weight on one pattern. The others are softmax
// weights of normal logits, or with `candidates` = 1 the same with one logit raised by 10, so
// that their largest weight (about 0.5) makes them run top-k selection and then fail. Arguments:
// D, rows, top_k, percent_passing, candidates. The minimum share is 0, so any passing row takes
// the mixed path. Comparing with top_k = 0 (one plain product) gives the share of passing rows
// at which the shortcut starts to pay, which sets `kTopKMinShare`.
void BM_TopKProduct(benchmark::State& state) {
  const std::int64_t dim = state.range(0);
  const std::int64_t rows = state.range(1);
  const std::int64_t top_k = state.range(2);
  const std::int64_t passing = rows * state.range(3) / 100;
  const bool candidates = state.range(4) == 1;
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  const at::Tensor patterns = at::rand({kStoredPatterns, dim});
  at::Tensor logits = at::randn({rows, kStoredPatterns});
  const at::Tensor peak_columns = at::randint(kStoredPatterns, {rows, 1});
  at::Tensor peaks = at::full({rows, 1}, candidates ? 10.0 : 0.0);
  peaks.narrow(0, 0, passing).fill_(60.0);
  logits.scatter_add_(/*dim=*/1, peak_columns, peaks);
  at::Tensor weights = at::softmax(logits, /*dim=*/1);
  at::Tensor out = at::empty({rows, dim});

  std::int64_t shortcut_rows = 0;
  for (auto _ : state) {
    shortcut_rows = genmem::top_k_mm_out(out, weights, patterns, top_k, 1e-7, /*min_share=*/0.0);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  state.counters["shortcut_rows"] = static_cast<double>(shortcut_rows);
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

BENCHMARK(BM_TopKProduct)
    ->ArgNames({"D", "rows", "top_k", "percent_passing", "candidates"})
    ->Args({784, 256, 0, 0, 0})
    ->Args({784, 256, 8, 0, 0})
    ->Args({784, 256, 8, 0, 1})
    ->Args({784, 256, 8, 5, 0})
    ->Args({784, 256, 8, 10, 0})
    ->Args({784, 256, 8, 25, 0})
    ->Args({784, 256, 8, 50, 0})
    ->Args({784, 256, 8, 75, 0})
    ->Args({784, 256, 8, 100, 0})
    ->Args({12'288, 64, 0, 0, 0})
    ->Args({12'288, 64, 8, 0, 1})
    ->Args({12'288, 64, 8, 10, 0})
    ->Args({12'288, 64, 8, 25, 0})
    ->Args({12'288, 64, 8, 50, 0})
    ->Args({12'288, 64, 8, 75, 0})
    ->Args({12'288, 64, 8, 100, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Reference for the same run: the two matrix products one recall step needs (cues x patterns^T,
// then weights x patterns), with nothing else. A recall step cannot be faster than this, so the
// ratio of the two times is the update rule's overhead over OpenBLAS.
void BM_MatmulReference(benchmark::State& state) {
  const std::int64_t dim = state.range(0);
  const std::int64_t cue_count = state.range(1);
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);
  const at::Tensor patterns = at::rand({kStoredPatterns, dim});
  const at::Tensor cues = at::rand({cue_count, dim});
  at::Tensor logits = at::empty({cue_count, kStoredPatterns});
  at::Tensor states = at::empty({cue_count, dim});
  for (auto _ : state) {
    at::mm_out(logits, cues, patterns.t());
    at::mm_out(states, logits, patterns);
    benchmark::DoNotOptimize(states.data_ptr());
  }
  const double flops = 4.0 * static_cast<double>(cue_count * dim * kStoredPatterns);
  state.counters["GFLOP_per_second"] = benchmark::Counter(
      flops * static_cast<double>(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
  state.counters["cues_per_second"] = benchmark::Counter(
      static_cast<double>(cue_count * state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_MatmulReference)
    ->ArgNames({"D", "cues"})
    ->Args({784, 256})
    ->Args({12'288, 64})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
