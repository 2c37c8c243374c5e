// Turns a webhook call (or a payload on stdin) into changes of the incident
// state: authenticate, parse strictly, apply. Pure request -> response
// logic, so tests can call it without a socket.
#pragma once

#include "plugins/incident/auth.hpp"
#include "core/net/browser_guard.hpp"
#include "core/net/http_server.hpp"
#include "core/net/log.hpp"
#include "plugins/incident/model.hpp"
#include "plugins/incident/routing.hpp"
#include "plugins/incident/state.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace pulse::incident {

struct RouteConfig {
  RouteRules rules;  ///< system, environment, their labels, matchers
  RouteAuth auth;
  std::optional<GenericMapping> mapping;  ///< the generic route's
};

/// The outcome of one delivery, with the HTTP status to answer.
struct Processed {
  int status = 200;
  std::string message;  ///< one line; for 4xx, the reason
  ApplyResult applied;
};

inline constexpr std::size_t kMaxJsonDepth = 64;

using Routes = std::map<std::string, RouteConfig, std::less<>>;

class Receiver {
 public:
  using Logger = std::function<void(const std::string&)>;
  /// `state` is borrowed. `on_resolved` is called after an incident becomes
  /// complete (to wake the reporter).
  Receiver(State& state, Routes routes, std::function<void()> on_resolved, Logger log,
           std::function<std::int64_t()> now);

  /// Replaces every route's settings (SIGHUP: new tokens, secrets, mapping);
  /// requests in flight finish with the old ones. Thread-safe.
  void set_routes(Routes routes);

  /// Told what each accepted notification changed (for metrics). Set before serving.
  void observe(std::function<void(std::string_view source, const ApplyResult&)> f) { observer_ = std::move(f); }

  /// HTTP entry: route /<source>, then process(). A route without
  /// credentials refuses what only a web page sends (browser_guard.hpp).
  ServerResponse handle(const ServerRequest& request);
  /// Before a body is read (ServerOptions::before_body): the answer to a
  /// request its headers already refuse (no such route, not POST, a bad
  /// ?system=, a route with tokens and a missing or wrong one), as handle()
  /// gives it. Signatures need the body: handle() checks them.
  std::optional<ServerResponse> before_body(const ServerRequest& head);

  /// Host names besides loopback ones that name this server (--public-host).
  void set_public_hosts(std::vector<std::string> hosts) { guard_.public_hosts = std::move(hosts); }

  /// Processes one payload of `source`. With `verify`, the route's
  /// authentication applies to `headers`; without, the payload is trusted.
  Processed process(std::string_view source, std::string_view body, const HeaderLookup& headers, bool verify,
                    const std::string& system_override = "");

 private:
  std::shared_ptr<const Routes> routes() const;
  /// A route's source and settings, both found by the route's name.
  struct Found {
    const SourceSpec* source;
    const RouteConfig* config;  ///< in the Routes it was found in
  };
  static std::optional<Found> find_route(const Routes& routes, std::string_view name);
  Processed process(const SourceSpec* source, const RouteConfig& cfg, std::string_view body,
                    const HeaderLookup& headers, bool verify, const std::string& system_override);

  State& state_;
  mutable std::mutex routes_mutex_;
  std::shared_ptr<const Routes> routes_;
  std::function<void(std::string_view, const ApplyResult&)> observer_;
  std::function<void()> on_resolved_;
  Logger log_;
  /// Lines about refused requests: a flood of them (a scanner, a
  /// misconfigured sender) is summarised, as the request log's refusals are.
  RateLimit refusals_{10, std::chrono::seconds(10)};
  void log_refusal(const std::string& line);
  std::optional<ServerResponse> refusal(const ServerRequest& request, const Target& target, std::string_view name,
                                        const std::optional<Found>& found);
  std::function<std::int64_t()> now_;
  BrowserGuard guard_;
};

}  // namespace pulse::incident
