#include "shapes3d_test_file.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <hdf5.h>

#include "data/shapes3d_renderer.hpp"

namespace genmem::test_support {
namespace {

std::array<double, kShapes3dFactorCount> factor_values(std::int64_t record) {
  const Shapes3dFactors f = shapes3d_factors_of(record);
  return {
      shapes3d_factor_value(0, f.floor_hue),
      shapes3d_factor_value(1, f.wall_hue),
      shapes3d_factor_value(2, f.object_hue),
      shapes3d_factor_value(3, f.scale),
      shapes3d_factor_value(4, f.shape),
      shapes3d_factor_value(5, f.orientation)};
}

void write_dataset(
    hid_t file,
    const char* name,
    const std::vector<hsize_t>& dims,
    hid_t file_type,
    hid_t memory_type,
    const void* data) {
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dataset =
      H5Dcreate2(file, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  H5Dclose(dataset);
  H5Sclose(space);
}

}  // namespace

void write_shapes3d_test_file(const std::filesystem::path& path, const Shapes3dTestLayout& layout) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const auto n = static_cast<std::size_t>(layout.records);
  if (layout.write_images) {
    const auto side = static_cast<hsize_t>(layout.image_side);
    const std::size_t image_bytes = side * side * 3;
    std::vector<std::uint8_t> images(n * image_bytes);
    for (std::size_t i = 0; i < n; ++i) {
      std::fill_n(
          images.begin() + static_cast<std::ptrdiff_t>(i * image_bytes), image_bytes, i % 256);
    }
    if (layout.float_images) {
      const std::vector<float> floats(images.begin(), images.end());
      write_dataset(
          file, "images", {n, side, side, 3}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, floats.data());
    } else {
      write_dataset(
          file, "images", {n, side, side, 3}, H5T_STD_U8LE, H5T_NATIVE_UCHAR, images.data());
    }
  }
  if (layout.write_labels) {
    const auto columns = static_cast<std::size_t>(layout.label_columns);
    std::vector<double> labels(n * columns);
    for (std::size_t i = 0; i < n; ++i) {
      const auto values =
          factor_values(static_cast<std::int64_t>(i) * kShapes3dTestStride % kShapes3dRecords);
      for (std::size_t j = 0; j < columns; ++j) {
        labels[i * columns + j] = j < values.size() ? values[j] : 0.0;
      }
    }
    labels[7 * columns + 5] += layout.label_offset;
    write_dataset(file, "labels", {n, columns}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, labels.data());
  }
  H5Fclose(file);
}

}  // namespace genmem::test_support
