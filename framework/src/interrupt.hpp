#pragma once

#include <string>

#include <genmem/error.hpp>

namespace genmem {

/// Thrown at the next safe point after SIGINT or SIGTERM: between steps or epochs.
class InterruptedError : public Error {
 public:
  using Error::Error;
  ~InterruptedError() override;
};

/// Catches SIGINT and SIGTERM while it lives. After the first signal, `throw_if_interrupted`
/// throws at the run's next safe point. A second signal ends the process at once. Handlers nest:
/// a handler created while another exists, as by each run of a comparison, leaves the outer
/// handler's installation and received signal unchanged.
class InterruptHandler {
 public:
  InterruptHandler();
  ~InterruptHandler();
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;
};

/// Throws InterruptedError when a signal has arrived since the handler was installed.
void throw_if_interrupted();

/// Returns the signal that arrived, as "SIGINT (Ctrl-C)" or "SIGTERM", or "" when none did.
std::string received_signal_name();

}  // namespace genmem
