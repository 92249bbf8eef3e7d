#include "scenario_schema.hpp"

namespace genmem {

const std::vector<ParameterSpec>& scenario_section_parameters() {
  static const std::vector<ParameterSpec> specs = {
      string_parameter("name", "", "Name of the run folder group; defaults to the file name"),
      string_parameter("description", "", "One or two sentences on what the scenario shows"),
      int_parameter("seed", 123, 0, std::nullopt, "Seed of every random generator in the run"),
      int_parameter(
          "threads", 2, 1, kMaxThreads, "LibTorch intra-op threads for tensor operations"),
      choice_parameter(
          "device", "cpu", {"cpu", "cuda"}, "Device the models run on; cuda needs a CUDA LibTorch"),
  };
  return specs;
}

const std::vector<ParameterSpec>& data_section_parameters() {
  static const std::vector<ParameterSpec> specs = {
      choice_parameter(
          "source",
          "mnist",
          {"mnist", "shapes3d", "shapes3d_rendered"},
          "Data set the experiences come from: MNIST IDX files, DeepMind's 3dshapes.h5, or "
          "Shapes3D scenes rendered by genmem (no download)"),
      string_parameter(
          "dir",
          "",
          "Folder with one subfolder per data set (for example mnist/), relative to the scenario "
          "file; empty means $GENMEM_DATA_DIR, else data/ in the working directory"),
      string_parameter(
          "file",
          "",
          "The shapes3d source's HDF5 file, relative to the scenario file; empty means "
          "shapes3d/3dshapes.h5 in the data folder"),
      bool_parameter(
          "render_cache",
          true,
          "Keep the shapes3d_rendered source's scenes in shapes3d_rendered/ in the data folder "
          "and reuse them"),
      int_parameter(
          "subset",
          15000,
          10,
          480000,
          "Shapes3D sources: records cut from the fixed seeded order of the data set; the first "
          "nine tenths are the training pool and the last tenth the test pool",
          "records"),
      int_parameter(
          "train_items",
          10000,
          1,
          std::nullopt,
          "Training images taken (after a seeded shuffle) as the experiences to store",
          "images"),
      int_parameter(
          "test_items",
          1500,
          2,
          std::nullopt,
          "Held-out test images used for reconstruction error and semantic decoding",
          "images"),
      choice_parameter(
          "order",
          "shuffled",
          {"shuffled", "file"},
          "Which items are taken: a seeded shuffle of the file, or the file's own order"),
  };
  return specs;
}

}  // namespace genmem
