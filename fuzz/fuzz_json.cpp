// The one JSON policy (strict_json.hpp): depth, UTF-8, duplicate keys.
#include "core/util/strict_json.hpp"

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  const auto v = pulse::parse_strict_json(std::string_view(reinterpret_cast<const char*>(data), size), 32, why);
  if (!v) {
    if (why.empty()) __builtin_trap();
    return 0;
  }
  // What it accepts, it accepts again once written out.
  if (!pulse::parse_strict_json(boost::json::serialize(*v), 32, why)) __builtin_trap();
  return 0;
}
