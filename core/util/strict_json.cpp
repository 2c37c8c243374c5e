#include "core/util/strict_json.hpp"

#include "core/util/text.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
#include <unordered_set>
#include <vector>

namespace pulse {

namespace {

namespace json = boost::json;

// SAX handler that only tracks the keys of each open object.
struct DuplicateKeyCheck {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::vector<std::unordered_set<std::string>> objects;
  std::string key;
  std::string duplicate;
  bool huge_number = false;  ///< beyond a double (1e400): Boost.JSON would read infinity

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    objects.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    objects.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key.append(s.data(), s.size());
    if (!objects.back().insert(key).second) {
      duplicate = key.substr(0, 64);
      ec = json::error::syntax;  // any error stops the parse; `duplicate` says which
      return false;
    }
    key.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    if (std::isfinite(d)) return true;
    huge_number = true;
    ec = json::error::syntax;
    return false;
  }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

std::string describe(const json::error_code& ec, std::size_t max_depth) {
  if (ec == json::error::too_deep) return "nested deeper than " + std::to_string(max_depth) + " levels";
  const std::string m = ec.message();
  if (m.find("UTF-8") != std::string::npos || m.find("utf") != std::string::npos) return "invalid UTF-8";
  return m;
}

}  // namespace

std::optional<json::value> parse_strict_json(std::string_view text, std::size_t max_depth, std::string& why) {
  if (text.empty()) {
    why = "empty body";
    return std::nullopt;
  }
  json::parse_options opt;
  opt.max_depth = max_depth;
  json::basic_parser<DuplicateKeyCheck> checker(opt);
  json::error_code ec;
  checker.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    why = !checker.handler().duplicate.empty() ? "duplicate key \"" + checker.handler().duplicate + "\""
          : checker.handler().huge_number      ? "a number out of range"
          : !is_valid_utf8(text)               ? "invalid UTF-8"
                                               : describe(ec, max_depth);
    return std::nullopt;
  }
  auto v = json::parse(text, ec, {}, opt);
  if (ec) {
    why = describe(ec, max_depth);
    return std::nullopt;
  }
  return v;
}

}  // namespace pulse
