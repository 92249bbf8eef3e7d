#include "steps/step.hpp"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>

#include "analysis/statistics.hpp"
#include "steps/run_context.hpp"

namespace genmem {

Step::~Step() = default;

RunContext::RunContext(const Scenario& scenario, const RunFolder& output, DataSplit data)
    : scenario(scenario),
      output(output),
      data(std::move(data)),
      generator(
          at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(scenario.seed))) {}

nlohmann::json describe_correlation(const RankCorrelation& correlation) {
  return {
      {"rho", correlation.rho},
      {"p_value", correlation.p_value},
      {"p_value_exact",
       std::isnan(correlation.exact_p_value) ? nlohmann::json(nullptr)
                                             : nlohmann::json(correlation.exact_p_value)},
  };
}

const std::vector<StepKind>& step_kinds() {
  static const std::vector<StepKind> kinds = {
      load_step_kind(),
      store_step_kind(),
      replay_step_kind(),
      train_step_kind(),
      evaluate_step_kind(),
      class_variance_step_kind(),
      few_shot_step_kind(),
      imagination_step_kind(),
      boundary_extension_step_kind(),
      extended_recall_step_kind(),
      carmichael_step_kind(),
      capacity_step_kind(),
  };
  return kinds;
}

bool has_step_before(const Scenario& scenario, std::size_t index, const std::string& kind) {
  for (std::size_t i = 0; i < index && i < scenario.steps.size(); ++i) {
    if (scenario.steps[i].kind == kind) {
      return true;
    }
  }
  return false;
}

const StepKind* find_step_kind(const std::string& name) {
  for (const auto& kind : step_kinds()) {
    if (kind.name == name) {
      return &kind;
    }
  }
  return nullptr;
}

std::vector<std::string> step_kind_names() {
  std::vector<std::string> names;
  for (const auto& kind : step_kinds()) {
    names.push_back(kind.name);
  }
  return names;
}

}  // namespace genmem
