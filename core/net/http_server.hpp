// HTTP/1.1 server scaffolding over TCP or TLS, shared by every server we
// ship (collector, incident receiver) and by test servers. Free of Asio and
// Beast: only http_server.cpp includes them.
#pragma once

#include "core/net/http_client.hpp"  // Header, Millis

#include <cstdint>
#include <functional>
#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pulse {

struct ServerRequest {
  std::string method;
  std::string target;
  std::vector<Header> headers;
  std::string body;
  std::string remote;  ///< peer address, "127.0.0.1:53412"
  /// Set once the client has closed its connection while the request waits
  /// for a handler thread (plain TCP: a FIN seen without a further request;
  /// over TLS the close is not seen). Null when not watched (inline
  /// handlers). A queued job checks it to skip work nobody will read.
  std::shared_ptr<const std::atomic<bool>> gone;
  std::optional<std::string> header(std::string_view name) const;
  bool client_gone() const { return gone && gone->load(std::memory_order_relaxed); }
};

struct ServerResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;
};

/// {"error":"..."}, the message escaped: the one error body of every JSON
/// answer (the server's own refusals, the collector's API, pulse-incident's
/// routes).
std::string json_error(std::string_view message);

/// What the server tells about each request once answered (or refused
/// before a handler saw it: malformed, too large).
struct RequestRecord {
  std::string_view method;  ///< "-" when the request could not be read
  std::string_view path;    ///< the target without its query (which may hold a key)
  int status = 0;
  std::size_t bytes = 0;  ///< response body bytes
  double seconds = 0;     ///< from the request's headers read to the answer sent
  std::string_view remote;
};

/// Completes a request: call exactly once, from any thread.
using Respond = std::function<void(ServerResponse)>;

struct ServerOptions {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port (see HttpServer::port)
  std::string tls_cert;    ///< PEM certificate chain; with tls_key, serve HTTPS
  std::string tls_key;     ///< PEM private key
  std::size_t body_limit = 1 << 20;
  /// Memory for request bodies being read, over all connections: a body
  /// (its Content-Length; body_limit when chunked) that would exceed it is
  /// not read, the request answered 503 with Retry-After. Bodies up to
  /// small_body (events, batches) have a budget of their own, so large
  /// ones never hold small ones up.
  std::size_t body_budget = 128 << 20;
  std::size_t small_body = 64 << 10;
  std::size_t small_body_budget = 64 << 20;
  /// A body must keep coming: it may take body_timeout plus one second per
  /// min_body_rate bytes received, and is cut (the connection closed)
  /// beyond that. A connection reading a body may be closed to make room,
  /// after every idle one (see max_connections).
  Millis body_timeout{10'000};
  std::size_t min_body_rate = 32 << 10;
  /// Optional, on the I/O thread (must not block): sees a request's method,
  /// target, headers and peer before its body is read (`body` empty); an
  /// answer refuses it there (a wrong key gets its 401 without the server
  /// reading 8 MiB first) and the connection closes after it.
  std::function<std::optional<ServerResponse>(const ServerRequest&)> before_body;
  Millis read_timeout{30'000};    ///< to receive a request's headers once it started
  Millis write_timeout{30'000};   ///< to send one response
  Millis idle_timeout{60'000};    ///< between requests on a kept-alive connection
  Millis shutdown_grace{10'000};  ///< in-flight requests get this long after stop()
  /// Connections held at once (within the open-file limit, which is raised
  /// to its hard limit). When full, the idle connection that has waited
  /// longest (from the address holding the most) is closed for a new one;
  /// with none idle, the one that has been reading a body longest (same
  /// rule). Connections running a handler or writing an answer stay.
  std::size_t max_connections = 16384;
  int threads = 2;  ///< I/O threads
  /// 0: handlers run on the I/O threads (they must not block). N > 0:
  /// handlers run on N threads of their own and may block (a database
  /// commit), while the I/O threads go on serving other connections.
  int handler_threads = 0;
  /// Optional, tried first on the I/O thread and must not block: returns
  /// true if it took the request (and will call `respond`, e.g. once a
  /// write is durable), false to leave it to the Handler.
  std::function<bool(const ServerRequest&, const Respond&)> async_handler;
  /// Optional: which requests have their connection watched while they
  /// wait for a handler (ServerRequest::gone); work that may wait in a
  /// queue (long queries). Without it, none is.
  std::function<bool(const ServerRequest&)> watch_close;
  std::vector<Header> extra_headers;            ///< added to every response
  std::function<void(const std::string&)> log;  ///< errors and notices; may be empty
  /// After each answer is written; on the I/O thread, so it must be quick. May be empty.
  std::function<void(const RequestRecord&)> on_request;
};

/// Handles one request. Called concurrently from several threads; must be
/// thread-safe. An exception becomes a generic 500 (its text is logged, never
/// sent).
using Handler = std::function<ServerResponse(const ServerRequest&)>;

/// What the server was told cannot work: a TLS certificate or key that
/// cannot be loaded, a bind address that is no IP address. Bad input (exit
/// 2), unlike a port in use.
struct ServerConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HttpServer {
 public:
  /// Binds and listens. Throws std::runtime_error naming the address and
  /// the cause when it cannot (port in use, bad certificate, ...).
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// The port actually bound.
  std::uint16_t port() const;
  bool tls() const;
  /// Connections open now; idle ones closed to make room so far. Thread-safe.
  std::size_t open_connections() const;
  std::uint64_t evicted_connections() const;

  /// Makes SIGINT and SIGTERM call stop(), and SIGHUP call `on_hangup`
  /// (re-read keys, say; on a thread of its own, one call at a time, so a
  /// reload that blocks holds neither requests nor SIGTERM; connections
  /// stay open). Without
  /// `on_hangup` SIGHUP is ignored rather than killing the process. Call
  /// before run().
  void handle_signals(std::function<void()> on_hangup = {});

  /// Serves until stop(): stops accepting, lets in-flight requests finish
  /// (bounded by shutdown_grace), closes idle connections, then returns.
  void run();

  /// Thread-safe and idempotent; may be called before run().
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pulse
