// Shared by the integration tests: running the real binaries.
#pragma once

#include "../support/support.hpp"
#include "core/event/event.hpp"
#include "core/util/timeutil.hpp"

#include <set>
#include <sstream>

#include <boost/test/unit_test.hpp>

namespace pulse::test {

inline ProcessResult cli(std::vector<std::string> args, const EnvOverrides& env = {}, const std::string& cwd = "") {
  args.insert(args.begin(), cli_bin());
  return run_process(args, env, cwd);
}

inline ProcessResult collector_cmd(std::vector<std::string> args, const EnvOverrides& env = {}) {
  args.insert(args.begin(), collector_bin());
  return run_process(args, env);
}

inline ServerResponse ok_response() { return {200, "application/json", "{}", {}}; }

inline std::string header_of(const ServerRequest& r, const std::string& name) {
  auto v = r.header(name);
  return v ? *v : "<missing>";
}

/// The non-empty lines of `text`.
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

/// Number of occurrences of `needle` in `hay`.
inline std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace pulse::test
