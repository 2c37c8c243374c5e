// Base URLs (--base-url, pulse.url) and request targets with their queries.
#include "core/util/url.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (const auto origin = pulse::parse_origin(text, why)) {
    (void)origin->to_string();
    (void)origin->host_header();
    (void)pulse::ingestion_target("k", text);
  }
  if (const auto target = pulse::parse_target(text)) {
    for (const char* name : {"system", "api_key", "from", "to"}) (void)target->param(name);
  }
  (void)pulse::is_loopback_host(text);
  (void)pulse::form_escape(text);
  return 0;
}
