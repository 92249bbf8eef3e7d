#include "scenario.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <genmem/error.hpp>

#include "plugin_loader.hpp"
#include "scenario_schema.hpp"
#include "steps/step.hpp"

namespace genmem {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSetOrigin = "--set";

// Locates a node for messages: the file and line it came from, or the --set option.
class Locator {
 public:
  explicit Locator(fs::path file) : file_(std::move(file)) {}

  std::string where(const toml::node& node) const {
    const auto& source = node.source();
    if (source.begin.line == 0 || (source.path && *source.path == kSetOrigin)) {
      return "--set";
    }
    return fmt::format("scenario '{}' line {}", file_.string(), source.begin.line);
  }

  std::string file() const { return fmt::format("scenario '{}'", file_.string()); }

 private:
  fs::path file_;
};

std::string describe_node_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
    default:
      return "a value";
  }
}

// Converts a scalar TOML node, or an array of numbers, to a parameter value; returns false for
// tables, dates and other arrays.
bool to_parameter_value(const toml::node& node, ParameterValue& value) {
  if (const toml::array* array = node.as_array()) {
    std::vector<double> numbers;
    for (const toml::node& element : *array) {
      if (auto integer = element.value_exact<std::int64_t>()) {
        numbers.push_back(static_cast<double>(*integer));
      } else if (auto real = element.value_exact<double>()) {
        numbers.push_back(*real);
      } else {
        return false;
      }
    }
    value = std::move(numbers);
    return true;
  }
  if (auto flag = node.value_exact<bool>()) {
    value = *flag;
  } else if (auto integer = node.value_exact<std::int64_t>()) {
    value = *integer;
  } else if (auto real = node.value_exact<double>()) {
    value = *real;
  } else if (auto text = node.value_exact<std::string>()) {
    value = *text;
  } else {
    return false;
  }
  return true;
}

// The expected type, worded for messages such as "must be a number".
const char* expected_type(ParameterType type) {
  switch (type) {
    case ParameterType::kBool:
      return "a boolean";
    case ParameterType::kInt:
      return "an integer";
    case ParameterType::kFloat:
      return "a number";
    case ParameterType::kString:
    case ParameterType::kChoice:
      return "a string";
    case ParameterType::kIntList:
      return "an array of integers";
    case ParameterType::kFloatList:
      return "an array of numbers";
  }
  return "a value";
}

std::vector<std::string> names_of(const std::vector<ParameterSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& spec : specs) {
    names.push_back(spec.name);
  }
  return names;
}

std::string unknown_key_message(
    const std::string& where,
    const std::string& key_path,
    const std::string& key,
    const std::string& table_name,
    const std::vector<std::string>& allowed) {
  std::string message = fmt::format("{}: unknown key '{}'", where, key_path);
  const std::string suggestion = closest_name(key, allowed);
  if (!suggestion.empty()) {
    return message + fmt::format("; did you mean '{}'?", suggestion);
  }
  std::string list;
  for (const auto& name : allowed) {
    list += (list.empty() ? "" : ", ") + name;
  }
  return message + fmt::format("; {} accepts: {}", table_name, list);
}

// Validates a table against declared parameters; `extra` keys are read by the caller.
Parameters validate_table(
    const toml::table& table,
    const std::vector<ParameterSpec>& specs,
    const std::string& prefix,
    const std::vector<std::string>& extra,
    const Locator& locator) {
  Parameters parameters = default_parameters(specs);
  std::vector<std::string> allowed = names_of(specs);
  allowed.insert(allowed.end(), extra.begin(), extra.end());

  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string key_path = prefix + "." + name;
    if (std::find(extra.begin(), extra.end(), name) != extra.end()) {
      continue;
    }
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const ParameterSpec& candidate) {
      return candidate.name == name;
    });
    if (spec == specs.end()) {
      throw ConfigError(
          unknown_key_message(locator.where(node), key_path, name, "[" + prefix + "]", allowed));
    }
    ParameterValue value;
    if (!to_parameter_value(node, value)) {
      std::string got = describe_node_type(node);
      if (const toml::array* array = node.as_array()) {
        // Name the first element that is not a number.
        for (std::size_t i = 0; i < array->size(); ++i) {
          const toml::node& element = *array->get(i);
          if (!element.is_integer() && !element.is_floating_point()) {
            got = fmt::format("an array whose element {} is {}", i, describe_node_type(element));
            break;
          }
        }
      }
      throw ConfigError(fmt::format(
          "{}: '{}' must be {} (got {})",
          locator.where(node),
          key_path,
          expected_type(spec->type),
          got));
    }
    // An array of integers takes no floats, as an integer takes none (`items = 100.0`).
    if (const toml::array* array = node.as_array();
        array && spec->type == ParameterType::kIntList) {
      for (std::size_t i = 0; i < array->size(); ++i) {
        if (const auto* real = array->get(i)->as_floating_point()) {
          std::ostringstream number_text;
          number_text << *real;
          throw ConfigError(fmt::format(
              "{}: '{}' must be an array of integers (got an array whose element {} is the "
              "number {}); write it without a decimal point",
              locator.where(node),
              key_path,
              i,
              number_text.str()));
        }
      }
    }
    const std::string problem = check_parameter_value(*spec, value);
    if (!problem.empty()) {
      throw ConfigError(fmt::format("{}: '{}' {}", locator.where(node), key_path, problem));
    }
    if (spec->type == ParameterType::kFloat) {
      if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        value = static_cast<double>(*integer);
      }
    }
    parameters.set(name, value);
  }
  return parameters;
}

const toml::table& require_table(
    const toml::table& parent,
    const std::string& key,
    const std::string& key_path,
    const Locator& locator) {
  const toml::node* node = parent.get(key);
  if (node == nullptr) {
    throw ConfigError(fmt::format(
        "{}: the [{}] table is missing; add it (see docs/scenario-format.md)",
        locator.file(),
        key_path));
  }
  if (!node->is_table()) {
    throw ConfigError(fmt::format(
        "{}: '{}' must be a table (got {})",
        locator.where(*node),
        key_path,
        describe_node_type(*node)));
  }
  return *node->as_table();
}

std::string require_string(
    const toml::table& table,
    const std::string& key,
    const std::string& key_path,
    const std::string& table_where,
    const Locator& locator) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    throw ConfigError(fmt::format("{}: '{}' is missing; it is required", table_where, key_path));
  }
  auto text = node->value_exact<std::string>();
  if (!text) {
    throw ConfigError(fmt::format(
        "{}: '{}' must be a string (got {})",
        locator.where(*node),
        key_path,
        describe_node_type(*node)));
  }
  return *text;
}

// Applies one `--set key=value`; `steps.N.key` addresses the N-th step, counting from 1.
void apply_assignment(toml::table& root, const std::string& raw_assignment) {
  const std::string assignment = normalise_assignment(raw_assignment);
  check_assignment_syntax(assignment);
  const auto equals = assignment.find('=');
  const std::string key_path = assignment.substr(0, equals);
  const std::string text = assignment.substr(equals + 1);

  std::vector<std::string> keys;
  std::stringstream stream(key_path);
  for (std::string key; std::getline(stream, key, '.');) {
    if (key.empty()) {
      throw ConfigError(fmt::format("--set '{}': the key has an empty part", assignment));
    }
    keys.push_back(key);
  }

  // The value is read as TOML (numbers, booleans, quoted strings), or else taken as a bare string.
  toml::table parsed;
  try {
    parsed = toml::parse("value = " + text, std::string_view(kSetOrigin));
  } catch (const toml::parse_error& error) {
    // Text that starts like a number but is not one, such as an integer too large for 64 bits,
    // is a mistake rather than a bare string.
    const bool numeric = !text.empty()
        && (std::isdigit(static_cast<unsigned char>(text.front())) != 0
            || ((text.front() == '-' || text.front() == '+') && text.size() > 1
                && std::isdigit(static_cast<unsigned char>(text[1])) != 0))
        && text.find_first_not_of("0123456789+-._eE") == std::string::npos;
    if (numeric) {
      throw ConfigError(fmt::format(
          "--set {}: '{}' is not a valid TOML number: {}; give a number within that range (or, "
          "for a text value, put it in quotes)",
          key_path,
          text,
          error.description()));
    }
    parsed = toml::table{{"value", text}};
  }
  const toml::node& value = *parsed.get("value");

  toml::table* table = &root;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    toml::node* next = table->get(keys[i]);
    if (next != nullptr && next->is_array() && keys[i] == "steps") {
      if (i + 2 >= keys.size()) {
        throw ConfigError(fmt::format(
            "--set '{}': name a key of the step, for example steps.2.cues=500", assignment));
      }
      auto* steps = next->as_array();
      std::size_t index = 0;
      try {
        index = std::stoul(keys[i + 1]);
      } catch (const std::exception&) {
        index = 0;
      }
      if (index < 1 || index > steps->size() || !(*steps)[index - 1].is_table()) {
        throw ConfigError(fmt::format(
            "--set '{}': 'steps.{}' is not a step; the scenario has steps 1 to {}",
            assignment,
            keys[i + 1],
            steps->size()));
      }
      table = (*steps)[index - 1].as_table();
      ++i;
      continue;
    }
    if (next == nullptr) {
      table->insert(keys[i], toml::table{});
      next = table->get(keys[i]);
    }
    if (!next->is_table()) {
      throw ConfigError(fmt::format(
          "--set '{}': '{}' is not a table, so it has no key '{}'",
          assignment,
          keys[i],
          keys[i + 1]));
    }
    table = next->as_table();
  }
  toml::node* existing = table->get(keys.back());
  if (existing != nullptr && existing->is_table()) {
    throw ConfigError(fmt::format(
        "--set '{}': '{}' is a table; set one of its keys instead", assignment, key_path));
  }
  value.visit([&](const auto& node) { table->insert_or_assign(keys.back(), node); });
}

std::vector<fs::path> read_plugin_paths(
    const toml::table& section, const fs::path& base, const Locator& locator) {
  std::vector<fs::path> paths;
  const toml::node* node = section.get("plugin_paths");
  if (node == nullptr) {
    return paths;
  }
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    throw ConfigError(fmt::format(
        "{}: 'scenario.plugin_paths' must be an array of folder names (got {})",
        locator.where(*node),
        describe_node_type(*node)));
  }
  for (const auto& element : *array) {
    auto text = element.value_exact<std::string>();
    if (!text) {
      throw ConfigError(fmt::format(
          "{}: every entry of 'scenario.plugin_paths' must be a string", locator.where(element)));
    }
    fs::path path(*text);
    paths.push_back(path.is_absolute() ? path : base / path);
  }
  return paths;
}

void check_top_level(const toml::table& root, const Locator& locator) {
  const std::vector<std::string> allowed = {"scenario", "data", "models", "steps", "compare"};
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      throw ConfigError(
          unknown_key_message(locator.where(node), name, name, "the top level", allowed));
    }
  }
}

ModelSpec read_model(
    const std::string& role, const toml::node& node, PluginLoader& loader, const Locator& locator) {
  const std::string prefix = "models." + role;
  if (!node.is_table()) {
    throw ConfigError(fmt::format(
        "{}: '{}' must be a table (got {})",
        locator.where(node),
        prefix,
        describe_node_type(node)));
  }
  const toml::table& table = *node.as_table();
  ModelSpec spec;
  spec.role = role;
  spec.plugin = require_string(table, "plugin", prefix + ".plugin", locator.where(node), locator);

  const LoadedPlugin& plugin = [&]() -> const LoadedPlugin& {
    try {
      return loader.load(spec.plugin);
    } catch (const PluginLoadError& error) {
      throw PluginLoadError(
          fmt::format("{}: {}", locator.where(*table.get("plugin")), error.what()));
    }
  }();
  const PluginRole needed =
      role == kHippocampus ? PluginRole::kAssociativeMemory : PluginRole::kGenerativeModel;
  if (plugin.role != needed) {
    throw ConfigError(fmt::format(
        "{}: '{}.plugin' is '{}', {}, but the {} needs {}; choose another plugin",
        locator.where(*table.get("plugin")),
        prefix,
        spec.plugin,
        plugin_role_with_article(plugin.role),
        role,
        plugin_role_with_article(needed)));
  }
  spec.parameters = validate_table(table, plugin.parameters, prefix, {"plugin"}, locator);
  return spec;
}

// Writes a TOML value the way `--set` reads it back: strings bare unless the bare text would read
// as another type ("1", "true"), other values as TOML.
std::string assignment_text(const toml::node& node) {
  if (const auto text = node.value_exact<std::string>()) {
    try {
      const toml::table parsed = toml::parse("value = " + *text);
      if (!parsed.get("value")->is_string()) {
        std::stringstream quoted;
        quoted << toml::toml_formatter(toml::value<std::string>(*text));
        return quoted.str();
      }
    } catch (const toml::parse_error&) {
      // Not TOML, so `--set` reads it as a bare string.
    }
    return *text;
  }
  std::stringstream out;
  node.visit([&](const auto& value) { out << toml::toml_formatter(value); });
  return out.str();
}

// Removes one dotted key, if the scenario has it; `steps` entries are not addressed.
void remove_key(toml::table& root, const std::string& key_path) {
  std::vector<std::string> keys;
  std::stringstream stream(key_path);
  for (std::string key; std::getline(stream, key, '.');) {
    keys.push_back(key);
  }
  toml::table* table = &root;
  for (std::size_t i = 0; i + 1 < keys.size() && table != nullptr; ++i) {
    toml::node* next = table->get(keys[i]);
    table = next == nullptr ? nullptr : next->as_table();
  }
  if (table != nullptr && !keys.empty()) {
    table->erase(keys.back());
  }
}

// When `--set models.ROLE.plugin=NAME` replaces a model's plugin, the file's parameters for the
// old plugin mostly do not apply. Those the new plugin does not declare are dropped, unless a
// `--set` names them too. A plugin that does not load is left for read_model to report.
void drop_parameters_of_replaced_plugins(
    toml::table& root, const std::vector<std::string>& assignments, PluginLoader& loader) {
  std::map<std::string, std::set<std::string>> set_keys;
  std::set<std::string> replaced;
  for (const auto& assignment : assignments) {
    const std::string key = assignment.substr(0, assignment.find('='));
    const std::string prefix = "models.";
    const auto dot = key.find('.', prefix.size());
    if (key.rfind(prefix, 0) != 0 || dot == std::string::npos) {
      continue;
    }
    const std::string role = key.substr(prefix.size(), dot - prefix.size());
    const std::string name = key.substr(dot + 1);
    set_keys[role].insert(name);
    if (name == "plugin") {
      replaced.insert(role);
    }
  }
  for (const auto& role : replaced) {
    toml::table* models = root["models"].as_table();
    toml::table* table = models == nullptr ? nullptr : (*models)[role].as_table();
    const auto plugin = table == nullptr ? std::nullopt : (*table)["plugin"].value<std::string>();
    if (!plugin) {
      continue;
    }
    std::set<std::string> declared{"plugin"};
    try {
      for (const auto& spec : loader.load(*plugin).parameters) {
        declared.insert(spec.name);
      }
    } catch (const Error&) {
      continue;
    }
    std::vector<std::string> dropped;
    for (const auto& [key, value] : *table) {
      const std::string name(key.str());
      if (declared.count(name) == 0 && set_keys[role].count(name) == 0) {
        dropped.push_back(name);
      }
    }
    for (const auto& name : dropped) {
      table->erase(name);
    }
    if (!dropped.empty()) {
      spdlog::info(
          "models.{}: --set replaced the plugin with '{}', which does not declare {}; those keys "
          "of the scenario are ignored",
          role,
          *plugin,
          fmt::join(dropped, ", "));
    }
  }
}

CompareSpec read_compare(const toml::table& root, const Locator& locator) {
  CompareSpec spec;
  const toml::node* node = root.get("compare");
  if (node == nullptr) {
    return spec;
  }
  const toml::table& table = require_table(root, "compare", "compare", locator);
  for (const auto& [key, value] : table) {
    const std::string name(key.str());
    if (name == "seeds") {
      const auto seeds = value.value_exact<std::int64_t>();
      if (!seeds || *seeds < 1 || *seeds > kMaxCompareSeeds) {
        throw ConfigError(fmt::format(
            "{}: 'compare.seeds' must be an integer from 1 to {} (got {})",
            locator.where(value),
            kMaxCompareSeeds,
            assignment_text(value)));
      }
      spec.seeds = *seeds;
    } else if (name == "metrics") {
      const toml::array* array = value.as_array();
      for (std::size_t i = 0; array != nullptr && i < array->size(); ++i) {
        if (const auto metric = (*array)[i].value_exact<std::string>()) {
          spec.metrics.push_back(*metric);
        } else {
          array = nullptr;
        }
      }
      if (array == nullptr) {
        throw ConfigError(fmt::format(
            "{}: 'compare.metrics' must be an array of summary keys such as "
            "[\"capacity.random_binary.largest_n.corrupt_10\"]",
            locator.where(value)));
      }
    } else if (name == "vary") {
      const toml::table* axes = value.as_table();
      if (axes == nullptr) {
        throw ConfigError(fmt::format(
            "{}: 'compare.vary' must be a table of arrays, for example [compare.vary] "
            "\"models.hippocampus.plugin\" = [\"modern_hopfield\", \"classical_hopfield\"]",
            locator.where(value)));
      }
      // toml++ keeps a table's keys sorted, so the axes are put back in file order, which
      // decides the order of the variants.
      std::vector<std::pair<const toml::key*, const toml::node*>> ordered;
      for (const auto& [axis_key, axis_values] : *axes) {
        ordered.emplace_back(&axis_key, &axis_values);
      }
      std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
        return a.second->source().begin < b.second->source().begin;
      });
      for (const auto& [axis_key_pointer, axis_values_pointer] : ordered) {
        const toml::key& axis_key = *axis_key_pointer;
        const toml::node& axis_values = *axis_values_pointer;
        const toml::array* array = axis_values.as_array();
        if (array == nullptr || array->empty()) {
          throw ConfigError(fmt::format(
              "{}: 'compare.vary.\"{}\"' must be a non-empty array of values",
              locator.where(axis_values),
              axis_key.str()));
        }
        if (axis_key.str().starts_with("compare.")) {
          throw ConfigError(fmt::format(
              "{}: 'compare.vary.\"{}\"': the [compare] table chooses what a comparison runs, so "
              "its keys cannot be varied; vary a key of [scenario], [data], [models] or the steps",
              locator.where(axis_values),
              axis_key.str()));
        }
        CompareAxis axis{std::string(axis_key.str()), {}};
        for (const auto& element : *array) {
          axis.values.push_back(assignment_text(element));
        }
        spec.vary.push_back(std::move(axis));
      }
    } else {
      throw ConfigError(unknown_key_message(
          locator.where(value),
          "compare." + name,
          name,
          "[compare]",
          {"vary", "seeds", "metrics"}));
    }
  }
  return spec;
}

std::vector<StepSpec> read_steps(const toml::table& root, const Locator& locator) {
  const toml::node* node = root.get("steps");
  if (node == nullptr) {
    throw ConfigError(fmt::format(
        "{}: no [[steps]] given; add at least one, for example [[steps]] run = \"store\"",
        locator.file()));
  }
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    throw ConfigError(fmt::format(
        "{}: 'steps' must be an array of tables, written as [[steps]] blocks",
        locator.where(*node)));
  }
  const std::vector<std::string> kind_names = step_kind_names();

  std::vector<StepSpec> steps;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::table& table = *(*array)[i].as_table();
    const std::string prefix = fmt::format("steps.{}", i + 1);
    const std::string kind_name =
        require_string(table, "run", prefix + ".run", locator.where(table), locator);
    const StepKind* kind = find_step_kind(kind_name);
    if (kind == nullptr) {
      std::string message = fmt::format(
          "{}: '{}.run' names an unknown step '{}'",
          locator.where(*table.get("run")),
          prefix,
          kind_name);
      const std::string suggestion = closest_name(kind_name, kind_names);
      if (!suggestion.empty()) {
        message += fmt::format("; did you mean '{}'?", suggestion);
      } else {
        message += fmt::format("; the steps are {}", fmt::join(kind_names, ", "));
      }
      throw ConfigError(message);
    }
    steps.push_back(
        {kind->name, validate_table(table, kind->parameters, prefix, {"run"}, locator)});
  }
  return steps;
}

}  // namespace

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<std::size_t> row(candidate.size() + 1);
    for (std::size_t j = 0; j <= candidate.size(); ++j) {
      row[j] = j;
    }
    for (std::size_t i = 1; i <= name.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= candidate.size(); ++j) {
        const std::size_t above = row[j];
        const std::size_t cost = name[i - 1] == candidate[j - 1] ? 0 : 1;
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
        diagonal = above;
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  const std::size_t limit = std::max<std::size_t>(2, name.size() / 3);
  return best_distance <= limit ? best : "";
}

std::string trim_blanks(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) {
    return "";
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string normalise_assignment(const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos) {
    return assignment;
  }
  return trim_blanks(assignment.substr(0, equals)) + "="
      + trim_blanks(assignment.substr(equals + 1));
}

void check_assignment_syntax(const std::string& assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError(fmt::format(
        "--set '{}': expected key=value, for example --set models.hippocampus.beta=50",
        assignment));
  }
}

std::vector<fs::path> scenario_plugin_search_path(
    const Scenario& scenario, const ScenarioOverrides& overrides) {
  return PluginLoader::default_search_path(overrides.plugin_paths, scenario.plugin_paths);
}

Scenario parse_scenario(
    const std::string& text, const fs::path& origin, const ScenarioOverrides& overrides) {
  const Locator locator(origin);
  toml::table root;
  try {
    root = toml::parse(text, origin.string());
  } catch (const toml::parse_error& error) {
    throw ConfigError(fmt::format(
        "scenario '{}' line {}, column {}: invalid TOML: {}; fix the syntax there",
        origin.string(),
        error.source().begin.line,
        error.source().begin.column,
        error.description()));
  }
  for (const auto& key : overrides.removals) {
    remove_key(root, key);
  }
  for (const auto& assignment : overrides.assignments) {
    apply_assignment(root, assignment);
  }
  check_top_level(root, locator);

  Scenario scenario;
  scenario.file = origin;
  const fs::path base = origin.has_parent_path() ? origin.parent_path() : fs::path(".");

  const toml::table empty;
  const toml::table& section =
      root.contains("scenario") ? require_table(root, "scenario", "scenario", locator) : empty;
  const Parameters settings =
      validate_table(section, scenario_section_parameters(), "scenario", {"plugin_paths"}, locator);
  scenario.name = settings.get_string("name");
  if (scenario.name.empty()) {
    scenario.name = origin.stem().string();
  }
  // The name becomes one folder below the runs folder, so it may not leave it or nest.
  const bool has_separator = scenario.name.find_first_of("/\\") != std::string::npos;
  const bool has_control = std::any_of(scenario.name.begin(), scenario.name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20;
  });
  if (scenario.name.empty() || scenario.name == "." || scenario.name == ".." || has_separator
      || has_control) {
    const toml::node* node = section.get("name");
    throw ConfigError(fmt::format(
        "{}: scenario.name '{}' names the folder of this scenario's runs, so it must be one "
        "folder name without '/' or '\\' and not '.' or '..'; choose a name such as "
        "'shapes3d-consolidation'",
        node != nullptr ? locator.where(*node) : locator.file(),
        scenario.name));
  }
  scenario.description = settings.get_string("description");
  scenario.seed = settings.get_int("seed");
  scenario.threads = settings.get_int("threads");
  scenario.device = settings.get_string("device");
  scenario.plugin_paths = read_plugin_paths(section, base, locator);

  const toml::table& data =
      root.contains("data") ? require_table(root, "data", "data", locator) : empty;
  scenario.data = validate_table(data, data_section_parameters(), "data", {}, locator);

  PluginLoader loader(scenario_plugin_search_path(scenario, overrides));
  drop_parameters_of_replaced_plugins(root, overrides.assignments, loader);
  const toml::table& models = require_table(root, "models", "models", locator);
  for (const auto& [key, node] : models) {
    const std::string role(key.str());
    if (role != kHippocampus && role != kNeocortex) {
      throw ConfigError(unknown_key_message(
          locator.where(node), "models." + role, role, "[models]", {kHippocampus, kNeocortex}));
    }
    scenario.models[role] = read_model(role, node, loader, locator);
  }

  scenario.steps = read_steps(root, locator);
  scenario.compare = read_compare(root, locator);
  for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
    const StepKind* kind = find_step_kind(scenario.steps[i].kind);
    if (kind->check) {
      const std::string problem = kind->check(scenario, i);
      if (!problem.empty()) {
        throw ConfigError(fmt::format(
            "{}: step {} ({}) {}", locator.file(), i + 1, scenario.steps[i].kind, problem));
      }
    }
    for (const auto& role : kind->required_roles) {
      if (scenario.models.count(role) == 0) {
        throw ConfigError(fmt::format(
            "{}: step {} ({}) needs a [models.{}] table; add one, or remove the step",
            locator.file(),
            i + 1,
            scenario.steps[i].kind,
            role));
      }
    }
  }
  return scenario;
}

Scenario load_scenario(const fs::path& path, const ScenarioOverrides& overrides) {
  std::error_code error;
  if (fs::is_directory(path, error)) {
    throw IoError(fmt::format(
        "scenario '{}' is a folder, not a file; name a .toml file such as "
        "scenarios/mnist/consolidation.toml",
        path.string()));
  }
  std::ifstream file(path);
  if (!file) {
    throw IoError(fmt::format(
        "scenario '{}' could not be opened: {}; check the path",
        path.string(),
        fs::exists(path) ? "permission denied" : "no such file"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return parse_scenario(text.str(), path, overrides);
}

namespace {

void insert_parameters(toml::table& table, const Parameters& parameters) {
  for (const auto& [name, value] : parameters.values()) {
    if (const auto* list = std::get_if<std::vector<double>>(&value)) {
      // Whole numbers are written as integers, so an integer array reads back as one.
      toml::array array;
      for (const double number : *list) {
        if (std::trunc(number) == number && std::abs(number) < 9.0e15) {
          array.push_back(static_cast<std::int64_t>(number));
        } else {
          array.push_back(number);
        }
      }
      table.insert_or_assign(name, std::move(array));
      continue;
    }
    std::visit(
        [&](const auto& held) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(held)>, std::vector<double>>) {
            table.insert_or_assign(name, held);
          }
        },
        value);
  }
}

}  // namespace

std::string format_scenario(const Scenario& scenario) {
  toml::table section{
      {"name", scenario.name},
      {"description", scenario.description},
      {"seed", scenario.seed},
      {"threads", scenario.threads},
      {"device", scenario.device},
  };
  toml::array plugin_paths;
  for (const auto& path : scenario.plugin_paths) {
    plugin_paths.push_back(path.string());
  }
  section.insert("plugin_paths", plugin_paths);

  toml::table data;
  insert_parameters(data, scenario.data);

  toml::table models;
  for (const auto& [role, model] : scenario.models) {
    toml::table table{{"plugin", model.plugin}};
    insert_parameters(table, model.parameters);
    models.insert(role, table);
  }

  toml::array steps;
  for (const auto& step : scenario.steps) {
    toml::table table{{"run", step.kind}};
    insert_parameters(table, step.parameters);
    steps.push_back(table);
  }

  toml::table root{{"scenario", section}, {"data", data}, {"models", models}, {"steps", steps}};
  if (!scenario.compare.vary.empty() || !scenario.compare.metrics.empty()
      || scenario.compare.seeds != 1) {
    toml::table vary;
    for (const auto& axis : scenario.compare.vary) {
      // Each value goes back as the TOML value its text reads as, so the file reads the same.
      toml::array values;
      for (const auto& value : axis.values) {
        try {
          const toml::table parsed = toml::parse("value = " + value);
          parsed.get("value")->visit([&](const auto& node) { values.push_back(node); });
        } catch (const toml::parse_error&) {
          values.push_back(value);
        }
      }
      vary.insert(axis.key, values);
    }
    toml::array metrics;
    for (const auto& metric : scenario.compare.metrics) {
      metrics.push_back(metric);
    }
    root.insert(
        "compare",
        toml::table{{"seeds", scenario.compare.seeds}, {"metrics", metrics}, {"vary", vary}});
  }
  std::stringstream out;
  out << "# Resolved scenario: every key with the value this run used.\n"
      << toml::toml_formatter(root) << "\n";
  return out.str();
}

}  // namespace genmem
