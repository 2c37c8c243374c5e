// The operating system as the smallest program reaches it: the C and C++
// standard libraries only, so the static pre-push hook links it
// (pulse_libc: this, fd.* and env.*) instead of keeping copies.
#pragma once

#include "core/util/env.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace pulse {

/// Absolute path of the running program (from /proc/self/exe); "" if unknown.
std::string self_executable();

/// Parent pid of `pid` and the parent's command name, from /proc; nullopt
/// when `pid` is gone or its stat cannot be read.
std::optional<std::pair<int, std::string>> parent_of(int pid);

/// Blocks until process `pid` (not our child) has exited, or `timeout`
/// passed; returns whether it exited.
bool wait_for_exit(int pid, std::chrono::milliseconds timeout);

/// The user's directory of the suite's state, where the outbox and the
/// hook's spool live: the directory of $PULSE_OUTBOX, else
/// $XDG_STATE_HOME/pulse, else $HOME/.local/state/pulse, else "pulse-state"
/// (relative: a process without a home has no better place).
std::string state_dir(const Env& env);

}  // namespace pulse
