// pulse-event-cli's commands: a drop-in for Codacy's Go pulse-event-cli.
// main() only forwards here.
#pragma once

#include "env.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::cli {

// Exit codes (documented in the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;   ///< unexpected failure of our own
inline constexpr int kExitUsage = 2;      ///< bad flags or input; nothing was sent
inline constexpr int kExitRejected = 3;   ///< the server refused an event (4xx)
inline constexpr int kExitDelivery = 4;   ///< no answer or 5xx after every retry

inline constexpr const char* kDefaultBaseUrl = "http://127.0.0.1:8765";

/// Runs `pulse-event-cli ARGS...` (args exclude the program name).
int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

}  // namespace pulse::cli
