#pragma once

#include <cstdlib>

namespace genmem::benchmarks {

/// Returns LibTorch's intra-op thread count for a benchmark: $GENMEM_THREADS when it is a positive
/// integer, else 2.
inline int thread_count() {
  const char* value = std::getenv("GENMEM_THREADS");
  if (value == nullptr || *value == '\0') {
    return 2;
  }
  const int threads = std::atoi(value);
  return threads > 0 ? threads : 2;
}

}  // namespace genmem::benchmarks
