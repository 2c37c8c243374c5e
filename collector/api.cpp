#include "api.hpp"

#include "dashboard.hpp"
#include "explain.hpp"
#include "exporter.hpp"

#include "ingestion.hpp"
#include "log.hpp"
#include "storage_error.hpp"
#include "text.hpp"
#include "timeutil.hpp"
#include "url.hpp"

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
  metrics_pool_.start(config_.metrics_threads);
}

void Api::set_api_keys(const std::vector<std::string>& keys) {
  auto digests = std::make_shared<std::vector<std::string>>();
  for (const auto& k : keys) digests->push_back(sha256(k));
  std::lock_guard lock(keys_mutex_);
  key_digests_ = std::move(digests);
}

std::optional<BrowserGuard::Refusal> Api::browser_refusal(const ServerRequest& request) const {
  // Without keys, anyone on this machine may call the API, but no web page.
  if (!config_.open_access) return std::nullopt;
  return config_.browser_guard.refuse(request, request.method != "GET");
}

bool Api::authorized(const ServerRequest& request, const std::optional<std::string>& query_key) const {
  std::optional<std::string> key = query_key;
  if (const auto auth = request.header("Authorization");
      auth && auth->size() > 7 && (auth->starts_with("Bearer ") || auth->starts_with("bearer ")))
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

ServerResponse Api::route(const ServerRequest& request) {
  const auto target = parse_target(request.target);
  if (!target) return error(400, "malformed request target");
  const std::string& path = target->path;
  if (path == "/healthz") return reply(200, R"({"status":"ok"})");
  if (path == "/readyz") {
    // Ready means the store answers a query; when it throws, handle() says 503.
    (void)store_.latest_deployment("", "production");
    return reply(200, R"({"status":"ready"})");
  }
  // The dashboard's files hold no data (the page reads the API with the
  // user's key), so they are served to anyone.
  if (request.method == "GET")
    if (auto file = dashboard_file(path)) return std::move(*file);
  if (auto refused = browser_refusal(request)) return error(refused->status, refused->reason);
  if (path == "/metrics") return prometheus(request, *target);
  // Text parameters reach the store: the same rule as event fields, on every route.
  for (const char* name : {"system", "environment", "type"})
    if (const auto v = target->param(name); v && !is_clean_text(*v))
      return error(400, std::string(name) + ": control characters or invalid UTF-8");

  if (path == "/v1/deployments/latest") {
    if (request.method != "GET") return error(405, "method not allowed");
    if (!authorized(request, target->param("api_key"))) return error(401, "missing or invalid API key");
    const auto latest = store_.latest_deployment(target->param("system").value_or(""),
                                                 target->param("environment").value_or("production"));
    if (!latest) return error(404, "no deployment with a head commit for this system and environment");
    json::object o;
    o["deploy_id"] = latest->id;
    o["head_commit"] = latest->head_commit;
    o["environment"] = latest->environment;
    o["time_created"] =
        latest->time_created ? json::value(format_rfc3339(*latest->time_created)) : json::value(nullptr);
    return reply(200, json::serialize(o));
  }
  if (path == "/v1/metrics" || path == "/v1/metrics/explain" || path == "/v1/environments" || path == "/v1/teams") {
    if (request.method != "GET") return method_not_allowed("GET");
    if (!authorized(request, target->param("api_key"))) return unauthorized();
    if (path == "/v1/metrics/explain") return explain_metric(*target);
    if (path == "/v1/teams") return teams();
    return path == "/v1/metrics" ? metrics(*target) : environments();
  }
  const bool ingest_single = path == kIngestionPath;
  const bool ingest_batch = path == kBatchPath;
  if (ingest_single || ingest_batch || path == "/v1/events") {
    const bool is_get = path == "/v1/events";
    if (request.method != (is_get ? "GET" : "POST")) return method_not_allowed(is_get ? "GET" : "POST");
    if (!authorized(request, target->param("api_key"))) return unauthorized();
    if (is_get) return list_events(*target);
    return ingest(request, ingest_batch, target->param("system").value_or(""));
  }
  return error(404, "no such route: " + path.substr(0, 100));
}

std::variant<std::vector<Event>, ServerResponse> Api::decode_ingest(const ServerRequest& request, bool batch,
                                                                    const std::string& system) const {
  if (system.size() > kMaxShortField) return error(400, "system: longer than 256 bytes");
  if (!is_clean_text(system)) return error(400, "system: control characters or invalid UTF-8");  // the async path too
  std::vector<Event> events;
  std::string why;
  if (!batch) {
    auto e = decode_event(request.body, why);
    if (!e) return error(400, why);
    events.push_back(std::move(*e));
  } else if (std::size_t too_many = 0; !decode_batch(request.body, config_.max_batch, events, why, too_many)) {
    return error(too_many ? 413 : 400, why);
  }
  if (config_.exporter) config_.exporter->received(events);
  return events;
}

ServerResponse Api::stored_reply(const PutResult& r) const {
  if (config_.exporter) config_.exporter->stored(r);
  auto res =
      reply(200, "{\"stored\":" + std::to_string(r.stored) + ",\"duplicates\":" + std::to_string(r.duplicates) + "}");
  res.headers.push_back({std::string(kBatchHeader), std::to_string(config_.max_batch)});
  return res;
}

ServerResponse Api::ingest(const ServerRequest& request, bool batch, const std::string& system) {
  auto decoded = decode_ingest(request, batch, system);
  if (auto* bad = std::get_if<ServerResponse>(&decoded)) return std::move(*bad);
  return stored_reply(store_.put(std::get<std::vector<Event>>(decoded), system, now_()));
}

bool Api::handle_async(const ServerRequest& request, const Respond& respond) {
  // Liveness is answered here, on the I/O thread: never queued behind slow
  // handlers (a ten-year metrics query) on the pool.
  if (request.target == "/healthz") {
    respond(reply(200, R"({"status":"ok"})"));
    return true;
  }
  if (config_.metrics_threads > 0 && request.method == "GET" &&
      (request.target == "/v1/metrics" || request.target.starts_with("/v1/metrics?") ||
       request.target.starts_with("/v1/metrics/explain"))) {
    metrics_pool_.submit([this, request, respond] { respond(handle(request)); });
    return true;
  }
  if (!store_.async_puts() || request.method != "POST") return false;
  const auto target = parse_target(request.target);
  if (!target || (target->path != kIngestionPath && target->path != kBatchPath)) return false;
  if (!authorized(request, target->param("api_key")) || browser_refusal(request)) return false;  // handle() answers
  const std::string system = target->param("system").value_or("");
  auto decoded = decode_ingest(request, target->path == kBatchPath, system);
  if (auto* bad = std::get_if<ServerResponse>(&decoded)) {
    respond(std::move(*bad));
    return true;
  }
  store_.put_async(std::move(std::get<std::vector<Event>>(decoded)), system, now_(),
                   [this, respond, what = "POST " + target->path](PutResult r, std::exception_ptr failure) {
                     if (failure) {
                       respond(failed(what, failure));
                       return;
                     }
                     respond(stored_reply(r));
                   });
  return true;
}

// Prometheus scrapes with `authorization: credentials` (Bearer) when keys are set.
ServerResponse Api::prometheus(const ServerRequest& request, const Target& target) {
  if (!config_.registry) return error(404, "no such route: /metrics");
  if (request.method != "GET") return method_not_allowed("GET");
  if (!authorized(request, target.param("api_key"))) return unauthorized();
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

ServerResponse Api::metrics(const Target& target) {
  std::string why;
  auto q = metrics_query(target, why);
  if (!q) return error(400, why);
  auto& [query, scope] = *q;
  const auto facts = store_.metric_facts(query.window, scope);
  return reply(200,
               json::serialize(metrics_json(compute_metrics(facts, query.window, query.bucket, std::move(scope)))));
}

ServerResponse Api::explain_metric(const Target& target) {
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

ServerResponse Api::teams() {
  json::array names;
  for (const auto& t : store_.teams()) names.emplace_back(t);
  return reply(200, json::serialize(json::object{{"teams", std::move(names)}}));
}

ServerResponse Api::environments() {
  json::array by_system;
  for (const auto& [system, environment] : store_.environments())
    by_system.push_back(json::object{{"system", system}, {"environment", environment}});
  json::array production;
  for (const auto& e : config_.production_environments) production.emplace_back(e);
  return reply(200, json::serialize(
                        json::object{{"production", std::move(production)}, {"environments", std::move(by_system)}}));
}

ServerResponse Api::list_events(const Target& target) {
  EventQuery q;
  q.type = target.param("type").value_or("");
  if (!q.type.empty() && q.type != "change" && q.type != "deployment" && q.type != "incident")
    return error(400, "type: must be change, deployment or incident");
  q.system = target.param("system");
  for (auto [name, bound] : {std::pair{"since", &q.since}, std::pair{"until", &q.until}}) {
    const auto value = target.param(name);
    if (!value || value->empty()) continue;
    std::int64_t t = 0;
    if (auto parsed = parse_rfc3339(*value)) {
      t = *parsed;
    } else {
      const auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), t);
      if (ec != std::errc{} || ptr != value->data() + value->size())
        return error(400, std::string(name) + ": not an RFC 3339 time or Unix seconds");
    }
    *bound = t;
  }
  if (const auto team = target.param("team"); team && !team->empty()) {
    std::string why;
    if (!valid_team(*team, why)) return error(400, why);
    q.team = *team;
  }
  if (const auto environment = target.param("environment"); environment && !environment->empty()) {
    std::string why;
    auto list = parse_environment_list(*environment, why);
    if (!list) return error(400, "environment: " + why);
    q.environments = std::move(*list);
  }
  if (const auto limit = target.param("limit"); limit && !limit->empty()) {
    std::size_t n = 0;
    const auto [ptr, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc{} || ptr != limit->data() + limit->size() || n == 0 || n > 100'000)
      return error(400, "limit: must be between 1 and 100000");
    q.limit = n;
  }
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
