#include "outputs/tensor_file.hpp"

#include <array>
#include <cstring>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <genmem/error.hpp>

#include "outputs/run_folder.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr std::array<char, 8> kMagic = {'G', 'E', 'N', 'M', 'E', 'M', 'T', '1'};
constexpr std::uint32_t kMaxRank = 8;
constexpr std::uint64_t kMaxTagBytes = 1U << 20U;

std::uint32_t type_code(at::ScalarType type) {
  switch (type) {
    case at::kByte:
      return 0;
    case at::kFloat:
      return 1;
    case at::kLong:
      return 2;
    default:
      throw std::invalid_argument(fmt::format(
          "write_tensor_file supports uint8, float32 and int64 tensors, not {}",
          std::string(at::toString(type))));
  }
}

std::optional<at::ScalarType> type_of(std::uint32_t code) {
  switch (code) {
    case 0:
      return at::kByte;
    case 1:
      return at::kFloat;
    case 2:
      return at::kLong;
    default:
      return std::nullopt;
  }
}

template <typename T>
void put(std::ostream& out, const T& value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
bool get(std::ifstream& in, T& value) {
  return static_cast<bool>(in.read(reinterpret_cast<char*>(&value), sizeof(value)));
}

IoError damaged(const fs::path& path, const std::string& what) {
  return IoError(fmt::format("'{}' is damaged ({})", path.string(), what));
}

}  // namespace

std::string stable_hash(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char byte : bytes) {
    hash ^= static_cast<unsigned char>(byte);
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", hash);
}

void write_tensor_file(const fs::path& path, const std::string& tag, const at::Tensor& tensor) {
  const at::Tensor data = tensor.contiguous().cpu();
  const std::uint32_t code = type_code(data.scalar_type());
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(kMagic.data(), kMagic.size());
    put(out, code);
    put(out, static_cast<std::uint32_t>(data.dim()));
    for (const std::int64_t size : data.sizes()) {
      put(out, size);
    }
    put(out, static_cast<std::uint64_t>(tag.size()));
    out.write(tag.data(), static_cast<std::streamsize>(tag.size()));
    out.write(
        static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  });
}

std::optional<at::Tensor> read_tensor_file(const fs::path& path, const std::string& tag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::array<char, 8> magic{};
  std::uint32_t code = 0;
  std::uint32_t rank = 0;
  if (!in.read(magic.data(), magic.size()) || magic != kMagic || !get(in, code) || !get(in, rank)) {
    throw damaged(path, "not a genmem tensor file");
  }
  const std::optional<at::ScalarType> type = type_of(code);
  if (!type || rank > kMaxRank) {
    throw damaged(path, fmt::format("element type {} with {} dimensions", code, rank));
  }
  std::vector<std::int64_t> sizes(rank);
  for (std::int64_t& size : sizes) {
    if (!get(in, size) || size < 0) {
      throw damaged(path, "bad dimension sizes");
    }
  }
  std::uint64_t tag_bytes = 0;
  if (!get(in, tag_bytes) || tag_bytes > kMaxTagBytes) {
    throw damaged(path, "bad tag length");
  }
  std::string stored_tag(tag_bytes, '\0');
  if (!in.read(stored_tag.data(), static_cast<std::streamsize>(tag_bytes))) {
    throw damaged(path, "the tag is cut short");
  }
  if (stored_tag != tag) {
    return std::nullopt;
  }
  at::Tensor tensor = at::empty(sizes, *type);
  const auto expected = static_cast<std::streamsize>(tensor.nbytes());
  in.read(static_cast<char*>(tensor.data_ptr()), expected);
  if (in.gcount() != expected || in.peek() != std::char_traits<char>::eof()) {
    throw damaged(path, "its size does not match its header");
  }
  return tensor;
}

}  // namespace genmem
