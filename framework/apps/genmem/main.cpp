// genmem: runs memory simulations described by scenario files.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <genmem/error.hpp>

#include "compare.hpp"
#include "guarded_models.hpp"
#include "interrupt.hpp"
#include "logging.hpp"
#include "plugin_loader.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "scenario_schema.hpp"
#include "steps/step.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

// Runs 'genmem shapes3d-figures'. Defined in shapes3d_figures.cpp.
int shapes3d_figures_command(const std::vector<std::string>& arguments);

namespace {

// Exit codes: 0 success, 1 a run or input failed, 2 the command line was invalid, 130 the run
// was interrupted (128 + SIGINT, as shells report it).
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;

constexpr const char* kUsage = R"(Usage: genmem COMMAND [OPTIONS]

Commands:
  run SCENARIO        run a scenario and write its results to a new run folder
  validate SCENARIO   check a scenario and print it with every default filled in
  compare SCENARIO    run a scenario for every combination of varied settings and seeds, and
                      tabulate the results
  report FOLDER       redraw the plots and rewrite report.html of a run or comparison folder
  plugins             list the plugins and steps; --describe NAME shows the parameters of one
  shapes3d-figures    write the Shapes3D figures of docs/figures (for maintainers)

Run 'genmem COMMAND --help' for a command's options.
)";

struct CommonOptions {
  std::vector<std::string> plugin_paths;
  bool verbose = false;
  bool quiet = false;
};

void add_common_options(po::options_description& description, CommonOptions& common) {
  description.add_options()("help,h", "show this help")(
      "plugin-path",
      po::value(&common.plugin_paths)->composing(),
      "folder searched for plugins before GENMEM_PLUGIN_PATH, the scenario's plugin_paths, the "
      "build tree and the install prefix; repeatable")(
      "verbose,v", po::bool_switch(&common.verbose), "log debug detail too (plugin files loaded)")(
      "quiet,q",
      po::bool_switch(&common.quiet),
      "log warnings and errors only, and show no progress bars");
}

std::vector<fs::path> to_paths(const std::vector<std::string>& texts) {
  return {texts.begin(), texts.end()};
}

po::variables_map parse(
    const std::vector<std::string>& arguments,
    const po::options_description& options,
    const po::positional_options_description& positional) {
  po::variables_map values;
  po::store(
      po::command_line_parser(arguments)
          .options(options)
          .positional(positional)
          // Without guessing, an abbreviation such as --seed for --seeds is an unknown option.
          .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
          .run(),
      values);
  po::notify(values);
  return values;
}

// Adds the options of the commands that read a scenario: the file itself and --set.
void add_scenario_options(
    po::options_description& options,
    std::string& scenario,
    std::vector<std::string>& assignments) {
  // A --set that is not key=value is a malformed command line, so a usage error (exit status 2).
  const auto check_assignments = [](const std::vector<std::string>& values) {
    for (const std::string& value : values) {
      try {
        genmem::check_assignment_syntax(genmem::normalise_assignment(value));
      } catch (const genmem::ConfigError& error) {
        throw po::error(error.what());
      }
    }
  };
  options.add_options()("scenario", po::value(&scenario), "scenario file (TOML)")(
      "set",
      po::value(&assignments)->composing()->notifier(check_assignments),
      "override a scenario key, for example --set models.hippocampus.beta=50; repeatable");
}

// Parses a command whose one positional argument is the scenario file. Returns nothing when
// --help was given and the help has been printed.
std::optional<po::variables_map> parse_scenario_command(
    const std::string& command,
    const std::vector<std::string>& arguments,
    const po::options_description& options,
    const std::string& scenario) {
  po::positional_options_description positional;
  positional.add("scenario", 1);
  auto values = parse(arguments, options, positional);
  if (values.count("help") > 0) {
    std::cout << options << "\n";
    return std::nullopt;
  }
  if (scenario.empty()) {
    throw po::error(fmt::format(
        "a scenario file is required, for example genmem {} scenarios/mnist/consolidation.toml",
        command));
  }
  return values;
}

void start_logging(const CommonOptions& common) {
  genmem::configure_logging(common.quiet ? -1 : (common.verbose ? 1 : 0));
  genmem::set_progress_enabled(!common.quiet);
}

// Prints the summary's headline numbers, one per line and aligned, up to 40 of them.
void print_headline(const nlohmann::json& summary) {
  constexpr std::size_t kMaxLines = 40;
  const auto numbers = genmem::headline_numbers(summary);
  const std::size_t shown = std::min(numbers.size(), kMaxLines);
  std::size_t width = 0;
  for (std::size_t i = 0; i < shown; ++i) {
    width = std::max(width, numbers[i].first.size());
  }
  for (std::size_t i = 0; i < shown; ++i) {
    std::cout << fmt::format("  {:<{}}  {}\n", numbers[i].first, width, numbers[i].second);
  }
  if (numbers.size() > shown) {
    std::cout << fmt::format(
        "  ... and {} more in summary.json and report.html\n", numbers.size() - shown);
  }
}

// Returns `threads` from --threads, or throws the usage error that names the allowed range.
std::int64_t checked_threads(std::int64_t threads) {
  if (threads < 1 || threads > genmem::kMaxThreads) {
    throw po::error(
        fmt::format("--threads must be 1 to {} (got {})", genmem::kMaxThreads, threads));
  }
  return threads;
}

int run_command(const std::vector<std::string>& arguments) {
  CommonOptions common;
  genmem::RunOptions run;
  std::string scenario;
  std::string output;
  std::int64_t seed = -1;
  std::int64_t threads = 0;
  po::options_description options("Usage: genmem run SCENARIO [OPTIONS]\n\nOptions");
  add_common_options(options, common);
  add_scenario_options(options, scenario, run.overrides.assignments);
  options.add_options()(
      "output,o",
      po::value(&output),
      "run folder to create (must not exist or be empty); default runs/<name>/<UTC time>")(
      "seed", po::value(&seed), "seed for every random generator, replacing scenario.seed")(
      "threads", po::value(&threads), "LibTorch threads, replacing scenario.threads")(
      "recompute-replays",
      "recompute replays even when an earlier run with the same memory, data and replay "
      "settings saved them");
  const auto parsed = parse_scenario_command("run", arguments, options, scenario);
  if (!parsed) {
    return EXIT_SUCCESS;
  }
  const po::variables_map& values = *parsed;
  start_logging(common);
  run.scenario_file = scenario;
  run.overrides.plugin_paths = to_paths(common.plugin_paths);
  if (values.count("output") > 0 && output.empty()) {
    throw po::error("--output needs a folder name");
  }
  run.output_dir = output;
  if (values.count("seed") > 0) {
    if (seed < 0) {
      throw po::error(fmt::format("--seed must be at least 0 (got {})", seed));
    }
    run.seed = seed;
  }
  if (values.count("threads") > 0) {
    run.threads = checked_threads(threads);
  }
  run.recompute_replays = values.count("recompute-replays") > 0;

  const genmem::RunOutcome outcome = genmem::run_scenario(run);
  print_headline(outcome.summary);
  std::cout << fmt::format(
      "Run complete in {:.1f} s: {}\n", outcome.seconds, outcome.folder.string());
  if (!outcome.report.empty()) {
    std::cout << "Report: " << outcome.report.string() << "\n";
  }
  return EXIT_SUCCESS;
}

int validate_command(const std::vector<std::string>& arguments) {
  CommonOptions common;
  genmem::RunOptions run;
  std::string scenario;
  po::options_description options("Usage: genmem validate SCENARIO [OPTIONS]\n\nOptions");
  add_common_options(options, common);
  add_scenario_options(options, scenario, run.overrides.assignments);
  if (!parse_scenario_command("validate", arguments, options, scenario)) {
    return EXIT_SUCCESS;
  }
  common.quiet = !common.verbose;
  start_logging(common);
  run.scenario_file = scenario;
  run.overrides.plugin_paths = to_paths(common.plugin_paths);
  const genmem::Scenario resolved = genmem::prepare_scenario(run);
  genmem::check_models(resolved, run.overrides);
  std::cout << genmem::format_scenario(resolved);
  std::cerr << "genmem: scenario '" << scenario << "' is valid\n";
  // What the steps read from outside the file, such as a checkpoint that a later run will write,
  // does not make the scenario invalid, but a run would stop on it now.
  for (const std::string& problem : genmem::check_step_inputs(resolved, run.overrides)) {
    std::cerr << "genmem: warning: a run would stop now: " << problem << "\n";
  }
  return EXIT_SUCCESS;
}

int compare_command(const std::vector<std::string>& arguments) {
  CommonOptions common;
  genmem::CompareOptions compare;
  std::string scenario;
  std::string output;
  std::vector<std::string> vary;
  std::int64_t seeds = 0;
  std::int64_t threads = 0;
  po::options_description options(
      "Usage: genmem compare SCENARIO [--vary KEY=V1,V2]... [--seeds N] [OPTIONS]\n\n"
      "Runs the scenario once per combination of the varied values and per seed, each in its own\n"
      "run folder, then writes comparison.csv, comparison.md and a plot per metric. Running the\n"
      "same command again reuses the runs that completed.\n\nOptions");
  add_common_options(options, common);
  add_scenario_options(options, scenario, compare.run.overrides.assignments);
  options.add_options()(
      "vary",
      po::value(&vary)->composing(),
      "a key and the values it takes, for example --vary "
      "models.hippocampus.plugin=modern_hopfield,classical_hopfield (commas inside [...] or a "
      "string stay in the value); repeatable, replaces the scenario's [compare.vary] entry for "
      "the same key")(
      "seeds",
      po::value(&seeds),
      "seeds per variant, from scenario.seed up; replaces compare.seeds")(
      "metric",
      po::value(&compare.metrics)->composing(),
      "summary key shown in the table and plotted, for example replay.distinct_memories; "
      "repeatable, replaces compare.metrics")(
      "output,o",
      po::value(&output),
      "folder of the comparison; default runs/<name>-compare. Reusing it resumes the comparison")(
      "threads", po::value(&threads), "LibTorch threads, replacing scenario.threads");
  const auto parsed = parse_scenario_command("compare", arguments, options, scenario);
  if (!parsed) {
    return EXIT_SUCCESS;
  }
  start_logging(common);
  compare.run.scenario_file = scenario;
  compare.run.overrides.plugin_paths = to_paths(common.plugin_paths);
  for (const auto& text : vary) {
    try {
      compare.vary.push_back(genmem::parse_vary(text));
    } catch (const genmem::ConfigError& error) {
      throw po::error(error.what());
    }
  }
  if (parsed->count("seeds") > 0) {
    if (seeds < 1 || seeds > genmem::kMaxCompareSeeds) {
      throw po::error(
          fmt::format("--seeds must be 1 to {} (got {})", genmem::kMaxCompareSeeds, seeds));
    }
    compare.seeds = seeds;
  }
  if (parsed->count("threads") > 0) {
    compare.run.threads = checked_threads(threads);
  }
  compare.output_dir = output;

  const genmem::CompareOutcome outcome = genmem::run_comparison(compare);
  std::size_t failed = 0;
  for (const auto& run : outcome.runs) {
    failed += run.status == "failed" ? 1 : 0;
  }
  std::ifstream table(outcome.folder / "comparison.md");
  std::cout << table.rdbuf() << "\nComparison in " << outcome.folder.string() << ": "
            << outcome.runs.size() - failed << " of " << outcome.runs.size() << " runs completed\n";
  if (fs::exists(outcome.folder / "report.html")) {
    std::cout << "Report: " << (outcome.folder / "report.html").string() << "\n";
  }
  if (failed > 0) {
    std::cerr << "genmem: error: " << failed << " of " << outcome.runs.size()
              << " runs failed; comparison.md lists them. Fix the cause and run the same command "
                 "again to finish the rest\n";
    return kExitFailure;
  }
  return EXIT_SUCCESS;
}

int report_command(const std::vector<std::string>& arguments) {
  CommonOptions common;
  std::string folder;
  po::options_description options(
      "Usage: genmem report FOLDER [OPTIONS]\n\n"
      "Redraws the plots of a run folder (made by genmem run) or a comparison folder (made by\n"
      "genmem compare) from their kept data files and gnuplot scripts, draws the training curves\n"
      "and latent map from metrics.csv and latent_map.csv, and rewrites report.html. Nothing is\n"
      "recomputed.\n\nOptions");
  add_common_options(options, common);
  options.add_options()("folder", po::value(&folder), "run or comparison folder");
  po::positional_options_description positional;
  positional.add("folder", 1);
  const auto values = parse(arguments, options, positional);
  if (values.count("help") > 0) {
    std::cout << options << "\n";
    return EXIT_SUCCESS;
  }
  if (folder.empty()) {
    throw po::error(
        "a folder is required, for example genmem report runs/mnist-consolidation/"
        "20261204T120000Z");
  }
  start_logging(common);
  std::error_code error;
  if (!fs::exists(folder, error)) {
    throw genmem::ConfigError(fmt::format(
        "'{}' does not exist; give a run folder (made by genmem run) or a comparison folder (made "
        "by genmem compare)",
        folder));
  }
  const fs::path report = genmem::is_comparison_folder(folder)
      ? genmem::write_comparison_report(folder, genmem::PlotRedraw::kAll)
      : genmem::write_run_report(folder, genmem::PlotRedraw::kAll);
  std::cout << "Report: " << report.string() << "\n";
  return EXIT_SUCCESS;
}

// Formats the allowed values: "[1, 10]", "(0, inf)", or the choices joined by `separator`, each
// wrapped in `quote`. Returns "" when any value of the type is allowed.
std::string format_range(
    const genmem::ParameterSpec& spec, const std::string& separator, const std::string& quote) {
  if (spec.type == genmem::ParameterType::kChoice) {
    std::string choices;
    for (const auto& choice : spec.choices) {
      choices += (choices.empty() ? "" : separator) + quote + choice + quote;
    }
    return choices;
  }
  if (!spec.min && !spec.max) {
    return "";
  }
  return fmt::format(
      "{}{}, {}",
      spec.min_exclusive || !spec.min ? "(" : "[",
      spec.min ? fmt::format("{}", *spec.min) : "-inf",
      spec.max ? fmt::format("{}]", *spec.max) : "inf)");
}

void describe_parameters(const std::vector<genmem::ParameterSpec>& parameters) {
  for (const auto& spec : parameters) {
    const std::string range = format_range(spec, " | ", "");
    std::cout << fmt::format(
        "  {:<20} {:<8} default {:<14} {}{}\n      {}\n",
        spec.name,
        genmem::parameter_type_name(spec.type),
        genmem::format_parameter_value(spec.default_value),
        range.empty() ? "" : "range " + range,
        spec.unit.empty() ? "" : " (" + spec.unit + ")",
        spec.help);
  }
}

void print_markdown_table(
    const std::string& heading, const std::vector<genmem::ParameterSpec>& specs) {
  std::cout << "\n### " << heading << "\n\n| key | type | default | range | unit | meaning |\n"
            << "|---|---|---|---|---|---|\n";
  for (const auto& spec : specs) {
    std::cout << fmt::format(
        "| `{}` | {} | `{}` | {} | {} | {} |\n",
        spec.name,
        genmem::parameter_type_name(spec.type),
        genmem::format_parameter_value(spec.default_value),
        format_range(spec, ", ", "`"),
        spec.unit,
        spec.help);
  }
}

// Prints the reference tables of docs/scenario-format.md from the declarations themselves.
void print_reference(const std::vector<genmem::LoadedPlugin>& plugins) {
  print_markdown_table("[scenario]", genmem::scenario_section_parameters());
  print_markdown_table("[data]", genmem::data_section_parameters());
  for (const auto& plugin : plugins) {
    print_markdown_table(
        fmt::format(
            "[models.ROLE] with plugin = \"{}\" ({})",
            plugin.name,
            genmem::plugin_role_name(plugin.role)),
        plugin.parameters);
  }
  for (const auto& kind : genmem::step_kinds()) {
    print_markdown_table(
        fmt::format("[[steps]] run = \"{}\": {}", kind.name, kind.help), kind.parameters);
  }
}

int plugins_command(const std::vector<std::string>& arguments) {
  CommonOptions common;
  std::string describe;
  po::options_description options("Usage: genmem plugins [--describe NAME] [OPTIONS]\n\nOptions");
  add_common_options(options, common);
  options.add_options()(
      "describe", po::value(&describe), "show the parameters of one plugin or step kind")(
      "markdown",
      "print every scenario key of the core, the plugins found and the steps as "
      "Markdown tables");
  const auto values = parse(arguments, options, {});
  if (values.count("help") > 0) {
    std::cout << options << "\n";
    return EXIT_SUCCESS;
  }
  start_logging(common);
  genmem::PluginLoader loader(
      genmem::PluginLoader::default_search_path(to_paths(common.plugin_paths), {}));

  // A step kind is described like a plugin, since its parameters are scenario keys too.
  if (const genmem::StepKind* kind = genmem::find_step_kind(describe); kind != nullptr) {
    std::cout << fmt::format(
        "{} (step)\n{}\n\nParameters ([[steps]] run = \"{}\" keys):\n",
        kind->name,
        kind->help,
        kind->name);
    describe_parameters(kind->parameters);
    return EXIT_SUCCESS;
  }
  if (!describe.empty()) {
    const genmem::LoadedPlugin& plugin = [&]() -> const genmem::LoadedPlugin& {
      try {
        return loader.load(describe);
      } catch (const genmem::PluginLoadError& error) {
        // --describe takes step kinds too, so a misspelt step kind gets a suggestion.
        const std::string step = genmem::closest_name(describe, genmem::step_kind_names());
        if (step.empty()) {
          throw;
        }
        throw genmem::PluginLoadError(
            fmt::format("{}; or, for a step kind, did you mean '{}'?", error.what(), step));
      }
    }();
    std::cout << fmt::format(
        "{} {} ({})\n{}\nfile: {}\n\nParameters ([models.ROLE] keys):\n",
        plugin.name,
        plugin.version,
        genmem::plugin_role_name(plugin.role),
        plugin.summary,
        plugin.path.string());
    describe_parameters(plugin.parameters);
    return EXIT_SUCCESS;
  }

  const auto plugins = loader.discover();
  if (values.count("markdown") > 0) {
    print_reference(plugins);
    return EXIT_SUCCESS;
  }
  std::cout << "Plugins:\n";
  for (const auto& plugin : plugins) {
    std::cout << fmt::format(
        "  {:<18} {:<8} {:<20} {}\n",
        plugin.name,
        plugin.version,
        genmem::plugin_role_name(plugin.role),
        plugin.summary);
  }
  std::cout << "\nSteps ([[steps]] run = ...):\n";
  for (const auto& kind : genmem::step_kinds()) {
    std::cout << fmt::format("  {:<18} {}\n", kind.name, kind.help);
  }
  std::cout << "\nSearched:\n";
  for (const auto& folder : loader.search_path()) {
    std::cout << "  " << folder.string() << "\n";
  }
  return EXIT_SUCCESS;
}

}  // namespace

// OpenMP threads that spin while they wait take the cores OpenBLAS needs: with two threads on
// two cores, training mnist_small ran at 169 images/s with spinning and 656 without. libgomp
// reads OMP_WAIT_POLICY once, when it loads, so genmem sets it and starts itself again. A value
// the user set, such as OMP_WAIT_POLICY=ACTIVE, is kept.
namespace {

void use_passive_openmp_threads(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) {
    return;
  }
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);
  // execv returns only when it failed; genmem then runs on with the default policy.
}

}  // namespace

int main(int argc, char** argv) {
  use_passive_openmp_threads(argv);
  std::vector<std::string> arguments(argv + 1, argv + argc);
  if (arguments.empty() || arguments[0] == "--help" || arguments[0] == "-h") {
    std::cout << kUsage;
    return arguments.empty() ? kExitUsage : EXIT_SUCCESS;
  }
  const std::string command = arguments[0];
  arguments.erase(arguments.begin());
  try {
    if (command == "run") {
      return run_command(arguments);
    }
    if (command == "validate") {
      return validate_command(arguments);
    }
    if (command == "compare") {
      return compare_command(arguments);
    }
    if (command == "report") {
      return report_command(arguments);
    }
    if (command == "plugins") {
      return plugins_command(arguments);
    }
    if (command == "shapes3d-figures") {
      return shapes3d_figures_command(arguments);
    }
    std::cerr << "genmem: unknown command '" << command << "'; the commands are run, validate, "
              << "compare, report, plugins and shapes3d-figures (genmem --help)\n";
    return kExitUsage;
  } catch (const po::too_many_positional_options_error&) {
    // Boost reads the word after an option as its value, even when it is another option. So an
    // option missing its value leaves the next option's value as a second scenario.
    if (command == "plugins") {
      std::cerr << "genmem plugins: it takes no arguments besides options, or an option is "
                << "missing its value (genmem plugins --help)\n";
    } else {
      const std::string operand = command == "report" ? "FOLDER" : "SCENARIO";
      std::cerr << "genmem " << command << ": more than one " << operand << " given, or an "
                << "option is missing its value; give one " << operand << " and a value after "
                << "each option that takes one (genmem " << command << " --help)\n";
    }
    return kExitUsage;
  } catch (const po::error& error) {
    std::cerr << "genmem " << command << ": " << error.what() << " (genmem " << command
              << " --help)\n";
    return kExitUsage;
  } catch (const genmem::InterruptedError& error) {
    std::cerr << "genmem: " << error.what() << "\n";
    return kExitInterrupted;
  } catch (const genmem::Error& error) {
    std::cerr << "genmem: error: " << error.what() << "\n";
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    std::cerr << "genmem " << command << ": out of memory; lower the sizes in the scenario or "
              << "free memory\n";
    return kExitFailure;
  } catch (const std::filesystem::filesystem_error& error) {
    // The message names the operation, the paths and the system's reason.
    std::cerr << "genmem " << command << ": error: " << error.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& error) {
    // LibTorch appends a backtrace after the first line, which would hide the message.
    std::cerr << "genmem " << command << ": unexpected error: " << genmem::first_line(error.what())
              << "; report it with the command that caused it\n";
    return kExitFailure;
  }
}
