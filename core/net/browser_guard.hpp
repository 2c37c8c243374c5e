// A server that answers without credentials on loopback is reachable from
// every web page the user opens. This check refuses what only a page would
// send: a foreign Origin, a Host that is not ours (DNS rebinding), and a
// write that is not JSON (a page can POST text/plain without a preflight).
#pragma once

#include "core/net/http_server.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pulse {

struct BrowserGuard {
  /// Host names besides loopback ones that name this server (a reverse
  /// proxy's public name), without port.
  std::vector<std::string> public_hosts;

  struct Refusal {
    int status;  ///< 403 for a foreign Origin or Host; 400 for a write that is not JSON
    std::string reason;
  };
  /// Why the request is refused, or nullopt if it may proceed. `write`: the
  /// request changes data, so its body must be JSON.
  std::optional<Refusal> refuse(const ServerRequest& request, bool write) const;

  /// Whether `host` (a Host header's value, port allowed) names this server.
  bool our_host(std::string_view host) const;
};

}  // namespace pulse
