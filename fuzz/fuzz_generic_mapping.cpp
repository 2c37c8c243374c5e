// The generic route's mapping file: refused with a message, or a mapping.
#include "plugins/incident/model.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto m = pulse::incident::parse_mapping(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    if (m.identifier.empty() || m.identifier[0] != '/') __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
