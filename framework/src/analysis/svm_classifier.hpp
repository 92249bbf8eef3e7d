#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace genmem {

/// Settings of the semantic-decoding measure. The defaults follow the original protocol: split
/// the items in half with a seeded shuffle, fit on 200 items of the first half, score on 750 of
/// the second.
struct DecodingOptions {
  std::int64_t train_items = 200;
  std::int64_t test_items = 750;
  std::uint64_t seed = 1;
};

/// Fits an RBF support-vector classifier (libsvm C-SVC, C = 1, gamma = 1 / (features * variance),
/// as scikit-learn's `SVC(gamma="scale")`) on standardised features and returns its accuracy.
/// `features` is `[N, F]`, `labels` int64 `[N]`.
double svm_accuracy(
    const at::Tensor& train_features,
    const at::Tensor& train_labels,
    const at::Tensor& test_features,
    const at::Tensor& test_labels);

/// Splits `features` and `labels` as set in `options` and returns the classifier's test accuracy.
double decoding_accuracy(
    const at::Tensor& features, const at::Tensor& labels, const DecodingOptions& options);

}  // namespace genmem
