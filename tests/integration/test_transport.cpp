// The CLI against real servers over real TLS, proxies and failures.
#include "cli_helpers.hpp"

using namespace pulse;
using namespace pulse::test;

namespace {
std::vector<std::string> change_args(const std::string& url, const std::string& id = "abc") {
  return {"push", "change", "--base-url", url, "--identifier", id, "--timestamp", "1602852032", "--api-key", "K"};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(transport)

BOOST_AUTO_TEST_CASE(tls_with_a_private_ca) {
  TlsMaterial tls;
  CollectorProcess collector({"--tls-cert", tls.server_pem, "--tls-key", tls.server_key});
  BOOST_TEST(collector.url().starts_with("https://"));

  // Trusted through --ca-file (and PULSE_CA_FILE): delivered.
  auto args = change_args(collector.url(), "via-flag");
  args.insert(args.end(), {"--ca-file", tls.ca_pem});
  auto r = cli(args);
  BOOST_TEST(r.exit_code == 0, r.err);
  r = cli(change_args(collector.url(), "via-env"), {{"PULSE_CA_FILE", tls.ca_pem}});
  BOOST_TEST(r.exit_code == 0, r.err);

  // Without that CA, or with another one: refused at the handshake, not
  // retried, and a configuration error (exit 2), not a transient one.
  r = cli(change_args(collector.url(), "untrusted"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("TLS handshake with 127.0.0.1:" + std::to_string(collector.port())) != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("certificate verify failed") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("--ca-file") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("retrying") == std::string::npos, r.err);
  args = change_args(collector.url(), "other-ca");
  args.insert(args.end(), {"--ca-file", tls.other_ca_pem});
  BOOST_TEST(cli(args).exit_code == 2);

  // A host name the certificate does not cover fails too.
  const auto host_mismatch =
      cli({"push", "change", "--base-url", "https://127.0.0.2:" + std::to_string(collector.port()), "--identifier", "x",
           "--api-key", "K", "--ca-file", tls.ca_pem});
  BOOST_TEST(host_mismatch.exit_code == 4);

  // --insecure gets through, with a warning.
  args = change_args(collector.url(), "insecure");
  args.push_back("--insecure");
  r = cli(args);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.err.find("warning: --insecure") != std::string::npos);

  const auto events = collector_cmd({"events", "--db", collector.db(), "--format", "json"});
  BOOST_TEST(events.out.find("\"id\":\"via-flag\"") != std::string::npos, events.out);
  BOOST_TEST(events.out.find("\"id\":\"via-env\"") != std::string::npos);
  BOOST_TEST(events.out.find("\"id\":\"insecure\"") != std::string::npos);
  BOOST_TEST(events.out.find("untrusted") == std::string::npos);
  BOOST_TEST(events.out.find("other-ca") == std::string::npos);

  // A missing CA file is bad input, refused before any connection.
  args = change_args(collector.url(), "x");
  args.insert(args.end(), {"--ca-file", "/nonexistent/ca.pem"});
  r = cli(args);
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("--ca-file: cannot read /nonexistent/ca.pem") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("attempt") == std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(retries_until_the_server_recovers) {
  RecordingServer server([](int n, const ServerRequest&) {
    if (n < 2) return ServerResponse{503, "text/plain", "warming up", {}};
    if (n == 2) return ServerResponse{429, "text/plain", "slow down", {{"Retry-After", "0"}}};
    return ok_response();
  });
  const auto r = cli(change_args(server.url()));
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(server.requests().size() == 4u);
  BOOST_TEST(count_of(r.err, "retrying in") == 3u, r.err);
  BOOST_TEST(r.err.find("attempt 1 failed: server error (503): warming up") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("K") == std::string::npos);
}

// What a server says reaches the terminal escaped: C1 controls too
// (U+009B is a one-character CSI on many terminals).
BOOST_AUTO_TEST_CASE(a_servers_error_reaches_the_terminal_escaped) {
  RecordingServer server([](int, const ServerRequest&) {
    return ServerResponse{400, "application/json", R"({"error":"bad \u009b2J input \u0007 here"})", {}};
  });
  const auto r = cli(change_args(server.url()));
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("\xc2\x9b") == std::string::npos, r.err);
  BOOST_TEST(r.err.find('\x07') == std::string::npos, r.err);
  BOOST_TEST(r.err.find("server rejected event (400): bad \\xc2\\x9b2J input") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(gives_up_after_bounded_attempts) {
  RecordingServer server([](int, const ServerRequest&) {
    return ServerResponse{502, "text/plain", "bad gateway", {}};
  });
  const auto r = cli(change_args(server.url()), {{"PULSE_MAX_ATTEMPTS", "3"}});
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(server.requests().size() == 3u);
  BOOST_TEST(r.err.find("push change: gave up after 3 attempts: server error (502): bad gateway") != std::string::npos,
             r.err);
}

BOOST_AUTO_TEST_CASE(unreachable_server_is_a_delivery_failure) {
  // A port that was free a moment ago: bind, read it, close.
  std::uint16_t port;
  {
    RecordingServer s([](int, const ServerRequest&) { return ok_response(); });
    port = s.port();
  }
  const auto r = cli(change_args("http://127.0.0.1:" + std::to_string(port)), {{"PULSE_MAX_ATTEMPTS", "2"}});
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(r.err.find("connect 127.0.0.1:" + std::to_string(port) + ": Connection refused") != std::string::npos,
             r.err);
}

BOOST_AUTO_TEST_CASE(a_server_that_never_answers_times_out) {
  // Accepts, reads, and sleeps past the client's deadline.
  RecordingServer server([](int, const ServerRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    return ok_response();
  });
  const auto start = std::chrono::steady_clock::now();
  const auto r = cli(change_args(server.url()), {{"PULSE_TIMEOUT", "1"}, {"PULSE_MAX_ATTEMPTS", "1"}});
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(
      r.err.find("read response from 127.0.0.1:" + std::to_string(server.port()) + ": timed out") != std::string::npos,
      r.err);
  BOOST_TEST((took < std::chrono::seconds(2)));  // the deadline, not the server, ended it
  // The request was sent whole: the server may have stored the event.
  BOOST_TEST(r.err.find("the server may have stored it anyway") != std::string::npos, r.err);
}

// A collector that answers after the old fixed 30 s read bound: --timeout
// bounds the wait, so one POST and success (the Go CLI waits, too).
BOOST_AUTO_TEST_CASE(a_slow_answer_within_the_timeout_is_a_success) {
  RecordingServer server([](int, const ServerRequest&) {
    std::this_thread::sleep_for(std::chrono::seconds(31));
    return ok_response();
  });
  const auto r = cli(change_args(server.url()), {{"PULSE_TIMEOUT", "90"}});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(server.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(redirects_307_and_308_are_followed_with_the_same_request) {
  // 308 to another origin (absolute Location), then 307 to another path of
  // it (relative Location), as an http-to-https or moved-path setup does.
  RecordingServer target([](int n, const ServerRequest&) {
    if (n == 0) return ServerResponse{307, "text/plain", "moved", {{"Location", "/final/v1/ingestion/cli?x=1"}}};
    return ok_response();
  });
  RecordingServer first([&target](int, const ServerRequest& r) {
    return ServerResponse{308, "text/plain", "", {{"Location", target.url() + "/moved" + r.target}}};
  });
  const auto r = cli(change_args(first.url(), "redirected"));
  BOOST_TEST(r.exit_code == 0, r.err);
  const auto a = first.requests();
  const auto b = target.requests();
  BOOST_REQUIRE(a.size() == 1u);
  BOOST_REQUIRE(b.size() == 2u);
  BOOST_TEST(b[0].target == "/moved/v1/ingestion/cli?api_key=K");
  BOOST_TEST(b[1].target == "/final/v1/ingestion/cli?x=1");
  for (const auto& req : b) {
    BOOST_TEST(req.method == "POST");
    BOOST_TEST(req.body == a[0].body);
    BOOST_TEST(header_of(req, "Host") == "127.0.0.1:" + std::to_string(target.port()));
    BOOST_TEST(header_of(req, "Content-Type") == "application/json");
  }
  BOOST_TEST(a[0].body.find("\"redirected\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(redirect_loops_and_downgrades_are_refused) {
  RecordingServer loop([](int, const ServerRequest&) {
    return ServerResponse{307, "text/plain", "", {{"Location", "/again"}}};
  });
  auto r = cli(change_args(loop.url()));
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(loop.requests().size() == 11u);  // the request and 10 redirects, as Go
  BOOST_TEST(r.err.find("too many redirects") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("retrying") == std::string::npos, r.err);

  // From https to http: never (the event and the key would travel in clear).
  TlsMaterial tls;
  RecordingServer plain([](int, const ServerRequest&) { return ok_response(); });
  ServerOptions secure;
  secure.tls_cert = tls.server_pem;
  secure.tls_key = tls.server_key;
  RecordingServer https_server(
      [&plain](int, const ServerRequest&) {
        return ServerResponse{308, "text/plain", "", {{"Location", plain.url() + "/v1/ingestion/cli?api_key=K"}}};
      },
      secure);
  auto args = change_args(https_server.url());
  args.insert(args.end(), {"--ca-file", tls.ca_pem});
  r = cli(args);
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(r.err.find("refused: it leads from https to http") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("api_key") == std::string::npos, r.err);
  BOOST_TEST(plain.requests().empty());

  // A Location that is no http(s) URL.
  RecordingServer odd([](int, const ServerRequest&) {
    return ServerResponse{308, "text/plain", "", {{"Location", "ftp://example.invalid/x"}}};
  });
  r = cli(change_args(odd.url()));
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(r.err.find("its Location is not an http(s) URL") != std::string::npos, r.err);
  BOOST_TEST(odd.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(https_through_a_connect_proxy) {
  TlsMaterial tls;
  CollectorProcess collector(
      {"--tls-cert", tls.server_pem, "--tls-key", tls.server_key, "--public-host", "collector.pulse.test"});
  TestProxy proxy;  // collector.pulse.test is 127.0.0.1 to it
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  const std::string named = "https://collector.pulse.test:" + std::to_string(collector.port());
  auto args = change_args(named, "proxied");
  args.insert(args.end(), {"--ca-file", tls.ca_pem});
  const auto r = cli(args, {{"HTTPS_PROXY", proxy_url}});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(proxy.tunnels() == 1);
  BOOST_TEST(proxy.last_request_line() ==
             "CONNECT collector.pulse.test:" + std::to_string(collector.port()) + " HTTP/1.1");
  // Loopback is never proxied (as in Go): the local collector is reached
  // directly whatever HTTPS_PROXY says.
  args = change_args(collector.url(), "direct");
  args.insert(args.end(), {"--ca-file", tls.ca_pem});
  BOOST_TEST(cli(args, {{"HTTPS_PROXY", proxy_url}}).exit_code == 0);
  BOOST_TEST(proxy.tunnels() == 1);
  const auto events = collector_cmd({"events", "--db", collector.db(), "--format", "json"});
  BOOST_TEST(events.out.find("\"id\":\"proxied\"") != std::string::npos);
  BOOST_TEST(events.out.find("\"id\":\"direct\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(http_through_a_proxy_uses_absolute_form) {
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  TestProxy proxy;
  const std::string named = "http://collector.pulse.test:" + std::to_string(server.port());
  const auto r = cli(change_args(named), {{"HTTP_PROXY", "127.0.0.1:" + std::to_string(proxy.port())}});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(proxy.forwards() == 1);
  BOOST_TEST(proxy.last_request_line().starts_with("POST " + named + "/v1/ingestion/cli?api_key=K "));
  BOOST_TEST(server.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(loopback_is_never_proxied) {
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  TestProxy proxy;
  const std::string via = "http://127.0.0.1:" + std::to_string(proxy.port());
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    BOOST_TEST_CONTEXT(host) {
      const auto r = cli(change_args("http://" + host + ":" + std::to_string(server.port())),
                         {{"HTTP_PROXY", via}, {"http_proxy", via}, {"HTTPS_PROXY", via}});
      BOOST_TEST(r.exit_code == 0, r.err);
    }
  }
  BOOST_TEST(proxy.forwards() == 0);
  BOOST_TEST(proxy.tunnels() == 0);
  BOOST_TEST(server.requests().size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refusing_proxy_is_reported) {
  TestProxy proxy;  // refuses anything but loopback targets
  const auto r = cli({"push", "change", "--base-url", "https://pulse.invalid", "--identifier", "a", "--api-key", "K"},
                     {{"HTTPS_PROXY", "http://127.0.0.1:" + std::to_string(proxy.port())}});
  BOOST_TEST(r.exit_code == 4);
  BOOST_TEST(r.err.find("answered 403 to CONNECT pulse.invalid:443") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(server_handlers)

BOOST_AUTO_TEST_CASE(async_answers_from_other_threads_and_blocking_handlers_on_the_pool) {
  // /async is answered 30 ms later from a thread of the test's own; the rest
  // by a handler that blocks (on the pool). Eight clients at once; then a
  // stop while an async answer is pending: it is still delivered.
  std::mutex mutex;
  std::vector<std::thread> responders;
  std::atomic<int> blocking_inflight{0}, blocking_peak{0}, async_received{0};
  ServerOptions opt;
  opt.handler_threads = 8;
  opt.async_handler = [&](const ServerRequest& r, const Respond& respond) {
    if (r.target != "/async") return false;
    ++async_received;
    std::lock_guard lock(mutex);
    responders.emplace_back([respond] {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      respond({202, "text/plain", "later", {}});
      respond({500, "text/plain", "twice", {}});  // ignored: one answer per request
    });
    return true;
  };
  HttpServer server(opt, [&](const ServerRequest& r) {
    const int now = ++blocking_inflight;
    for (int peak = blocking_peak; now > peak && !blocking_peak.compare_exchange_weak(peak, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // e.g. waiting for a database
    --blocking_inflight;
    return ServerResponse{200, "text/plain", "sync " + r.target, {}};
  });
  std::thread run([&] { server.run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());

  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      std::string why;
      HttpClient client(*parse_origin(url, why), ClientOptions{});
      for (int i = 0; i < 5; ++i) {
        const bool async = (c + i) % 2 == 0;
        const auto r = client.send(HttpRequest{"GET", async ? "/async" : "/b", {}, ""});
        const auto* res = std::get_if<HttpResponse>(&r);
        if (res && res->status == (async ? 202 : 200) && res->body == (async ? "later" : "sync /b")) ++ok;
      }
    });
  for (auto& t : clients) t.join();
  BOOST_TEST(ok == 40);
  BOOST_TEST(blocking_peak > 1);  // blocking handlers ran side by side, off the I/O threads

  std::string why;
  HttpClient last(*parse_origin(url, why), ClientOptions{});
  std::thread pending([&] {
    const auto r = last.send(HttpRequest{"GET", "/async", {}, ""});
    const auto* res = std::get_if<HttpResponse>(&r);
    BOOST_TEST((res && res->status == 202));
  });
  BOOST_TEST(wait_until([&] { return async_received == 21; }, std::chrono::seconds(5)));
  server.stop();  // while its answer is pending
  pending.join();
  run.join();
  for (auto& t : responders) t.join();
}

BOOST_AUTO_TEST_SUITE_END()
