// pulse-hook: records when commits are really pushed, without slowing or
// breaking a push. main() only forwards here.
#pragma once

#include "core/util/env.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace pulse::hook {

/// Runs `pulse-hook ARGS...`. Hook modes (pre-push, post-receive, confirm,
/// flush) always return 0: a failure of ours never fails a push.
int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace pulse::hook
