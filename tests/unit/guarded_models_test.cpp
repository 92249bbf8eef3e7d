#include "guarded_models.hpp"

#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <genmem/error.hpp>

#include "tiny_generative_model.hpp"

namespace genmem {
namespace {

// A model of 1x2x2 images and 3 latents whose encode and decode return what a test sets.
class SettableModel final : public test_support::TinyGenerativeModel {
 public:
  SettableModel() : TinyGenerativeModel(3) {}

  Encoding encode(const at::Tensor& images) override {
    return mean.defined() ? Encoding{mean, at::zeros_like(mean)}
                          : TinyGenerativeModel::encode(images);
  }

  at::Tensor decode(const at::Tensor& latents) override {
    if (failure) {
      throw std::runtime_error(*failure);
    }
    return decoded.defined() ? decoded : TinyGenerativeModel::decode(latents);
  }

  at::Tensor mean;
  at::Tensor decoded;
  std::optional<std::string> failure;
};

// Returns the message of the ModelError that `call` raises, or "no error".
template <typename Call>
std::string model_error(Call&& call) {
  try {
    call();
  } catch (const ModelError& error) {
    return error.what();
  }
  return "no error";
}

TEST(GuardedModel, ChecksWhatEncodeAndDecodeReturn) {
  auto inner = std::make_unique<SettableModel>();
  SettableModel& settings = *inner;
  const std::unique_ptr<GenerativeModel> model = make_guarded_model("toy", std::move(inner));
  const at::Tensor images = at::zeros({2, 1, 2, 2});
  const at::Tensor latents = at::zeros({2, 3});

  EXPECT_EQ(model_error([&] { model->encode(images); }), "no error");
  EXPECT_EQ(model_error([&] { model->decode(latents); }), "no error");
  EXPECT_EQ(model_error([&] { model->sample(2); }), "no error");

  settings.mean = at::zeros({2, 4});
  EXPECT_EQ(
      model_error([&] { model->encode(images); }),
      "plugin 'toy' returned Float [2, 4] as the mean from encode, expected Float [2, 3]; fix the "
      "plugin's encode");
  settings.mean = at::full({2, 3}, std::numeric_limits<float>::infinity());
  EXPECT_EQ(
      model_error([&] { model->encode(images); }),
      "plugin 'toy' returned the mean with NaN or infinite values from encode; fix the plugin's "
      "encode");

  settings.decoded = at::zeros({2, 3, 2, 2});
  EXPECT_EQ(
      model_error([&] { model->decode(latents); }),
      "plugin 'toy' returned Float [2, 3, 2, 2] as images from decode, expected Float [2, 1, 2, "
      "2]; fix the plugin's decode");
  settings.decoded = at::zeros({2, 1, 2, 2}, at::kDouble);
  EXPECT_EQ(
      model_error([&] { model->decode(latents); }),
      "plugin 'toy' returned Double [2, 1, 2, 2] as images from decode, expected Float [2, 1, 2, "
      "2]; fix the plugin's decode");
}

TEST(GuardedModel, KeepsPluginMessagesToOneShortLine) {
  auto inner = std::make_unique<SettableModel>();
  SettableModel& settings = *inner;
  const std::unique_ptr<GenerativeModel> model = make_guarded_model("toy", std::move(inner));
  const at::Tensor latents = at::zeros({2, 3});

  settings.failure = "";
  EXPECT_EQ(
      model_error([&] { model->decode(latents); }),
      "plugin 'toy' failed in decode: (the plugin gave no message)");

  settings.failure = std::string(20000, 'x');
  EXPECT_EQ(
      model_error([&] { model->decode(latents); }),
      "plugin 'toy' failed in decode: " + std::string(1000, 'x')
          + "... (cut from 20000 characters)");

  settings.failure = "first line\nsecond line";
  EXPECT_EQ(
      model_error([&] { model->decode(latents); }), "plugin 'toy' failed in decode: first line");
}

}  // namespace
}  // namespace genmem
