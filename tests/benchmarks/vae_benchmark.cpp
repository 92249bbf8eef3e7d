// Training throughput of the vae plugin: one epoch of `fit` per iteration at batch size 32, for
// each architecture, on uniform-noise images, and the same for other batch sizes and for
// `shapes3d_large` with `fuse_layers = false`. GENMEM_THREADS
// sets LibTorch's intra-op thread count (default 2). Times are wall-clock because LibTorch runs the
// work on several threads.

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

/// Trains for one epoch per iteration on `image_count` images of `architecture`, in batches of
/// `batch_size`, with `fuse_layers` as given.
void run_training(
    benchmark::State& state,
    const std::string& architecture,
    std::int64_t image_count,
    std::int64_t batch_size,
    bool fuse_layers = true) {
  at::set_num_threads(genmem::benchmarks::thread_count());
  at::manual_seed(0);

  genmem::PluginContext context;
  context.parameters = genmem::default_parameters(genmem::vae_parameters());
  context.parameters.set("architecture", architecture);
  context.parameters.set("batch_size", batch_size);
  context.parameters.set("epochs", std::int64_t{1});
  context.parameters.set("fuse_layers", fuse_layers);
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
  run_training(state, "mnist_small", state.range(0), 32);
}

void BM_TrainShapes3dLarge(benchmark::State& state) {
  run_training(state, "shapes3d_large", state.range(0), 32);
}

void BM_TrainShapes3dLargeLayerByLayer(benchmark::State& state) {
  run_training(state, "shapes3d_large", state.range(0), 32, /*fuse_layers=*/false);
}

// Arguments: images per epoch, batch size.
void BM_TrainMnistSmallBatch(benchmark::State& state) {
  run_training(state, "mnist_small", state.range(0), state.range(1));
}

void BM_TrainShapes3dLargeBatch(benchmark::State& state) {
  run_training(state, "shapes3d_large", state.range(0), state.range(1));
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
BENCHMARK(BM_TrainShapes3dLargeLayerByLayer)
    ->ArgName("images")
    ->Arg(128)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainMnistSmallBatch)
    ->ArgNames({"images", "batch"})
    ->Args({512, 8})
    ->Args({512, 16})
    ->Args({512, 64})
    ->Args({512, 128})
    ->Args({512, 256})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainShapes3dLargeBatch)
    ->ArgNames({"images", "batch"})
    ->Args({128, 8})
    ->Args({128, 16})
    ->Args({128, 64})
    ->Args({128, 128})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
