// The real pulse-collector process: durability, limits, concurrency,
// shutdown and its command line.
#include "cli_helpers.hpp"

#include "core/util/build_info.hpp"

#include "core/net/http_client.hpp"
#include "core/util/timeutil.hpp"

#include <signal.h>

using namespace pulse;
using namespace pulse::test;

namespace {

HttpClient client_for(const CollectorProcess& c) {
  std::string why;
  return HttpClient(*parse_origin(c.url(), why), ClientOptions{});
}

HttpResponse post(HttpClient& client, const std::string& target, const std::string& body) {
  const auto r = client.send(HttpRequest{"POST", target, {{"Content-Type", "application/json"}}, body});
  if (const auto* f = std::get_if<TransportFailure>(&r)) throw std::runtime_error(f->message());
  return std::get<HttpResponse>(r);
}

std::string change_body(const std::string& id) { return encode_body(Change{"cli", id, 1602852032, "commit"}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(collector_process)

BOOST_AUTO_TEST_CASE(kill9_right_after_2xx_loses_nothing) {
  TestDatabase database;
  const std::string db = database.db();
  {
    CollectorProcess collector({}, db);
    auto client = client_for(collector);
    for (int i = 0; i < 200; ++i)
      BOOST_REQUIRE_EQUAL(
          post(client, "/v1/ingestion/cli?api_key=K&system=s", change_body("c" + std::to_string(i))).status, 200);
    collector.kill9();  // no chance to flush anything
  }
  const auto listed = collector_cmd({"events", "--db", db, "--limit", "1000", "--format", "json"});
  BOOST_TEST(listed.exit_code == 0, listed.err);
  BOOST_TEST(count_of(listed.out, "\"type\":\"change\"") == 200u);
  // And it starts again on the same file.
  CollectorProcess again({}, db);
  auto client = client_for(again);
  BOOST_TEST(post(client, "/v1/ingestion/cli?api_key=K&system=s", change_body("c0")).body ==
             R"({"stored":0,"duplicates":1})");
}

BOOST_AUTO_TEST_CASE(keyless_collector_refuses_web_pages_on_every_path) {
  CollectorProcess collector;
  auto client = client_for(collector);
  auto send = [&](const std::string& method, const std::string& target, std::vector<Header> headers,
                  const std::string& body = "") {
    const auto r = client.send(HttpRequest{method, target, std::move(headers), body});
    const auto* res = std::get_if<HttpResponse>(&r);
    return res ? res->status : 0;
  };
  const Header json{"Content-Type", "application/json"};
  // A page's form or text POST, a foreign Origin, a rebound Host: refused, nothing stored.
  BOOST_TEST(send("POST", "/v1/ingestion/cli", {{"Content-Type", "text/plain"}}, change_body("p1")) == 400);
  BOOST_TEST(send("POST", "/v1/ingestion/cli", {json, {"Origin", "https://evil.example"}}, change_body("p2")) == 403);
  BOOST_TEST(send("POST", "/v1/ingestion/cli/batch", {{"Content-Type", "text/plain"}}, "[" + change_body("p3") + "]") ==
             400);
  BOOST_TEST(send("GET", "/v1/events", {{"Host", "evil.example:8765"}}) == 403);
  BOOST_TEST(send("GET", "/v1/metrics", {{"Origin", "http://evil.example"}}) == 403);
  // Our clients, curl and the Go CLI.
  BOOST_TEST(send("POST", "/v1/ingestion/cli", {json}, change_body("ok")) == 200);
  const auto listed = collector_cmd({"events", "--db", collector.db(), "--format", "json"});
  BOOST_TEST(count_of(listed.out, "\"type\":\"change\"") == 1u, listed.out);
  BOOST_TEST(listed.out.find("\"id\":\"ok\"") != std::string::npos, listed.out);
}

BOOST_AUTO_TEST_CASE(the_events_table_escapes_what_a_terminal_would_run) {
  if (testing_postgres()) return;  // written with sqlite3 below: an SQLite file only
  CollectorProcess collector;
  auto client = client_for(collector);
  BOOST_TEST(post(client, "/v1/ingestion/cli?system=web", change_body("plain")).status == 200);
  // Data stored before input was checked may hold anything.
  const auto r = run_process({"sqlite3", "-cmd", ".timeout 5000", collector.db(),
                              "UPDATE events SET identifier = 'x' || char(27) || '[2J', source = 'c' || char(7)"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  const auto table = collector_cmd({"events", "--db", collector.db()});
  BOOST_TEST(table.exit_code == 0, table.err);
  BOOST_TEST(table.out.find('\x1b') == std::string::npos);
  BOOST_TEST(table.out.find('\x07') == std::string::npos);
  BOOST_TEST(table.out.find("x\\x1b[2J") != std::string::npos, table.out);
}

BOOST_AUTO_TEST_CASE(limits_and_malformed_requests) {
  CollectorProcess collector;
  auto client = client_for(collector);
  // 8 MiB: room for a deployment of 100,000 changes, and no more.
  const auto too_big = post(client, "/v1/ingestion/cli?api_key=K", std::string(9 << 20, ' '));
  BOOST_TEST(too_big.status == 413);
  BOOST_TEST(too_big.body.find("request body exceeds 8388608 bytes") != std::string::npos, too_big.body);
  {
    Deployment d{.deploy_id = "big", .time_created = 1602852032};
    for (int i = 0; i < 100'000; ++i) d.changes.push_back(std::string(40, 'a') + std::to_string(i));
    auto big_client = client_for(collector);
    BOOST_TEST(post(big_client, "/v1/ingestion/cli?api_key=K&system=s", encode_body(d)).status == 200);
  }
  auto client2 = client_for(collector);
  const auto bad = post(client2, "/v1/ingestion/cli?api_key=K", "{\"$type\":\"change\"");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("body: not valid JSON") != std::string::npos, bad.body);
  const auto nested = post(client2, "/v1/ingestion/cli?api_key=K", std::string(10000, '[') + std::string(10000, ']'));
  BOOST_TEST(nested.status == 400);
  // Garbage instead of HTTP gets a 400 and the server lives on.
  const auto raw = run_process({"sh", "-c",
                                "printf 'HELLO\\r\\n\\r\\n' | timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/" +
                                    std::to_string(collector.port()) + "; cat >&3; cat <&3'"});
  BOOST_TEST(raw.out.find("400 Bad Request") != std::string::npos, raw.out + raw.err);
  // A coding stacked under chunked would reach the handler as the body: 501.
  const auto stacked = run_process(
      {"sh", "-c",
       "printf 'POST /v1/ingestion/cli?api_key=K HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\n"
       "Transfer-Encoding: gzip, chunked\\r\\n\\r\\n2\\r\\n{}\\r\\n0\\r\\n\\r\\n' | timeout 5 bash -c 'exec "
       "3<>/dev/tcp/127.0.0.1/" +
           std::to_string(collector.port()) + "; cat >&3; cat <&3'"});
  BOOST_TEST(stacked.out.find("501 Not Implemented") != std::string::npos, stacked.out + stacked.err);
  BOOST_TEST(stacked.out.find("Transfer-Encoding other than chunked") != std::string::npos, stacked.out);
  auto client3 = client_for(collector);
  BOOST_TEST(post(client3, "/v1/ingestion/cli?api_key=K", change_body("after")).status == 200);
}

BOOST_AUTO_TEST_CASE(slow_and_idle_clients_are_cut_off) {
  CollectorProcess collector({"--timeout", "1", "--idle-timeout", "1"});
  const std::string port = std::to_string(collector.port());
  // Half a request, then silence: the server closes it after its read timeout.
  for (const char* partial : {"POST /v1/ingestion/cli HTTP/1.1\\r\\nHost: x\\r\\n", ""}) {
    BOOST_TEST_CONTEXT(partial) {
      const auto start = std::chrono::steady_clock::now();
      const auto r = run_process(
          {"bash", "-c",
           "exec 3<>/dev/tcp/127.0.0.1/" + port + "; printf '" + partial + "' >&3; timeout 10 cat <&3; echo closed"});
      const auto took = std::chrono::steady_clock::now() - start;
      BOOST_TEST(r.out.find("closed") != std::string::npos);
      BOOST_TEST((took < std::chrono::seconds(5)));
    }
  }
  // The server is still fine.
  auto client = client_for(collector);
  BOOST_TEST(post(client, "/v1/ingestion/cli?api_key=K", change_body("still-up")).status == 200);
}

BOOST_AUTO_TEST_CASE(many_concurrent_clients) {
  CollectorProcess collector;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      auto client = client_for(collector);
      for (int i = 0; i < 50; ++i)
        if (post(client, "/v1/ingestion/cli?api_key=K", change_body(std::to_string(t) + "-" + std::to_string(i)))
                .status == 200)
          ++ok;
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(ok == 400);
  const auto listed = collector_cmd({"events", "--db", collector.db(), "--limit", "1000", "--format", "json"});
  BOOST_TEST(count_of(listed.out, "\"type\":\"change\"") == 400u);
}

BOOST_AUTO_TEST_CASE(several_collectors_on_one_database) {
  // Three collectors write overlapping events at once: every event is
  // stored once, each deployment's changes are all there, and the metrics
  // (read from whichever collector) agree.
  TestDatabase database;
  std::vector<std::unique_ptr<CollectorProcess>> collectors;
  for (int i = 0; i < 3; ++i)
    collectors.push_back(std::make_unique<CollectorProcess>(std::vector<std::string>{}, database.db()));
  std::atomic<int> ok{0}, stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      auto client = client_for(*collectors[static_cast<std::size_t>(t % 3)]);
      for (int i = 0; i < 60; ++i) {
        // Every id is sent by two threads through two different collectors.
        const std::string id = std::to_string(t / 2) + "-" + std::to_string(i);
        Deployment d{.deploy_id = "d" + id, .time_created = 1767225600 + i * 60, .changes = {"x" + id, "y" + id}};
        std::string batch = "[" + encode_body(Change{"cli", "x" + id, 1767225600 + i * 60 - 3600, "commit"}) + "," +
                            encode_body(Change{"cli", "y" + id, 1767225600 + i * 60 - 7200, "commit"}) + "," +
                            encode_body(d) + "]";
        const auto r = post(client, "/v1/ingestion/cli/batch?system=s", batch);
        if (r.status == 200) ++ok;
        const auto p = r.body.find("\"stored\":");
        if (p != std::string::npos) stored += std::stoi(r.body.substr(p + 9));
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(ok == 360);
  BOOST_TEST(stored == 540);  // 180 ids x 3 events, each stored exactly once
  const auto listed = collector_cmd({"events", "--db", database.db(), "--limit", "10000", "--format", "json"});
  BOOST_TEST(count_of(listed.out, "\"type\":\"change\"") == 360u);
  BOOST_TEST(count_of(listed.out, "\"type\":\"deployment\"") == 180u);
  const auto metrics = collector_cmd(
      {"metrics", "--db", database.db(), "--from", "2026-01-01", "--to", "2026-01-01", "--format", "json"});
  BOOST_TEST(metrics.exit_code == 0, metrics.err);
  BOOST_TEST(metrics.out.find("\"lead_time\":{\"median_seconds\":5400,\"changes\":360") != std::string::npos,
             metrics.out);
  BOOST_TEST(metrics.out.find("\"deployments\":180") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(production_environments_for_serve_and_metrics) {
  CollectorProcess collector({"--production-environments", "live, prod"});
  auto client = client_for(collector);
  const std::int64_t t = unix_now() - 86400;
  for (const char* env : {"live", "prod", "staging"})
    BOOST_TEST(post(client, "/v1/ingestion/cli?system=web",
                    encode_body(Deployment{.deploy_id = "42", .time_created = t, .environment = env}))
                   .status == 200);
  const auto sent = client.send(HttpRequest{"GET", "/v1/metrics", {}, ""});
  BOOST_REQUIRE(std::holds_alternative<HttpResponse>(sent));
  const auto& served = std::get<HttpResponse>(sent);
  BOOST_TEST(served.body.find(R"("environments":["live","prod"])") != std::string::npos, served.body);
  BOOST_TEST(served.body.find(R"("deployments":2,)") != std::string::npos, served.body);
  // The command reads the same database: the default set, a named one, or its own list.
  const auto plain = collector_cmd({"metrics", "--db", collector.db()});
  BOOST_TEST(plain.exit_code == 0, plain.err);
  BOOST_TEST(plain.out.find("Environments: production, prod, live") != std::string::npos, plain.out);
  BOOST_TEST(plain.out.find("2 deployment(s)") != std::string::npos, plain.out);  // prod and live
  const auto staging = collector_cmd({"metrics", "--db", collector.db(), "--environment", "staging"});
  BOOST_TEST(staging.out.find("Environments: staging\n") != std::string::npos, staging.out);
  BOOST_TEST(staging.out.find("1 deployment(s)") != std::string::npos, staging.out);
  const auto own = collector_cmd({"metrics", "--db", collector.db(), "--format", "json"},
                                 {{"PULSE_PRODUCTION_ENVIRONMENTS", "live,prod,staging"}});
  BOOST_TEST(own.out.find(R"("deployments":3,)") != std::string::npos, own.out);
  const auto bad = collector_cmd({"metrics", "--db", collector.db(), "--environment", "prod,,live"});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("--environment: ") != std::string::npos, bad.err);
  const auto events = collector_cmd({"events", "--db", collector.db()});
  BOOST_TEST(events.out.find("ENVIRONMENT") != std::string::npos, events.out);
  BOOST_TEST(events.out.find("staging") != std::string::npos, events.out);
  // A bad list stops serve at once, naming the flag.
  TempDir dir;
  const auto refused =
      collector_cmd({"serve", "--port", "0", "--db", dir.str("c.db"), "--production-environments", ","});
  BOOST_TEST(refused.exit_code == 2);
  BOOST_TEST(refused.err.find("--production-environments: ") != std::string::npos, refused.err);
}

BOOST_AUTO_TEST_CASE(graceful_shutdown_on_sigterm_and_sigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    BOOST_TEST_CONTEXT(sig) {
      CollectorProcess collector;
      auto client = client_for(collector);  // an idle kept-alive connection must not hold shutdown up
      BOOST_TEST(post(client, "/v1/ingestion/cli?api_key=K", change_body("x")).status == 200);
      const auto start = std::chrono::steady_clock::now();
      collector.process().signal(sig);
      BOOST_TEST(collector.process().wait() == 0);
      BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
      BOOST_TEST(collector.process().stderr_text().find("pulse-collector: stopped") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(api_keys_from_file_and_environment) {
  TempDir dir;
  write_file(dir.path / "keys", "# team keys\nkey-one\n\n  key-two  \n");
  CollectorProcess collector({"--api-key-file", dir.str("keys")}, "", {{"PULSE_COLLECTOR_API_KEYS", "key-three"}});
  BOOST_TEST(collector.process().stderr_text().find("accepting any key") == std::string::npos);
  for (const char* key : {"key-one", "key-two", "key-three"}) {
    BOOST_TEST_CONTEXT(key) {
      const auto r = cli({"push", "change", "--base-url", collector.url(), "--identifier", key, "--api-key", key});
      BOOST_TEST(r.exit_code == 0, r.err);
    }
  }
  const auto wrong = cli({"push", "change", "--base-url", collector.url(), "--identifier", "w", "--api-key", "nope"});
  BOOST_TEST(wrong.exit_code == 3);
  BOOST_TEST(wrong.err == "pulse-event-cli push change: server rejected event (401): missing or invalid API key\n");
  const auto none = cli({"push", "change", "--base-url", collector.url(), "--identifier", "w"});
  BOOST_TEST(none.exit_code == 3);
  // The events API wants a key too, as a bearer token.
  auto client = client_for(collector);
  auto r = client.send(HttpRequest{"GET", "/v1/events", {{"Authorization", "Bearer key-two"}}, ""});
  BOOST_TEST(std::get<HttpResponse>(r).status == 200);
  BOOST_TEST(std::get<HttpResponse>(r).body.find("\"count\":3") != std::string::npos);
  r = client.send(HttpRequest{"GET", "/v1/events", {}, ""});
  BOOST_TEST(std::get<HttpResponse>(r).status == 401);
  // The scheme's name in any case, as pulse-incident reads it (RFC 9110 11.1).
  for (const char* scheme : {"bearer", "BEARER", "BeArEr"}) {
    r = client.send(HttpRequest{"GET", "/v1/events", {{"Authorization", std::string(scheme) + " key-two"}}, ""});
    BOOST_TEST(std::get<HttpResponse>(r).status == 200, scheme);
  }
}

BOOST_AUTO_TEST_CASE(command_line) {
  TempDir scratch;
  const auto refuse = collector_cmd({"serve", "--bind", "0.0.0.0", "--port", "0", "--db", scratch.str("never.db")});
  BOOST_TEST(refuse.exit_code == 2);
  BOOST_TEST(refuse.err.find("refusing to listen on 0.0.0.0 without an API key") != std::string::npos, refuse.err);
  BOOST_TEST(collector_cmd({"serve", "--port", "70000"}).exit_code == 2);
  BOOST_TEST(collector_cmd({"serve", "--nope"}).exit_code == 2);
  BOOST_TEST(collector_cmd({"frobnicate"}).exit_code == 2);
  BOOST_TEST(collector_cmd({"serve", "--help"}).out.find("--tls-cert") != std::string::npos);
  BOOST_TEST(collector_cmd({"events", "--help"}).exit_code == 0);
  BOOST_TEST(collector_cmd({"version"}).out == "pulse-collector " + version_text() + "\n");
  const auto bad_cert = collector_cmd({"serve", "--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key",
                                       "/nonexistent.key", "--db", scratch.str("unused.db")});
  BOOST_TEST(bad_cert.exit_code == 2);  // bad input, like every other
  BOOST_TEST(bad_cert.err.find("load TLS certificate /nonexistent.pem") != std::string::npos, bad_cert.err);

  // Port in use: a clear error.
  CollectorProcess first;
  TempDir dir;
  const auto clash = collector_cmd({"serve", "--port", std::to_string(first.port()), "--db", dir.str("x.db")});
  BOOST_TEST(clash.exit_code == 1);
  BOOST_TEST(clash.err.find("listen on 127.0.0.1:" + std::to_string(first.port()) + ": Address already in use") !=
                 std::string::npos,
             clash.err);

  // The events table.
  BOOST_TEST(cli({"push", "deployment", "--base-url", first.url(), "--identifier", "v9", "--system", "web", "c1", "c2"})
                 .exit_code == 0);
  const auto table = collector_cmd({"events", "--db", first.db()});
  BOOST_TEST(table.out.find("deployment  web     production   v9") != std::string::npos, table.out);
  BOOST_TEST(table.out.find("1 event(s)") != std::string::npos);
  const auto missing = collector_cmd({"events", "--db", scratch.str("typo/none.db")});
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.err.find("no database at") != std::string::npos, missing.err);
  BOOST_TEST(!fs::exists(scratch.path / "typo"));
  const auto empty = collector_cmd({"events", "--db", first.db(), "--type", "incident"});
  BOOST_TEST(empty.out.find("no events of type incident") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
