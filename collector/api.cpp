#include "collector/api.hpp"

#include "collector/dashboard.hpp"
#include "collector/explain.hpp"
#include "collector/exporter.hpp"

#include "core/client/ingestion.hpp"
#include "core/net/log.hpp"
#include "core/db/storage_error.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <charconv>

namespace pulse::collector {

namespace json = boost::json;

namespace {

ServerResponse reply(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }
ServerResponse error(int status, std::string_view message) { return reply(status, json_error(message)); }
ServerResponse unauthorized() {
  auto r = error(401, "missing or invalid API key");
  r.headers.push_back({"WWW-Authenticate", "Bearer"});
  return r;
}
ServerResponse method_not_allowed(std::string_view allow) {
  auto r = error(405, "method not allowed");
  r.headers.push_back({"Allow", std::string(allow)});
  return r;
}

std::string sha256(std::string_view s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

}  // namespace

boost::json::object event_json(const StoredEvent& e) {
  auto time = [](const std::optional<std::int64_t>& t) -> json::value {
    if (!t) return nullptr;
    return json::string(format_rfc3339(*t));
  };
  json::object o;
  o["type"] = e.type;
  o["system"] = e.system;
  o["id"] = e.id;
  o["source"] = e.source;
  o["time_created"] = time(e.time_created);
  o["time_pushed"] = time(e.time_pushed);
  o["time_resolved"] = time(e.time_resolved);
  if (e.type != "change") o["environment"] = e.environment;
  if (e.type == "deployment") {
    o["run_url"] = e.run_url.empty() ? json::value(nullptr) : json::value(e.run_url);
    o["changes"] = json::array(e.changes.begin(), e.changes.end());
    o["teams"] = json::array(e.teams.begin(), e.teams.end());
  }
  o["received_at"] = format_rfc3339(e.received_at);
  return o;
}

Api::Api(Store& store, ApiConfig config, std::function<std::int64_t()> now)
    : store_(store), config_(std::move(config)), now_(std::move(now)) {
  set_api_keys(config_.api_keys);
  set_forge_secrets(config_.forge_secrets);
  metrics_pool_.start(config_.metrics_threads);
}

void Api::set_api_keys(const std::vector<std::string>& keys) {
  auto digests = std::make_shared<std::vector<std::string>>();
  for (const auto& k : keys) digests->push_back(sha256(k));
  std::lock_guard lock(keys_mutex_);
  key_digests_ = std::move(digests);
}

void Api::set_forge_secrets(ForgeSecrets secrets) {
  auto shared = std::make_shared<const ForgeSecrets>(std::move(secrets));
  std::lock_guard lock(keys_mutex_);
  forge_secrets_ = std::move(shared);
}

std::optional<BrowserGuard::Refusal> Api::browser_refusal(const ServerRequest& request) const {
  // Without keys, anyone on this machine may call the API, but no web page.
  if (!config_.open_access) return std::nullopt;
  return config_.browser_guard.refuse(request, request.method != "GET");
}

bool Api::authorized(const ServerRequest& request, const std::optional<std::string>& query_key) const {
  std::optional<std::string> key = query_key;
  // The scheme's name is case-insensitive (RFC 9110 11.1), as pulse-incident reads it.
  if (const auto auth = request.header("Authorization");
      auth && auth->size() > 7 && lower(auth->substr(0, 7)) == "bearer ")
    key = auth->substr(7);
  std::shared_ptr<const std::vector<std::string>> digests;
  {
    std::lock_guard lock(keys_mutex_);
    digests = key_digests_;
  }
  if (digests->empty()) return config_.open_access;
  if (!key || key->empty()) return false;
  // Compare digests in constant time: neither the key nor its length leaks.
  const std::string digest = sha256(*key);
  bool ok = false;
  for (const auto& d : *digests) ok |= CRYPTO_memcmp(d.data(), digest.data(), d.size()) == 0;
  return ok;
}

ServerResponse Api::handle(const ServerRequest& request) {
  // Decoding and validation report with values; what throws is the store
  // (database down, disk full): the client should try again later.
  try {
    return route(request);
  } catch (...) {
    return failed(request.method + " " + request.target.substr(0, request.target.find('?')), std::current_exception());
  }
}

ServerResponse Api::failed(const std::string& what, std::exception_ptr failure) const {
  try {
    std::rethrow_exception(failure);
  } catch (const StorageError& e) {
    if (config_.exporter) config_.exporter->store_failed();
    if (config_.log) config_.log(std::string("storage failed: ") + e.what());
    return unavailable();
  } catch (const std::exception& e) {
    const std::string id = new_error_id();
    if (config_.log) config_.log("internal error " + id + " on " + what + ": " + e.what());
    return error(500, "internal error " + id + " (the collector's log has the details)");
  } catch (...) {
    const std::string id = new_error_id();
    if (config_.log) config_.log("internal error " + id + ": unknown exception");
    return error(500, "internal error " + id);
  }
}

ServerResponse Api::unavailable() const {
  auto r = error(503, "the collector cannot use its database right now; try again later");
  r.headers.push_back({"Retry-After", "5"});
  return r;
}

std::span<const Route> Api::routes() {
  static const Route table[] = {
      // Probes may ask with any method (haproxy's default check is OPTIONS).
      {"/healthz", "", "/healthz", false, Lane::io, &Api::healthy},
      {"/readyz", "", "/readyz", false, Lane::pool, &Api::ready},
      // The dashboard's files hold no data (the page reads the API with the
      // user's key), so they are served to anyone.
      {"/", "GET", "dashboard", false, Lane::pool, &Api::dashboard},
      {"/index.html", "GET", "dashboard", false, Lane::pool, &Api::dashboard},
      {"/assets/", "GET", "dashboard", false, Lane::pool, &Api::dashboard},
      {kIngestionPath, "POST", kIngestionPath, true, Lane::commit, &Api::ingest},
      {kBatchPath, "POST", kBatchPath, true, Lane::commit, &Api::ingest},
      // The forges' push webhooks: an API key like every ingestion route, and the forge's signature.
      {"/v1/ingestion/github", "POST", "/v1/ingestion/github", true, Lane::commit, &Api::ingest},
      {"/v1/ingestion/gitlab", "POST", "/v1/ingestion/gitlab", true, Lane::commit, &Api::ingest},
      {"/v1/ingestion/gitea", "POST", "/v1/ingestion/gitea", true, Lane::commit, &Api::ingest},
      {"/v1/ingestion/bitbucket", "POST", "/v1/ingestion/bitbucket", true, Lane::commit, &Api::ingest},
      {"/v1/events", "GET", "/v1/events", true, Lane::pool, &Api::list_events},
      {"/v1/deployments/latest", "GET", "/v1/deployments/latest", true, Lane::pool, &Api::latest_deployment},
      {"/v1/metrics", "GET", "/v1/metrics", true, Lane::metrics, &Api::metrics},
      {"/v1/metrics/explain", "GET", "/v1/metrics/explain", true, Lane::metrics, &Api::explain_metric},
      {"/v1/environments", "GET", "/v1/environments", true, Lane::pool, &Api::environments},
      {"/v1/teams", "GET", "/v1/teams", true, Lane::pool, &Api::teams},
      {"/metrics", "GET", "/metrics", true, Lane::pool, &Api::prometheus},
  };
  return table;
}

const Route* find_route(std::string_view path) {
  for (const auto& r : Api::routes()) {
    const bool subtree = r.path.size() > 1 && r.path.ends_with('/');
    if (path == r.path || (subtree && path.starts_with(r.path))) return &r;
  }
  return nullptr;
}

bool answers(const Route& route, std::string_view method) { return route.method.empty() || method == route.method; }

std::string_view route_label(std::string_view path) {
  const Route* r = find_route(path);
  return r ? r->label : "other";
}

ServerResponse Api::route(const ServerRequest& request) {
  const auto target = parse_target(request.target);
  if (!target) return error(400, "malformed request target");
  const Route* r = find_route(target->path);
  if (r && !r->keyed) {
    if (!answers(*r, request.method)) return method_not_allowed(r->method);
    return (this->*r->handler)(request, *target);
  }
  if (auto refused = refusal(request, *target, r)) return std::move(*refused);
  return (this->*r->handler)(request, *target);
}

// What refuses a request to a keyed route (or to no route) on its headers alone.
std::optional<ServerResponse> Api::refusal(const ServerRequest& request, const Target& target, const Route* r) const {
  if (auto refused = browser_refusal(request)) return error(refused->status, refused->reason);
  if (!r) return error(404, "no such route: " + target.path.substr(0, 100));
  // Text parameters reach the store: the same rule as event fields, on every route.
  for (const char* name : {"system", "environment", "type"})
    if (const auto v = target.param(name); v && !is_clean_text(*v))
      return error(400, std::string(name) + ": control characters or invalid UTF-8");
  if (!answers(*r, request.method)) return method_not_allowed(r->method);
  if (!authorized(request, target.param("api_key"))) return unauthorized();
  return std::nullopt;
}

std::optional<ServerResponse> Api::before_body(const ServerRequest& head) const {
  const auto target = parse_target(head.target);
  if (!target) return error(400, "malformed request target");
  const Route* r = find_route(target->path);
  if (r && !r->keyed) return std::nullopt;
  return refusal(head, *target, r);
}

ServerResponse Api::healthy(const ServerRequest&, const Target&) { return reply(200, R"({"status":"ok"})"); }

ServerResponse Api::ready(const ServerRequest&, const Target&) {
  // Ready means the store answers a query (when it throws, handle() says
  // 503) and sees nothing that would make writes fail (a full disk).
  (void)store_.latest_deployment("", "production");
  if (const auto problem = store_.write_problem()) {
    json::object o;
    o["status"] = "not ready";
    o["error"] = *problem;
    auto r = reply(503, json::serialize(o));
    r.headers.push_back({"Retry-After", "5"});
    return r;
  }
  return reply(200, R"({"status":"ready"})");
}

ServerResponse Api::dashboard(const ServerRequest&, const Target& target) {
  if (auto file = dashboard_file(target.path)) return std::move(*file);
  return error(404, "no such route: " + target.path.substr(0, 100));
}

ServerResponse Api::latest_deployment(const ServerRequest&, const Target& target) {
  const auto latest =
      store_.latest_deployment(target.param("system").value_or(""), target.param("environment").value_or("production"));
  if (!latest) return error(404, "no deployment with a head commit for this system and environment");
  json::object o;
  o["deploy_id"] = latest->id;
  o["head_commit"] = latest->head_commit;
  o["environment"] = latest->environment;
  o["time_created"] = latest->time_created ? json::value(format_rfc3339(*latest->time_created)) : json::value(nullptr);
  return reply(200, json::serialize(o));
}

std::variant<Api::Decoded, ServerResponse> Api::decode_ingest(const ServerRequest& request,
                                                              const Target& target) const {
  if (const ForgeSpec* forge = forge_at(target.path)) return decode_forge(*forge, request, target);
  Decoded out;
  out.system = target.param("system").value_or("");
  if (out.system.size() > kMaxShortField) return error(400, "system: longer than 256 bytes");
  if (!is_clean_text(out.system))
    return error(400, "system: control characters or invalid UTF-8");  // the async path too
  std::string why;
  if (target.path != kBatchPath) {
    auto e = decode_event(request.body, why);
    if (!e) return error(400, why);
    out.events.push_back(std::move(*e));
  } else if (std::size_t too_many = 0; !decode_batch(request.body, config_.max_batch, out.events, why, too_many)) {
    return error(too_many ? 413 : 400, why);
  }
  if (config_.exporter) config_.exporter->received(out.events);
  return out;
}

std::variant<Api::Decoded, ServerResponse> Api::decode_forge(const ForgeSpec& forge, const ServerRequest& request,
                                                             const Target& target) const {
  std::shared_ptr<const ForgeSecrets> secrets;
  {
    std::lock_guard lock(keys_mutex_);
    secrets = forge_secrets_;
  }
  // The stored-text rule for ?system=, on the async path too (route() checks the others).
  if (const auto named = target.param("system"); named && (named->size() > kMaxShortField || !is_clean_text(*named)))
    return error(400, "system: at most 256 bytes, without control characters or invalid UTF-8");
  const auto& mine = (*secrets)[static_cast<std::size_t>(forge.forge)];
  if (mine.empty())
    return error(404, "the " + std::string(forge.title) + " webhook is off on this collector: start it with --" +
                          std::string(forge.secret_flag) + " FILE (the secret the webhook is set up with)");
  const HeaderLookup header = [&request](std::string_view name) { return request.header(name); };
  switch (verify_delivery(forge.forge, mine, header, request.body)) {
    case ForgeAuth::ok:
      break;
    case ForgeAuth::missing:
      return error(401, "missing " + std::string(forge.signature) + ": set the webhook's secret to the one in --" +
                            std::string(forge.secret_flag));
    case ForgeAuth::invalid:
      return error(401, std::string(forge.signature) + " does not match: the webhook's secret differs from --" +
                            std::string(forge.secret_flag));
  }
  if (const auto type = request.header("Content-Type"); !type || !lower(*type).starts_with("application/json"))
    return error(415, "the webhook must send JSON: set its content type to application/json");
  std::string why;
  const auto delivery = decode_delivery(forge.forge, header, request.body, why);
  if (!delivery) return error(400, why);
  if (!delivery->ignored.empty())
    return reply(200, json::serialize(json::object{{"stored", 0}, {"duplicates", 0}, {"ignored", delivery->ignored}}));
  Decoded out;
  // ?system= names it where the repository's name is not the system's.
  out.system = target.param("system").value_or(delivery->repository);
  out.events = push_events(*delivery, forge.source, now_());
  if (config_.exporter) config_.exporter->received(out.events);
  return out;
}

ServerResponse Api::stored_reply(const PutResult& r) const {
  if (config_.exporter) config_.exporter->stored(r);
  auto res =
      reply(200, "{\"stored\":" + std::to_string(r.stored) + ",\"duplicates\":" + std::to_string(r.duplicates) + "}");
  res.headers.push_back({std::string(kBatchHeader), std::to_string(config_.max_batch)});
  return res;
}

ServerResponse Api::ingest(const ServerRequest& request, const Target& target) {
  auto decoded = decode_ingest(request, target);
  if (auto* answer = std::get_if<ServerResponse>(&decoded)) return std::move(*answer);
  auto& [events, system] = std::get<Decoded>(decoded);
  return stored_reply(store_.put(events, system, now_()));
}

bool Api::may_queue(std::string_view target) {
  const Route* r = find_route(target.substr(0, target.find('?')));
  return r && r->lane == Lane::metrics;
}

bool Api::handle_async(const ServerRequest& request, const Respond& respond) {
  const auto target = parse_target(request.target);
  const Route* r = target ? find_route(target->path) : nullptr;
  if (!r || !answers(*r, request.method)) return false;  // handle() answers
  switch (r->lane) {
    case Lane::io:  // liveness: never queued behind slow handlers (a ten-year metrics query)
      respond((this->*r->handler)(request, *target));
      return true;
    case Lane::metrics:
      if (config_.metrics_threads <= 0) return false;
      if (!metrics_pool_.try_submit(
              [this, request, respond] {
                // Nobody will read it: not computed (499, as the log shows it).
                if (request.client_gone())
                  respond({499, "application/json", json_error("client closed the request"), {}});
                else respond(handle(request));
              },
              config_.max_queued_metrics))
        respond({503,
                 "application/json",
                 json_error(std::to_string(config_.max_queued_metrics) +
                            " metrics queries are waiting already: try again shortly"),
                 {{"Retry-After", "1"}}});
      return true;
    case Lane::commit:
      return ingest_async(request, *target, respond);
    case Lane::pool:
      return false;
  }
  return false;
}

bool Api::ingest_async(const ServerRequest& request, const Target& target, const Respond& respond) {
  if (!store_.async_puts()) return false;
  if (!authorized(request, target.param("api_key")) || browser_refusal(request)) return false;  // handle() answers
  auto decoded = decode_ingest(request, target);
  if (auto* answer = std::get_if<ServerResponse>(&decoded)) {
    respond(std::move(*answer));
    return true;
  }
  auto& [events, system] = std::get<Decoded>(decoded);
  store_.put_async(std::move(events), system, now_(),
                   [this, respond, what = "POST " + target.path](PutResult r, std::exception_ptr failure) {
                     if (failure) {
                       respond(failed(what, failure));
                       return;
                     }
                     respond(stored_reply(r));
                   });
  return true;
}

// Prometheus scrapes with `authorization: credentials` (Bearer) when keys are set.
ServerResponse Api::prometheus(const ServerRequest&, const Target&) {
  if (!config_.registry) return error(404, "no such route: /metrics");
  return {200, telemetry::Registry::kContentType, config_.registry->render(), {}};
}

std::optional<std::pair<MetricsQuery, Scope>> Api::metrics_query(const Target& target, std::string& why) const {
  const auto query = parse_metrics_query(target.param("from").value_or(""), target.param("to").value_or(""),
                                         target.param("bucket").value_or("week"), now_(), why);
  if (!query) return std::nullopt;
  const auto environment = target.param("environment");
  auto scope = parse_scope(
      target.param("system").value_or(""), environment ? std::optional<std::string_view>(*environment) : std::nullopt,
      config_.production_environments, target.param("model").value_or("pulse"), target.param("team").value_or(""), why);
  if (!scope) return std::nullopt;
  return std::pair{*query, std::move(*scope)};
}

ServerResponse Api::metrics(const ServerRequest&, const Target& target) {
  std::string why;
  auto q = metrics_query(target, why);
  if (!q) return error(400, why);
  auto& [query, scope] = *q;
  const auto facts = store_.metric_facts(query.window, scope);
  return reply(200,
               json::serialize(metrics_json(compute_metrics(facts, query.window, query.bucket, std::move(scope)))));
}

ServerResponse Api::explain_metric(const ServerRequest&, const Target& target) {
  std::string why;
  auto q = metrics_query(target, why);
  if (!q) return error(400, why);
  auto& [query, scope] = *q;
  const auto metric = parse_explained(target.param("metric").value_or(""), scope.model, why);
  if (!metric) return error(400, why);
  unsigned long offset = 0, limit = 100;
  if (!parse_uint(target.param("cursor").value_or("0"), 1UL << 40, offset))
    return error(400, "cursor: must be the \"next\" of an earlier page");
  if (!parse_uint(target.param("limit").value_or("100"), kMaxExplainPage, limit) || limit == 0)
    return error(400, "limit: must be between 1 and " + std::to_string(kMaxExplainPage));
  name_facts(scope, *metric);
  const auto facts = store_.metric_facts(query.window, scope);
  return reply(200, json::serialize(explain(facts, query.window, scope, *metric, offset, limit)));
}

ServerResponse Api::teams(const ServerRequest&, const Target&) {
  json::array names;
  for (const auto& t : store_.teams()) names.emplace_back(t);
  return reply(200, json::serialize(json::object{{"teams", std::move(names)}}));
}

ServerResponse Api::environments(const ServerRequest&, const Target&) {
  json::array by_system;
  for (const auto& [system, environment] : store_.environments())
    by_system.push_back(json::object{{"system", system}, {"environment", environment}});
  json::array production;
  for (const auto& e : config_.production_environments) production.emplace_back(e);
  return reply(200, json::serialize(
                        json::object{{"production", std::move(production)}, {"environments", std::move(by_system)}}));
}

ServerResponse Api::list_events(const ServerRequest&, const Target& target) {
  std::string why;
  auto query = parse_event_query([&target](std::string_view name) { return target.param(name); }, why);
  if (!query) return error(400, why);
  EventQuery& q = *query;
  if (const auto cursor = target.param("cursor"); cursor && !cursor->empty()) {
    std::int64_t before = 0;
    const auto [ptr, ec] = std::from_chars(cursor->data(), cursor->data() + cursor->size(), before);
    if (ec != std::errc{} || ptr != cursor->data() + cursor->size() || before <= 0)
      return error(400, "cursor: not a cursor this collector gave (the \"next\" of a previous page)");
    q.before = before;
  }
  // One more than asked tells whether another page follows.
  const std::size_t page = q.limit;
  ++q.limit;
  auto events = store_.list(q);
  const bool more = events.size() > page;
  if (more) events.resize(page);
  json::array list;
  list.reserve(events.size());
  for (const auto& e : events) list.push_back(event_json(e));
  json::object body;
  body["events"] = std::move(list);
  body["count"] = events.size();
  // Pass as ?cursor= for the next (older) page; null on the last page.
  body["next"] = more ? json::value(std::to_string(events.back().seq)) : json::value(nullptr);
  return reply(200, json::serialize(body));
}

}  // namespace pulse::collector
