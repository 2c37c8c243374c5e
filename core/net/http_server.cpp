#include "core/net/http_server.hpp"

#include "core/event/event.hpp"

#include "core/util/text.hpp"
#include "core/util/work_pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cerrno>
#include <sys/resource.h>
#include <sys/socket.h>

namespace pulse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using beast::error_code;

std::optional<std::string> ServerRequest::header(std::string_view name) const { return find_header(headers, name); }

namespace {

// What stop() needs to reach a connection: its executor and a way to close
// it. `stream` is touched only on the connection's strand.
struct Conn {
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;
  std::string peer;                         ///< the client's address, without port
  std::atomic<bool> busy{false};            ///< false while waiting for a request (idle)
  std::atomic<std::int64_t> idle_since{0};  ///< steady-clock ns when it last went idle
  std::atomic<bool> reading_body{false};    ///< busy, but only reading a body: evictable after the idle ones
  std::atomic<std::int64_t> body_since{0};  ///< steady-clock ns when that began
  std::atomic<bool> evicted{false};

  void set_idle() {
    idle_since = std::chrono::steady_clock::now().time_since_epoch().count();
    busy = false;
  }
};

// The soft limit on open files raised to the hard one (every connection is
// a descriptor); returns the soft limit in force.
std::size_t raise_file_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    rlimit want = r;
    want.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) r = want;
  }
  return r.rlim_cur == RLIM_INFINITY ? std::size_t(1) << 20 : static_cast<std::size_t>(r.rlim_cur);
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  ServerOptions opt;
  Handler handler;
  asio::io_context ioc;
  std::optional<asio::ssl::context> ssl_ctx;
  tcp::acceptor acceptor{ioc};
  asio::signal_set signals{ioc};
  asio::steady_timer grace{ioc};
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::map<std::uint64_t, std::weak_ptr<Conn>> conns;
  std::uint64_t next_id = 0;
  std::atomic<std::size_t> active{0};
  std::size_t capacity = 0;                     ///< connections held at once: max_connections within the file limit
  std::map<std::string, std::size_t> per_peer;  ///< open connections by client address (under mutex)
  std::chrono::steady_clock::time_point last_pressure_log{};
  std::size_t evictions_since_log = 0;
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::size_t> body_bytes{0};        ///< reserved by large bodies being read or handled (body_budget)
  std::atomic<std::size_t> small_body_bytes{0};  ///< by small ones (small_body_budget)
  WorkPool pool;

  // A body's share of body_budget, returned when the request is done.
  struct BodyReservation {
    std::atomic<std::size_t>* pool = nullptr;
    std::size_t bytes = 0;
    BodyReservation() = default;
    BodyReservation(const BodyReservation&) = delete;
    BodyReservation& operator=(const BodyReservation&) = delete;
    ~BodyReservation() { release(); }
    void release() {
      if (pool) pool->fetch_sub(bytes);
      pool = nullptr;
    }
  };

  bool reserve_body(std::size_t bytes, BodyReservation& r) {
    const bool small = bytes <= opt.small_body;
    auto& pool = small ? small_body_bytes : body_bytes;
    const std::size_t budget = small ? opt.small_body_budget : opt.body_budget;
    std::size_t now = pool.load();
    do {
      if (now + bytes > budget) return false;
    } while (!pool.compare_exchange_weak(now, now + bytes));
    r.release();
    r.pool = &pool;
    r.bytes = bytes;
    return true;
  }

  std::function<void()> on_hangup;

  void log(const std::string& line) const {
    if (opt.log) opt.log(line);
  }

  void wait_for_signal() {
    signals.async_wait([weak = weak_from_this()](error_code ec, int signal) {
      auto self = weak.lock();
      if (!self || ec) return;
      if (signal != SIGHUP) {
        self->begin_stop();
        return;
      }
      if (self->on_hangup) self->reload();
      self->wait_for_signal();
    });
  }

  // A reload runs on a thread of its own, one at a time (a SIGHUP meanwhile
  // runs it once more afterwards), so that one blocked reading a file (a
  // FIFO, a hung network mount) holds neither the I/O threads nor SIGTERM.
  std::mutex reload_mutex;
  std::condition_variable reload_done;
  bool reloading = false, reload_again = false;

  void reload() {
    {
      std::lock_guard lock(reload_mutex);
      if (reloading) {
        reload_again = true;
        return;
      }
      reloading = true;
    }
    std::thread([self = shared_from_this()] {
      for (;;) {
        try {
          self->on_hangup();
        } catch (const std::exception& e) {
          self->log(std::string("reload failed: ") + e.what());
        }
        std::lock_guard lock(self->reload_mutex);
        if (!self->reload_again) {
          self->reloading = false;
          self->reload_done.notify_all();
          return;
        }
        self->reload_again = false;
      }
    }).detach();
  }

  // After the server stopped: a reload still running gets a moment, then
  // is left behind (the process is about to exit).
  void wait_for_reload() {
    std::unique_lock lock(reload_mutex);
    if (!reload_done.wait_for(lock, std::chrono::seconds(2), [&] { return !reloading; }))
      log("shutdown: a reload is still running (blocked reading a file?); stopping without it");
  }

  void begin_stop() {
    if (stopping.exchange(true)) return;
    error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    std::lock_guard lock(mutex);
    for (auto& [id, weak] : conns) {
      if (auto c = weak.lock(); c && !c->busy) close_conn(c);
    }
    if (active == 0) return;
    grace.expires_after(opt.shutdown_grace);
    grace.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;  // cancelled: every connection finished in time
      self->log("shutdown: " + std::to_string(self->active.load()) +
                " connection(s) still busy after the grace period; closing them");
      std::lock_guard guard(self->mutex);
      for (auto& [id, weak] : self->conns)
        if (auto c = weak.lock()) close_conn(c);
    });
  }

  static void close_conn(const std::shared_ptr<Conn>& c) {
    asio::post(c->executor, [weak = std::weak_ptr<Conn>(c)] {
      if (auto conn = weak.lock(); conn && conn->stream) {
        error_code ignored;
        conn->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        conn->stream->socket().close(ignored);
      }
    });
  }

  // Makes room under pressure: closes the idle connection (waiting for a
  // request, first or next) that has waited longest, taken from the address
  // that holds the most connections, so one client cannot crowd out the
  // rest; with none idle, the connection that has been reading a body
  // longest, by the same rule (a slow body holds no more than an idle
  // socket). Connections running a handler or writing are never closed.
  // False if there is nothing to close.
  bool evict_idle() {
    std::shared_ptr<Conn> victim;
    {
      std::lock_guard lock(mutex);
      std::string crowded;
      std::size_t most = 0;
      for (const auto& [peer, n] : per_peer)
        if (n > most) most = n, crowded = peer;
      for (int pass = 0; pass < 4 && !victim; ++pass) {
        const bool bodies = pass >= 2;
        std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
        for (auto& [id, weak] : conns) {
          auto c = weak.lock();
          if (!c || c->evicted || (pass % 2 == 0 && c->peer != crowded)) continue;
          if (bodies ? !c->reading_body : c->busy.load()) continue;
          const std::int64_t since = bodies ? c->body_since.load() : c->idle_since.load();
          if (since < oldest) oldest = since, victim = c;
        }
      }
      if (!victim) return false;
      victim->evicted = true;
      ++evictions_since_log;
      ++evictions;
    }
    close_conn(victim);
    note_pressure("");
    return true;
  }

  // At most one line per 10 s about connection pressure, with what happened since.
  void note_pressure(const std::string& cause) {
    const auto now = std::chrono::steady_clock::now();
    std::size_t evicted;
    {
      std::lock_guard lock(mutex);
      if (now - last_pressure_log < std::chrono::seconds(10)) return;
      last_pressure_log = now;
      evicted = std::exchange(evictions_since_log, 0);
    }
    log("connections: " + std::to_string(active.load()) + " open (capacity " + std::to_string(capacity) + "); " +
        std::to_string(evicted) + " idle or body-reading connection(s) closed to make room" +
        (cause.empty() ? "" : "; " + cause));
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      tcp::socket socket(asio::make_strand(ioc));
      co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (stopping) co_return;
      if (ec) {
        // Out of file descriptors: free one by closing an idle connection;
        // otherwise breathe instead of spinning. Logged at most every 10 s.
        const bool freed = (ec == asio::error::no_descriptors || ec.value() == ENFILE) && evict_idle();
        note_pressure("accept: " + ec.message());
        if (freed) continue;
        asio::steady_timer pause(ioc, std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Full: an idle connection makes room for the new one. Evicted ones
      // take a moment to close, hence the small allowance above capacity.
      if (active >= capacity && (active >= capacity + 64 || !evict_idle())) {
        socket.close(ec);
        note_pressure("a new connection refused: every connection is busy");
        continue;
      }
      ++active;
      auto ex = socket.get_executor();
      asio::co_spawn(ex, session(std::move(socket)), [self = shared_from_this()](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex2) {
            self->log(std::string("connection: ") + ex2.what());
          }
        }
        if (--self->active == 0 && self->stopping) self->grace.cancel();
      });
    }
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto conn = std::make_shared<Conn>();
    conn->executor = socket.get_executor();
    conn->set_idle();
    error_code ec;
    std::string remote;
    {
      const auto ep = socket.remote_endpoint(ec);
      if (!ec) {
        conn->peer = ep.address().to_string();
        remote = conn->peer + ":" + std::to_string(ep.port());
      }
    }
    std::uint64_t id;
    {
      std::lock_guard lock(mutex);
      id = next_id++;
      conns[id] = conn;
      ++per_peer[conn->peer];
    }
    beast::tcp_stream stream(std::move(socket));
    if (ssl_ctx) {
      beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *ssl_ctx);
      conn->stream = &beast::get_lowest_layer(tls);
      beast::get_lowest_layer(tls).expires_after(opt.read_timeout);
      co_await tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_await serve(tls, *conn, remote);
      conn->stream = nullptr;
      beast::get_lowest_layer(tls).socket().close(ec);
    } else {
      conn->stream = &stream;
      co_await serve(stream, *conn, remote);
      conn->stream = nullptr;
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream.socket().close(ec);
    }
    std::lock_guard lock(mutex);
    conns.erase(id);
    if (auto it = per_peer.find(conn->peer); it != per_peer.end() && --it->second == 0) per_peer.erase(it);
  }

  // Answers an error and ends the connection. The client may still be
  // sending (a body over the limit, say): closing at once would reset the
  // connection and it would never read our answer. So after answering,
  // drain what it sends for a bounded time and amount ("lingering close").
  template <class Stream>
  asio::awaitable<void> write_error(Stream& stream, http::status status, std::string_view message,
                                    const std::string& remote) {
    ServerResponse answer;
    answer.status = static_cast<int>(status);
    answer.body = json_error(message);
    co_await write_refusal(stream, std::move(answer), remote);
  }

  // The same with an answer of the caller's (a handler's refusal before the body).
  template <class Stream>
  asio::awaitable<void> write_refusal(Stream& stream, ServerResponse answer, const std::string& remote,
                                      std::string_view method = "-", std::string_view path = "-",
                                      Conn* conn = nullptr) {
    const auto status = static_cast<http::status>(answer.status);
    http::response<http::string_body> res{status, 11};
    res.set(http::field::server, "pulse/" PULSE_VERSION);
    res.set(http::field::content_type, answer.content_type);
    for (const auto& h : answer.headers) res.set(h.name, h.value);
    res.body() = std::move(answer.body);
    res.keep_alive(false);
    res.prepare_payload();
    error_code ec;
    beast::get_lowest_layer(stream).expires_after(opt.write_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (opt.on_request) opt.on_request({method, path, static_cast<int>(status), res.body().size(), 0, remote});
    if (ec) co_return;
    // Answered: while it drains, the connection gives way like an idle one.
    if (conn) conn->set_idle();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    std::array<char, 16384> sink;
    for (std::size_t drained = 0; drained < 4 * opt.body_limit + (1 << 20);) {
      const std::size_t n =
          co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      drained += n;
    }
  }

  // A handler threw: logged with the route (never the query, which may hold
  // a key), answered with a generic 500.
  ServerResponse handler_failed(const ServerRequest& request, const char* what) {
    log("handler failed for " + request.method + " " + request.target.substr(0, request.target.find('?')) + ": " +
        what);
    return {500, "application/json", json_error("internal error"), {}};
  }

  ServerResponse run_handler(const ServerRequest& request) {
    try {
      return handler(request);
    } catch (const std::exception& e) {
      return handler_failed(request, e.what());
    }
  }

  // Offers the request to the async handler, then runs the handler inline
  // or on the handler pool, while this coroutine waits (the work guard keeps
  // run() going until the answer is back).
  asio::awaitable<ServerResponse> call_handler(const ServerRequest& request) {
    if (opt.handler_threads <= 0 && !opt.async_handler) co_return run_handler(request);
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(ServerResponse)>(
        [this, &request](auto completion) {
          using Completion = decltype(completion);
          struct State {
            State(Completion c, asio::executor_work_guard<asio::any_io_executor> w)
                : completion(std::move(c)), work(std::move(w)) {}
            Completion completion;
            asio::executor_work_guard<asio::any_io_executor> work;
            std::atomic<bool> answered{false};
          };
          const asio::any_io_executor ex = asio::get_associated_executor(completion, ioc.get_executor());
          auto state = std::make_shared<State>(std::move(completion), asio::make_work_guard(ex));
          Respond respond = [state](ServerResponse r) {
            if (state->answered.exchange(true)) return;
            auto work = std::move(state->work);
            asio::post(work.get_executor(), [state, r = std::move(r)]() mutable { state->completion(std::move(r)); });
          };
          if (opt.async_handler) {
            bool taken = false;
            try {
              taken = opt.async_handler(request, respond);
            } catch (const std::exception& e) {
              respond(handler_failed(request, e.what()));
              return;
            }
            if (taken) return;
          }
          if (opt.handler_threads > 0) pool.submit([this, &request, respond] { respond(run_handler(request)); });
          else respond(run_handler(request));
        },
        asio::use_awaitable);
  }

  // While a request waits for its handler, a close by the client (a FIN:
  // readable, and a peek reads nothing) sets request.gone, so queued work
  // can be skipped. Readable with data (a pipelined request) ends the watch.
  static void watch_for_close(asio::ip::tcp::socket& socket, ServerRequest& request) {
    auto gone = std::make_shared<std::atomic<bool>>(false);
    request.gone = gone;
    socket.async_wait(asio::socket_base::wait_read, [gone, fd = socket.native_handle()](const error_code& ec) {
      if (ec) return;  // cancelled once answered
      char c;
      const auto n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) gone->store(true);
    });
  }

  // A read that failed because the client went, or was too slow: the
  // connection ends without an answer.
  static bool client_gone(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == http::error::partial_message || ec == beast::error::timeout ||
           ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
           ec == asio::error::bad_descriptor || ec == asio::ssl::error::stream_truncated;
  }

  // Any other failed read is answered, and ends the connection.
  template <class Stream>
  asio::awaitable<void> answer_failed_read(Stream& stream, const error_code& ec, const std::string& remote) {
    if (ec == http::error::body_limit)
      co_await write_error(stream, http::status::payload_too_large,
                           "request body exceeds " + std::to_string(opt.body_limit) + " bytes", remote);
    else if (ec == http::error::header_limit)
      co_await write_error(stream, http::status::request_header_fields_too_large, "request headers too large", remote);
    else co_await write_error(stream, http::status::bad_request, "malformed HTTP request", remote);
  }

  static ServerRequest to_request(http::request<http::string_body>& req, const std::string& remote,
                                  bool with_body = true) {
    ServerRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& f : req) request.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    if (with_body) request.body = std::move(req.body());
    request.remote = remote;
    return request;
  }

  // Reads one request: its header (within the first-request or idle
  // timeout), then, having checked its size and answered "100-continue",
  // its body. Nothing when the connection ends instead.
  template <class Stream>
  asio::awaitable<std::optional<ServerRequest>> read_request(Stream& stream, beast::flat_buffer& buffer,
                                                             http::request_parser<http::string_body>& parser,
                                                             Conn& conn, bool first, const std::string& remote,
                                                             BodyReservation& reservation) {
    error_code ec;
    auto redirect = asio::redirect_error(asio::use_awaitable, ec);
    parser.body_limit(opt.body_limit);
    parser.header_limit(16 * 1024);
    if (!first) conn.set_idle();
    beast::get_lowest_layer(stream).expires_after(first ? opt.read_timeout : opt.idle_timeout);
    co_await http::async_read_header(stream, buffer, parser, redirect);
    if (conn.evicted) co_return std::nullopt;  // closed to make room while it waited
    conn.busy = true;
    if (!ec) {
      if (const auto len = parser.content_length(); len && *len > opt.body_limit) ec = http::error::body_limit;
      // Only plain chunked framing: a coding stacked under it ("gzip,
      // chunked") would reach the handlers as if it were the body (RFC 9112
      // 6.1: 501 for a coding the server does not understand).
      const auto te = parser.get()[http::field::transfer_encoding];
      if (!ec && !te.empty() && !beast::iequals(trim(std::string_view(te.data(), te.size())), "chunked")) {
        co_await write_error(stream, http::status::not_implemented,
                             "Transfer-Encoding other than chunked is not supported", remote);
        co_return std::nullopt;
      }
    }
    const bool has_body = !ec && (parser.chunked() || parser.content_length().value_or(0) > 0);
    if (has_body && opt.before_body) {  // refused on its headers: the body is never read
      auto head = to_request(parser.get(), remote, false);
      if (auto refusal = opt.before_body(head)) {
        const std::string_view target(head.target);
        co_await write_refusal(stream, std::move(*refusal), remote, head.method, target.substr(0, target.find('?')),
                               &conn);
        co_return std::nullopt;
      }
    }
    if (has_body &&
        !reserve_body(parser.chunked() ? opt.body_limit : static_cast<std::size_t>(*parser.content_length()),
                      reservation)) {
      ServerResponse busy;
      busy.status = 503;
      busy.body = json_error("busy: too many request bodies in flight; try again shortly");
      busy.headers.push_back({std::string("Retry-After"), std::string("1")});
      const std::string method(parser.get().method_string()), target(parser.get().target());
      co_await write_refusal(stream, std::move(busy), remote, method, target.substr(0, target.find('?')), &conn);
      co_return std::nullopt;
    }
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      beast::get_lowest_layer(stream).expires_after(opt.write_timeout);
      co_await http::async_write(stream, cont, redirect);
      if (ec) co_return std::nullopt;
    }
    if (!ec) co_await read_body(stream, buffer, parser, conn, ec);
    if (conn.evicted) co_return std::nullopt;  // closed to make room while its body came
    if (ec) {
      if (!client_gone(ec)) co_await answer_failed_read(stream, ec, remote);
      co_return std::nullopt;
    }
    co_return to_request(parser.get(), remote);
  }

  // The body, at no less than min_body_rate after body_timeout: each read
  // may wait until the time the bytes so far allow runs out. Meanwhile the
  // connection may be closed to make room (evict_idle).
  template <class Stream>
  asio::awaitable<void> read_body(Stream& stream, beast::flat_buffer& buffer,
                                  http::request_parser<http::string_body>& parser, Conn& conn, error_code& ec) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    conn.body_since = start.time_since_epoch().count();
    conn.reading_body = true;
    std::size_t received = 0;
    const auto rate = std::max<std::size_t>(1, opt.min_body_rate);
    while (!parser.is_done() && !ec) {
      const auto allowed =
          opt.body_timeout +
          std::chrono::milliseconds(static_cast<std::int64_t>(received / rate * 1000 + received % rate * 1000 / rate));
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + allowed - clock::now());
      if (left.count() <= 0) {
        ec = beast::error::timeout;
        break;
      }
      beast::get_lowest_layer(stream).expires_after(left);
      received += co_await http::async_read_some(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    conn.reading_body = false;
  }

  // Writes the handler's answer; whether the connection stays open.
  // A HEAD request is answered as GET without the body (its length still
  // said), so a keep-alive client keeps its framing.
  template <class Stream>
  asio::awaitable<bool> write_response(Stream& stream, const ServerRequest& request, ServerResponse response,
                                       unsigned version, bool keep_alive, bool head,
                                       std::chrono::steady_clock::time_point started) {
    http::response<http::string_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, "pulse/" PULSE_VERSION);
    res.set(http::field::content_type, response.content_type);
    for (const auto& h : opt.extra_headers) res.set(h.name, h.value);
    for (const auto& h : response.headers) res.set(h.name, h.value);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive && !stopping);
    res.prepare_payload();
    if (head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);
    }
    error_code ec;
    beast::get_lowest_layer(stream).expires_after(opt.write_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (opt.on_request) {
      const std::string_view target(request.target);
      opt.on_request({head ? "HEAD" : std::string_view(request.method), target.substr(0, target.find('?')),
                      response.status, head ? 0 : res.body().size(),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                      request.remote});
    }
    co_return !ec && res.keep_alive();
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, Conn& conn, const std::string& remote) {
    beast::flat_buffer buffer;
    for (bool first = true; !stopping; first = false) {
      http::request_parser<http::string_body> parser;
      BodyReservation reservation;  // until the answer is written
      auto request = co_await read_request(stream, buffer, parser, conn, first, remote, reservation);
      if (!request) co_return;
      const bool head = request->method == "HEAD";
      if (head) request->method = "GET";
      const auto started = std::chrono::steady_clock::now();
      auto& socket = beast::get_lowest_layer(stream).socket();
      if ((opt.handler_threads > 0 || opt.async_handler) && opt.watch_close && opt.watch_close(*request))
        watch_for_close(socket, *request);
      ServerResponse response = co_await call_handler(*request);
      if (request->gone) {
        error_code ignored;
        socket.cancel(ignored);  // the watch, if still waiting
      }
      // Handled: the body's memory and its share of the budget go before
      // the answer does, so a client that has its answer finds them free.
      request->body = std::string();
      reservation.release();
      const auto& req = parser.get();
      if (!co_await write_response(stream, *request, std::move(response), req.version(), req.keep_alive(), head,
                                   started))
        co_return;
    }
  }
};

HttpServer::HttpServer(ServerOptions options, Handler handler) : impl_(std::make_shared<Impl>()) {
  impl_->opt = std::move(options);
  impl_->handler = std::move(handler);
  auto& opt = impl_->opt;
  const std::string where = opt.bind + ":" + std::to_string(opt.port);

  if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
    if (opt.tls_cert.empty() || opt.tls_key.empty())
      throw std::runtime_error("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
    impl_->ssl_ctx.emplace(asio::ssl::context::tls_server);
    auto& ctx = *impl_->ssl_ctx;
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                    asio::ssl::context::single_dh_use);
    // TLS 1.3 as OpenSSL offers it; TLS 1.2 with forward-secret AEAD suites
    // only (no static RSA key exchange, no CBC); the server's order wins.
    SSL_CTX_set_cipher_list(ctx.native_handle(),
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    SSL_CTX_set_options(ctx.native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
    error_code ec;
    ctx.use_certificate_chain_file(opt.tls_cert, ec);
    if (ec) throw ServerConfigError("load TLS certificate " + opt.tls_cert + ": " + ec.message());
    ctx.use_private_key_file(opt.tls_key, asio::ssl::context::pem, ec);
    if (ec) throw ServerConfigError("load TLS key " + opt.tls_key + ": " + ec.message());
  }

  error_code ec;
  const auto address = asio::ip::make_address(opt.bind, ec);
  if (ec) throw ServerConfigError("listen on " + where + ": \"" + opt.bind + "\" is not an IP address");
  const tcp::endpoint endpoint(address, opt.port);
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("listen on " + where + ": " + ec.message());
  const std::size_t files = raise_file_limit();  // keep some descriptors for the store and logs
  impl_->capacity =
      std::max<std::size_t>(1, std::min(opt.max_connections, files - std::min<std::size_t>(files / 2, 128)));
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

HttpServer::~HttpServer() = default;

std::uint16_t HttpServer::port() const {
  error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

bool HttpServer::tls() const { return impl_->ssl_ctx.has_value(); }

std::size_t HttpServer::open_connections() const { return impl_->active.load(); }

std::uint64_t HttpServer::evicted_connections() const { return impl_->evictions.load(); }

void HttpServer::handle_signals(std::function<void()> on_hangup) {
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.add(SIGHUP);
  impl_->on_hangup = std::move(on_hangup);
  impl_->wait_for_signal();
}

void HttpServer::run() {
  const int n = std::max(1, impl_->opt.threads);
  std::vector<std::thread> extra;
  impl_->pool.start(impl_->opt.handler_threads);
  for (int i = 1; i < n; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
  impl_->pool.stop();
  impl_->wait_for_reload();
}

void HttpServer::stop() {
  asio::post(impl_->ioc, [self = impl_] { self->begin_stop(); });
}

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":";
  append_json_string(out, message);
  out += '}';
  return out;
}

}  // namespace pulse
