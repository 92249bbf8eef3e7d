#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace genmem::test_support {

/// A fresh folder under the system temporary directory, removed with everything in it at the end
/// of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "genmem-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }

  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// Returns every `src` and `href` of an HTML page that is not an anchor, percent-decoded: the
/// files a report refers to, relative to the page.
inline std::set<std::string> page_references(const std::string& html) {
  std::set<std::string> found;
  const std::regex attribute(R"re((?:src|href)="([^"#][^"]*)")re");
  for (std::sregex_iterator it(html.begin(), html.end(), attribute), end; it != end; ++it) {
    const std::string text = (*it)[1].str();
    std::string decoded;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '%' && i + 2 < text.size()) {
        decoded += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        decoded += text[i];
      }
    }
    found.insert(decoded);
  }
  return found;
}

}  // namespace genmem::test_support
