// Authentication of webhook calls: bearer or basic tokens, and the HMAC-SHA256
// signatures of the sources that sign (each source's check sits beside its
// parser: source_pagerduty.cpp, source_alertmanager.cpp for Grafana). Every
// comparison is constant-time.
#pragma once

#include "core/util/crypto.hpp"  // hmac_sha256_hex, equal_ct: what the checks use

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::incident {

/// The default freshness window of Grafana's signed timestamps: 5 minutes.
inline constexpr std::int64_t kGrafanaTimestampWindow = 300;

struct RouteAuth {
  /// Accepted `Authorization` values: "Bearer T" matches T, "Basic b64"
  /// matches "user:password".
  std::vector<std::string> tokens;
  /// Signing secrets (several during rotation): PagerDuty V3 and Grafana.
  std::vector<std::string> hmac_secrets;
  /// How far a signed X-Grafana-Alerting-Timestamp (Unix seconds) may be
  /// from the receiver's clock, either way.
  std::int64_t timestamp_window = kGrafanaTimestampWindow;
  bool configured() const { return !tokens.empty() || !hmac_secrets.empty(); }
};

/// `stale`: a signed Grafana timestamp that is malformed or outside the
/// freshness window (a replayed call).
enum class AuthResult { ok, missing, invalid, stale };

using HeaderLookup = std::function<std::optional<std::string>(std::string_view)>;

/// Checks a call to `source`'s route. With nothing configured, everything
/// passes (the server only allows that on loopback).
/// `now` (Unix seconds) judges Grafana's signed timestamp.
AuthResult authenticate(std::string_view source, const RouteAuth& auth, const HeaderLookup& header,
                        std::string_view body, std::int64_t now);

/// A source's signature check, beside its parser (`SourceSpec::verify`):
/// the signature headers against `auth.hmac_secrets`; `now` (Unix seconds)
/// judges signed timestamps.
using SignatureCheck = AuthResult (*)(const RouteAuth& auth, const HeaderLookup& header, std::string_view body,
                                      std::int64_t now);

}  // namespace pulse::incident
