#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <genmem/parameters.hpp>

namespace genmem {

class GenerativeModel;
struct RunContext;
struct Scenario;

/// Resources that a step's preflight check may use besides the scenario.
struct PreflightContext {
  /// Creates a neocortex as the scenario's `[models]` configure it, apart from the run's own, or
  /// returns null when the scenario has none. Empty where no models can be created.
  std::function<std::unique_ptr<GenerativeModel>()> make_neocortex;
};

/// One action of a scenario, such as storing the training images in the hippocampus.
class Step {
 public:
  virtual ~Step();
  virtual void run(RunContext& context) = 0;
};

/// A caption for a figure a step writes. `stem` is the file name under `figures/` without its
/// extension, and may hold `*` wildcards (for example `imagination_*`).
struct FigureCaption {
  std::string stem;
  std::string caption;
};

/// A step kind that scenarios name in `[[steps]] run = "..."`.
struct StepKind {
  std::string name;
  std::string help;
  std::vector<ParameterSpec> parameters;
  std::function<std::unique_ptr<Step>(const Parameters&)> create;
  /// `[models]` roles the step uses, checked when the scenario is validated.
  std::vector<std::string> required_roles;
  /// Checks step `index` (counting from 0) against the rest of the scenario at validation.
  /// Returns "" when it fits, else the problem, for example "needs a store step before it".
  std::function<std::string(const Scenario&, std::size_t index)> check;
  /// Captions of the figures the step writes, in the order a report shows them.
  std::vector<FigureCaption> figures = {};
  /// Checks step `index` (counting from 0) against what lies outside the scenario, such as the
  /// files it reads, before a run creates its folder. Throws a genmem Error. Empty when the step
  /// reads nothing outside the scenario.
  std::function<void(const Scenario&, std::size_t index, const PreflightContext&)> preflight = {};
};

/// Returns whether a step of kind `kind` comes before step `index`.
bool has_step_before(const Scenario& scenario, std::size_t index, const std::string& kind);

/// Returns every registered step kind, in the order a typical scenario uses them.
const std::vector<StepKind>& step_kinds();

/// Returns the kind called `name`, or nullptr.
const StepKind* find_step_kind(const std::string& name);

/// Returns the names of every registered step kind, in the order of `step_kinds`.
std::vector<std::string> step_kind_names();

// Each step family registers its kinds through one of these.
StepKind store_step_kind();
StepKind replay_step_kind();
StepKind train_step_kind();
StepKind evaluate_step_kind();
StepKind class_variance_step_kind();
StepKind load_step_kind();
StepKind few_shot_step_kind();
StepKind imagination_step_kind();
StepKind boundary_extension_step_kind();
StepKind extended_recall_step_kind();
StepKind carmichael_step_kind();
StepKind capacity_step_kind();

}  // namespace genmem
