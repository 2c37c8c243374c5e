// Retry policy and delivery on a scripted transport and a fake clock: no
// sleeping, no sockets.
#include "core/net/http_client.hpp"
#include "core/client/ingestion.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/test/unit_test.hpp>

#include <deque>

using namespace pulse;
using namespace std::chrono_literals;

namespace {

class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return t_; }
  std::chrono::system_clock::time_point wall_now() override {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)) + (t_ - start_);
  }
  void sleep_for(Millis d) override {
    sleeps.push_back(d);
    t_ += d;
  }
  std::vector<Millis> sleeps;

 private:
  std::chrono::steady_clock::time_point start_{}, t_{};
};

HttpResponse status(int s, std::string body = "", std::vector<Header> headers = {}) {
  return HttpResponse{s, std::move(headers), std::move(body)};
}

TransportFailure refused() { return {boost::asio::error::connection_refused, "connect 127.0.0.1:1", true}; }

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(std::deque<SendResult> script) : script_(std::move(script)) {}
  SendResult send(const HttpRequest& r) override {
    requests.push_back(r);
    if (script_.empty()) return status(200);
    auto next = script_.front();
    script_.pop_front();
    return next;
  }
  std::vector<HttpRequest> requests;

 private:
  std::deque<SendResult> script_;
};

struct Fixture {
  FakeClock clock;
  std::vector<std::string> log;
  IngestionConfig config() {
    IngestionConfig c;
    c.api_key = "s3cret-key";
    c.system = "web";
    return c;
  }
  IngestionClient client(Transport& t, IngestionConfig c) {
    return IngestionClient(t, clock, std::move(c), [this](const std::string& l) { log.push_back(l); });
  }
  const Change change{"cli", "abc", 1602852032, "commit"};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(retryable_statuses) {
  for (int s : {429, 502, 503, 504}) BOOST_TEST(is_retryable_status(s));
  for (int s : {200, 400, 401, 403, 404, 409, 413, 422, 500, 501}) BOOST_TEST(!is_retryable_status(s));
}

BOOST_AUTO_TEST_CASE(retryable_transport_errors_as_a_table) {
  namespace error = boost::asio::error;
  struct Row {
    const char* what;
    boost::system::error_code ec;
    bool retry;
  };
  const Row rows[] = {
      {"none", {}, false},
      {"connection refused", error::connection_refused, true},
      {"connection reset", error::connection_reset, true},
      {"network unreachable", error::network_unreachable, true},
      {"timed out", error::timed_out, true},
      {"end of stream", error::eof, true},
      {"DNS: try again", error::host_not_found_try_again, true},
      {"DNS: no such host (a typo)", error::host_not_found, false},
      {"TLS truncated (a server gone mid-answer)", boost::asio::ssl::error::stream_truncated, true},
      {"TLS: certificate not trusted", {0x0A000086, boost::asio::error::get_ssl_category()}, false},
      {"response header too large", boost::beast::http::error::header_limit, false},
      {"response body too large", boost::beast::http::error::body_limit, false},
  };
  for (const auto& row : rows) BOOST_TEST_CONTEXT(row.what) {
      BOOST_TEST(is_retryable(row.ec) == row.retry);
    }
}

BOOST_AUTO_TEST_CASE(backoff_grows_with_jitter_and_is_capped) {
  const RetryPolicy p;
  BOOST_TEST(backoff_delay(p, 2, [] { return 0.0; }).count() == 250);
  BOOST_TEST(backoff_delay(p, 2, [] { return 0.999; }).count() == 499);
  BOOST_TEST(backoff_delay(p, 3, [] { return 0.999; }).count() == 999);
  BOOST_TEST(backoff_delay(p, 4, [] { return 0.0; }).count() == 1000);
  BOOST_TEST(backoff_delay(p, 30, [] { return 0.999; }).count() <= p.max_delay.count());
}

BOOST_AUTO_TEST_CASE(retry_after_forms) {
  const auto now =
      std::chrono::system_clock::time_point(std::chrono::seconds(784111777));  // Sun, 06 Nov 1994 08:49:37 GMT
  BOOST_TEST(parse_retry_after("3", now).value().count() == 3000);
  BOOST_TEST(parse_retry_after(" 0 ", now).value().count() == 0);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now).value().count() == 10000);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now).value().count() == 0);  // past
  BOOST_TEST(!parse_retry_after("soon", now).has_value());
  BOOST_TEST(!parse_retry_after("-1", now).has_value());
  BOOST_TEST(!parse_retry_after("", now).has_value());
}

// Which extensions the server takes: told by its 2xx answers only (a
// proxy's 502 says nothing), else asked once on /healthz.
BOOST_FIXTURE_TEST_CASE(extensions_are_learned_from_the_server_s_own_answers, Fixture) {
  ScriptedTransport t(
      {status(502), status(200, "{}", {{"Pulse-Extensions", "batch, deployments, patches"}}), status(200)});
  auto c = client(t, config());
  BOOST_TEST(!c.offers("patches").has_value());
  auto conf = config();
  conf.retry.max_attempts = 1;
  auto once = client(t, conf);
  (void)once.send(change);  // the 502
  BOOST_TEST(!once.offers("patches").has_value());
  (void)once.send(change);  // a 2xx naming them
  BOOST_TEST(once.offers("patches").value_or(false));
  BOOST_TEST(!once.offers("patch").value_or(true));  // whole tokens only
  (void)once.send(change);                           // a 2xx naming none
  BOOST_TEST(!once.offers("patches").value_or(true));
  ScriptedTransport probe({status(503), status(200, "{}", {{"Pulse-Extensions", "patches"}})});
  auto asks = client(probe, config());
  asks.learn_extensions();  // 503: still unknown
  BOOST_TEST(!asks.offers("patches").has_value());
  asks.learn_extensions();
  BOOST_TEST(asks.offers("patches").value_or(false));
  BOOST_TEST(probe.requests.back().target == "/healthz");
  asks.learn_extensions();  // known: not asked again
  BOOST_TEST(probe.requests.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(retries_transient_failures_then_delivers, Fixture) {
  ScriptedTransport t({refused(), status(503), status(502), status(200)});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::delivered));
  BOOST_TEST(r.attempts == 4);
  BOOST_TEST(t.requests.size() == 4u);
  BOOST_TEST(clock.sleeps.size() == 3u);
  BOOST_TEST(log.size() == 3u);
  // Same request every time.
  BOOST_TEST(t.requests[0].body == t.requests[3].body);
  BOOST_TEST(t.requests[0].target == "/v1/ingestion/cli?api_key=s3cret-key&system=web");
}

BOOST_FIXTURE_TEST_CASE(never_retries_client_errors, Fixture) {
  for (int s : {400, 401, 403, 404, 413, 422}) {
    BOOST_TEST_CONTEXT(s) {
      ScriptedTransport t({status(s, R"({"error":"time_created: not a valid time"})")});
      auto c = client(t, config());
      const auto r = c.send(change);
      BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::rejected));
      BOOST_TEST(t.requests.size() == 1u);
      BOOST_TEST(r.reason == "server rejected event (" + std::to_string(s) + "): time_created: not a valid time");
    }
  }
  BOOST_TEST(clock.sleeps.empty());
}

BOOST_FIXTURE_TEST_CASE(server_errors_are_final_but_not_rejections, Fixture) {
  ScriptedTransport t({status(500, "boom\nstack trace")});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::failed));
  BOOST_TEST(t.requests.size() == 1u);
  BOOST_TEST(r.reason == "server error (500): boom");
}

BOOST_FIXTURE_TEST_CASE(attempts_are_bounded, Fixture) {
  std::deque<SendResult> script(20, refused());
  ScriptedTransport t(script);
  auto cfg = config();
  cfg.retry.max_attempts = 4;
  auto c = client(t, cfg);
  const auto r = c.send(change);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::failed));
  BOOST_TEST(t.requests.size() == 4u);
  BOOST_TEST(r.reason.find("gave up after 4 attempts: connect 127.0.0.1:1") == 0u, r.reason);
}

BOOST_FIXTURE_TEST_CASE(total_time_is_bounded, Fixture) {
  std::deque<SendResult> script(50, status(503));
  ScriptedTransport t(script);
  auto cfg = config();
  cfg.retry.max_attempts = 50;
  cfg.retry.max_total = 5s;
  auto c = client(t, cfg);
  c.send(change);
  Millis slept{0};
  for (auto s : clock.sleeps) slept += s;
  BOOST_TEST(slept.count() <= 5000);
  BOOST_TEST(t.requests.size() < 50u);
}

BOOST_FIXTURE_TEST_CASE(honours_retry_after, Fixture) {
  ScriptedTransport t({status(429, "", {{"Retry-After", "7"}}), status(200)});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::delivered));
  BOOST_REQUIRE_EQUAL(clock.sleeps.size(), 1u);
  BOOST_TEST(clock.sleeps[0].count() == 7000);
}

BOOST_FIXTURE_TEST_CASE(retry_after_beyond_budget_gives_up, Fixture) {
  ScriptedTransport t({status(503, "", {{"Retry-After", "3600"}})});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::failed));
  BOOST_TEST(clock.sleeps.empty());
  BOOST_TEST(r.reason.find("retry after 3600.0s") != std::string::npos, r.reason);
}

BOOST_FIXTURE_TEST_CASE(configuration_errors_are_not_retried, Fixture) {
  ScriptedTransport t({TransportFailure{boost::asio::error::host_not_found, "resolve nope.invalid", false}});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(t.requests.size() == 1u);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::failed));
}

BOOST_FIXTURE_TEST_CASE(key_never_appears_in_messages, Fixture) {
  // A hostile or careless server echoes the key back.
  ScriptedTransport t({status(503, "bad key s3cret-key"), status(403, R"({"error":"key s3cret-key revoked"})")});
  auto c = client(t, config());
  const auto r = c.send(change);
  BOOST_TEST(r.reason.find("s3cret-key") == std::string::npos, r.reason);
  for (const auto& l : log) BOOST_TEST(l.find("s3cret-key") == std::string::npos, l);
}

BOOST_FIXTURE_TEST_CASE(sends_go_cli_headers, Fixture) {
  ScriptedTransport t({});
  auto cfg = config();
  cfg.environment = "github-actions";
  auto c = client(t, cfg);
  c.send(change);
  const auto& req = t.requests.at(0);
  auto header = [&](const char* name) {
    for (const auto& h : req.headers)
      if (h.name == name) return h.value;
    return std::string("<missing>");
  };
  BOOST_TEST(req.method == "POST");
  BOOST_TEST(header("Content-Type") == "application/json");
  BOOST_TEST(header("Environment") == "github-actions");
  BOOST_TEST(header("Cli-Version") == PULSE_VERSION);
}

BOOST_FIXTURE_TEST_CASE(batches_only_when_offered, Fixture) {
  std::vector<Event> events;
  for (int i = 0; i < 5; ++i) events.push_back(Change{"git", "c" + std::to_string(i), 1602852032, "commit"});
  events.push_back(Deployment{.source = "git", .deploy_id = "v1", .time_created = 1602852032, .changes = {"c0", "c1"}});
  {
    ScriptedTransport plain({});
    auto c = client(plain, config());
    const auto r = c.send_all(events);
    BOOST_TEST(r.delivered == 6u);
    BOOST_TEST(plain.requests.size() == 6u);  // one request per event, as the Go CLI
    for (const auto& req : plain.requests) BOOST_TEST(req.target.starts_with("/v1/ingestion/cli?"));
  }
  {
    ScriptedTransport offering(
        {status(200, "", {{"Pulse-Batch-Max", "3"}}), status(200, "", {{"Pulse-Batch-Max", "3"}})});
    auto c = client(offering, config());
    const auto r = c.send_all(events);
    BOOST_TEST(r.delivered == 6u);
    BOOST_REQUIRE_EQUAL(offering.requests.size(), 3u);  // 1 single, then batches of 3 and 2
    BOOST_TEST(offering.requests[1].target.starts_with("/v1/ingestion/cli/batch?api_key="));
    BOOST_TEST(offering.requests[1].body ==
               "[" + encode_body(events[1]) + "," + encode_body(events[2]) + "," + encode_body(events[3]) + "]");
    BOOST_TEST(offering.requests[2].body == "[" + encode_body(events[4]) + "," + encode_body(events[5]) + "]");
  }
}

BOOST_FIXTURE_TEST_CASE(send_all_stops_at_first_undelivered, Fixture) {
  std::vector<Event> events;
  for (int i = 0; i < 4; ++i) events.push_back(Change{"git", "c" + std::to_string(i), 1602852032, "commit"});
  ScriptedTransport t({status(200), status(400, R"({"error":"bad"})")});
  auto c = client(t, config());
  const auto r = c.send_all(events);
  BOOST_TEST(static_cast<int>(r.status) == static_cast<int>(Delivery::rejected));
  BOOST_TEST(r.delivered == 1u);
  BOOST_TEST(t.requests.size() == 2u);
}

BOOST_AUTO_TEST_CASE(reasons_from_bodies) {
  BOOST_TEST(reason_from_body(R"({"error":"x: y"})") == "x: y");
  BOOST_TEST(reason_from_body(R"({"message":"m"})") == "m");
  BOOST_TEST(reason_from_body("line one\nline two") == "line one");
  BOOST_TEST(reason_from_body(std::string(500, 'a')).size() == 203u);
  BOOST_TEST(reason_from_body("tab\there") == "tab here");
}

BOOST_AUTO_TEST_SUITE_END()
