// Config files (TOML) mapped onto a server's flags.
#include "core/cmdline/config_file.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

using namespace pulse;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<FlagSpec> specs = {
      {"port", "PORT", "p", false, {}, "8765"},
      {"public-host", "NAME", "h", true},
      {"insecure", "", "i"},
      {"grafana-secret-file", "FILE", "g"},
      {"config", "FILE", "c"},
  };
  // load_config_file reads a file, as the servers do.
  static const std::string path = "/tmp/pulse-fuzz-config-" + std::to_string(::getpid()) + ".toml";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  std::string why;
  if (!load_config_file(path, specs, why) && why.empty()) __builtin_trap();
  return 0;
}
