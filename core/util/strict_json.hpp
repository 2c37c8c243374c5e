// JSON parsing for input from outside: on top of Boost.JSON's own checks
// (syntax, valid UTF-8), refuses nesting deeper than a limit and duplicate
// keys (which different parsers resolve differently: a classic smuggling
// vector).
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pulse {

/// Parses `text`; on failure returns nullopt and sets `why` ("duplicate key
/// \"id\"", "nested deeper than 64", "invalid UTF-8", ...).
std::optional<boost::json::value> parse_strict_json(std::string_view text, std::size_t max_depth, std::string& why);

}  // namespace pulse
