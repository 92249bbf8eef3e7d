#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace genmem {

void configure_logging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("genmem");
  logger->set_pattern("%^[%H:%M:%S %l]%$ %v");
  if (verbosity < 0) {
    logger->set_level(spdlog::level::warn);
  } else if (verbosity == 0) {
    logger->set_level(spdlog::level::info);
  } else {
    logger->set_level(spdlog::level::debug);
  }
  spdlog::set_default_logger(logger);
}

}  // namespace genmem
