// pulse-deploy: the CI step that reports a deployment and exactly the
// commits it shipped. main() only forwards here.
#pragma once

#include "core/util/env.hpp"
#include "core/cmdline/exit_codes.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::deploy {

// Exit codes (exit_codes.hpp): a refusal by the server (bad key, invalid
// event) always fails the step; a transient failure after retries only with
// --strict (else a warning and 0).

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err);

}  // namespace pulse::deploy
