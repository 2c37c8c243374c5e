#include "text.hpp"

#include <charconv>
#include <fstream>

namespace pulse {

std::string trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(b, s.find_last_not_of(kSpace) - b + 1));
}

std::vector<std::string> split_list(std::string_view s, char separator) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= s.size();) {
    const auto end = std::min(s.find(separator, start), s.size());
    if (auto item = trim(s.substr(start, end - start)); !item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

std::optional<std::vector<std::string>> read_config_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (auto t = trim(line); !t.empty() && t[0] != '#') out.push_back(std::move(t));
  return out;
}

std::optional<std::string> read_first_line(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  return trim(line);
}

bool parse_uint(std::string_view s, unsigned long max, unsigned long& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && ptr == s.data() + s.size() && out <= max;
}

}  // namespace pulse
