#include "core/util/text.hpp"

#include <cctype>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>

namespace pulse {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<std::vector<std::string>> split_csv_record(std::string_view s, std::string& why) {
  std::vector<std::string> fields;
  if (s.empty()) return fields;
  std::size_t at = 0;
  for (;;) {
    std::string field;
    if (at < s.size() && s[at] == '"') {  // quoted: up to the closing quote
      for (++at;; ++at) {
        if (at >= s.size()) {
          why = "a quoted field has no closing quote";
          return std::nullopt;
        }
        if (s[at] != '"') field += s[at];
        else if (at + 1 < s.size() && s[at + 1] == '"') field += s[++at];
        else break;
      }
      ++at;
      if (at < s.size() && s[at] != ',' && s[at] != '\n' && s[at] != '\r') {
        why = "extra text after a quoted field";
        return std::nullopt;
      }
    } else {
      for (; at < s.size() && s[at] != ',' && s[at] != '\n'; ++at) {
        if (s[at] == '"') {
          why = "a quote inside an unquoted field (quote the whole field: \"a,b\")";
          return std::nullopt;
        }
        field += s[at];
      }
      if (!field.empty() && field.back() == '\r' && at < s.size() && s[at] == '\n') field.pop_back();
    }
    fields.push_back(std::move(field));
    if (at >= s.size() || s[at] != ',') return fields;  // the end, or the record's
    ++at;
  }
}

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

namespace {

// Length of the valid UTF-8 character starting at s[i] (no overlong forms,
// surrogates or code points past U+10FFFF), with its code point; 0 if none.
std::size_t utf8_char(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t n;
  if ((c & 0xE0) == 0xC0) n = 1, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 2, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 3, cp = c & 0x07;
  else return 0;
  if (i + n >= s.size()) return 0;  // the sequence runs past the end
  for (std::size_t k = 1; k <= n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n + 1;
}

// Length of the clean character (printable ASCII, or valid UTF-8 that is not
// a C1 control) starting at s[i]; 0 if there is none.
std::size_t clean_char(std::string_view s, std::size_t i) {
  std::uint32_t cp = 0;
  const auto n = utf8_char(s, i, cp);
  if (n == 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return 0;
  return n;
}

}  // namespace

std::optional<bool> parse_bool(std::string_view s) {
  if (s.size() > 8) return std::nullopt;
  const std::string v = lower(s);
  // t and f: what Go's strconv.ParseBool also takes, so the Go CLI's scripts keep working.
  if (v == "1" || v == "t" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "f" || v == "false" || v == "no" || v == "off") return false;
  return std::nullopt;
}

bool is_valid_utf8(std::string_view s) {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto n = utf8_char(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool is_clean_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto n = clean_char(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (const auto n = clean_char(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      const auto c = static_cast<unsigned char>(s[i++]);
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

namespace {

std::string fold(std::string_view s) {
  std::string out;
  for (const char c : s)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edits (insert, delete, substitute, swap two neighbours) from a to b.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

std::vector<std::string> near_misses(std::string_view typed, const std::vector<std::string>& candidates) {
  const std::string t = fold(typed);
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& c : candidates) {
    const std::string f = fold(c);
    const std::size_t d = distance(t, f);
    const std::size_t allowed = std::max<std::size_t>(1, std::min<std::size_t>(3, t.size() / 3));
    if (t.empty()) continue;
    if (d <= allowed) scored.emplace_back(d, c);
    else if (t.size() >= 3 && f.starts_with(t)) scored.emplace_back(allowed + 1, c);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [d, c] : scored)
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  return out;
}

}  // namespace pulse
