// Every alert source's parser, as the receiver runs it: strict JSON first,
// then the source, then the route's label rules. The first byte picks the
// source; the generic one uses a mapping with every field and unix_ms times.
#include "plugins/incident/model.hpp"
#include "plugins/incident/routing.hpp"
#include "core/util/strict_json.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace pulse::incident;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto names = source_names();
  const SourceSpec* source = find_source(names[data[0] % names.size()]);
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string why;
  const auto payload = pulse::parse_strict_json(body, 64, why);
  if (!payload) return 0;
  GenericMapping mapping;
  mapping.identifier = "/id";
  mapping.status = "/state";
  mapping.created = "/start";
  mapping.resolved = "/end";
  mapping.time_format = data[0] & 0x80 ? "unix_ms" : "rfc3339";
  mapping.labels = "/labels";
  mapping.system = "/service";
  mapping.environment = "/env";
  ParseResult parsed;
  if (!source->parse(*payload, &mapping, parsed, why)) return 0;
  for (const auto& o : parsed.observations) {
    // What the state keeps must be well formed: a key, and times in range.
    if (o.key.empty() || (o.resolved && *o.resolved < o.created)) __builtin_trap();
    if (o.labels.size() > kMaxLabels) __builtin_trap();
    (void)incident_identifier(*source, o);
  }
  static const RouteRules rules = [] {
    RouteRules r;
    r.system = "fallback";
    r.system_label = "service";
    r.environment_label = "env";
    Matcher m;
    std::string ignored;
    parse_matcher("severity=critical|page", m, ignored);
    r.matchers.push_back(m);
    return r;
  }();
  std::vector<std::string> notes;
  apply_rules(rules, "", parsed.observations, notes);
  for (const auto& o : parsed.observations)  // every incident lands under a usable name
    if (!valid_name(o.system) || (!o.environment.empty() && !valid_name(o.environment))) __builtin_trap();
  return 0;
}
