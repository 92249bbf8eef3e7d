#include "analysis/svm_classifier.hpp"

#include <algorithm>
#include <cstdlib>
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

std::vector<svm_node> make_row(const float* values, std::int64_t count) {
  std::vector<svm_node> row(static_cast<std::size_t>(count) + 1);
  for (std::int64_t j = 0; j < count; ++j) {
    row[j].index = static_cast<int>(j + 1);
    row[j].value = values[j];
  }
  row[count].index = -1;
  return row;
}

at::Tensor flat_float(const at::Tensor& features) {
  at::Tensor flat = features.to(at::kFloat).reshape({features.size(0), -1});
  if (!at::isfinite(flat).all().item<bool>()) {
    throw ModelError(
        "semantic decoding received non-finite features; the model's latents are "
        "NaN or infinite");
  }
  return flat;
}

}  // namespace

// libsvm keeps pointers into the training rows, so they live as long as the model.
struct SvmClassifier::State {
  at::Tensor mean;
  at::Tensor scale;
  std::vector<std::vector<svm_node>> rows;
  std::vector<svm_node*> row_pointers;
  std::vector<double> targets;
  svm_problem problem{};
  svm_parameter parameter{};
  svm_model* model = nullptr;

  ~State() {
    if (model != nullptr) {
      svm_free_and_destroy_model(&model);
    }
  }

  // Standardises `features` with the training statistics; constant features stay at zero.
  at::Tensor standardise(const at::Tensor& features) const {
    return ((flat_float(features) - mean) / scale).contiguous();
  }
};

SvmClassifier::SvmClassifier(const at::Tensor& features, const at::Tensor& labels, bool probability)
    : state_(std::make_unique<State>()) {
  at::NoGradGuard no_grad;
  State& state = *state_;
  const at::Tensor flat = flat_float(features);
  state.mean = flat.mean(0, /*keepdim=*/true);
  const at::Tensor spread = flat.std(0, /*unbiased=*/false, /*keepdim=*/true);
  state.scale = at::where(spread > 0, spread, at::ones_like(spread));
  const at::Tensor train = state.standardise(flat);
  const double variance = train.var(/*unbiased=*/false).item<double>();

  const std::int64_t n = train.size(0);
  const std::int64_t f = train.size(1);
  const at::Tensor targets = labels.to(at::kLong).contiguous();
  for (std::int64_t i = 0; i < n; ++i) {
    state.rows.push_back(make_row(train.data_ptr<float>() + i * f, f));
    state.targets.push_back(static_cast<double>(targets.data_ptr<std::int64_t>()[i]));
  }
  for (auto& row : state.rows) {
    state.row_pointers.push_back(row.data());
  }
  state.problem.l = static_cast<int>(n);
  state.problem.y = state.targets.data();
  state.problem.x = state.row_pointers.data();

  svm_parameter& parameter = state.parameter;
  parameter.svm_type = C_SVC;
  parameter.kernel_type = RBF;
  parameter.gamma = variance > 0 ? 1.0 / (static_cast<double>(f) * variance) : 1.0;
  parameter.C = 1.0;
  parameter.cache_size = 200;
  parameter.eps = 1e-3;
  parameter.shrinking = 1;
  parameter.probability = probability ? 1 : 0;
  svm_set_print_string_function(&silence_libsvm);
  // libsvm draws the cross-validation folds of its probability fit from rand(); a fixed seed
  // makes the fit repeatable.
  std::srand(1);
  if (const char* problem = svm_check_parameter(&state.problem, &parameter)) {
    throw ModelError(fmt::format("libsvm rejected the classifier settings: {}", problem));
  }
  state.model = svm_train(&state.problem, &parameter);
}

SvmClassifier::~SvmClassifier() = default;

at::Tensor SvmClassifier::predict(const at::Tensor& features) const {
  at::NoGradGuard no_grad;
  const at::Tensor data = state_->standardise(features);
  const std::int64_t n = data.size(0);
  const std::int64_t f = data.size(1);
  at::Tensor predicted = at::empty({n}, at::kLong);
  for (std::int64_t i = 0; i < n; ++i) {
    auto row = make_row(data.data_ptr<float>() + i * f, f);
    predicted[i] = static_cast<std::int64_t>(svm_predict(state_->model, row.data()));
  }
  return predicted;
}

at::Tensor SvmClassifier::predict_probability(const at::Tensor& features) const {
  at::NoGradGuard no_grad;
  if (svm_check_probability_model(state_->model) == 0) {
    throw ModelError("the classifier was fitted without probability estimates");
  }
  const int classes = svm_get_nr_class(state_->model);
  std::vector<int> model_labels(static_cast<std::size_t>(classes));
  svm_get_labels(state_->model, model_labels.data());
  // libsvm orders its classes by first appearance; columns follow the sorted labels.
  std::vector<int> sorted = model_labels;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> column(static_cast<std::size_t>(classes));
  for (int k = 0; k < classes; ++k) {
    column[static_cast<std::size_t>(k)] =
        std::lower_bound(sorted.begin(), sorted.end(), model_labels[static_cast<std::size_t>(k)])
        - sorted.begin();
  }

  const at::Tensor data = state_->standardise(features);
  const std::int64_t n = data.size(0);
  const std::int64_t f = data.size(1);
  at::Tensor probabilities = at::empty({n, classes}, at::kDouble);
  auto* out = probabilities.data_ptr<double>();
  std::vector<double> estimates(static_cast<std::size_t>(classes));
  for (std::int64_t i = 0; i < n; ++i) {
    auto row = make_row(data.data_ptr<float>() + i * f, f);
    svm_predict_probability(state_->model, row.data(), estimates.data());
    for (int k = 0; k < classes; ++k) {
      out[i * classes + column[static_cast<std::size_t>(k)]] =
          estimates[static_cast<std::size_t>(k)];
    }
  }
  return probabilities;
}

double SvmClassifier::score(const at::Tensor& features, const at::Tensor& labels) const {
  const at::Tensor predicted = predict(features);
  return predicted.eq(labels.to(at::kLong)).to(at::kDouble).mean().item<double>();
}

double svm_accuracy(
    const at::Tensor& train_features,
    const at::Tensor& train_labels,
    const at::Tensor& test_features,
    const at::Tensor& test_labels) {
  const SvmClassifier classifier(train_features, train_labels);
  return classifier.score(test_features, test_labels);
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
