// Where an alert's incident belongs and whether it counts: a route's rules
// over the alert's labels (system and environment labels with fallbacks,
// label matchers such as severity=critical|page).
#pragma once

#include "plugins/incident/model.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pulse::incident {

/// "name=v1|v2" (the label is one of the values) or "name!=v1|v2" (it is
/// none of them). A missing label has the value "" (as in Alertmanager), so
/// "severity!=info" keeps alerts without a severity and "severity=critical"
/// drops them.
struct Matcher {
  std::string label;
  std::vector<std::string> values;
  bool negated = false;
};

/// Parses a matcher; returns false with `why` (naming the text) when it is
/// malformed.
bool parse_matcher(std::string_view text, Matcher& out, std::string& why);
std::string to_string(const Matcher& m);

struct RouteRules {
  std::string system;             ///< fallback system (the route's, else --system)
  std::string environment;        ///< fallback environment ("": the collector's default, production)
  std::string system_label;       ///< the label naming the system, if any
  std::string environment_label;  ///< the label naming the environment, if any
  std::vector<Matcher> matchers;  ///< every one must hold for an alert to count

  bool operator==(const RouteRules&) const = default;
};

/// A usable system or environment name: 1 to 256 bytes of text without
/// control characters (as the collector accepts).
bool valid_name(std::string_view s);

/// Whether every matcher holds for `labels`.
bool matches(const std::vector<Matcher>& matchers, const Labels& labels);

/// Fills each observation's system and environment and marks those the
/// matchers leave out. Precedence for the system: what the payload names
/// outright (generic mapping), then the system label, then `query_system`
/// (?system= on the webhook URL), then the route's system; the environment
/// likewise without a query value. A label value that is not a valid_name
/// is ignored with a note.
void apply_rules(const RouteRules& rules, const std::string& query_system, std::vector<Observation>& observations,
                 std::vector<std::string>& notes);

}  // namespace pulse::incident
