#include "data/shapes3d_hdf5.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <hdf5.h>

#include <genmem/error.hpp>

#include "data/shapes3d_renderer.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, kShapes3dFactorCount> kFactorLabels = {
    "floor hue", "wall hue", "object hue", "scale", "shape", "orientation"};
constexpr std::array<int, kShapes3dFactorCount> kFactorCounts = {
    kFloorHues, kWallHues, kObjectHues, kScales, kShapes, kOrientations};
constexpr std::int64_t kImageBytes = 64 * 64 * 3;

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}

  ~Handle() {
    if (id_ >= 0) {
      close_(id_);
    }
  }

  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }

  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string format_dims(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    text += fmt::format("{}{}", i == 0 ? "" : ", ", dims[i]);
  }
  return text + "]";
}

std::vector<hsize_t> dataset_dims(hid_t dataset) {
  const Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

// Checks that `records` is int64 `[M]` with every entry in [0, available).
void check_records(const at::Tensor& records, std::int64_t available) {
  if (records.scalar_type() != at::kLong || records.dim() != 1) {
    throw std::invalid_argument("Shapes3dFile expects int64 record indices [M]");
  }
  if (records.numel() > 0
      && (records.min().item<std::int64_t>() < 0
          || records.max().item<std::int64_t>() >= available)) {
    throw std::out_of_range(fmt::format("Shapes3dFile records must lie in [0, {})", available));
  }
}

}  // namespace

Shapes3dFile::Shapes3dFile(const fs::path& path) : path_(path) {
  // HDF5 prints its own error stack to stderr by default; genmem reports errors itself.
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    throw IoError(fmt::format(
        "Shapes3D file '{}' does not exist; put DeepMind's 3dshapes.h5 there, set [data] file "
        "to its path, or use source = \"shapes3d_rendered\"",
        path.string()));
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw IoError(fmt::format(
        "Shapes3D file '{}' is not an HDF5 file; expected DeepMind's 3dshapes.h5", path.string()));
  }
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) {
    throw IoError(fmt::format(
        "Shapes3D file '{}' could not be opened; it may be damaged, so fetch it again",
        path.string()));
  }

  const auto require = [&](const char* name, H5T_class_t type_class, const char* type_text) {
    if (H5Lexists(file_, name, H5P_DEFAULT) <= 0) {
      throw IoError(fmt::format(
          "Shapes3D file '{}' has no dataset '{}'; expected 'images' uint8 [480000, 64, 64, 3] "
          "and 'labels' float64 [480000, 6]",
          path.string(),
          name));
    }
    const Handle dataset(H5Dopen2(file_, name, H5P_DEFAULT), H5Dclose);
    const Handle type(H5Dget_type(dataset.get()), H5Tclose);
    const bool byte = H5Tget_size(type.get()) == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE;
    if (!dataset.valid() || H5Tget_class(type.get()) != type_class
        || (type_class == H5T_INTEGER && !byte)) {
      throw IoError(fmt::format(
          "Shapes3D file '{}': dataset '{}' should hold {} values",
          path.string(),
          name,
          type_text));
    }
    return dataset_dims(dataset.get());
  };

  const std::vector<hsize_t> images = require("images", H5T_INTEGER, "uint8");
  if (images.size() != 4 || images[1] != 64 || images[2] != 64 || images[3] != 3) {
    throw IoError(fmt::format(
        "Shapes3D file '{}': dataset 'images' has shape {}, expected [N, 64, 64, 3]",
        path.string(),
        format_dims(images)));
  }
  const std::vector<hsize_t> labels = require("labels", H5T_FLOAT, "floating-point");
  if (labels.size() != 2 || labels[1] != kShapes3dFactorCount || labels[0] != images[0]) {
    throw IoError(fmt::format(
        "Shapes3D file '{}': dataset 'labels' has shape {}, expected [{}, 6] to match 'images'",
        path.string(),
        format_dims(labels),
        images[0]));
  }
  if (images[0] == 0) {
    throw IoError(fmt::format(
        "Shapes3D file '{}' contains no records; fetch DeepMind's 3dshapes.h5 again",
        path.string()));
  }
  records_ = static_cast<std::int64_t>(images[0]);
}

Shapes3dFile::~Shapes3dFile() {
  if (file_ >= 0) {
    H5Fclose(file_);
  }
}

at::Tensor Shapes3dFile::read_images(const at::Tensor& records) const {
  check_records(records, records_);
  const std::int64_t count = records.size(0);
  at::Tensor bytes = at::empty({count, 64, 64, 3}, at::kByte);

  // A large chunk cache keeps compressed chunks decoded while nearby records are read.
  const Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
  H5Pset_chunk_cache(access.get(), 12421, 256U << 20U, 1.0);
  const Handle dataset(H5Dopen2(file_, "images", access.get()), H5Dclose);
  const Handle file_space(H5Dget_space(dataset.get()), H5Sclose);
  const std::array<hsize_t, 4> one_record = {1, 64, 64, 3};
  const Handle memory_space(H5Screate_simple(4, one_record.data(), nullptr), H5Sclose);

  // Records are read in file order, which is much faster on a compressed file.
  const at::Tensor order = std::get<1>(records.sort());
  const auto* record = records.data_ptr<std::int64_t>();
  const auto* position = order.data_ptr<std::int64_t>();
  auto* out = bytes.data_ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    const std::int64_t slot = position[i];
    const std::array<hsize_t, 4> start = {static_cast<hsize_t>(record[slot]), 0, 0, 0};
    H5Sselect_hyperslab(
        file_space.get(), H5S_SELECT_SET, start.data(), nullptr, one_record.data(), nullptr);
    if (H5Dread(
            dataset.get(),
            H5T_NATIVE_UCHAR,
            memory_space.get(),
            file_space.get(),
            H5P_DEFAULT,
            out + slot * kImageBytes)
        < 0) {
      throw IoError(fmt::format(
          "Shapes3D file '{}': record {} of 'images' could not be read; the file may be "
          "damaged, so fetch it again",
          path_.string(),
          record[slot]));
    }
  }
  return bytes.permute({0, 3, 1, 2}).to(at::kFloat).div_(255.0).contiguous();
}

at::Tensor Shapes3dFile::read_factors(const at::Tensor& records) const {
  check_records(records, records_);
  std::vector<double> values(static_cast<std::size_t>(records_) * kShapes3dFactorCount);
  const Handle dataset(H5Dopen2(file_, "labels", H5P_DEFAULT), H5Dclose);
  if (H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    throw IoError(fmt::format(
        "Shapes3D file '{}': dataset 'labels' could not be read; the file may be damaged, so "
        "fetch it again",
        path_.string()));
  }

  const std::int64_t count = records.size(0);
  at::Tensor factors = at::empty({count, kShapes3dFactorCount}, at::kLong);
  const auto* record = records.data_ptr<std::int64_t>();
  auto* out = factors.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < count; ++i) {
    for (int factor = 0; factor < kShapes3dFactorCount; ++factor) {
      const double value =
          values[static_cast<std::size_t>(record[i] * kShapes3dFactorCount + factor)];
      // Each grid is evenly spaced, so the nearest index follows from the first two values.
      const double first = shapes3d_factor_value(factor, 0);
      const double step = shapes3d_factor_value(factor, 1) - first;
      const double position = (value - first) / step;
      const auto index = static_cast<std::int64_t>(std::lround(position));
      const std::int64_t count_of_factor = kFactorCounts[static_cast<std::size_t>(factor)];
      if (!std::isfinite(position) || std::abs(position - static_cast<double>(index)) > 1e-3
          || index < 0 || index >= count_of_factor) {
        throw IoError(fmt::format(
            "Shapes3D file '{}': record {} has {} {}, which is not one of its {} values from {} "
            "to {}; the labels do not follow the 3dshapes layout",
            path_.string(),
            record[i],
            kFactorLabels[static_cast<std::size_t>(factor)],
            value,
            count_of_factor,
            first,
            shapes3d_factor_value(factor, static_cast<int>(count_of_factor - 1))));
      }
      out[i * kShapes3dFactorCount + factor] = index;
    }
  }
  return factors;
}

}  // namespace genmem
