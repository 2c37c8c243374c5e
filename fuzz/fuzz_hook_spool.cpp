// The hook's input and its spool: pre-push's lines from git ("<local ref>
// <local sha> <remote ref> <remote sha>") and the push record the worker
// reads back, whatever a crash or another program left in the file.
// Invariant: a complete record written out again reads back the same.
#include "hooks/spool.hpp"

#include <cstdint>
#include <string_view>

namespace {
bool same(const pulse::hook::SpoolRecord& a, const pulse::hook::SpoolRecord& b) {
  if (a.git_dir != b.git_dir || a.remote != b.remote || a.url != b.url || a.push_pid != b.push_pid ||
      a.recorded_at != b.recorded_at || a.tips != b.tips || a.updates.size() != b.updates.size() ||
      a.complete != b.complete)
    return false;
  for (std::size_t i = 0; i < a.updates.size(); ++i)
    if (a.updates[i].local_ref != b.updates[i].local_ref || a.updates[i].local_sha != b.updates[i].local_sha ||
        a.updates[i].remote_ref != b.updates[i].remote_ref || a.updates[i].remote_sha != b.updates[i].remote_sha)
      return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)pulse::hook::parse_updates(text);
  const auto record = pulse::hook::parse_spool(text);
  if (record.complete) {
    const auto again = pulse::hook::parse_spool(pulse::hook::format_spool(record));
    if (!same(record, again)) __builtin_trap();
  }
  return 0;
}
