// pulse-collector's commands. main() only forwards here.
#pragma once

#include "core/util/env.hpp"
#include "core/cmdline/exit_codes.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::collector {

inline constexpr std::uint16_t kDefaultPort = 8765;

/// Runs `pulse-collector ARGS...` (args exclude the program name).
int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

/// $XDG_DATA_HOME/pulse/collector.db, or ~/.local/share/pulse/collector.db.
std::string default_db_path(const Env& env);

}  // namespace pulse::collector
