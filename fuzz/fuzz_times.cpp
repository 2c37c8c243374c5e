// Time strings: RFC 3339 (with offsets and fractions) and Unix seconds.
// What parses as RFC 3339 formats back to a time that parses the same.
#include "core/util/timeutil.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto t = pulse::parse_rfc3339(text)) {
    const auto again = pulse::parse_rfc3339(pulse::format_rfc3339(*t));
    if (!again || *again != *t) __builtin_trap();
  }
  std::string why;
  (void)pulse::parse_unix_timestamp(text, why);
  return 0;
}
