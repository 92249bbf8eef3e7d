#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace genmem {

/// Rows of named numbers, written as CSV with the columns in first-seen order.
class MetricsTable {
 public:
  void add_row(const std::vector<std::pair<std::string, double>>& row);

  bool empty() const { return rows_.empty(); }

  const std::vector<std::map<std::string, double>>& rows() const { return rows_; }

  std::string to_csv() const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::map<std::string, double>> rows_;
};

}  // namespace genmem
