#include "outputs/metrics_table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace genmem {

void MetricsTable::add_row(const std::vector<std::pair<std::string, double>>& row) {
  std::map<std::string, double> values;
  for (const auto& [name, value] : row) {
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) {
      columns_.push_back(name);
    }
    values[name] = value;
  }
  rows_.push_back(std::move(values));
}

std::string MetricsTable::to_csv() const {
  std::string text;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    text += (i == 0 ? "" : ",") + columns_[i];
  }
  text += "\n";
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      text += i == 0 ? "" : ",";
      auto found = row.find(columns_[i]);
      // Missing and NaN values are left empty, which spreadsheets and pandas read as missing.
      if (found != row.end() && std::isfinite(found->second)) {
        text += fmt::format("{:.6g}", found->second);
      }
    }
    text += "\n";
  }
  return text;
}

}  // namespace genmem
