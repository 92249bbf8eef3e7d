// genmem shapes3d-figures: writes the Shapes3D figures of docs/figures from the renderer.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <genmem/error.hpp>

#include "data/shapes3d_renderer.hpp"
#include "outputs/image_grid.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr int kSampleColumns = 8;
constexpr int kSampleCount = kSampleColumns * kSampleColumns;

// Factor value counts in factor order (floor hue, wall hue, object hue, scale, shape,
// orientation). Orientation has the most values and sets the width of the sweep grid.
constexpr std::array<int, genmem::kShapes3dFactorCount> kFactorSizes = {
    genmem::kFloorHues,
    genmem::kWallHues,
    genmem::kObjectHues,
    genmem::kScales,
    genmem::kShapes,
    genmem::kOrientations};
constexpr int kSweepColumns = *std::max_element(kFactorSizes.begin(), kFactorSizes.end());

// The scene every sweep row starts from: a red floor, a green wall and a blue cube of middle
// size, turned about -13 degrees so that two of its sides show.
constexpr genmem::Shapes3dFactors kSweepBase{
    .floor_hue = 0, .wall_hue = 3, .object_hue = 6, .scale = 4, .shape = 0, .orientation = 4};

void set_factor(genmem::Shapes3dFactors& factors, int factor, int index) {
  switch (factor) {
    case 0:
      factors.floor_hue = index;
      break;
    case 1:
      factors.wall_hue = index;
      break;
    case 2:
      factors.object_hue = index;
      break;
    case 3:
      factors.scale = index;
      break;
    case 4:
      factors.shape = index;
      break;
    default:
      factors.orientation = index;
      break;
  }
}

// Writes an 8x8 grid of scenes drawn uniformly from all records with a generator seeded with
// `seed`, so the same seed and LibTorch version give the same figure.
void write_samples(const fs::path& path, std::uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor records =
      at::randint(genmem::kShapes3dRecords, {kSampleCount}, generator, at::kLong);
  genmem::write_image_grid(path, genmem::render_shapes3d_records(records), kSampleColumns);
}

// Writes one row per factor, in factor order, that sweeps all of the factor's values from
// kSweepBase. Rows shorter than the grid are padded with white tiles.
void write_factor_sweep(const fs::path& path) {
  std::vector<std::int64_t> records;
  std::vector<std::int64_t> slots;
  for (int factor = 0; factor < genmem::kShapes3dFactorCount; ++factor) {
    for (int index = 0; index < kFactorSizes[static_cast<std::size_t>(factor)]; ++index) {
      genmem::Shapes3dFactors factors = kSweepBase;
      set_factor(factors, factor, index);
      records.push_back(genmem::shapes3d_record_of(factors));
      slots.push_back(static_cast<std::int64_t>(factor) * kSweepColumns + index);
    }
  }

  const at::Tensor scenes = genmem::render_shapes3d_records(at::tensor(records, at::kLong));
  const std::int64_t size = genmem::kShapes3dImageSize;
  at::Tensor grid =
      at::ones({genmem::kShapes3dFactorCount * kSweepColumns, 3, size, size}, at::kFloat);
  grid.index_copy_(0, at::tensor(slots, at::kLong), scenes);
  genmem::write_image_grid(path, grid, kSweepColumns);
}

}  // namespace

int shapes3d_figures_command(const std::vector<std::string>& arguments) {
  std::string out;
  std::int64_t seed = 0;
  po::options_description options(
      "Usage: genmem shapes3d-figures --out DIR [OPTIONS]\n\n"
      "Writes shapes3d_samples.png (an 8x8 grid of random scenes) and\n"
      "shapes3d_factor_sweep.png (one row per factor sweeping all its values) to DIR.\n"
      "docs/figures holds the published copies.\n\nOptions");
  options.add_options()("help,h", "show this help")(
      "out", po::value(&out), "folder to write the PNG files to; created when missing")(
      "seed", po::value(&seed), "seed of the generator that draws the sample scenes (default 0)");
  po::variables_map values;
  po::store(po::command_line_parser(arguments).options(options).run(), values);
  po::notify(values);
  if (values.count("help") > 0) {
    std::cout << options << "\n";
    return EXIT_SUCCESS;
  }
  if (out.empty()) {
    throw po::error("--out is required, for example genmem shapes3d-figures --out docs/figures");
  }
  if (seed < 0) {
    throw genmem::ConfigError(fmt::format("--seed must be at least 0 (got {})", seed));
  }

  const fs::path folder(out);
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    throw genmem::IoError(
        fmt::format("could not create output folder '{}': {}", folder.string(), error.message()));
  }
  const fs::path samples = folder / "shapes3d_samples.png";
  const fs::path sweep = folder / "shapes3d_factor_sweep.png";
  write_samples(samples, static_cast<std::uint64_t>(seed));
  write_factor_sweep(sweep);
  std::cout << fmt::format("Wrote {}\nWrote {}\n", samples.string(), sweep.string());
  return EXIT_SUCCESS;
}
