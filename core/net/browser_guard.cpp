#include "core/net/browser_guard.hpp"

#include "core/util/url.hpp"
#include "core/util/text.hpp"

#include <algorithm>
#include <cctype>

namespace pulse {

namespace {

// "host", "host:port", "[::1]:port" -> the host part.
std::string host_part(std::string_view hostport) {
  if (hostport.starts_with("[")) {
    const auto end = hostport.find(']');
    return end == std::string_view::npos ? std::string() : std::string(hostport.substr(1, end - 1));
  }
  const auto colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(':') == colon) return std::string(hostport.substr(0, colon));
  return std::string(hostport);
}

}  // namespace

bool BrowserGuard::our_host(std::string_view hostport) const {
  const std::string host = lower(host_part(hostport));
  if (host.empty()) return false;
  if (host == "localhost" || host.ends_with(".localhost") || is_loopback_host(host)) return true;
  return std::any_of(public_hosts.begin(), public_hosts.end(), [&](const std::string& h) { return lower(h) == host; });
}

std::optional<BrowserGuard::Refusal> BrowserGuard::refuse(const ServerRequest& request, bool write) const {
  const auto host = request.header("Host");
  if (host && !our_host(*host))
    return Refusal{
        403, "Host \"" + host->substr(0, 100) + "\" does not name this server (a public name needs --public-host)"};
  if (const auto origin = request.header("Origin")) {
    // Same origin only: scheme://HOST[:port] where HOST:port is the Host header.
    const auto sep = origin->find("://");
    const std::string authority = sep == std::string::npos ? "" : origin->substr(sep + 3);
    if (!host || authority.empty() || lower(authority) != lower(*host) || !our_host(authority))
      return Refusal{403, "cross-origin requests are refused (Origin " + origin->substr(0, 100) + ")"};
  }
  if (write) {
    const std::string type = lower(request.header("Content-Type").value_or(""));
    if (!(type == "application/json" || type.starts_with("application/json;") || type.starts_with("application/json ")))
      return Refusal{400, "a write needs Content-Type: application/json"};
  }
  return std::nullopt;
}

}  // namespace pulse
