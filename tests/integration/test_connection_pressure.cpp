// Connection pressure on loopback: idle sockets never lock clients out.
// An attacker's silent sockets (reconnecting whatever is closed) and the
// original Go CLI's pattern (a new connection per request, each left open
// and idle) against our server and the real collector: a normal client is
// served within a second, and every request of the Go pattern gets its 2xx.
// Also HTTP framing that keep-alive clients rely on (HEAD).
#include "cli_helpers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

using namespace pulse;
using namespace pulse::test;

namespace {

// A client needs a descriptor per socket too.
void raise_own_file_limit() {
  rlimit r{};
  ::getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &r);
}

// From 127.0.0.1, or another loopback address (`from`): the kernel takes
// any 127.x source, so a test can stand in for clients on other machines.
int connect_to(std::uint16_t port, std::uint32_t from = INADDR_LOOPBACK) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (from != INADDR_LOOPBACK) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(from);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends one request on `fd` and reads one response; returns its status (0 on failure).
int round_trip(int fd, const std::string& request) {
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) return 0;
  std::string got;
  char buf[4096];
  for (;;) {
    const auto head_end = got.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      const auto cl = got.find("Content-Length: ");
      const std::size_t length = cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16));
      if (got.size() >= head_end + 4 + length) return got.size() > 12 ? std::atoi(got.c_str() + 9) : 0;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

std::string change_request(std::uint16_t port, int i) {
  const std::string body =
      "{\"source\":\"cli\",\"change_id\":\"c" + std::to_string(i) +
      "\",\"time_created\":\"2026-01-01T00:00:00Z\",\"event_type\":\"commit\",\"$type\":\"change\"}";
  return "POST /v1/ingestion/cli?system=go HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/json\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Resident memory of a process, in MiB (VmRSS).
std::size_t resident_mib(int pid) {
  const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  const auto at = status.find("VmRSS:");
  return at == std::string::npos ? 0 : std::stoul(status.substr(at + 6)) / 1024;
}

// The status of the answer waiting on `fd` (0: none within the socket's timeout).
int status_on(int fd) {
  char buf[512];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 12 ? std::atoi(buf + 9) : 0;
}

// Headers of a POST announcing `length` body bytes, then `first` of them.
bool start_body(int fd, std::uint16_t port, std::size_t length, std::size_t first, const std::string& auth = "") {
  const std::string head = "POST /v1/ingestion/cli?system=slow HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                           "\r\nContent-Type: application/json\r\n" + auth +
                           "Content-Length: " + std::to_string(length) + "\r\n\r\n" + std::string(first, '[');
  return ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size());
}

struct SmallServer {
  ServerOptions opt;
  std::unique_ptr<HttpServer> server;
  std::thread runner;
  explicit SmallServer(std::size_t capacity, const std::function<void(ServerOptions&)>& tune = {}) {
    opt.max_connections = capacity;
    if (tune) tune(opt);
    server = std::make_unique<HttpServer>(opt, [](const ServerRequest&) {
      return ServerResponse{200, "text/plain", "ok", {}};
    });
    runner = std::thread([this] { server->run(); });
  }
  ~SmallServer() {
    server->stop();
    runner.join();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(connection_pressure)

BOOST_AUTO_TEST_CASE(silent_sockets_never_lock_a_client_out) {
  raise_own_file_limit();
  SmallServer s(100);
  const auto port = s.server->port();
  // 2,000 sockets that never say anything, and an attacker that keeps
  // opening more, from another address than the normal client's: the
  // server closes the crowding address's idle sockets first. (From one
  // address, an attacker opening faster than a client sends its first
  // byte can have that client's fresh connection closed too.)
  constexpr std::uint32_t kAttacker = 0x7f000002;  // 127.0.0.2
  std::vector<int> silent;
  for (int i = 0; i < 2000; ++i)
    if (const int fd = connect_to(port, kAttacker); fd >= 0) silent.push_back(fd);
  BOOST_TEST_REQUIRE(silent.size() == 2000u);
  std::atomic<bool> done{false};
  std::thread attacker([&] {
    std::vector<int> mine;
    while (!done)
      if (const int fd = connect_to(port, kAttacker); fd >= 0) {
        mine.push_back(fd);
        if (mine.size() > 3000) {
          ::close(mine.front());
          mine.erase(mine.begin());
        }
      }
    for (const int fd : mine) ::close(fd);
  });
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const int fd = connect_to(port);
    BOOST_TEST_REQUIRE(fd >= 0);
    const int status = round_trip(fd, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ::close(fd);
    BOOST_TEST(status == 200);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(ms < 1000);
  }
  done = true;
  attacker.join();
  for (const int fd : silent) ::close(fd);
}

BOOST_AUTO_TEST_CASE(a_new_idle_connection_per_request_is_always_answered) {
  raise_own_file_limit();
  SmallServer s(100);
  std::vector<int> kept;
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    const int fd = connect_to(s.server->port());
    if (fd < 0) continue;
    ok += round_trip(fd, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200;
    kept.push_back(fd);  // never reused, never closed: as the Go CLI leaves them
  }
  BOOST_TEST(ok == 3000);
  for (const int fd : kept) ::close(fd);
}

BOOST_AUTO_TEST_CASE(the_go_cli_pattern_against_the_collector_stores_every_event) {
  raise_own_file_limit();
  CollectorProcess collector({"--max-connections", "1000"});
  // Three times as many requests as the collector holds connections.
  const int kRequests = 3000;
  std::vector<int> kept;
  int ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    const int fd = connect_to(collector.port());
    if (fd < 0) continue;
    ok += round_trip(fd, change_request(collector.port(), i)) == 200;
    kept.push_back(fd);
  }
  BOOST_TEST(ok == kRequests);
  for (const int fd : kept) ::close(fd);
  const auto listed = collector_cmd({"events", "--db", collector.db(), "--type", "change", "--system", "go", "--limit",
                                     "100000", "--format", "json"});
  BOOST_TEST(count_of(listed.out, "\"type\":\"change\"") == static_cast<std::size_t>(kRequests));
}

BOOST_AUTO_TEST_SUITE_END()

// Slow and large bodies: a stranger's bodies are refused on their headers
// (401 before any byte of the body is read), a body must keep coming, a
// connection reading one gives way when the server is full, and the memory
// for bodies in flight has a budget.
BOOST_AUTO_TEST_SUITE(slow_bodies)

BOOST_AUTO_TEST_CASE(keyless_bodies_get_401_on_their_headers_and_hold_no_memory) {
  raise_own_file_limit();
  CollectorProcess collector({"--api-key", "k-123456", "--max-connections", "1000"});
  const auto port = collector.port();
  constexpr std::uint32_t kAttacker = 0x7f000002;
  // 1,000 sockets announcing 100 kB and sending one byte, then 500
  // announcing 8 MiB and sending 64 kB: each answered 401 at once.
  std::vector<int> fds;
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    const int fd = connect_to(port, kAttacker);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(start_body(fd, port, i < 1000 ? 100000 : 8 << 20, i < 1000 ? 1 : 64 << 10));
    fds.push_back(fd);
  }
  for (const int fd : fds) refused += status_on(fd) == 401;
  BOOST_TEST(refused == 1500);
  BOOST_TEST(resident_mib(collector.process().pid()) < 300u);
  // Keyed clients are served meanwhile, each within a second.
  for (int i = 0; i < 60; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const int fd = connect_to(port);
    BOOST_TEST_REQUIRE(fd >= 0);
    auto request = change_request(port, i);
    request.insert(request.find("Content-Type"), "Authorization: Bearer k-123456\r\n");
    BOOST_TEST(round_trip(fd, request) == 200);
    ::close(fd);
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(1)));
  }
  for (const int fd : fds) ::close(fd);
}

BOOST_AUTO_TEST_CASE(slow_bodies_are_cut_and_give_way_when_the_server_is_full) {
  raise_own_file_limit();
  SmallServer s(100, [](ServerOptions& o) { o.body_timeout = std::chrono::milliseconds(1500); });
  const auto port = s.server->port();
  constexpr std::uint32_t kAttacker = 0x7f000002;
  // Open access (a test server: no keys): 150 bodies at one byte each,
  // more than the server holds; every connection is reading a body.
  std::vector<int> slow;
  for (int i = 0; i < 150; ++i)
    if (const int fd = connect_to(port, kAttacker); fd >= 0 && start_body(fd, port, 100000, 1)) slow.push_back(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (int i = 0; i < 20; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const int fd = connect_to(port);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST(round_trip(fd, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200);
    ::close(fd);
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(1)));
  }
  BOOST_TEST(s.server->evicted_connections() >= 20u);
  // After the body's time is up, whatever still waits is cut: the server
  // closes it (end of stream), with nothing to answer.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  std::size_t cut = 0;
  for (const int fd : slow) {
    char c;
    const ssize_t n = ::recv(fd, &c, 1, 0);  // closed: end of stream, or a reset (its body bytes unread)
    cut += n == 0 || (n < 0 && errno == ECONNRESET);
    ::close(fd);
  }
  BOOST_TEST(cut == slow.size());
  BOOST_TEST(s.server->open_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(bodies_beyond_the_memory_budget_get_503_with_retry_after) {
  SmallServer s(100, [](ServerOptions& o) {
    o.body_limit = 1 << 20;
    o.body_budget = 1 << 20;
  });
  const auto port = s.server->port();
  // Two bodies of 400 kB in flight hold 800 kB of the 1 MiB budget.
  const int a = connect_to(port), b = connect_to(port), c = connect_to(port);
  BOOST_TEST_REQUIRE(start_body(a, port, 400000, 10));
  BOOST_TEST_REQUIRE(start_body(b, port, 400000, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST_REQUIRE(start_body(c, port, 400000, 10));
  char buf[512];
  const ssize_t n = ::recv(c, buf, sizeof buf - 1, 0);
  BOOST_TEST_REQUIRE(n > 12);
  buf[n] = 0;
  BOOST_TEST(std::atoi(buf + 9) == 503);
  BOOST_TEST(std::string(buf).find("Retry-After: 1") != std::string::npos, buf);
  // Small bodies have a budget of their own: an event still goes through.
  const int e = connect_to(port);
  BOOST_TEST(round_trip(e, change_request(port, 1)) == 200);
  ::close(e);
  // The first body ends: its share returns, and the next is taken.
  const std::string rest(400000 - 10, ' ');
  BOOST_TEST_REQUIRE(::send(a, rest.data(), rest.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(rest.size()));
  BOOST_TEST(status_on(a) == 200);
  const int d = connect_to(port);
  BOOST_TEST_REQUIRE(start_body(d, port, 400000, 10));
  BOOST_TEST_REQUIRE(::send(d, rest.data(), rest.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(rest.size()));
  BOOST_TEST(status_on(d) == 200);
  for (const int fd : {a, b, c, d}) ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(server_http)

BOOST_AUTO_TEST_CASE(tls_offers_forward_secret_aead_suites_only) {
  TlsMaterial tls;
  ServerOptions opt;
  opt.tls_cert = tls.server_pem;
  opt.tls_key = tls.server_key;
  HttpServer server(opt, [](const ServerRequest&) { return ServerResponse{200, "text/plain", "ok", {}}; });
  std::thread runner([&] { server.run(); });
  const std::string where = "127.0.0.1:" + std::to_string(server.port());
  auto handshake = [&](const std::string& args) {
    return run_process(
        {"sh", "-c",
         "openssl s_client -connect " + where + " -CAfile " + tls.ca_pem + " " + args + " </dev/null 2>&1"});
  };
  const auto gcm = handshake("-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256");
  BOOST_TEST(gcm.exit_code == 0, gcm.out);
  BOOST_TEST(gcm.out.find("Verify return code: 0 (ok)") != std::string::npos, gcm.out);
  const auto cbc = handshake("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA");
  BOOST_TEST(cbc.exit_code != 0, cbc.out);
  const auto v13 = handshake("-tls1_3");
  BOOST_TEST(v13.exit_code == 0, v13.out);
  BOOST_TEST(v13.out.find("TLSv1.3") != std::string::npos, v13.out);
  server.stop();
  runner.join();
}

// A request waiting for a handler thread learns that its client closed the
// connection (so queued work can be skipped); one whose client waits, or
// sends its next request meanwhile (pipelining), does not; nor one the
// server was not asked to watch.
BOOST_AUTO_TEST_CASE(a_waiting_request_sees_its_client_close) {
  std::mutex mutex;
  std::map<std::string, bool> seen;  // target -> gone while waiting
  ServerOptions opt;
  opt.handler_threads = 1;
  opt.watch_close = [](const ServerRequest& r) { return r.target != "/unwatched"; };
  HttpServer server(opt, [&](const ServerRequest& r) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (!r.client_gone() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(mutex);
    seen[r.target] = r.client_gone();
    return ServerResponse{200, "text/plain", "ok", {}};
  });
  std::thread runner([&] { server.run(); });
  const auto send_all = [](int fd, const std::string& text) {
    return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  };
  const int closing = connect_to(server.port());
  BOOST_TEST_REQUIRE(closing >= 0);
  BOOST_TEST(send_all(closing, "GET /closed HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ::close(closing);
  const int unwatched = connect_to(server.port());  // closes too, but watch_close leaves it out
  BOOST_TEST_REQUIRE(unwatched >= 0);
  BOOST_TEST(send_all(unwatched, "GET /unwatched HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ::close(unwatched);
  const int waiting = connect_to(server.port());
  BOOST_TEST_REQUIRE(waiting >= 0);
  BOOST_TEST(send_all(waiting,
                      "GET /waiting HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /next HTTP/1.1\r\nHost: "
                      "127.0.0.1\r\n\r\n"));
  BOOST_TEST(wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return seen.size() == 4;
      },
      std::chrono::seconds(15)));
  ::close(waiting);
  server.stop();
  runner.join();
  std::lock_guard lock(mutex);
  BOOST_TEST(seen["/closed"]);
  BOOST_TEST(!seen["/waiting"]);
  BOOST_TEST(!seen["/next"]);
  BOOST_TEST(!seen["/unwatched"]);
}

BOOST_AUTO_TEST_CASE(head_answers_like_get_without_a_body_and_keeps_framing) {
  SmallServer s(16);
  const int fd = connect_to(s.server->port());
  BOOST_TEST_REQUIRE(fd >= 0);
  // HEAD then GET on one keep-alive connection: a body after the HEAD answer
  // would be read as the start of the next response.
  const std::string head = "HEAD /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  BOOST_TEST(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  std::string got;
  char buf[4096];
  while (got.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    BOOST_TEST_REQUIRE(n > 0);
    got.append(buf, static_cast<std::size_t>(n));
  }
  BOOST_TEST(got.starts_with("HTTP/1.1 200"), got);
  BOOST_TEST(got.find("Content-Length: 2\r\n") != std::string::npos, got);
  BOOST_TEST(got.substr(got.find("\r\n\r\n") + 4).empty(), got);
  BOOST_TEST(round_trip(fd, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 200);
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()
