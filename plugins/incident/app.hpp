// pulse-incident's commands. main() only forwards here.
#pragma once

#include "core/util/env.hpp"
#include "core/cmdline/exit_codes.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::incident {

// Exit codes (exit_codes.hpp); for `report`: 3, the payload was refused
// (400/401); 4, a resolved incident is not delivered yet (kept, retried later).

/// Reads stdin for `report`; injectable for tests.
int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err);

/// $XDG_STATE_HOME/pulse/incidents.db, or ~/.local/state/pulse/incidents.db.
std::string default_db_path(const Env& env);

}  // namespace pulse::incident
