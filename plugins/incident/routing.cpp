#include "plugins/incident/routing.hpp"

#include "core/util/text.hpp"

#include <cctype>

namespace pulse::incident {

namespace {

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/')) return false;
  return true;
}

// The label's value when it is a usable name; notes why not otherwise.
const std::string* named_by(const Observation& o, const std::string& label, std::string_view what,
                            std::vector<std::string>& notes) {
  if (label.empty()) return nullptr;
  const std::string* v = find_label(o.labels, label);
  if (v && !valid_name(*v)) {
    notes.push_back("alert " + o.key + ": label " + label + " is not a usable " + std::string(what) +
                    " name (1 to 256 bytes of text without control characters): using the route's");
    return nullptr;
  }
  return v;
}

}  // namespace

bool valid_name(std::string_view s) { return !s.empty() && s.size() <= 256 && is_clean_text(s); }

bool parse_matcher(std::string_view text, Matcher& out, std::string& why) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    why = "\"" + printable(text.substr(0, 100)) + "\": not LABEL=VALUE[|VALUE...] or LABEL!=VALUE[|VALUE...]";
    return false;
  }
  out = {};
  out.negated = text[eq - 1] == '!';
  out.label = std::string(text.substr(0, out.negated ? eq - 1 : eq));
  if (!valid_label_name(out.label)) {
    why = "\"" + printable(text.substr(0, 100)) + "\": the label name must be letters, digits, _ - . or /";
    return false;
  }
  std::string_view rest = text.substr(eq + 1);
  for (;;) {
    const auto bar = rest.find('|');
    out.values.emplace_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  if (out.values.size() > 64) {
    why = "\"" + printable(text.substr(0, 100)) + "\": more than 64 values";
    return false;
  }
  return true;
}

std::string to_string(const Matcher& m) {
  std::string out = m.label + (m.negated ? "!=" : "=");
  for (std::size_t i = 0; i < m.values.size(); ++i) out += (i ? "|" : "") + m.values[i];
  return out;
}

bool matches(const std::vector<Matcher>& matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    const std::string* v = find_label(labels, m.label);
    const std::string value = v ? *v : "";
    bool listed = false;
    for (const auto& x : m.values) listed = listed || x == value;
    if (listed == m.negated) return false;
  }
  return true;
}

void apply_rules(const RouteRules& rules, const std::string& query_system, std::vector<Observation>& observations,
                 std::vector<std::string>& notes) {
  for (auto& o : observations) {
    if (o.system.empty()) {
      if (const auto* v = named_by(o, rules.system_label, "system", notes)) o.system = *v;
      else o.system = !query_system.empty() ? query_system : rules.system;
    }
    if (o.environment.empty()) {
      if (const auto* v = named_by(o, rules.environment_label, "environment", notes)) o.environment = *v;
      else o.environment = rules.environment;
    }
    o.filtered = !matches(rules.matchers, o.labels);
  }
}

}  // namespace pulse::incident
