#include "data/idx.hpp"

#include <filesystem>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "test_support.hpp"

namespace genmem {
namespace {

using ::testing::HasSubstr;

std::string big_endian(std::uint32_t value) {
  return {
      static_cast<char>(value >> 24),
      static_cast<char>(value >> 16),
      static_cast<char>(value >> 8),
      static_cast<char>(value)};
}

// Two 2x3 images with pixel values 0..11.
std::string image_file() {
  std::string bytes = big_endian(0x803) + big_endian(2) + big_endian(2) + big_endian(3);
  for (char value = 0; value < 12; ++value) {
    bytes.push_back(value);
  }
  return bytes;
}

std::string idx_error(const std::string& bytes, bool images = true) {
  test_support::TempDir dir;
  test_support::write_text(dir / "file", bytes);
  try {
    images ? read_idx_images(dir / "file") : read_idx_labels(dir / "file");
  } catch (const IoError& error) {
    return error.what();
  }
  return "";
}

TEST(Idx, ImagesReadInFileOrder) {
  test_support::TempDir dir;
  test_support::write_text(dir / "images", image_file());
  const at::Tensor images = read_idx_images(dir / "images");
  ASSERT_EQ(images.sizes(), at::IntArrayRef({2, 2, 3}));
  EXPECT_EQ(images[0][0][0].item<int>(), 0);
  EXPECT_EQ(images[0][1][2].item<int>(), 5);
  EXPECT_EQ(images[1][1][2].item<int>(), 11);
}

TEST(Idx, LabelsReadAsInt64) {
  test_support::TempDir dir;
  test_support::write_text(
      dir / "labels", big_endian(0x801) + big_endian(3) + std::string("\x07\x00\x09", 3));
  const at::Tensor labels = read_idx_labels(dir / "labels");
  EXPECT_EQ(labels.scalar_type(), at::kLong);
  EXPECT_EQ(labels[0].item<std::int64_t>(), 7);
  EXPECT_EQ(labels[1].item<std::int64_t>(), 0);
  EXPECT_EQ(labels[2].item<std::int64_t>(), 9);
}

TEST(Idx, WrongMagicRejected) {
  const std::string message = idx_error(image_file(), /*images=*/false);
  EXPECT_THAT(message, HasSubstr("magic number 0x00000803, expected 0x00000801 (labels)"));
}

TEST(Idx, TruncatedDataRejected) {
  const std::string bytes = image_file();
  const std::string message = idx_error(bytes.substr(0, bytes.size() - 1));
  EXPECT_THAT(message, HasSubstr("is truncated: its header declares 28 bytes but the file has 27"));
}

TEST(Idx, TruncatedHeaderRejected) {
  EXPECT_THAT(idx_error(image_file().substr(0, 10)), HasSubstr("shorter than its 16-byte header"));
}

TEST(Idx, TrailingBytesRejected) {
  EXPECT_THAT(idx_error(image_file() + "x"), HasSubstr("longer than its header says"));
}

TEST(Idx, MissingFileNamesSetup) {
  try {
    read_idx_images("/nonexistent/train-images-idx3-ubyte");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is missing; run scripts/setup"));
  }
}

TEST(Idx, FolderInPlaceOfFileNamed) {
  test_support::TempDir dir;
  std::filesystem::create_directory(dir / "train-images-idx3-ubyte");
  try {
    read_idx_images(dir / "train-images-idx3-ubyte");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is a folder, not a regular file"));
  }
}

TEST(Idx, CompressedFileOnlyAsksToDecompress) {
  test_support::TempDir dir;
  test_support::write_text(dir / "train-images-idx3-ubyte.gz", "compressed");
  try {
    read_idx_images(dir / "train-images-idx3-ubyte");
    FAIL() << "expected IoError";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr(".gz' exists; decompress it with gunzip"));
  }
}

}  // namespace
}  // namespace genmem
