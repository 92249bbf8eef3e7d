#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace genmem {

/// The value of one parameter, as read from a scenario or from a declaration's default. A list
/// of numbers (a TOML array) is held as doubles, whether its parameter takes integers or floats.
using ParameterValue = std::variant<bool, std::int64_t, double, std::string, std::vector<double>>;

/// The types a parameter can have. `kChoice` is a string restricted to `ParameterSpec::choices`.
/// `kIntList` and `kFloatList` are non-empty arrays of numbers, each within the declared bounds.
enum class ParameterType {
  kBool,
  kInt,
  kFloat,
  kString,
  kChoice,
  kIntList,
  kFloatList
};

/// Returns the TOML name of a parameter type ("boolean", "integer", "float", "string",
/// "integer array", "float array").
const char* parameter_type_name(ParameterType type);

/// Formats a value the way it would be written in a TOML file.
std::string format_parameter_value(const ParameterValue& value);

/// The declaration of one parameter: what a scenario may set, its default and allowed range.
struct ParameterSpec {
  std::string name;
  ParameterType type = ParameterType::kFloat;
  ParameterValue default_value;
  /// Inclusive bounds for integer and float parameters.
  std::optional<double> min;
  std::optional<double> max;
  /// When true, `min` itself is excluded (for example a strictly positive rate).
  bool min_exclusive = false;
  /// Allowed values of a `kChoice` parameter.
  std::vector<std::string> choices;
  std::string unit;
  std::string help;
};

/// Builders that keep declarations short: `float_parameter("beta", 20.0, "inverse temperature")`.
ParameterSpec bool_parameter(std::string name, bool default_value, std::string help);
ParameterSpec int_parameter(
    std::string name,
    std::int64_t default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit = "");
ParameterSpec float_parameter(
    std::string name,
    double default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit = "");
ParameterSpec string_parameter(std::string name, std::string default_value, std::string help);
ParameterSpec choice_parameter(
    std::string name,
    std::string default_value,
    std::vector<std::string> choices,
    std::string help);
ParameterSpec int_list_parameter(
    std::string name,
    std::vector<std::int64_t> default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit = "");
ParameterSpec float_list_parameter(
    std::string name,
    std::vector<double> default_value,
    std::optional<double> min,
    std::optional<double> max,
    std::string help,
    std::string unit = "");

/// Validated parameter values, with every declared parameter present (defaults filled in).
class Parameters {
 public:
  Parameters() = default;
  explicit Parameters(std::map<std::string, ParameterValue> values);

  bool get_bool(const std::string& name) const;
  std::int64_t get_int(const std::string& name) const;
  /// Returns a float parameter; an integer value is converted.
  double get_float(const std::string& name) const;
  /// Returns a string or choice parameter.
  const std::string& get_string(const std::string& name) const;
  std::vector<std::int64_t> get_int_list(const std::string& name) const;
  std::vector<double> get_float_list(const std::string& name) const;

  bool contains(const std::string& name) const { return values_.count(name) > 0; }

  const std::map<std::string, ParameterValue>& values() const { return values_; }

  void set(const std::string& name, ParameterValue value) { values_[name] = std::move(value); }

 private:
  const ParameterValue& find(const std::string& name) const;

  std::map<std::string, ParameterValue> values_;
};

/// Checks one value against its declaration; returns an empty string when valid, otherwise the
/// reason, for example "must be at least 1 (got 0)". Integers are accepted for float parameters.
std::string check_parameter_value(const ParameterSpec& spec, const ParameterValue& value);

/// Returns the defaults of every declared parameter.
Parameters default_parameters(const std::vector<ParameterSpec>& specs);

}  // namespace genmem
