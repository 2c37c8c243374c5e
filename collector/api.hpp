// The collector's HTTP API: ingestion (the Go CLI's wire format, plus a
// batch extension), event listing and health. Pure request -> response
// logic over a Store, so tests can call it without a socket.
#pragma once

#include "browser_guard.hpp"
#include "decode.hpp"
#include "event.hpp"
#include "http_server.hpp"
#include "store.hpp"
#include "telemetry.hpp"
#include "url.hpp"
#include "work_pool.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <variant>
#include <string>
#include <vector>

namespace pulse::collector {

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

  /// Finishes the metrics queries still queued (after the server stopped).
  void stop() { metrics_pool_.stop(); }

  /// The server's async path, on the I/O thread: answers /healthz at once,
  /// takes ingestion requests when the store can commit without blocking
  /// (SQLite's committer thread) and answers once the events are durable;
  /// returns false for everything else (then handle(), on the pool).
  bool handle_async(const ServerRequest& request, const Respond& respond);

 private:
  /// Why a request on open access looks like a web page's, if it does.
  std::optional<BrowserGuard::Refusal> browser_refusal(const ServerRequest& request) const;
  bool authorized(const ServerRequest& request, const std::optional<std::string>& query_key) const;
  ServerResponse route(const ServerRequest& request);
  ServerResponse unavailable() const;  ///< 503 with Retry-After: the store failed
  /// What a request's exception (`what`: method and path) becomes: a StorageError 503, anything else
  /// (a bug) 500 with an id that the log line also gives.
  ServerResponse failed(const std::string& what, std::exception_ptr failure) const;
  ServerResponse prometheus(const ServerRequest& request, const Target& target);
  ServerResponse ingest(const ServerRequest& request, bool batch, const std::string& system);
  // Checks and decodes an ingestion request: the events, or the error reply.
  std::variant<std::vector<Event>, ServerResponse> decode_ingest(const ServerRequest& request, bool batch,
                                                                 const std::string& system) const;
  ServerResponse stored_reply(const PutResult& r) const;
  ServerResponse list_events(const Target& target);
  ServerResponse metrics(const Target& target);
  ServerResponse explain_metric(const Target& target);
  ServerResponse teams();
  /// GET /v1/metrics's and /v1/metrics/explain's common parameters.
  std::optional<std::pair<MetricsQuery, Scope>> metrics_query(const Target& target, std::string& why) const;
  ServerResponse environments();

  Store& store_;
  ApiConfig config_;
  mutable std::mutex keys_mutex_;
  std::shared_ptr<const std::vector<std::string>> key_digests_;  ///< SHA-256 of each key
  std::function<std::int64_t()> now_;
  WorkPool metrics_pool_;  ///< last: stopped first
};

/// A stored event as the API lists it (GET /v1/events, `events --format json`).
boost::json::object event_json(const StoredEvent& e);

}  // namespace pulse::collector
