// pulse-deploy: the CI step that reports a deployment and exactly the
// commits it shipped. main() only forwards here.
#pragma once

#include "env.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::deploy {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;     ///< bad flags or input
inline constexpr int kExitRejected = 3;  ///< the server refused (bad key, invalid event): always fails the step
inline constexpr int kExitDelivery = 4;  ///< transient failure after retries, with --strict (else a warning and 0)

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

}  // namespace pulse::deploy
