// Child processes: run one and capture its output, or start one detached
// (new session, stdio on /dev/null) that outlives us.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pulse {

struct CommandResult {
  int exit_code = -1;  ///< -1: did not start, was killed, or timed out
  std::string out;
  std::string err;
};

/// Runs argv[0] (searched in PATH) in `cwd` (empty: ours), feeding `input`
/// on stdin; kills it after `timeout`.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& cwd = "",
                          const std::string& input = "", std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// Starts argv detached: its own session, stdin/stdout on /dev/null, stderr
/// appended to `log_path` (or /dev/null). Returns false if it could not start.
bool spawn_detached(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path);

}  // namespace pulse
