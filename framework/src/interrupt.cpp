#include "interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

#include <fmt/format.h>
#include <unistd.h>

namespace genmem {
namespace {

std::atomic<int> received_signal{0};

// Handlers alive now. Only the outermost installs the signal handlers and removes them.
int handler_depth = 0;

extern "C" void on_signal(int signal) {
  received_signal.store(signal);
  // The next signal takes the default action, so a second Ctrl-C stops the program at once.
  std::signal(signal, SIG_DFL);
  const char message[] =
      "\ngenmem: stopping at the next safe point (after the current epoch, part of a long step "
      "or run); press Ctrl-C again to stop at once\n";
  // write() is safe in a signal handler; its result is irrelevant here.
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
}

}  // namespace

InterruptedError::~InterruptedError() = default;

InterruptHandler::InterruptHandler() {
  if (handler_depth++ > 0) {
    return;
  }
  received_signal.store(0);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

InterruptHandler::~InterruptHandler() {
  if (--handler_depth > 0) {
    return;
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::string received_signal_name() {
  const int signal = received_signal.load();
  if (signal == 0) {
    return "";
  }
  return signal == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM";
}

void throw_if_interrupted() {
  if (const std::string name = received_signal_name(); !name.empty()) {
    throw InterruptedError(fmt::format(
        "run interrupted by {}; the run folder keeps the results written so far", name));
  }
}

}  // namespace genmem
