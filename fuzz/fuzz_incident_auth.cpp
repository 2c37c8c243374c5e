// pulse-incident's authentication of a route's call: bearer and Basic
// tokens, PagerDuty's X-PagerDuty-Signature list of v1= values, Grafana's
// signature over an optional signed timestamp. The input is the route (its
// first byte), then header values one per line, then the body; the checks
// run with tokens and secrets configured. Invariants: no crash, and a
// request without any of the headers is never "ok".
#include "plugins/incident/auth.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr std::array<std::string_view, 5> kRoutes = {"alertmanager", "grafana", "pagerduty", "opsgenie",
                                                              "generic"};
  static constexpr std::array<std::string_view, 4> kHeaders = {
      "Authorization", "X-PagerDuty-Signature", "X-Grafana-Alerting-Signature", "X-Grafana-Alerting-Timestamp"};
  const std::string_view route = kRoutes[data[0] % kRoutes.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::array<std::string, 4> values;
  for (auto& v : values) {
    const auto eol = rest.find('\n');
    v = std::string(rest.substr(0, eol));
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
  }
  pulse::incident::RouteAuth auth;
  auth.tokens = {"t0ken", "user:pass"};
  auth.hmac_secrets = {"secret-1", "secret-2"};
  const pulse::incident::HeaderLookup header = [&](std::string_view name) -> std::optional<std::string> {
    for (std::size_t i = 0; i < kHeaders.size(); ++i)
      if (name.size() == kHeaders[i].size() && std::equal(name.begin(), name.end(), kHeaders[i].begin(),
                                                          [](char a, char b) { return (a | 0x20) == (b | 0x20); }))
        return values[i].empty() ? std::nullopt : std::optional<std::string>(values[i]);
    return std::nullopt;
  };
  (void)pulse::incident::authenticate(route, auth, header, rest, 1773218851);
  const pulse::incident::HeaderLookup none = [](std::string_view) { return std::nullopt; };
  if (pulse::incident::authenticate(route, auth, none, rest, 1773218851) == pulse::incident::AuthResult::ok)
    __builtin_trap();
  return 0;
}
