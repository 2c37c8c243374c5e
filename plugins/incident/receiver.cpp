#include "plugins/incident/receiver.hpp"

#include "core/event/event.hpp"
#include "core/net/log.hpp"
#include "core/db/storage_error.hpp"
#include "core/util/strict_json.hpp"
#include "core/util/url.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pulse::incident {

namespace {

std::string sanitize(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

}  // namespace

Receiver::Receiver(State& state, Routes routes, std::function<void()> on_resolved, Logger log,
                   std::function<std::int64_t()> now)
    : state_(state),
      routes_(std::make_shared<const Routes>(std::move(routes))),
      on_resolved_(std::move(on_resolved)),
      log_(std::move(log)),
      now_(std::move(now)) {}

void Receiver::set_routes(Routes routes) {
  auto next = std::make_shared<const Routes>(std::move(routes));
  std::lock_guard lock(routes_mutex_);
  routes_ = std::move(next);
}

std::shared_ptr<const Routes> Receiver::routes() const {
  std::lock_guard lock(routes_mutex_);
  return routes_;
}

Processed Receiver::process(std::string_view source_name, std::string_view body, const HeaderLookup& headers,
                            bool verify, const std::string& system_override) {
  const auto routes = this->routes();
  const auto found = find_route(*routes, source_name);
  if (!found) return {404, "no such source: " + sanitize(source_name), {}};
  return process(found->source, *found->config, body, headers, verify, system_override);
}

std::optional<Receiver::Found> Receiver::find_route(const Routes& routes, std::string_view name) {
  const SourceSpec* source = find_source(name);
  const auto route = routes.find(name);
  if (!source || route == routes.end()) return std::nullopt;
  return Found{source, &route->second};
}

Processed Receiver::process(const SourceSpec* source, const RouteConfig& cfg, std::string_view body,
                            const HeaderLookup& headers, bool verify, const std::string& system_override) {
  if (verify) {
    switch (authenticate(source->name, cfg.auth, headers, body, now_())) {
      case AuthResult::ok:
        break;
      case AuthResult::stale:
        return {401,
                "X-Grafana-Alerting-Timestamp: not Unix seconds within " + std::to_string(cfg.auth.timestamp_window) +
                    " seconds of this server's clock (a replay?)",
                {}};
      case AuthResult::missing:
        return {401, "missing credentials for /" + std::string(source->name), {}};
      case AuthResult::invalid:
        return {401, "invalid credentials or signature for /" + std::string(source->name), {}};
    }
  }
  std::string why;
  const auto payload = parse_strict_json(body, kMaxJsonDepth, why);
  if (!payload) return {400, "body: " + why, {}};
  ParseResult parsed;
  if (!source->parse(*payload, cfg.mapping ? &*cfg.mapping : nullptr, parsed, why)) return {400, why, {}};
  for (const auto& note : parsed.notes)
    if (log_) log_(std::string(source->name) + ": " + note);
  if (parsed.test) return {200, "test notification: nothing to do", {}};
  if (parsed.observations.empty())
    return {200, parsed.ignored_reason.empty() ? "no alerts" : parsed.ignored_reason, {}};

  // PagerDuty names each delivery: a redelivery repeats the id.
  std::string delivery_id;
  if (source->name == "pagerduty")
    if (auto id = headers("X-Webhook-Id"); id && valid_identity(*id)) delivery_id = *id;

  std::vector<std::string> notes;
  apply_rules(cfg.rules, system_override, parsed.observations, notes);
  for (const auto& note : notes)
    if (log_) log_(std::string(source->name) + ": " + note);
  Processed out;
  out.applied = state_.apply(*source, parsed.observations, delivery_id, now_());
  if (out.applied.resolved > 0 && on_resolved_) on_resolved_();
  if (observer_) observer_(source->name, out.applied);
  if (log_)
    for (const auto& note : out.applied.notes) log_(note);
  if (log_ && (out.applied.opened || out.applied.resolved))
    log_(std::string(source->name) + ": " + std::to_string(out.applied.opened) + " opened, " +
         std::to_string(out.applied.resolved) + " resolved");
  if (log_ && out.applied.ignored)
    log_(std::string(source->name) + ": " + std::to_string(out.applied.ignored) +
         " alert(s) ignored: left out by the route's --match rules");
  out.message = out.applied.duplicate_delivery ? "duplicate delivery"
                : out.applied.ignored && !out.applied.opened && !out.applied.resolved && !out.applied.unchanged
                    ? "ignored: the route's label matchers leave these alerts out"
                    : "ok";
  return out;
}

void Receiver::log_refusal(const std::string& line) {
  if (!log_) return;
  std::size_t suppressed = 0;
  if (!refusals_.allow(suppressed)) return;
  log_(suppressed ? line + " (" + std::to_string(suppressed) + " earlier refusal(s) not logged)" : line);
}

std::optional<ServerResponse> Receiver::before_body(const ServerRequest& head) {
  const auto target = parse_target(head.target);
  if (!target) return ServerResponse{400, "application/json", json_error("malformed request target"), {}};
  if (target->path == "/healthz") return std::nullopt;
  std::string_view name(target->path);
  if (name.starts_with("/")) name.remove_prefix(1);
  const auto routes = this->routes();
  const auto found = find_route(*routes, name);
  return refusal(head, *target, name, found);
}

// What refuses a request on its headers alone (see before_body).
std::optional<ServerResponse> Receiver::refusal(const ServerRequest& request, const Target& target,
                                                std::string_view name, const std::optional<Found>& found) {
  if (!found) return ServerResponse{404, "application/json", json_error("no such route: /" + sanitize(name)), {}};
  if (request.method != "POST")
    return ServerResponse{405, "application/json", json_error("method not allowed"), {{"Allow", "POST"}}};
  const auto& auth = found->config->auth;
  if (!auth.configured())
    if (auto refused = guard_.refuse(request, true)) {
      log_refusal("/" + std::string(name) + " from " + request.remote + ": " + std::to_string(refused->status) + " " +
                  sanitize(refused->reason));
      return ServerResponse{refused->status, "application/json", json_error(refused->reason), {}};
    }
  // The system a sender names goes into every incident: it obeys the rule
  // of every stored name, or nothing is accepted (the collector would
  // refuse the incident later, when no sender hears of it).
  const std::string system = target.param("system").value_or("");
  if (!system.empty() && !valid_name(system))
    return ServerResponse{
        400,
        "application/json",
        json_error("?system=: not a usable system name (1 to 256 bytes of text without control characters)"),
        {}};
  // Tokens are in the headers: a wrong one is refused before any body.
  if (!auth.tokens.empty()) {
    const HeaderLookup headers = [&request](std::string_view h) { return request.header(h); };
    RouteAuth tokens_only;
    tokens_only.tokens = auth.tokens;
    if (const auto r = authenticate(found->source->name, tokens_only, headers, "", 0); r != AuthResult::ok) {
      const std::string message = r == AuthResult::missing
                                      ? "missing credentials for /" + std::string(name)
                                      : "invalid credentials or signature for /" + std::string(name);
      log_refusal("/" + std::string(name) + " from " + request.remote + ": 401 " + message);
      return ServerResponse{401, "application/json", json_error(message), {{"WWW-Authenticate", "Bearer"}}};
    }
  }
  return std::nullopt;
}

ServerResponse Receiver::handle(const ServerRequest& request) {
  const auto target = parse_target(request.target);
  if (!target) return {400, "application/json", json_error("malformed request target"), {}};
  if (target->path == "/healthz") return {200, "application/json", R"({"status":"ok"})", {}};
  std::string_view name(target->path);
  if (name.starts_with("/")) name.remove_prefix(1);
  // The route is looked up once; the snapshot keeps it alive through a reload.
  const auto routes = this->routes();
  const auto found = find_route(*routes, name);
  if (auto refused = refusal(request, *target, name, found)) return std::move(*refused);
  const std::string system = target->param("system").value_or("");
  const HeaderLookup headers = [&request](std::string_view h) { return request.header(h); };
  Processed out;
  try {
    out = process(found->source, *found->config, request.body, headers, true, system);
  } catch (const StorageError& e) {
    // Storage trouble is ours and transient: 503 makes senders retry.
    if (log_) log_(std::string("/") + std::string(name) + ": " + e.what());
    return {503, "application/json", json_error("temporarily unavailable"), {{"Retry-After", "5"}}};
  } catch (const std::exception& e) {
    // A bug: not worth a retry; the id joins the answer to the log line.
    const std::string id = new_error_id();
    if (log_) log_("internal error " + id + " on /" + std::string(name) + ": " + e.what());
    return {500, "application/json", json_error("internal error " + id), {}};
  }
  if (out.status != 200) {
    log_refusal(std::string("/") + std::string(name) + " from " + request.remote + ": " + std::to_string(out.status) +
                " " + sanitize(out.message));
    ServerResponse r{out.status, "application/json", json_error(out.message), {}};
    if (out.status == 401) r.headers.push_back({"WWW-Authenticate", "Bearer"});
    return r;
  }
  return {200,
          "application/json",
          "{\"opened\":" + std::to_string(out.applied.opened) + ",\"resolved\":" +
              std::to_string(out.applied.resolved) + ",\"unchanged\":" + std::to_string(out.applied.unchanged) +
              ",\"ignored\":" + std::to_string(out.applied.ignored) + ",\"message\":" +
              [&] {
                std::string s;
                append_json_string(s, out.message);
                return s;
              }() +
              "}",
          {}};
}

}  // namespace pulse::incident
