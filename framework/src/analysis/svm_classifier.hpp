#pragma once

#include <cstdint>
#include <memory>

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

/// An RBF support-vector classifier (libsvm C-SVC, C = 1, gamma = 1 / (features * variance), as
/// scikit-learn's `SVC(gamma="scale")`) on features standardised with the training statistics,
/// as scikit-learn's `make_pipeline(StandardScaler(), SVC())`.
class SvmClassifier {
 public:
  /// Fits on `features [N, ...]` (flattened to `[N, F]`) and int64 `labels [N]`. With
  /// `probability`, libsvm also fits Platt scaling by internal cross-validation, as
  /// `SVC(probability=True)`, so that predict_probability works. Throws ModelError when a
  /// feature is not finite.
  SvmClassifier(const at::Tensor& features, const at::Tensor& labels, bool probability = false);
  ~SvmClassifier();
  SvmClassifier(const SvmClassifier&) = delete;
  SvmClassifier& operator=(const SvmClassifier&) = delete;

  /// Returns the predicted label of each row, int64 `[M]`.
  at::Tensor predict(const at::Tensor& features) const;

  /// Returns the probability of each class, float64 `[M, K]`, with column k the k-th smallest
  /// training label. Throws ModelError unless fitted with `probability`.
  at::Tensor predict_probability(const at::Tensor& features) const;

  /// Returns the fraction of rows whose predicted label equals `labels`.
  double score(const at::Tensor& features, const at::Tensor& labels) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
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
