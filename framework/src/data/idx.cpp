#include "data/idx.hpp"

#include <array>
#include <cstdint>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <genmem/error.hpp>

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kImageMagic = 0x00000803;
constexpr std::uint32_t kLabelMagic = 0x00000801;

std::uint32_t read_big_endian(const unsigned char* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16)
      | (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

// Reads the whole file, with the header checked against the expected magic and rank.
std::vector<unsigned char> read_idx(
    const fs::path& path, std::uint32_t magic, std::size_t rank, std::vector<std::int64_t>& dims) {
  const std::string file = path.string();
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    if (fs::exists(path, error)) {
      throw IoError(fmt::format(
          "IDX file '{}' is {}, not a regular file; put the MNIST file there with "
          "scripts/setup, or set [data] dir",
          file,
          fs::is_directory(path, error) ? "a folder" : "a special file"));
    }
    if (fs::is_regular_file(file + ".gz", error)) {
      throw IoError(fmt::format(
          "IDX file '{}' is missing, but '{}.gz' exists; decompress it with gunzip, or run "
          "scripts/setup",
          file,
          file));
    }
    throw IoError(fmt::format(
        "IDX file '{}' is missing; run scripts/setup to fetch MNIST, or set [data] dir", file));
  }
  std::ifstream stream(path, std::ios::binary);
  std::vector<unsigned char> bytes(
      (std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());

  const std::size_t header = 4 + 4 * rank;
  if (bytes.size() < header) {
    throw IoError(fmt::format(
        "IDX file '{}' is truncated: {} bytes, shorter than its {}-byte header; fetch it again "
        "with scripts/setup",
        file,
        bytes.size(),
        header));
  }
  const std::uint32_t found_magic = read_big_endian(bytes.data());
  if (found_magic != magic) {
    throw IoError(fmt::format(
        "IDX file '{}' has magic number 0x{:08x}, expected 0x{:08x} ({}); check that the file is "
        "an uncompressed IDX file of the right kind",
        file,
        found_magic,
        magic,
        magic == kImageMagic ? "images" : "labels"));
  }
  std::size_t expected = header;
  std::size_t count = 1;
  dims.clear();
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint32_t dim = read_big_endian(bytes.data() + 4 + 4 * i);
    if (dim == 0) {
      throw IoError(fmt::format("IDX file '{}' declares a zero dimension at axis {}", file, i));
    }
    dims.push_back(dim);
    count *= dim;
  }
  expected += count;
  if (bytes.size() != expected) {
    throw IoError(fmt::format(
        "IDX file '{}' is {}: its header declares {} bytes but the file has {}; fetch it again "
        "with scripts/setup",
        file,
        bytes.size() < expected ? "truncated" : "longer than its header says",
        expected,
        bytes.size()));
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  return bytes;
}

}  // namespace

at::Tensor read_idx_images(const fs::path& path) {
  std::vector<std::int64_t> dims;
  auto bytes = read_idx(path, kImageMagic, 3, dims);
  return at::from_blob(bytes.data(), dims, at::kByte).clone();
}

at::Tensor read_idx_labels(const fs::path& path) {
  std::vector<std::int64_t> dims;
  auto bytes = read_idx(path, kLabelMagic, 1, dims);
  return at::from_blob(bytes.data(), dims, at::kByte).to(at::kLong);
}

}  // namespace genmem
