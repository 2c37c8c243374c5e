// Authentication of webhook calls: bearer or basic tokens, PagerDuty's and
// Grafana's HMAC-SHA256 signatures. Every comparison is constant-time.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::incident {

struct RouteAuth {
  /// Accepted `Authorization` values: "Bearer T" matches T, "Basic b64"
  /// matches "user:password".
  std::vector<std::string> tokens;
  /// Signing secrets (several during rotation): PagerDuty V3 and Grafana.
  std::vector<std::string> hmac_secrets;
  bool configured() const { return !tokens.empty() || !hmac_secrets.empty(); }
};

enum class AuthResult { ok, missing, invalid };

using HeaderLookup = std::function<std::optional<std::string>(std::string_view)>;

/// Checks a call to `source`'s route. With nothing configured, everything
/// passes (the server only allows that on loopback).
AuthResult authenticate(std::string_view source, const RouteAuth& auth, const HeaderLookup& header,
                        std::string_view body);

/// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace pulse::incident
