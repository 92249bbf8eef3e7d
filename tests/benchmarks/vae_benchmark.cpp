// Training throughput of the vae plugin: one epoch of `fit` per iteration at batch size 32, for
// each architecture, on uniform-noise images. GENMEM_THREADS sets LibTorch's intra-op thread
// count (default 2). Times are wall-clock because LibTorch runs the work on several threads.

#include <cstdint>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <genmem/parameters.hpp>
#include <genmem/plugin.hpp>

#include "benchmark_threads.hpp"
#include "vae.hpp"

namespace {

/// Trains for one epoch per iteration on `image_count` images of `architecture`.
void run_training(benchmark::State& state, const std::string& architecture) {
  const std::int64_t image_count = state.range(0);
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::vae_parameters());
  context.parameters.set("architecture", architecture);
  context.parameters.set("batch_size", std::int64_t{32});
  context.parameters.set("epochs", std::int64_t{1});
  genmem::Vae model(context);
  std::vector<std::int64_t> shape = model.image_shape();
  shape.insert(shape.begin(), image_count);
  const at::Tensor images = at::rand(shape);

  for (auto _ : state) {
    const genmem::FitSummary summary = model.fit(images, nullptr, nullptr);
    benchmark::DoNotOptimize(summary.epochs);
  }

  state.counters["images_per_second"] = benchmark::Counter(
      static_cast<double>(image_count * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["threads"] = static_cast<double>(at::get_num_threads());
}

void BM_TrainMnistSmall(benchmark::State& state) {
  run_training(state, "mnist_small");
}

void BM_TrainShapes3dLarge(benchmark::State& state) {
  run_training(state, "shapes3d_large");
}

}  // namespace

BENCHMARK(BM_TrainMnistSmall)
    ->ArgName("images")
    ->Arg(320)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainShapes3dLarge)
    ->ArgName("images")
    ->Arg(128)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
