// The GitHub Actions event payload (GITHUB_EVENT_PATH) that pulse-deploy
// reads for the push's "before" commit: any bytes in the file.
// Invariant: no crash; "before" is taken only from a JSON string.
#include "core/git/ci.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const struct EventFile {
    std::string path = "/tmp/pulse-fuzz-event." + std::to_string(::getpid()) + ".json";
    ~EventFile() { std::remove(path.c_str()); }
  } file;
  const std::string& path = file.path;
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    return 0;
  }
  const pulse::Env env{{"GITHUB_ACTIONS", "true"},   {"GITHUB_SHA", std::string(40, 'a')},
                       {"GITHUB_REPOSITORY", "o/r"}, {"GITHUB_RUN_ID", "1"},
                       {"GITHUB_EVENT_PATH", path},  {"GITHUB_REF", "refs/heads/main"}};
  const auto ci = pulse::detect_ci(env);
  if (ci.provider != "github-actions") __builtin_trap();
  return 0;
}
