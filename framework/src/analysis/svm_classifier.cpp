#include "analysis/svm_classifier.hpp"

#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <svm.h>

#include <genmem/error.hpp>

namespace genmem {
namespace {

void silence_libsvm(const char* /*message*/) {}

// libsvm keeps pointers into these buffers, so they live as long as the model.
struct SvmProblem {
  std::vector<std::vector<svm_node>> rows;
  std::vector<svm_node*> row_pointers;
  std::vector<double> targets;
  svm_problem problem{};
};

std::vector<svm_node> make_row(const float* values, std::int64_t count) {
  std::vector<svm_node> row(static_cast<std::size_t>(count) + 1);
  for (std::int64_t j = 0; j < count; ++j) {
    row[j].index = static_cast<int>(j + 1);
    row[j].value = values[j];
  }
  row[count].index = -1;
  return row;
}

void fill_problem(SvmProblem& data, const at::Tensor& features, const at::Tensor& labels) {
  const std::int64_t n = features.size(0);
  const std::int64_t f = features.size(1);
  const float* values = features.data_ptr<float>();
  const std::int64_t* targets = labels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    data.rows.push_back(make_row(values + i * f, f));
    data.targets.push_back(static_cast<double>(targets[i]));
  }
  for (auto& row : data.rows) {
    data.row_pointers.push_back(row.data());
  }
  data.problem.l = static_cast<int>(n);
  data.problem.y = data.targets.data();
  data.problem.x = data.row_pointers.data();
}

}  // namespace

double svm_accuracy(
    const at::Tensor& train_features,
    const at::Tensor& train_labels,
    const at::Tensor& test_features,
    const at::Tensor& test_labels) {
  at::NoGradGuard no_grad;
  at::Tensor train = train_features.to(at::kFloat).reshape({train_features.size(0), -1});
  at::Tensor test = test_features.to(at::kFloat).reshape({test_features.size(0), -1});
  if (!at::isfinite(train).all().item<bool>() || !at::isfinite(test).all().item<bool>()) {
    throw ModelError(
        "semantic decoding received non-finite features; the model's latents are "
        "NaN or infinite");
  }

  // Standardise with the training statistics; constant features are left at zero.
  const at::Tensor mean = train.mean(0, /*keepdim=*/true);
  at::Tensor scale = train.std(0, /*unbiased=*/false, /*keepdim=*/true);
  scale = at::where(scale > 0, scale, at::ones_like(scale));
  train = ((train - mean) / scale).contiguous();
  test = ((test - mean) / scale).contiguous();

  const double variance = train.var(/*unbiased=*/false).item<double>();
  const double gamma = variance > 0 ? 1.0 / (static_cast<double>(train.size(1)) * variance) : 1.0;

  SvmProblem data;
  fill_problem(data, train, train_labels.to(at::kLong).contiguous());

  svm_parameter parameter{};
  parameter.svm_type = C_SVC;
  parameter.kernel_type = RBF;
  parameter.gamma = gamma;
  parameter.C = 1.0;
  parameter.cache_size = 200;
  parameter.eps = 1e-3;
  parameter.shrinking = 1;
  parameter.probability = 0;
  svm_set_print_string_function(&silence_libsvm);
  if (const char* problem = svm_check_parameter(&data.problem, &parameter)) {
    throw ModelError(fmt::format("libsvm rejected the classifier settings: {}", problem));
  }
  std::unique_ptr<svm_model, void (*)(svm_model*)> model(
      svm_train(&data.problem, &parameter),
      [](svm_model* pointer) { svm_free_and_destroy_model(&pointer); });

  const at::Tensor labels = test_labels.to(at::kLong).contiguous();
  const std::int64_t n = test.size(0);
  const std::int64_t f = test.size(1);
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    auto row = make_row(test.data_ptr<float>() + i * f, f);
    const double predicted = svm_predict(model.get(), row.data());
    if (static_cast<std::int64_t>(predicted) == labels[i].item<std::int64_t>()) {
      ++correct;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

double decoding_accuracy(
    const at::Tensor& features, const at::Tensor& labels, const DecodingOptions& options) {
  const std::int64_t n = features.size(0);
  const std::int64_t half = n / 2;
  if (options.train_items > half || options.test_items > n - half) {
    throw ConfigError(fmt::format(
        "semantic decoding needs {} training and {} test items from two halves of {} items; "
        "raise [data] test_items to at least {} or lower the decoding sizes",
        options.train_items,
        options.test_items,
        n,
        2 * std::max(options.train_items, options.test_items)));
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const at::Tensor order = at::randperm(n, generator, at::kLong);
  const at::Tensor train_index = order.slice(0, 0, options.train_items);
  const at::Tensor test_index = order.slice(0, half, half + options.test_items);
  return svm_accuracy(
      features.index_select(0, train_index),
      labels.index_select(0, train_index),
      features.index_select(0, test_index),
      labels.index_select(0, test_index));
}

}  // namespace genmem
