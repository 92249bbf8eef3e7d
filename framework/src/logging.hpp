#pragma once

namespace genmem {

/// Sets up the default spdlog logger on standard error. `verbosity` is -1 for warnings and
/// errors only, 0 for milestones and 1 for per-epoch detail.
void configure_logging(int verbosity);

}  // namespace genmem
