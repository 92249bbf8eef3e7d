#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Returns the 64-bit FNV-1a hash of `bytes` as 16 hexadecimal digits. It is the same on every
/// machine and build, so it can name cache files.
std::string stable_hash(std::string_view bytes);

/// Writes a CPU tensor (uint8, float32 or int64) to `path` with `tag`, a text that identifies
/// what the tensor holds. The file is written through a temporary file and a rename, so a reader
/// never sees a half-written file. Throws IoError naming the path.
void write_tensor_file(
    const std::filesystem::path& path, const std::string& tag, const at::Tensor& tensor);

/// Reads a file written by write_tensor_file. Returns std::nullopt when the file does not exist
/// or its tag differs from `tag`. Throws IoError naming the path when the file is damaged: a bad
/// header, an unknown element type, or a size that does not match its header.
std::optional<at::Tensor> read_tensor_file(
    const std::filesystem::path& path, const std::string& tag);

}  // namespace genmem
