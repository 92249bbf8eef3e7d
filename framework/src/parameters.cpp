#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include <genmem/error.hpp>
#include <genmem/parameters.hpp>

namespace genmem {

const char* parameter_type_name(ParameterType type) {
  switch (type) {
    case ParameterType::kBool:
      return "boolean";
    case ParameterType::kInt:
      return "integer";
    case ParameterType::kFloat:
      return "float";
    case ParameterType::kString:
    case ParameterType::kChoice:
      return "string";
    case ParameterType::kIntList:
      return "integer array";
    case ParameterType::kFloatList:
      return "float array";
  }
  return "unknown";
}

std::string format_parameter_value(const ParameterValue& value) {
  if (const auto* flag = std::get_if<bool>(&value)) {
    return *flag ? "true" : "false";
  }
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return std::to_string(*integer);
  }
  if (const auto* real = std::get_if<double>(&value)) {
    std::string text = fmt::format("{}", *real);
    if (text.find_first_of(".eEn") == std::string::npos) {
      text += ".0";
    }
    return text;
  }
  if (const auto* list = std::get_if<std::vector<double>>(&value)) {
    // Whole numbers are written without a decimal point, so that an integer array reads back as
    // one; a float array accepts them too.
    std::string text;
    for (const double number : *list) {
      text += (text.empty() ? "" : ", ") + fmt::format("{}", number);
    }
    return "[" + text + "]";
  }
  return "\"" + std::get<std::string>(value) + "\"";
}

ParameterSpec bool_parameter(std::string name, bool default_value, std::string help) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.type = ParameterType::kBool;
  spec.default_value = default_value;
  spec.help = std::move(help);
  return spec;
}

ParameterSpec int_parameter(
    std::string name,
    std::int64_t default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.type = ParameterType::kInt;
  spec.default_value = default_value;
  spec.min = min;
  spec.max = max;
  spec.help = std::move(help);
  spec.unit = std::move(unit);
  return spec;
}

ParameterSpec float_parameter(
    std::string name,
    double default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit) {
  ParameterSpec spec =
      int_parameter(std::move(name), 0, min, max, std::move(help), std::move(unit));
  spec.type = ParameterType::kFloat;
  spec.default_value = default_value;
  return spec;
}

ParameterSpec string_parameter(std::string name, std::string default_value, std::string help) {
  ParameterSpec spec;
  spec.name = std::move(name);
  spec.type = ParameterType::kString;
  spec.default_value = std::move(default_value);
  spec.help = std::move(help);
  return spec;
}

ParameterSpec choice_parameter(
    std::string name,
    std::string default_value,
    std::vector<std::string> choices,
    std::string help) {
  ParameterSpec spec = string_parameter(std::move(name), std::move(default_value), std::move(help));
  spec.type = ParameterType::kChoice;
  spec.choices = std::move(choices);
  return spec;
}

ParameterSpec int_list_parameter(
    std::string name,
    std::vector<std::int64_t> default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit) {
  ParameterSpec spec =
      int_parameter(std::move(name), 0, min, max, std::move(help), std::move(unit));
  spec.type = ParameterType::kIntList;
  spec.default_value = std::vector<double>(default_value.begin(), default_value.end());
  return spec;
}

ParameterSpec float_list_parameter(
    std::string name,
    std::vector<double> default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit) {
  ParameterSpec spec =
      int_parameter(std::move(name), 0, min, max, std::move(help), std::move(unit));
  spec.type = ParameterType::kFloatList;
  spec.default_value = std::move(default_value);
  return spec;
}

namespace {

std::string join_choices(const std::vector<std::string>& choices) {
  std::string text;
  for (const auto& choice : choices) {
    text += (text.empty() ? "\"" : ", \"") + choice + "\"";
  }
  return text;
}

std::string check_range(const ParameterSpec& spec, double number, const std::string& shown) {
  if (!std::isfinite(number)) {
    return fmt::format("must be a finite number (got {})", shown);
  }
  if (spec.min && spec.min_exclusive && number <= *spec.min) {
    return fmt::format("must be greater than {} (got {})", *spec.min, shown);
  }
  if (spec.min && !spec.min_exclusive && number < *spec.min) {
    return fmt::format("must be at least {} (got {})", *spec.min, shown);
  }
  if (spec.max && number > *spec.max) {
    return fmt::format("must be at most {} (got {})", *spec.max, shown);
  }
  return "";
}

}  // namespace

std::string check_parameter_value(const ParameterSpec& spec, const ParameterValue& value) {
  const std::string shown = format_parameter_value(value);
  switch (spec.type) {
    case ParameterType::kBool:
      if (!std::holds_alternative<bool>(value)) {
        return fmt::format("must be a boolean, true or false (got {})", shown);
      }
      return "";
    case ParameterType::kInt:
      if (!std::holds_alternative<std::int64_t>(value)) {
        return fmt::format("must be an integer (got {})", shown);
      }
      return check_range(spec, static_cast<double>(std::get<std::int64_t>(value)), shown);
    case ParameterType::kFloat:
      if (const auto* integer = std::get_if<std::int64_t>(&value)) {
        return check_range(spec, static_cast<double>(*integer), shown);
      }
      if (!std::holds_alternative<double>(value)) {
        return fmt::format("must be a number (got {})", shown);
      }
      return check_range(spec, std::get<double>(value), shown);
    case ParameterType::kString:
      if (!std::holds_alternative<std::string>(value)) {
        return fmt::format("must be a string (got {})", shown);
      }
      return "";
    case ParameterType::kChoice: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr
          || std::find(spec.choices.begin(), spec.choices.end(), *text) == spec.choices.end()) {
        return fmt::format("must be one of {} (got {})", join_choices(spec.choices), shown);
      }
      return "";
    }
    case ParameterType::kIntList:
    case ParameterType::kFloatList: {
      const bool integers = spec.type == ParameterType::kIntList;
      const auto* list = std::get_if<std::vector<double>>(&value);
      if (list == nullptr || list->empty()) {
        return fmt::format(
            "must be a non-empty array of {} (got {})", integers ? "integers" : "numbers", shown);
      }
      for (const double number : *list) {
        if (integers && std::isfinite(number) && std::trunc(number) != number) {
          return fmt::format("must hold only integers (got {})", shown);
        }
        const std::string problem = check_range(spec, number, fmt::format("{}", number));
        if (!problem.empty()) {
          return "has an element that " + problem;
        }
      }
      return "";
    }
  }
  return "";
}

Parameters default_parameters(const std::vector<ParameterSpec>& specs) {
  Parameters parameters;
  for (const auto& spec : specs) {
    parameters.set(spec.name, spec.default_value);
  }
  return parameters;
}

Parameters::Parameters(std::map<std::string, ParameterValue> values) : values_(std::move(values)) {}

const ParameterValue& Parameters::find(const std::string& name) const {
  auto found = values_.find(name);
  if (found == values_.end()) {
    throw ConfigError(fmt::format(
        "parameter '{}' is not declared; add it to the plugin's or step's parameter list", name));
  }
  return found->second;
}

bool Parameters::get_bool(const std::string& name) const {
  const auto& value = find(name);
  if (const auto* flag = std::get_if<bool>(&value)) {
    return *flag;
  }
  throw ConfigError(fmt::format("parameter '{}' is not a boolean", name));
}

std::int64_t Parameters::get_int(const std::string& name) const {
  const auto& value = find(name);
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return *integer;
  }
  throw ConfigError(fmt::format("parameter '{}' is not an integer", name));
}

double Parameters::get_float(const std::string& name) const {
  const auto& value = find(name);
  if (const auto* real = std::get_if<double>(&value)) {
    return *real;
  }
  if (const auto* integer = std::get_if<std::int64_t>(&value)) {
    return static_cast<double>(*integer);
  }
  throw ConfigError(fmt::format("parameter '{}' is not a number", name));
}

const std::string& Parameters::get_string(const std::string& name) const {
  const auto& value = find(name);
  if (const auto* text = std::get_if<std::string>(&value)) {
    return *text;
  }
  throw ConfigError(fmt::format("parameter '{}' is not a string", name));
}

std::vector<double> Parameters::get_float_list(const std::string& name) const {
  const auto& value = find(name);
  if (const auto* list = std::get_if<std::vector<double>>(&value)) {
    return *list;
  }
  throw ConfigError(fmt::format("parameter '{}' is not an array of numbers", name));
}

std::vector<std::int64_t> Parameters::get_int_list(const std::string& name) const {
  std::vector<std::int64_t> integers;
  for (const double number : get_float_list(name)) {
    integers.push_back(static_cast<std::int64_t>(number));
  }
  return integers;
}

}  // namespace genmem
