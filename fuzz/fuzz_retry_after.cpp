// Retry-After as the clients read it from a server's answer: delay-seconds
// or an HTTP date. Invariant: a delay is never negative.
#include "core/net/retry.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1773218851));
  if (const auto wait = pulse::parse_retry_after(text, now); wait && wait->count() < 0) __builtin_trap();
  return 0;
}
