// The push record ("spool" file) pulse-hook writes in pre-push and
// pulse-hook-worker confirms once git push has exited: one "key value"
// line each, "end" last, so a record cut short (a crash mid-write) is
// known to be incomplete. Standard library only: the static pre-push
// binary and the worker share this one definition.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::hook {

/// A line of pre-push's input: "<local ref> <local sha> <remote ref> <remote sha>".
struct RefUpdate {
  std::string local_ref, local_sha, remote_ref, remote_sha;
};

struct SpoolRecord {
  std::string git_dir, remote, url;
  int push_pid = 0;               ///< the `git push` to wait for
  std::int64_t recorded_at = 0;   ///< Unix seconds
  std::vector<std::string> tips;  ///< what the remote-tracking refs held before the push
  std::vector<RefUpdate> updates;
  bool complete = false;  ///< the "end" line was read
};

/// Lines of four fields; anything else is skipped.
inline std::vector<RefUpdate> parse_updates(std::string_view text) {
  std::vector<RefUpdate> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    RefUpdate u;
    if (fields >> u.local_ref >> u.local_sha >> u.remote_ref >> u.remote_sha) out.push_back(u);
  }
  return out;
}

inline std::string format_spool(const SpoolRecord& r) {
  std::string out = "git_dir " + r.git_dir + "\nremote " + r.remote + "\nurl " + r.url + "\npush_pid " +
                    std::to_string(r.push_pid) + "\nrecorded_at " + std::to_string(r.recorded_at) + "\n";
  for (const auto& tip : r.tips) out += "tip " + tip + "\n";
  for (const auto& u : r.updates)
    out += "update " + u.local_ref + " " + u.local_sha + " " + u.remote_ref + " " + u.remote_sha + "\n";
  return out + "end\n";
}

/// A record as read back; `complete` only when its "end" line is there
/// (a line cut short is not a line: it is dropped).
inline SpoolRecord parse_spool(std::string_view text) {
  SpoolRecord r;
  std::string updates;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    if (eol == std::string_view::npos) break;  // cut short
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    const auto sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    const std::string value(sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1));
    if (key == "git_dir") r.git_dir = value;
    else if (key == "remote") r.remote = value;
    else if (key == "url") r.url = value;
    else if (key == "push_pid") r.push_pid = std::atoi(value.c_str());
    else if (key == "recorded_at") r.recorded_at = std::atoll(value.c_str());
    else if (key == "tip") r.tips.push_back(value);
    else if (key == "update") updates += value + "\n";
    else if (key == "end") r.complete = true;
  }
  r.updates = parse_updates(updates);
  return r;
}

}  // namespace pulse::hook
