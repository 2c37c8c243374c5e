// The collector's ingestion bodies: one event (the Go CLI's) and batches.
// Whatever decodes must re-encode and decode to the same event.
#include "collector/decode.hpp"

#include <cstdint>
#include <string>

using namespace pulse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (const auto e = collector::decode_event(body, why)) {
    const auto again = collector::decode_event(encode_body(*e), why);
    if (!again || encode_body(*again) != encode_body(*e)) __builtin_trap();
  } else if (why.empty()) {
    __builtin_trap();  // every refusal says why
  }
  std::vector<Event> events;
  std::size_t too_many = 0;
  if (!collector::decode_batch(body, 50, events, why, too_many) && why.empty()) __builtin_trap();
  return 0;
}
