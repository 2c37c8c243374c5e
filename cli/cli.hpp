// pulse-event-cli's commands: a drop-in for Codacy's Go pulse-event-cli.
// main() only forwards here.
#pragma once

#include "core/util/env.hpp"
#include "core/cmdline/exit_codes.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::cli {

inline constexpr int kExitInternal = kExitFailure;  ///< unexpected failure of our own (exit_codes.hpp)

/// Runs `pulse-event-cli ARGS...` (args exclude the program name).
int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

}  // namespace pulse::cli
