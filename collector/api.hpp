// The collector's HTTP API: ingestion (the Go CLI's wire format, plus a
// batch extension), event listing and health. Pure request -> response
// logic over a Store, so tests can call it without a socket.
#pragma once

#include "core/net/browser_guard.hpp"
#include "collector/decode.hpp"
#include "collector/forge.hpp"
#include "core/event/event.hpp"
#include "core/net/http_server.hpp"
#include "collector/store.hpp"
#include "core/net/telemetry.hpp"
#include "core/util/url.hpp"
#include "core/util/work_pool.hpp"

#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pulse::collector {

class Api;

/// Where a route's requests run on the server.
enum class Lane {
  io,       ///< answered at once on the I/O thread (liveness)
  metrics,  ///< the API's metrics threads (long queries never hold the handler pool)
  commit,   ///< decoded on the I/O thread, answered by the store's committer (SQLite); else as `pool`
  pool,     ///< the server's handler pool
};

/// One route of the collector's API. The table (Api::routes) is the one list
/// of paths: dispatch, 405 with Allow, the lane and the Prometheus label all
/// read it.
struct Route {
  std::string_view path;    ///< exact, or every path under it when it ends in '/' (and is not "/")
  std::string_view method;  ///< the one method it answers, others get 405 with Allow; empty: any (health probes)
  std::string_view label;   ///< the `route` label of pulse_http_requests_total
  bool keyed;               ///< needs an API key; on open access, refused to web pages (BrowserGuard)
  Lane lane;
  ServerResponse (Api::*handler)(const ServerRequest&, const Target&);
};

/// The route of a path, or null.
const Route* find_route(std::string_view path);
/// Whether `route` answers `method`.
bool answers(const Route& route, std::string_view method);
/// The Prometheus label of a request's path: its route's, else "other".
std::string_view route_label(std::string_view path);

/// Each forge's webhook secrets (several during a rotation), by `Forge`;
/// a forge without one has its route off.
using ForgeSecrets = std::array<std::vector<std::string>, 4>;

struct ApiConfig {
  std::vector<std::string> api_keys;            ///< accepted keys; empty with open_access: any key
  bool open_access = false;                     ///< only ever set while bound to loopback
  std::size_t max_batch = 1000;                 ///< events per batch request
  std::function<void(const std::string&)> log;  ///< storage failures (answered 503); may be empty
  /// With open access: what a web page could send (foreign Origin or Host,
  /// a write that is not JSON) is refused with 403.
  BrowserGuard browser_guard;
  /// Counts events, stored, duplicates and store errors, and serves the
  /// DORA figures on /metrics; may be null.
  class Exporter* exporter = nullptr;
  /// Served on GET /metrics (a read: it needs a key like /v1/events); may be null.
  const telemetry::Registry* registry = nullptr;
  /// Threads of their own for GET /v1/metrics on the server's async path,
  /// so that long metrics queries never hold the handler pool that
  /// ingestion (on PostgreSQL) and listings use. 0: on the handler pool.
  int metrics_threads = 0;
  /// Metrics queries waiting for those threads at most; beyond, 503 with
  /// Retry-After. A query whose client has gone before its turn is skipped.
  std::size_t max_queued_metrics = 64;
  /// The forges' push webhooks (POST /v1/ingestion/github, ...).
  ForgeSecrets forge_secrets = {};
  /// What metrics count when a query names no environment.
  std::vector<std::string> production_environments = default_production_environments();
};

class Api {
 public:
  /// `store` is borrowed and must outlive the Api.
  Api(Store& store, ApiConfig config, std::function<std::int64_t()> now);

  /// Thread-safe.
  ServerResponse handle(const ServerRequest& request);

  /// Replaces the accepted keys (SIGHUP); requests in flight finish with
  /// the old ones. Thread-safe.
  void set_api_keys(const std::vector<std::string>& keys);
  /// Replaces the forges' webhook secrets (SIGHUP). Thread-safe.
  void set_forge_secrets(ForgeSecrets secrets);

  /// Whether a request for `target` may wait in the metrics queue (its
  /// connection is worth watching: ServerOptions::watch_close).
  static bool may_queue(std::string_view target);

  /// Every route, one row each.
  static std::span<const Route> routes();

  /// Finishes the metrics queries still queued (after the server stopped).
  void stop() { metrics_pool_.stop(); }

  /// The server's async path, on the I/O thread: answers /healthz at once,
  /// takes ingestion requests when the store can commit without blocking
  /// (SQLite's committer thread) and answers once the events are durable;
  /// returns false for everything else (then handle(), on the pool).
  bool handle_async(const ServerRequest& request, const Respond& respond);

  /// On the I/O thread, before a body is read (ServerOptions::before_body):
  /// the answer to a request its headers already refuse (no such route,
  /// wrong method, a missing or wrong API key), as handle() would give it.
  std::optional<ServerResponse> before_body(const ServerRequest& head) const;

 private:
  /// Why a request on open access looks like a web page's, if it does.
  std::optional<BrowserGuard::Refusal> browser_refusal(const ServerRequest& request) const;
  bool authorized(const ServerRequest& request, const std::optional<std::string>& query_key) const;
  ServerResponse route(const ServerRequest& request);
  std::optional<ServerResponse> refusal(const ServerRequest& request, const Target& target, const Route* r) const;
  ServerResponse unavailable() const;  ///< 503 with Retry-After: the store failed
  // The handlers, one per route.
  ServerResponse healthy(const ServerRequest& request, const Target& target);
  ServerResponse ready(const ServerRequest& request, const Target& target);
  ServerResponse dashboard(const ServerRequest& request, const Target& target);
  ServerResponse latest_deployment(const ServerRequest& request, const Target& target);
  ServerResponse list_events(const ServerRequest& request, const Target& target);
  ServerResponse metrics(const ServerRequest& request, const Target& target);
  ServerResponse explain_metric(const ServerRequest& request, const Target& target);
  ServerResponse teams(const ServerRequest& request, const Target& target);
  ServerResponse environments(const ServerRequest& request, const Target& target);
  /// What a request's exception (`what`: method and path) becomes: a StorageError 503, anything else
  /// (a bug) 500 with an id that the log line also gives.
  ServerResponse failed(const std::string& what, std::exception_ptr failure) const;
  ServerResponse prometheus(const ServerRequest& request, const Target& target);
  /// Every ingestion route (the Go CLI's, the batch, the forges'): decode_ingest tells them apart.
  ServerResponse ingest(const ServerRequest& request, const Target& target);
  /// An ingestion request taken on the committer thread's path; false: not one (handle() answers).
  bool ingest_async(const ServerRequest& request, const Target& target, const Respond& respond);
  /// What an ingestion request stores: its events and their system.
  struct Decoded {
    std::vector<Event> events;
    std::string system;
  };
  /// Checks and decodes an ingestion request (any ingestion route): the
  /// events, or the reply (an error; a forge's delivery that stores nothing).
  std::variant<Decoded, ServerResponse> decode_ingest(const ServerRequest& request, const Target& target) const;
  std::variant<Decoded, ServerResponse> decode_forge(const ForgeSpec& forge, const ServerRequest& request,
                                                     const Target& target) const;
  ServerResponse stored_reply(const PutResult& r) const;
  /// GET /v1/metrics's and /v1/metrics/explain's common parameters.
  std::optional<std::pair<MetricsQuery, Scope>> metrics_query(const Target& target, std::string& why) const;

  Store& store_;
  ApiConfig config_;
  mutable std::mutex keys_mutex_;
  std::shared_ptr<const std::vector<std::string>> key_digests_;  ///< SHA-256 of each key
  std::shared_ptr<const ForgeSecrets> forge_secrets_;            ///< under keys_mutex_ too
  std::function<std::int64_t()> now_;
  WorkPool metrics_pool_;  ///< last: stopped first
};

/// A stored event as the API lists it (GET /v1/events, `events --format json`).
boost::json::object event_json(const StoredEvent& e);

}  // namespace pulse::collector
