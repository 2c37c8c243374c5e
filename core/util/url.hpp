// Base URLs, the ingestion target, and redaction of secrets in what we show.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulse {

/// Scheme, host and port of a server: all a connection needs.
struct Origin {
  bool tls = false;
  std::string host;  ///< without brackets for IPv6
  std::uint16_t port = 0;
  bool explicit_port = false;  ///< whether the URL named the port

  /// The value of the Host header: "host" or "host:port" (as Go writes it).
  std::string host_header() const;
  /// "https://host:port", for messages.
  std::string to_string() const;
};

/// Parses an http:// or https:// URL into its origin. Like the Go CLI, any
/// path, query or fragment is ignored (Go resolves "/v1/ingestion/cli"
/// against the base). On failure `why` says what is wrong.
std::optional<Origin> parse_origin(std::string_view url, std::string& why);

/// application/x-www-form-urlencoded value, as Go's url.QueryEscape.
std::string form_escape(std::string_view s);

/// "/v1/ingestion/cli?api_key=K[&system=S]" with Go's encoding (keys sorted,
/// system omitted when empty). `path` lets extensions use sibling routes.
std::string ingestion_target(std::string_view api_key, std::string_view system,
                             std::string_view path = "/v1/ingestion/cli");

/// Returns `text` with every occurrence of `secret` (raw and form-escaped)
/// replaced by "***". An empty secret changes nothing.
std::string redact(std::string text, std::string_view secret);

/// Whether `host` is "localhost" or a loopback address (127.0.0.0/8, ::1).
bool is_loopback_host(std::string_view host);

/// Splits a request target into path and decoded query parameter lookup.
struct Target {
  std::string path;
  std::string query;  ///< raw, without '?'
  /// Decoded value of the first `name=` parameter, if any.
  std::optional<std::string> param(std::string_view name) const;
};
std::optional<Target> parse_target(std::string_view target);

}  // namespace pulse
