// pulse-incident's commands. main() only forwards here.
#pragma once

#include "env.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::incident {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;    ///< could not start or run
inline constexpr int kExitUsage = 2;      ///< bad flags
inline constexpr int kExitRejected = 3;   ///< `report`: the payload was refused (400/401)
inline constexpr int kExitDelivery = 4;   ///< `report`: a resolved incident is not delivered yet (kept, retried later)

/// Reads stdin for `report`; injectable for tests.
int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err);

/// $XDG_STATE_HOME/pulse/incidents.db, or ~/.local/state/pulse/incidents.db.
std::string default_db_path(const Env& env);

}  // namespace pulse::incident
