// Tests of the autoencoder plugin: its parameters, deterministic codes, the loss without a KL
// term, training, the fitted code distribution behind `sample`, and its model files.

#include "autoencoder.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <genmem/error.hpp>
#include <genmem/plugin.hpp>

#include "architectures.hpp"
#include "test_support.hpp"
#include "training.hpp"

namespace genmem {
namespace {

using testing::HasSubstr;

/// Builds a plugin context with the autoencoder's defaults and the given overrides.
PluginContext make_context(
    const std::map<std::string, ParameterValue>& overrides = {}, std::uint64_t seed = 7) {
  PluginContext context;
  context.parameters = default_parameters(autoencoder_parameters());
  for (const auto& [name, value] : overrides) {
    context.parameters.set(name, value);
  }
  context.seed = seed;
  return context;
}

/// Returns 64 images `[64, 1, 28, 28]`: a bar 3 pixels wide and 28 long, horizontal for even and
/// vertical for odd indices, starting at row or column 2 + floor(3k / 2) for k = (index / 2) mod
/// 16. The 32 distinct images appear twice each, and each has 84 pixels at 1 and the rest at 0.
at::Tensor bar_images() {
  at::Tensor images = torch::zeros({64, 1, 28, 28});
  for (std::int64_t i = 0; i < 64; ++i) {
    const std::int64_t start = 2 + (i / 2) % 16 * 3 / 2;
    images[i][0].slice(/*dim=*/i % 2, start, start + 3).fill_(1.0);
  }
  return images;
}

/// Returns the L1 reconstruction error the loss uses, as a hand computation: per image the sum
/// over pixels of |x - x̂| (MNIST has one channel, so the channel mean is the value), then the
/// mean over images.
double mean_l1_error(const at::Tensor& images, const at::Tensor& reconstructions) {
  return (images - reconstructions).abs().sum({1, 2, 3}).mean().item<double>();
}

/// Returns the mean L1 reconstruction error of `model` on `images`, decoding the codes.
double reconstruction_error_of(Autoencoder& model, const at::Tensor& images) {
  return mean_l1_error(images, model.decode(model.encode(images).mean));
}

/// Fits `model` and returns the report of every epoch, epoch 0 first.
std::vector<EpochReport> fit_and_record(Autoencoder& model, const at::Tensor& images) {
  std::vector<EpochReport> reports;
  model.fit(
      images,
      [&](const EpochReport& report) {
        reports.push_back(report);
        return EpochDecision::kContinue;
      },
      nullptr);
  return reports;
}

/// Runs a test on one LibTorch thread. mnist_small runs many small operations per batch, and on
/// a loaded 2-core machine GNU OpenMP's spin-waiting between two threads made a two-epoch fit of
/// 64 images take 9.8 s, against 0.4 s without the spinning.
class AutoencoderFit : public testing::Test {
 protected:
  void SetUp() override {
    threads_ = at::get_num_threads();
    at::set_num_threads(1);
  }

  void TearDown() override { at::set_num_threads(threads_); }

 private:
  int threads_ = 1;
};

TEST(Autoencoder, ParametersAreVaeParametersWithoutKlWeight) {
  std::vector<std::string> names;
  for (const ParameterSpec& spec : autoencoder_parameters()) {
    names.push_back(spec.name);
  }

  const std::vector<std::string> expected = {
      "architecture",
      "latent_dim",
      "loss",
      "learning_rate",
      "batch_size",
      "epochs",
      "patience",
      "batch_norm",
      "dropout",
      "shuffle",
      "fuse_layers",
      "batch_workers"};
  EXPECT_EQ(names, expected);
  const Parameters defaults = default_parameters(autoencoder_parameters());
  EXPECT_EQ(defaults.get_string("architecture"), "mnist_small");
  EXPECT_EQ(defaults.get_int("latent_dim"), 20);
  EXPECT_EQ(defaults.get_string("loss"), "l1");
  EXPECT_DOUBLE_EQ(defaults.get_float("learning_rate"), 0.001);
  EXPECT_EQ(defaults.get_int("batch_size"), 32);
  EXPECT_EQ(defaults.get_int("epochs"), 10);
  EXPECT_EQ(defaults.get_int("patience"), 3);
}

TEST(Autoencoder, OptionsAreDeterministicWithoutKl) {
  const Autoencoder model(make_context({{"latent_dim", std::int64_t{5}}}));

  EXPECT_TRUE(model.options().deterministic);
  EXPECT_EQ(model.options().kl_weight, 0.0);
  EXPECT_EQ(model.options().latent_dim, 5);
  EXPECT_EQ(model.latent_dim(), 5);
  EXPECT_EQ(model.image_shape(), (std::vector<std::int64_t>{1, 28, 28}));
}

TEST(Autoencoder, EncodingTwiceGivesIdenticalCodes) {
  // Dropout "active" makes the training step random, but encode runs in inference mode.
  Autoencoder model(make_context({{"dropout", std::string("active")}}));
  const at::Tensor images = torch::rand({5, 1, 28, 28});

  const Encoding first = model.encode(images);
  const Encoding second = model.encode(images);

  EXPECT_TRUE(torch::equal(first.mean, second.mean));
  EXPECT_EQ(first.mean.sizes(), (std::vector<std::int64_t>{5, 20}));
  EXPECT_EQ(first.log_var.sizes(), (std::vector<std::int64_t>{5, 20}));
  EXPECT_TRUE(torch::equal(first.log_var, torch::full({5, 20}, -80.0f)));
}

TEST(Autoencoder, PosteriorSampleOfEncodingIsTheCode) {
  // A caller that samples mean + exp(0.5 * log_var) * eps, as the imagination step's
  // `fit_on = "samples"` does, gets the codes back unchanged (eps within 10 here).
  Autoencoder model(make_context());
  const Encoding encoding = model.encode(torch::rand({50, 1, 28, 28}));
  const at::Tensor eps = torch::randn(encoding.mean.sizes()).clamp(-10.0, 10.0);
  ASSERT_GT(encoding.mean.abs().min().item<float>(), 1e-8f);

  const at::Tensor sampled = encoding.mean + encoding.log_var.mul(0.5).exp() * eps;

  EXPECT_TRUE(torch::equal(sampled, encoding.mean));
}

TEST(Autoencoder, RepresentationsEndWithTheCode) {
  Autoencoder model(make_context({{"latent_dim", std::int64_t{5}}}));
  const at::Tensor images = torch::rand({4, 1, 28, 28});

  const auto layers = model.representations(images);

  // Flattened sizes: 14x14x32 and 7x7x64 convolution outputs, as in the vae.
  EXPECT_EQ(layers.size(), 4u);
  EXPECT_EQ(layers.at("input").sizes(), (std::vector<std::int64_t>{4, 784}));
  EXPECT_EQ(layers.at("conv1").sizes(), (std::vector<std::int64_t>{4, 6272}));
  EXPECT_EQ(layers.at("conv2").sizes(), (std::vector<std::int64_t>{4, 3136}));
  EXPECT_TRUE(torch::equal(layers.at("latent_mean"), model.encode(images).mean));
}

TEST(Autoencoder, Shapes3dEncodesAndDecodes) {
  Autoencoder model(make_context({{"architecture", std::string("shapes3d_large")}}));
  const at::Tensor images = torch::rand({2, 3, 64, 64});

  const Encoding encoding = model.encode(images);

  EXPECT_EQ(encoding.mean.sizes(), (std::vector<std::int64_t>{2, 20}));
  EXPECT_TRUE(torch::equal(encoding.log_var, torch::full({2, 20}, -80.0f)));
  EXPECT_EQ(model.decode(encoding.mean).sizes(), (std::vector<std::int64_t>{2, 3, 64, 64}));
  EXPECT_EQ(model.image_shape(), (std::vector<std::int64_t>{3, 64, 64}));
}

TEST(Autoencoder, LossFunctionMatchesHandComputedValue) {
  // Image 0: pixels (0, 1) reconstructed as (0.25, 0.5), errors 0.25 + 0.5 = 0.75. Image 1:
  // (0.5, 0.5) as (0.5, 1), errors 0 + 0.5 = 0.5. The loss is the mean, 0.625, with no KL.
  const at::Tensor images = torch::tensor({0.0, 1.0, 0.5, 0.5}, at::kDouble).view({2, 1, 1, 2});
  const at::Tensor reconstructions =
      torch::tensor({0.25, 0.5, 0.5, 1.0}, at::kDouble).view({2, 1, 1, 2});

  const vae::LossTerms terms =
      vae::autoencoder_loss(images, reconstructions, vae::ReconstructionLoss::kL1);

  EXPECT_NEAR(terms.total.item<double>(), 0.625, 1e-12);
  EXPECT_NEAR(terms.reconstruction.item<double>(), 0.625, 1e-12);
  EXPECT_EQ(terms.kl.item<double>(), 0.0);
}

TEST_F(AutoencoderFit, TrainingLossIsReconstructionErrorAlone) {
  // One epoch with all 4 images in one batch: the reported loss is the loss before the only
  // update, so it equals the error of decoding the untrained model's codes. mnist_small has no
  // batch normalisation and dropout is inactive, so training and inference compute the same.
  const auto context = make_context(
      {{"epochs", std::int64_t{1}}, {"batch_size", std::int64_t{4}}, {"shuffle", false}});
  const at::Tensor images = torch::rand({4, 1, 28, 28});
  Autoencoder model(context);
  const double by_hand = reconstruction_error_of(model, images);

  const std::vector<EpochReport> reports = fit_and_record(model, images);

  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NEAR(reports[1].loss, by_hand, 1e-5 * by_hand);
  EXPECT_NEAR(reports[1].reconstruction, by_hand, 1e-5 * by_hand);
  EXPECT_EQ(reports[1].kl, 0.0);
}

TEST_F(AutoencoderFit, VaeCounterpartReportsPositiveKl) {
  // The contrast for the test above: the vae's first loss includes a positive KL term.
  auto vae_options = autoencoder_options_from_context(make_context(
      {{"epochs", std::int64_t{1}}, {"batch_size", std::int64_t{4}}, {"shuffle", false}}));
  vae_options.deterministic = false;
  vae_options.kl_weight = 1.0;
  Vae model(vae_options);
  std::vector<EpochReport> reports;

  model.fit(
      torch::rand({4, 1, 28, 28}),
      [&](const EpochReport& report) {
        reports.push_back(report);
        return EpochDecision::kContinue;
      },
      nullptr);

  ASSERT_EQ(reports.size(), 2u);
  EXPECT_GT(reports[1].kl, 0.0);
  EXPECT_NEAR(reports[1].loss, reports[1].reconstruction + reports[1].kl, 1e-3);
}

TEST_F(AutoencoderFit, LowersReconstructionErrorFivefold) {
  // Untrained, the decoder outputs about 0.5 everywhere, an L1 error near 784 * 0.5 = 392 per
  // image. The best constant image under L1 is all black, because every pixel is 0 in most
  // images, and its error is 84, the pixels set. Trained with "l1", the model ends exactly there,
  // so this trains with "bce". Measured with these settings: L1 error 24 after 20 epochs and a
  // mean training loss of 537 in epoch 1 and 51 in epoch 20.
  const at::Tensor images = bar_images();
  Autoencoder model(make_context(
      {{"epochs", std::int64_t{20}},
       {"batch_size", std::int64_t{8}},
       {"loss", std::string("bce")},
       {"patience", std::int64_t{0}}}));
  const double before = reconstruction_error_of(model, images);

  const std::vector<EpochReport> reports = fit_and_record(model, images);
  const double after = reconstruction_error_of(model, images);

  ASSERT_EQ(reports.size(), 21u);
  EXPECT_NEAR(before, 392.0, 20.0);
  EXPECT_LT(after, before / 5.0) << "before " << before << ", after " << after;
  EXPECT_LT(after, 84.0 / 2.0);
  EXPECT_LT(reports[20].loss, reports[1].loss / 5.0);
}

TEST(Autoencoder, SampleBeforeFitThrowsModelError) {
  Autoencoder model(make_context());

  EXPECT_FALSE(model.code_mean().defined());
  try {
    model.sample(3);
    FAIL() << "sample drew from an autoencoder that has not been fitted";
  } catch (const ModelError& error) {
    EXPECT_THAT(error.what(), HasSubstr("autoencoder sample: no code distribution"));
    EXPECT_THAT(error.what(), HasSubstr("call fit"));
  }
}

TEST_F(AutoencoderFit, StoresGaussianOfTrainingCodes) {
  const at::Tensor images = bar_images();
  Autoencoder model(make_context({{"epochs", std::int64_t{2}}}));

  model.fit(images, nullptr, nullptr);

  // Maximum-likelihood fit of the codes under the final weights: standard deviation over N.
  const at::Tensor codes = model.encode(images).mean;
  const at::Tensor mean = codes.mean(0);
  const at::Tensor std_dev = (codes - mean).square().mean(0).sqrt();
  ASSERT_TRUE(model.code_mean().defined());
  EXPECT_TRUE(torch::allclose(model.code_mean(), mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(model.code_std(), std_dev, 1e-5, 1e-6));
}

TEST_F(AutoencoderFit, SampledCodesMatchFittedGaussian) {
  const at::Tensor images = bar_images();
  Autoencoder model(make_context({{"epochs", std::int64_t{2}}}));
  model.fit(images, nullptr, nullptr);
  const std::int64_t n = 20000;

  const at::Tensor latents = model.sample_latents(n);

  // Each dimension's sample mean lies within 5 standard errors (std / sqrt(n)) of the fitted
  // mean. Its sample standard deviation lies within 5 % of the fitted one, ten times the standard
  // error std / sqrt(2n) of a Gaussian sample's standard deviation.
  const at::Tensor mean = model.code_mean();
  const at::Tensor std_dev = model.code_std();
  ASSERT_GT(std_dev.min().item<float>(), 0.0f);
  const at::Tensor mean_error = (latents.mean(0) - mean).abs() / (std_dev / std::sqrt(n));
  const at::Tensor std_ratio = latents.std(0) / std_dev;
  EXPECT_LT(mean_error.max().item<float>(), 5.0f);
  EXPECT_GT(std_ratio.min().item<float>(), 0.95f);
  EXPECT_LT(std_ratio.max().item<float>(), 1.05f);
}

TEST_F(AutoencoderFit, SampleDecodesSampledCodes) {
  // Two models with the same seed and training are in the same state, generator included.
  const at::Tensor images = bar_images();
  const auto context = make_context({{"epochs", std::int64_t{1}}});
  Autoencoder first(context);
  Autoencoder second(context);
  first.fit(images, nullptr, nullptr);
  second.fit(images, nullptr, nullptr);

  const at::Tensor sampled = first.sample(6);

  EXPECT_EQ(sampled.sizes(), (std::vector<std::int64_t>{6, 1, 28, 28}));
  EXPECT_TRUE(torch::equal(sampled, second.decode(second.sample_latents(6))));
}

TEST_F(AutoencoderFit, DivergenceClearsCodeDistribution) {
  Autoencoder model(make_context({{"epochs", std::int64_t{1}}}));
  model.fit(bar_images(), nullptr, nullptr);
  ASSERT_TRUE(model.code_mean().defined());
  at::Tensor images = bar_images();
  images[0][0][5][5] = std::numeric_limits<float>::quiet_NaN();

  EXPECT_THROW(model.fit(images, nullptr, nullptr), TrainingDivergedError);

  EXPECT_FALSE(model.code_mean().defined());
  EXPECT_FALSE(model.code_std().defined());
  EXPECT_THROW(model.sample(1), ModelError);
}

TEST_F(AutoencoderFit, SaveThenLoadGivesIdenticalDecodes) {
  test_support::TempDir folder;
  const std::string path = (folder / "autoencoder.pt").string();
  const at::Tensor images = bar_images();
  const at::Tensor latents = torch::randn({8, 20});
  Autoencoder trained(make_context({{"epochs", std::int64_t{1}}}, 1));
  trained.fit(images, nullptr, nullptr);
  trained.save(path);

  Autoencoder loaded(make_context({}, 2));
  loaded.load(path);

  EXPECT_TRUE(torch::equal(loaded.decode(latents), trained.decode(latents)));
  EXPECT_TRUE(torch::equal(loaded.encode(images).mean, trained.encode(images).mean));
  EXPECT_TRUE(torch::equal(loaded.code_mean(), trained.code_mean()));
  EXPECT_TRUE(torch::equal(loaded.code_std(), trained.code_std()));
}

TEST_F(AutoencoderFit, LoadOfUnfittedFileClearsCodeDistribution) {
  test_support::TempDir folder;
  const std::string path = (folder / "untrained.pt").string();
  Autoencoder(make_context()).save(path);
  Autoencoder model(make_context({{"epochs", std::int64_t{1}}}));
  model.fit(bar_images(), nullptr, nullptr);

  model.load(path);

  EXPECT_FALSE(model.code_mean().defined());
  EXPECT_THROW(model.sample(1), ModelError);
}

TEST(Autoencoder, LoadRejectsVaeFile) {
  test_support::TempDir folder;
  const std::string path = (folder / "vae.pt").string();
  PluginContext vae_context;
  vae_context.parameters = default_parameters(vae_parameters());
  Vae(vae_context).save(path);
  Autoencoder model(make_context());

  try {
    model.load(path);
    FAIL() << "the autoencoder loaded a vae file";
  } catch (const IoError& error) {
    EXPECT_THAT(
        error.what(),
        HasSubstr("is a vae model file, not an autoencoder model file; load it with the vae "
                  "plugin"));
  }
}

TEST(Autoencoder, VaeLoadRejectsAutoencoderFile) {
  test_support::TempDir folder;
  const std::string path = (folder / "autoencoder.pt").string();
  Autoencoder(make_context()).save(path);
  PluginContext vae_context;
  vae_context.parameters = default_parameters(vae_parameters());
  Vae model(vae_context);

  try {
    model.load(path);
    FAIL() << "the vae loaded an autoencoder file";
  } catch (const IoError& error) {
    EXPECT_THAT(
        error.what(),
        HasSubstr("is an autoencoder model file, not a vae model file; load it with the "
                  "autoencoder plugin"));
  }
}

TEST(Autoencoder, LoadRejectsCodeMeanWithoutStd) {
  // A file with valid weights but only half of the code distribution.
  test_support::TempDir folder;
  const std::string path = (folder / "half.pt").string();
  vae::NetworkOptions network_options;
  const vae::Networks networks =
      vae::make_networks(network_options, at::make_generator<at::CPUGeneratorImpl>(3));
  torch::serialize::OutputArchive archive;
  archive.write("genmem_autoencoder_format", c10::IValue(std::int64_t{1}));
  archive.write("architecture", c10::IValue(std::string("mnist_small")));
  archive.write("latent_dim", c10::IValue(std::int64_t{20}));
  archive.write("batch_norm", c10::IValue(std::string("frozen")));
  archive.write("code_mean", torch::zeros({20}));
  torch::serialize::OutputArchive encoder_archive;
  networks.encoder->save(encoder_archive);
  archive.write("encoder", encoder_archive);
  torch::serialize::OutputArchive decoder_archive;
  networks.decoder->save(decoder_archive);
  archive.write("decoder", decoder_archive);
  archive.save_to(path);
  Autoencoder model(make_context());
  const at::Tensor latents = torch::randn({2, 20});
  const at::Tensor before = model.decode(latents);

  try {
    model.load(path);
    FAIL() << "load accepted a file with code_mean but no code_std";
  } catch (const IoError& error) {
    EXPECT_THAT(error.what(), HasSubstr("missing or malformed code distribution"));
  }
  EXPECT_TRUE(torch::equal(model.decode(latents), before));
}

TEST(Autoencoder, ErrorsNameTheAutoencoder) {
  Autoencoder model(make_context());

  try {
    model.decode(torch::rand({2, 7}));
    FAIL() << "decode accepted latents of width 7";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("autoencoder decode: latents must be [N, 20]"));
  }
  try {
    Autoencoder invalid(make_context({{"latent_dim", std::int64_t{0}}}));
    FAIL() << "latent_dim 0 was accepted";
  } catch (const ConfigError& error) {
    EXPECT_THAT(error.what(), HasSubstr("autoencoder: parameter 'latent_dim'"));
  }
}

}  // namespace
}  // namespace genmem
