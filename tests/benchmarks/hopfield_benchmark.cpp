// Recall throughput of the modern Hopfield network with N = 10,000 stored random patterns.
//
// Arguments per case: pattern dimension D, number of cues, maximum update steps. The memory uses
// the default parameters (beta = 20 scaled by 1/sqrt(D), tolerance 0). With uniform random
// patterns and cues the softmax saturates after the first step, so each cue stops once its state
// is unchanged, after about 3 steps on average. The `mean_steps` counter reports the steps taken.
//
// GENMEM_THREADS sets LibTorch's intra-op thread count (default 2). The D = 12,288 cases store
// 10,000 x 12,288 float32 values, about 0.5 GB, and the process peaks at about 1.2 GB resident
// because `store` copies its input.

#include <cstdint>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "benchmark_threads.hpp"
#include "modern_hopfield.hpp"

namespace {

constexpr std::int64_t kStoredPatterns = 10'000;

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
