// pulse-incident against the alert fixtures' answer key
// (shared/fixtures/alerts/expected.json): every file over real HTTP and
// through `report` on stdin, every scenario, restarts and kill -9.
#include "cli_helpers.hpp"

#include "core/client/outbox.hpp"
#include "core/net/http_client.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

fs::path fixtures() { return shared_dir() / "fixtures/alerts"; }

const json::object& answer_key() {
  static const json::value key = json::parse(read_file(fixtures() / "expected.json"));
  return key.as_object();
}

std::string incident_bin() {
  return fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/incident/pulse-incident";
}

EnvOverrides fixture_env() {
  const auto& s = answer_key().at("secrets").as_object();
  return {{"PULSE_INCIDENT_ALERTMANAGER_TOKEN", std::string(s.at("alertmanager_bearer").as_string())},
          {"PULSE_INCIDENT_OPSGENIE_TOKEN", std::string(s.at("opsgenie_basic_auth").as_string())},
          {"PULSE_INCIDENT_GRAFANA_SECRET", std::string(s.at("grafana_hmac_secret").as_string())},
          {"PULSE_INCIDENT_PAGERDUTY_SECRET", std::string(s.at("pagerduty_signing_secret").as_string())},
          // The signed Grafana fixture is from March 2026: widen the freshness window to reach it.
          {"PULSE_INCIDENT_GRAFANA_TIMESTAMP_WINDOW", std::to_string(unix_now() - 1773218851 + 3600)}};
}

std::string route_of(const std::string& source) {
  return source == "-" || source == "alertmanager?" ? "alertmanager" : source;
}

struct Seen {
  std::string identifier;
  std::int64_t created;
  std::optional<std::int64_t> resolved;
  bool operator==(const Seen&) const = default;
  bool operator<(const Seen& o) const { return identifier < o.identifier; }
};

std::ostream& operator<<(std::ostream& os, const Seen& i) {
  return os << i.identifier << " " << i.created << "->" << (i.resolved ? std::to_string(*i.resolved) : "open");
}

std::vector<Seen> expected_incidents(const json::array& list) {
  std::set<Seen> unique;
  for (const auto& v : list) {
    const auto& o = v.as_object();
    std::optional<std::int64_t> resolved;
    if (!o.at("resolved").is_null()) resolved = o.at("resolved").to_number<std::int64_t>();
    unique.insert({std::string(o.at("identifier").as_string()), o.at("created").to_number<std::int64_t>(), resolved});
  }
  return {unique.begin(), unique.end()};
}

std::vector<Seen> stored_incidents(const std::string& db) {
  const auto r = run_process({incident_bin(), "list", "--db", db, "--recent", "1000", "--format", "json"});
  if (r.exit_code != 0) throw std::runtime_error("pulse-incident list: " + r.err);
  std::vector<Seen> out;
  const json::value parsed = json::parse(r.out);
  for (const auto& v : parsed.as_array()) {
    const auto& o = v.as_object();
    std::optional<std::int64_t> resolved;
    if (!o.at("resolved").is_null()) resolved = o.at("resolved").to_number<std::int64_t>();
    out.push_back({std::string(o.at("identifier").as_string()), o.at("created").to_number<std::int64_t>(), resolved});
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// `pulse-incident serve` on a free port, reporting to `base_url`.
class IncidentServer {
 public:
  explicit IncidentServer(const std::string& base_url, std::string db = "", const EnvOverrides& env = fixture_env(),
                          const std::vector<std::string>& extra_args = {})
      : db_(db.empty() ? dir_.str("incidents.db") : std::move(db)) {
    std::vector<std::string> argv{incident_bin(), "serve", "--port", "0", "--db", db_, "--base-url", base_url};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    proc_ = std::make_unique<Background>(argv, env);
    std::string log = proc_->wait_for_stderr(" listening on ");
    wait_until([&] { return (log = proc_->stderr_text()).find('\n', log.find(" listening on ")) != std::string::npos; },
               std::chrono::seconds(2));  // the whole line, port included
    port_ = static_cast<std::uint16_t>(std::stoi(log.substr(log.find(':', log.find("://") + 3) + 1)));
  }
  const std::string& db() const { return db_; }
  Background& process() { return *proc_; }
  std::uint16_t port() const { return port_; }

  /// Delivers a fixture file with its answer-key headers; returns the status.
  int deliver(const std::string& file, const std::string& system = "",
              const std::map<std::string, std::string>& header_overrides = {}) {
    const auto& entry = answer_key().at("files").at(file).as_object();
    HttpRequest req;
    req.target =
        "/" + route_of(std::string(entry.at("source").as_string())) + (system.empty() ? "" : "?system=" + system);
    for (const auto& [name, value] : entry.at("headers").as_object())
      req.headers.push_back({std::string(name), std::string(value.as_string())});
    for (const auto& [name, value] : header_overrides) {
      std::erase_if(req.headers, [&](const Header& h) { return h.name == name; });
      req.headers.push_back({name, value});
    }
    req.body = read_file(fixtures() / file);
    std::string why;
    HttpClient client(*parse_origin("http://127.0.0.1:" + std::to_string(port_), why), ClientOptions{});
    const auto r = client.send(req);
    if (const auto* f = std::get_if<TransportFailure>(&r)) throw std::runtime_error(file + ": " + f->message());
    last_body_ = std::get<HttpResponse>(r).body;
    return std::get<HttpResponse>(r).status;
  }
  const std::string& last_body() const { return last_body_; }

  /// POSTs `body` to `route` with `headers`; returns the status.
  int post(const std::string& route, const std::string& body, const std::vector<Header>& headers = {}) {
    HttpRequest req;
    req.target = route;
    req.headers = headers;
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = body;
    std::string why;
    HttpClient client(*parse_origin("http://127.0.0.1:" + std::to_string(port_), why), ClientOptions{});
    const auto r = client.send(req);
    if (const auto* f = std::get_if<TransportFailure>(&r)) throw std::runtime_error(route + ": " + f->message());
    last_body_ = std::get<HttpResponse>(r).body;
    return std::get<HttpResponse>(r).status;
  }

 private:
  TempDir dir_;
  std::string db_;
  std::unique_ptr<Background> proc_;
  std::uint16_t port_ = 0;
  std::string last_body_;
};

// Incidents a recording ingestion server received: identifier -> (count, body).
std::map<std::string, std::pair<int, std::string>> reported(const RecordingServer& server) {
  std::map<std::string, std::pair<int, std::string>> out;
  for (const auto& r : server.requests()) {
    const auto v = json::parse(r.body).as_object();
    auto& slot = out[std::string(v.at("incident_id").as_string())];
    ++slot.first;
    slot.second = r.body;
  }
  return out;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> out;
  for (const auto& [name, entry] : answer_key().at("files").as_object()) out.emplace_back(name);
  return out;
}

int expected_status(const json::object& entry) {
  const auto* s = entry.if_contains("http_status");
  if (!s) return 200;
  if (s->is_int64()) return static_cast<int>(s->as_int64());
  return -1;  // "413 or 400", "401 or 403": checked by the caller
}

bool status_matches(const json::object& entry, int status) {
  const int want = expected_status(entry);
  if (want != -1) return status == want;
  const std::string text(entry.at("http_status").as_string());
  return text.find(std::to_string(status)) != std::string::npos;
}

Seen from_report(const std::string& body) {
  const auto v = json::parse(body).as_object();
  return {std::string(v.at("incident_id").as_string()), *parse_rfc3339(v.at("time_created").as_string()),
          *parse_rfc3339(v.at("time_resolved").as_string())};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(incident)

BOOST_AUTO_TEST_CASE(routes_without_credentials_refuse_web_pages) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  IncidentServer server(ingestion.url(), "", {});  // no token: /alertmanager takes anyone on this machine
  const std::string file = "alertmanager/firing.json";
  BOOST_TEST(server.deliver(file, "", {{"Origin", "https://evil.example"}}) == 403, server.last_body());
  BOOST_TEST(server.deliver(file, "", {{"Host", "rebind.example:8766"}}) == 403, server.last_body());
  BOOST_TEST(server.deliver(file, "", {{"Content-Type", "text/plain"}}) == 400, server.last_body());
  BOOST_TEST(stored_incidents(server.db()).empty());
  BOOST_TEST(server.deliver(file) == 200, server.last_body());
  BOOST_TEST(stored_incidents(server.db()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(every_fixture_over_http) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  for (const auto& file : fixture_files()) {
    BOOST_TEST_CONTEXT(file) {
      const auto& entry = answer_key().at("files").at(file).as_object();
      IncidentServer server(ingestion.url());
      const int status = server.deliver(file);
      BOOST_TEST(status_matches(entry, status), "status " << status << ": " << server.last_body());
      BOOST_TEST(status < 500);
      const auto want = expected_incidents(entry.at("incidents").as_array());
      BOOST_TEST(stored_incidents(server.db()) == want, boost::test_tools::per_element());
      // Resolved incidents reach the ingestion API, with the answer key's times.
      for (const auto& inc : want) {
        if (!inc.resolved) continue;
        BOOST_TEST(wait_until([&] { return reported(ingestion).count(inc.identifier) > 0; }));
        const auto r = reported(ingestion);
        if (r.count(inc.identifier)) BOOST_TEST(from_report(r.at(inc.identifier).second) == inc);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_fixture_through_report_on_stdin) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  const auto env = fixture_env();
  for (const auto& file : fixture_files()) {
    BOOST_TEST_CONTEXT(file) {
      const auto& entry = answer_key().at("files").at(file).as_object();
      TempDir dir;
      std::string cmd = incident_bin() + " report --source " + route_of(std::string(entry.at("source").as_string())) +
                        " --db " + dir.str("i.db") + " --base-url " + ingestion.url();
      // Exec-style callers pass what the headers would carry, to have it verified.
      const auto& headers = entry.at("headers").as_object();
      if (const auto* sig = headers.if_contains("X-PagerDuty-Signature"))
        cmd += " --signature '" + std::string(sig->as_string()) + "'";
      if (const auto* sig = headers.if_contains("X-Grafana-Alerting-Signature"))
        cmd += " --signature " + std::string(sig->as_string());
      if (const auto* ts = headers.if_contains("X-Grafana-Alerting-Timestamp"))
        cmd += " --timestamp " + std::string(ts->as_string());
      if (const auto* a = headers.if_contains("Authorization"))
        cmd += " --authorization '" + std::string(a->as_string()) + "'";
      cmd += " < '" + (fixtures() / file).string() + "'";
      const auto r = run_process({"sh", "-c", cmd}, env);
      const bool accepted = expected_status(entry) == 200;
      BOOST_TEST((r.exit_code == (accepted ? 0 : 3)), "exit " << r.exit_code << ": " << r.err);
      BOOST_TEST(stored_incidents(dir.str("i.db")) == expected_incidents(entry.at("incidents").as_array()),
                 boost::test_tools::per_element());
    }
  }
  // Every resolved incident was reported by the same command, synchronously.
  std::set<std::string> want;
  for (const auto& file : fixture_files())
    for (const auto& inc : expected_incidents(answer_key().at("files").at(file).at("incidents").as_array()))
      if (inc.resolved) want.insert(inc.identifier);
  std::set<std::string> got;
  for (const auto& [id, slot] : reported(ingestion)) got.insert(id);
  BOOST_TEST(got == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(every_scenario_reports_once) {
  for (const auto& sv : answer_key().at("scenarios").as_array()) {
    const auto& scenario = sv.as_object();
    BOOST_TEST_CONTEXT(scenario.at("name").as_string()) {
      RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
      IncidentServer server(ingestion.url());
      const auto* headers = scenario.if_contains("headers_override");
      for (const auto& f : scenario.at("deliver").as_array()) {
        std::map<std::string, std::string> overrides;
        if (headers)
          for (const auto& [k, v] : headers->as_object()) overrides[std::string(k)] = std::string(v.as_string());
        const int status = server.deliver(std::string(f.as_string()), "", overrides);
        BOOST_TEST(status < 500);
        if (const auto* want = scenario.if_contains("http_status")) BOOST_TEST(status == want->to_number<int>());
      }
      const auto want = expected_incidents(scenario.at("final").as_array());
      BOOST_TEST(stored_incidents(server.db()) == want, boost::test_tools::per_element());
      std::size_t resolved = 0;
      for (const auto& inc : want) resolved += inc.resolved ? 1 : 0;
      BOOST_TEST(wait_until([&] { return reported(ingestion).size() == resolved; }));
      // Nothing more can arrive: the receiver's outbox holds nothing to send.
      const auto outbox_db = fs::path(server.db()).parent_path() / "outbox.db";
      BOOST_TEST_REQUIRE(fs::exists(outbox_db));  // the receiver's own, which delivered the incidents
      const EnvOverrides outbox{{"PULSE_OUTBOX", outbox_db.string()}};
      BOOST_TEST(wait_until([&] {
        return run_process({cli_bin(), "outbox", "status"}, outbox).out.find("\n0 event(s) waiting, 0 set aside") !=
               std::string::npos;
      }));
      for (const auto& [id, slot] : reported(ingestion))
        BOOST_TEST(slot.first == 1, id << " reported " << slot.first << " times");
    }
  }
}

BOOST_AUTO_TEST_CASE(kill9_between_firing_and_resolution) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  TempDir dir;
  const std::string db = dir.str("state.db");
  {
    IncidentServer server(ingestion.url(), db);
    BOOST_TEST(server.deliver("alertmanager/firing.json") == 200);
    server.process().signal(SIGKILL);
    server.process().wait();
  }
  IncidentServer server(ingestion.url(), db);
  BOOST_TEST(stored_incidents(db).size() == 1u);
  BOOST_TEST(server.deliver("alertmanager/resolved.json") == 200);
  BOOST_TEST(wait_until([&] { return reported(ingestion).size() == 1; }));
  const auto r = reported(ingestion);
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(r.begin()->second.first == 1);
  BOOST_TEST((from_report(r.begin()->second.second) ==
              Seen{"alertmanager:9f2e4c1a7b3d5e60:1773151337", 1773151337, 1773153542}));
}

BOOST_AUTO_TEST_CASE(delivery_retried_through_the_outbox_after_the_api_recovers) {
  std::atomic<int> calls{0};
  RecordingServer ingestion([&calls](int, const ServerRequest&) {
    return ++calls <= 3 ? ServerResponse{503, "text/plain", "down", {}} : ok_response();
  });
  TempDir dir;
  const std::string db = dir.str("state.db");
  EnvOverrides outbox_env{{"PULSE_OUTBOX", dir.str("outbox.db")}};
  {
    IncidentServer server(ingestion.url(), db);
    BOOST_TEST(server.deliver("alertmanager/resolved-without-firing.json") == 200);
    // The first round fails; the incident waits, durably, in the outbox beside the state.
    BOOST_TEST(wait_until([&] { return calls >= 2; }));
    server.process().signal(SIGTERM);
    BOOST_TEST(server.process().wait() == 0);
  }
  const auto waiting = run_process({cli_bin(), "outbox", "status"}, outbox_env);
  BOOST_TEST(waiting.out.find("1 event(s) waiting") != std::string::npos, waiting.out);
  // A restart retries it at once and delivers it.
  IncidentServer server(ingestion.url(), db);
  BOOST_TEST(wait_until([&] { return calls >= 4; }));
  BOOST_TEST(wait_until([&] {
    return run_process({cli_bin(), "outbox", "status"}, outbox_env).out.find("\n0 event(s) waiting") !=
           std::string::npos;
  }));
  BOOST_TEST(reported(ingestion).size() == 1u);
}

BOOST_AUTO_TEST_CASE(end_to_end_into_the_collector) {
  CollectorProcess collector;
  IncidentServer server(collector.url());
  BOOST_TEST(server.deliver("pagerduty/incident-triggered.json", "checkout") == 200);
  BOOST_TEST(server.deliver("pagerduty/incident-resolved.json", "checkout") == 200);
  BOOST_TEST(wait_until([&] {
    return collector_cmd({"events", "--db", collector.db(), "--type", "incident", "--format", "json"})
               .out.find("pagerduty:Q3VX8M2KD1PLQA") != std::string::npos;
  }));
  const auto events = collector_cmd(
      {"events", "--db", collector.db(), "--type", "incident", "--system", "checkout", "--format", "json"});
  BOOST_TEST(events.out.find("\"time_created\":\"" + format_rfc3339(1773457964) + "\"") != std::string::npos,
             events.out);
  BOOST_TEST(events.out.find("\"time_resolved\":\"" + format_rfc3339(1773460879) + "\"") != std::string::npos,
             events.out);
}

// A burst of resolutions leaves at once, not a thousand per 30-second tick:
// the reporter queues and delivers until nothing is due (in batches to a
// collector, which offers them), and /metrics shows the backlog drained.
BOOST_AUTO_TEST_CASE(a_burst_of_resolved_incidents_is_delivered_at_once) {
  CollectorProcess collector;
  IncidentServer server(collector.url());
  const std::string token(answer_key().at("secrets").at("alertmanager_bearer").as_string());
  constexpr int kAlerts = 2500;
  {  // one notification: one wake of the reporter
    json::array alerts;
    for (int i = 0; i < kAlerts; ++i)
      alerts.push_back(json::object{{"status", "resolved"},
                                    {"labels", json::object{{"alertname", "A" + std::to_string(i)}}},
                                    {"annotations", json::object{}},
                                    {"startsAt", "2026-03-10T14:02:17Z"},
                                    {"endsAt", "2026-03-10T14:39:02Z"},
                                    {"fingerprint", "fp" + std::to_string(i)}});
    const json::object note{{"receiver", "r"},
                            {"status", "resolved"},
                            {"version", "4"},
                            {"groupKey", "g"},
                            {"alerts", alerts},
                            {"groupLabels", json::object{}},
                            {"commonLabels", json::object{}},
                            {"externalURL", "http://am"}};
    BOOST_REQUIRE_EQUAL(
        server.post("/alertmanager?system=shop", json::serialize(note), {{"Authorization", "Bearer " + token}}), 200);
  }
  std::size_t stored = 0;
  // Well inside the reporter's 30-second idle tick: one wake drains it all.
  BOOST_TEST(wait_until(
      [&] {
        const auto r =
            collector_cmd({"events", "--db", collector.db(), "--type", "incident", "--all", "--format", "json"});
        stored = r.exit_code == 0 ? json::parse(r.out).as_array().size() : 0;
        return stored == static_cast<std::size_t>(kAlerts);
      },
      std::chrono::seconds(20)));
  BOOST_TEST(stored == static_cast<std::size_t>(kAlerts));
  std::string why;
  HttpClient client(*parse_origin("http://127.0.0.1:" + std::to_string(server.port()), why), ClientOptions{});
  const auto r = client.send(HttpRequest{"GET", "/metrics", {}, ""});
  BOOST_REQUIRE(std::holds_alternative<HttpResponse>(r));
  const auto& text = std::get<HttpResponse>(r).body;
  BOOST_TEST(text.find("\npulse_incident_reports_waiting 0\n") != std::string::npos, text);
  BOOST_TEST(text.find("\npulse_outbox_pending 0\n") != std::string::npos, text);
  BOOST_TEST(text.find("\npulse_reports_delivered " + std::to_string(kAlerts) + "\n") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(hostile_input_leaves_the_server_healthy) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  IncidentServer server(ingestion.url());
  for (int round = 0; round < 3; ++round)
    for (const auto& file : fixture_files())
      if (file.starts_with("bad/")) BOOST_TEST(server.deliver(file) / 100 == 4, file);
  BOOST_TEST(server.deliver("alertmanager/firing.json") == 200);
  BOOST_TEST(stored_incidents(server.db()).size() == 1u);
  BOOST_TEST(server.process().stderr_text().find("am-fixture-token") == std::string::npos);
  BOOST_TEST(server.process().stderr_text().size() < 20000u);  // bounded logging
}

// A flood of refused requests (a wrong token, again and again) leaves a
// bounded trace: the receiver's lines about them are rate-limited like the
// request log's.
BOOST_AUTO_TEST_CASE(refusals_are_logged_with_a_rate_limit) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  IncidentServer server(ingestion.url());
  for (int i = 0; i < 300; ++i)
    BOOST_TEST_REQUIRE(server.deliver("alertmanager/firing.json", "", {{"Authorization", "Bearer wrong"}}) == 401);
  const std::string log = server.process().stderr_text();
  BOOST_TEST(count_of(log, "invalid credentials or signature for /alertmanager") >= 1u);
  BOOST_TEST(count_of(log, "invalid credentials or signature for /alertmanager") <= 10u, log.size());
  BOOST_TEST(log.find("wrong") == std::string::npos);  // never the presented token
}

// A `?system=` that no stored name may be (invalid UTF-8, NUL, ESC, over
// 256 bytes) is refused at once: accepted, the incident would be refused by
// the collector later, where no sender hears of it.
BOOST_AUTO_TEST_CASE(a_bad_system_in_the_query_is_400) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  IncidentServer server(ingestion.url());
  for (const std::string& bad :
       std::vector<std::string>{"%FF%FE", "web%00app", "web%1B%5B31m", std::string(257, 'x'), "caf%C3"}) {
    BOOST_TEST_CONTEXT(bad.substr(0, 20)) {
      BOOST_TEST(server.deliver("alertmanager/firing.json", bad) == 400);
      BOOST_TEST(server.last_body().find("?system=: not a usable system name") != std::string::npos,
                 server.last_body());
    }
  }
  BOOST_TEST(stored_incidents(server.db()).empty());
  BOOST_TEST(server.deliver("alertmanager/firing.json", "caf%C3%A9-" + std::string(200, 'x')) == 200);
  BOOST_TEST(stored_incidents(server.db()).size() == 1u);
}

BOOST_AUTO_TEST_CASE(generic_mapping_route) {
  TempDir dir;
  write_file(dir.path / "map.json",
             R"({"identifier":"/incident/id","status":"/incident/state","created":"/incident/started",)"
             R"("resolved":"/incident/ended","firing":["open"],"resolved_values":["closed"],"time_format":"unix_ms"})");
  const auto payload = [](const char* state, const char* ended) {
    return std::string(R"({"incident":{"id":"INC-7","state":")") + state + R"(","started":1773563400123,"ended":)" +
           ended + "}}";
  };
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  auto env = fixture_env();
  const std::string base = incident_bin() + " report --source generic --generic-mapping " + dir.str("map.json") +
                           " --db " + dir.str("i.db") + " --base-url " + ingestion.url();
  BOOST_TEST(run_process({"sh", "-c", "printf '%s' '" + payload("open", "null") + "' | " + base}, env).exit_code == 0);
  BOOST_TEST(
      run_process({"sh", "-c", "printf '%s' '" + payload("closed", "1773565361000") + "' | " + base}, env).exit_code ==
      0);
  BOOST_TEST(stored_incidents(dir.str("i.db")) == (std::vector<Seen>{{"generic:INC-7", 1773563400, 1773565361}}),
             boost::test_tools::per_element());
  // No system named: said, since such incidents match no deployment.
  const auto unnamed = run_process({"sh", "-c", "printf '%s' '" + payload("open", "null") + "' | " + base}, env);
  BOOST_TEST(unnamed.err.find("warning: no system: the incident is stored under an empty system") != std::string::npos,
             unnamed.err);
  const auto named =
      run_process({"sh", "-c", "printf '%s' '" + payload("open", "null") + "' | " + base + " --system payments"}, env);
  BOOST_TEST(named.err.find("no system") == std::string::npos, named.err);
  const auto bad = run_process({"sh", "-c", "printf '{}' | " + base}, env);
  BOOST_TEST(bad.exit_code == 3);
  BOOST_TEST(bad.err.find("/incident/id: missing") != std::string::npos, bad.err);
  // Times as strings out of range or not digits: a clear refusal (as for a bad body), never a crash or a 503.
  for (const char* started : {"\"99999999999999999999\"", "\"-5\"", "\"12a\"", "\"\""}) {
    const std::string body = std::string(R"({"incident":{"id":"INC-8","state":"open","started":)") + started + "}}";
    const auto r = run_process({"sh", "-c", "printf '%s' '" + body + "' | " + base}, env);
    BOOST_TEST_CONTEXT(started) {
      BOOST_TEST(r.exit_code == 3, r.err);
      BOOST_TEST(r.err.find("/incident/started") != std::string::npos, r.err);
    }
  }
}

// One Alertmanager notification of three alerts, firing or resolved.
std::string alert_group(const char* status) {
  auto alert = [status](const char* fingerprint, const char* labels) {
    return std::string(R"({"status":")") + status + R"(","labels":)" + labels +
           R"(,"startsAt":"2026-03-10T14:02:17Z","endsAt":")" +
           (std::string(status) == "resolved" ? "2026-03-10T14:40:00Z" : "0001-01-01T00:00:00Z") +
           R"(","fingerprint":")" + fingerprint + "\"}";
  };
  return std::string(R"({"version":"4","status":")") + status + R"(","alerts":[)" +
         alert("aa01", R"({"alertname":"Errors","service":"payments","env":"staging","severity":"critical"})") + "," +
         alert("aa02", R"({"alertname":"Latency","severity":"page"})") + "," +
         alert("aa03", R"({"alertname":"DiskSoon","service":"payments","severity":"info"})") + "]}";
}

BOOST_AUTO_TEST_CASE(labels_name_the_system_and_environment_and_matchers_filter) {
  CollectorProcess collector;
  IncidentServer server(collector.url(), "", {},
                        {"--system-label", "service", "--environment-label", "env", "--system", "shared", "--match",
                         "severity=critical|page"});
  BOOST_TEST(server.post("/alertmanager", alert_group("firing")) == 200);
  BOOST_TEST(server.last_body().find(R"("opened":2)") != std::string::npos, server.last_body());
  BOOST_TEST(server.last_body().find(R"("ignored":1)") != std::string::npos, server.last_body());
  BOOST_TEST(server.post("/alertmanager", alert_group("resolved")) == 200);
  BOOST_TEST(server.last_body().find(R"("resolved":2)") != std::string::npos, server.last_body());

  const auto listed = run_process({incident_bin(), "list", "--db", server.db(), "--format", "json"});
  const auto incidents = json::parse(listed.out).as_array();
  BOOST_TEST(incidents.size() == 2u, listed.out);  // the info alert opened nothing
  std::map<std::string, std::pair<std::string, std::string>> where;
  for (const auto& i : incidents)
    where[std::string(i.at("identifier").as_string())] = {std::string(i.at("system").as_string()),
                                                          std::string(i.at("environment").as_string())};
  const auto start = std::to_string(*parse_rfc3339("2026-03-10T14:02:17Z"));
  BOOST_TEST((where["alertmanager:aa01:" + start] == std::pair<std::string, std::string>{"payments", "staging"}));
  BOOST_TEST((where["alertmanager:aa02:" + start] == std::pair<std::string, std::string>{"shared", ""}));

  // At the collector: the payments incident under payments, in staging.
  BOOST_TEST(wait_until([&] {
    return collector_cmd({"events", "--db", collector.db(), "--type", "incident", "--system", "payments",
                          "--environment", "staging", "--format", "json"})
               .out.find("alertmanager:aa01:") != std::string::npos;
  }));
  const auto shared =
      collector_cmd({"events", "--db", collector.db(), "--type", "incident", "--system", "shared", "--format", "json"});
  BOOST_TEST(wait_until([&] {
    return collector_cmd(
               {"events", "--db", collector.db(), "--type", "incident", "--system", "shared", "--format", "json"})
               .out.find("alertmanager:aa02:") != std::string::npos;
  }));
  const auto all = collector_cmd({"events", "--db", collector.db(), "--type", "incident", "--format", "json"});
  BOOST_TEST(all.out.find("aa03") == std::string::npos, all.out);

  // A malformed matcher is a usage error naming it.
  const auto bad = run_process({incident_bin(), "serve", "--port", "0", "--match", "=critical"});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("--match: \"=critical\"") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(serve_warns_of_routes_without_a_system) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  {
    IncidentServer unnamed(ingestion.url());
    const auto log = unnamed.process().wait_for_stderr("no system for");
    BOOST_TEST(log.find("no system for alertmanager") != std::string::npos, log);
    BOOST_TEST(log.find("?system=NAME") != std::string::npos, log);
  }
  IncidentServer named(ingestion.url(), "", fixture_env(), {"--system", "payments"});
  named.process().wait_for_stderr(" listening on ");
  named.process().signal(SIGTERM);  // all it will say, said
  BOOST_TEST(named.process().wait() == 0);
  BOOST_TEST(named.process().stderr_text().find("no system for") == std::string::npos, named.process().stderr_text());
}

BOOST_AUTO_TEST_CASE(list_says_queued_until_the_report_is_delivered) {
  TempDir dir;
  write_file(dir.path / "map.json",
             R"({"identifier":"/incident/id","status":"/incident/state","created":"/incident/started",)"
             R"("resolved":"/incident/ended","firing":["open"],"resolved_values":["closed"],"time_format":"unix_ms"})");
  write_file(dir.path / "p.json",
             R"({"incident":{"id":"INC-9","state":"closed","started":1773563400123,"ended":1773565361000}})");
  // The ingestion API is down for the first report's attempts, then back.
  std::atomic<bool> up{false};
  RecordingServer ingestion([&up](int, const ServerRequest&) {
    return up ? ok_response() : ServerResponse{503, "application/json", "{}", {{"Retry-After", "0"}}};
  });
  const std::string report = incident_bin() + " report --source generic --generic-mapping " + dir.str("map.json") +
                             " --db " + dir.str("i.db") + " --base-url " + ingestion.url() + " < " + dir.str("p.json");
  auto state = [&] {
    const auto r = run_process({incident_bin(), "list", "--db", dir.str("i.db"), "--format", "json"});
    const auto v = json::parse(r.out).as_array();
    return v.empty() ? std::string("none") : std::string(v[0].at("state").as_string());
  };
  BOOST_TEST(run_process({"sh", "-c", report}, fixture_env()).exit_code == 4);
  BOOST_TEST(state() == "queued");
  up = true;
  BOOST_TEST(run_process({"sh", "-c", report}, fixture_env()).exit_code == 0);
  BOOST_TEST(state() == "reported");
}

// A report the collector refuses is set aside in the outbox: `list` shows
// the incident as rejected, with the collector's answer, never "reported".
BOOST_AUTO_TEST_CASE(list_says_rejected_with_the_reason_when_the_collector_refuses) {
  TempDir dir;
  write_file(dir.path / "map.json",
             R"({"identifier":"/incident/id","status":"/incident/state","created":"/incident/started",)"
             R"("resolved":"/incident/ended","firing":["open"],"resolved_values":["closed"],"time_format":"unix_ms"})");
  write_file(dir.path / "p.json",
             R"({"incident":{"id":"INC-7","state":"closed","started":1773563400123,"ended":1773565361000}})");
  RecordingServer ingestion([](int, const ServerRequest&) {
    return ServerResponse{400, "application/json", R"({"error":"system: not accepted here"})", {}};
  });
  const std::string report = incident_bin() + " report --source generic --generic-mapping " + dir.str("map.json") +
                             " --db " + dir.str("i.db") + " --base-url " + ingestion.url() + " < " + dir.str("p.json");
  const auto reported = run_process({"sh", "-c", report}, fixture_env());
  BOOST_TEST(reported.exit_code == 3, reported.err);  // rejected
  BOOST_TEST(reported.err.find("refused by") != std::string::npos, reported.err);
  const auto r = run_process({incident_bin(), "list", "--db", dir.str("i.db"), "--format", "json"});
  const auto v = json::parse(r.out).as_array();
  BOOST_TEST_REQUIRE(v.size() == 1u, r.out);
  BOOST_TEST(v[0].at("state").as_string() == "rejected");
  BOOST_TEST(std::string(v[0].at("error").as_string()).find("not accepted here") != std::string::npos, r.out);
  const auto table = run_process({incident_bin(), "list", "--db", dir.str("i.db")});
  BOOST_TEST(table.out.find("rejected") != std::string::npos, table.out);
}

// A repeated or late "resolved" closes nothing but its own episode: for
// sources whose keys repeat (Alertmanager, Grafana) the start tells
// episodes apart; for the others the key is the incident.
BOOST_AUTO_TEST_CASE(stale_and_duplicate_resolved_notifications_for_every_source) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  struct Case {
    std::string route, firing, resolved;
    std::string second_start;  // a later start for a new episode, when keys repeat
  };
  const std::vector<Case> cases = {
      {"/alertmanager", "alertmanager/firing.json", "alertmanager/resolved.json", "2026-03-10T16:00:00Z"},
      {"/grafana", "grafana/firing.json", "grafana/resolved.json", "2026-03-11T12:00:00+01:00"},
      {"/pagerduty", "pagerduty/incident-triggered.json", "pagerduty/incident-resolved.json", ""},
      {"/opsgenie", "opsgenie/create.json", "opsgenie/close.json", ""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.route) {
      IncidentServer server(ingestion.url(), "", {});  // routes without credentials: bodies can be changed
      const std::string firing = read_file(fixtures() / c.firing), resolved = read_file(fixtures() / c.resolved);
      BOOST_TEST(server.post(c.route, firing) == 200, server.last_body());
      BOOST_TEST(server.post(c.route, resolved) == 200, server.last_body());
      const auto first = stored_incidents(server.db());
      BOOST_REQUIRE_EQUAL(first.size(), 1u);
      BOOST_REQUIRE(first[0].resolved);
      // The same resolved notification again: nothing changes, and the log says why.
      BOOST_TEST(server.post(c.route, resolved) == 200, server.last_body());
      BOOST_TEST(stored_incidents(server.db()) == first, boost::test_tools::per_element());
      if (c.second_start.empty()) continue;
      server.process().wait_for_stderr("ignored a repeated resolved notification");  // throws if it never comes
      // A new episode of the same alert opens; then the old resolved again must not close it.
      std::string second = firing;
      const auto at = second.find("\"startsAt\":") != std::string::npos ? second.find("\"startsAt\":")
                                                                        : second.find("\"startsAt\": ");
      const auto q1 = second.find('"', second.find(':', at) + 1), q2 = second.find('"', q1 + 1);
      second.replace(q1 + 1, q2 - q1 - 1, c.second_start);
      BOOST_TEST(server.post(c.route, second) == 200, server.last_body());
      BOOST_TEST(server.post(c.route, resolved) == 200, server.last_body());
      const auto now = stored_incidents(server.db());
      BOOST_REQUIRE_EQUAL(now.size(), 2u);
      const auto open = std::count_if(now.begin(), now.end(), [](const Seen& i) { return !i.resolved; });
      BOOST_TEST(open == 1, "the new episode stays open");
      BOOST_TEST(std::count(now.begin(), now.end(), first[0]) == 1, "the first episode is unchanged");
      server.process().wait_for_stderr("ignored a stale resolved notification");
    }
  }
}

namespace {
std::string hmac_hex(const std::string& secret, const std::string& data) {
  TempDir dir;
  write_file(dir.path / "data", data);
  const auto r =
      run_process({"sh", "-c", "openssl dgst -sha256 -hmac '" + secret + "' -r < '" + dir.str("data") + "'"});
  return r.out.substr(0, 64);
}
}  // namespace

BOOST_AUTO_TEST_CASE(grafana_signed_timestamps_must_be_fresh) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  const std::string secret = "grafana-fixture-hmac-secret";
  IncidentServer server(ingestion.url(), "", {{"PULSE_INCIDENT_GRAFANA_SECRET", secret}});  // the default window
  const std::string body = read_file(fixtures() / "grafana/firing.json");
  auto signed_with = [&](const std::string& ts) {
    return std::vector<Header>{{"X-Grafana-Alerting-Timestamp", ts},
                               {"X-Grafana-Alerting-Signature", hmac_hex(secret, ts + ":" + body)}};
  };
  const auto now = unix_now();
  for (const auto& [ts, want] : std::vector<std::pair<std::string, int>>{{std::to_string(now - 3600), 401},
                                                                         {std::to_string(now + 3600), 401},
                                                                         {"978307200", 401},   // 2001
                                                                         {"7258118400", 401},  // 2200
                                                                         {"abc", 401},
                                                                         {"", 401},
                                                                         {std::to_string(now - 60), 200}}) {
    BOOST_TEST_CONTEXT(ts) {
      BOOST_TEST(server.post("/grafana", body, signed_with(ts)) == want, server.last_body());
      if (want == 401) BOOST_TEST(server.last_body().find("X-Grafana-Alerting-Timestamp") != std::string::npos);
    }
  }
  // Without a timestamp header Grafana signs the body alone: still accepted.
  BOOST_TEST(server.post("/grafana", body, {{"X-Grafana-Alerting-Signature", hmac_hex(secret, body)}}) == 200);
  // A wrong signature with a fresh timestamp is plainly invalid.
  BOOST_TEST(server.post("/grafana", body,
                         {{"X-Grafana-Alerting-Timestamp", std::to_string(now)},
                          {"X-Grafana-Alerting-Signature", std::string(64, 'a')}}) == 401);
}

BOOST_AUTO_TEST_CASE(sighup_rereads_route_tokens_and_metrics_pass_promtool) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  TempDir dir;
  write_file(dir.path / "tokens", "old-token\n");
  IncidentServer server(ingestion.url(), "", {}, {"--alertmanager-token-file", dir.str("tokens")});
  const std::string body = read_file(fixtures() / "alertmanager/firing.json");
  BOOST_TEST(server.post("/alertmanager", body, {{"Authorization", "Bearer old-token"}}) == 200);
  write_file(dir.path / "tokens", "new-token\n");
  server.process().signal(SIGHUP);
  server.process().wait_for_stderr("reloaded");
  BOOST_TEST(server.post("/alertmanager", body, {{"Authorization", "Bearer old-token"}}) == 401);
  BOOST_TEST(server.post("/alertmanager", body, {{"Authorization", "Bearer new-token"}}) == 200);
  // An emptied token file does not open the route (the collector's keys
  // behave alike): the running tokens stay, and the log says so.
  write_file(dir.path / "tokens", "# revoked\n");
  server.process().signal(SIGHUP);
  server.process().wait_for_stderr("/alertmanager's credentials are now empty; keeping the running ones");
  BOOST_TEST(server.post("/alertmanager", body) == 401);
  BOOST_TEST(server.post("/alertmanager", body, {{"Authorization", "Bearer new-token"}}) == 200);
  // /metrics for a local Prometheus: the counts, in a form promtool accepts.
  std::string why;
  HttpClient client(*parse_origin("http://127.0.0.1:" + std::to_string(server.port()), why), ClientOptions{});
  HttpRequest req;
  req.method = "GET";
  req.target = "/metrics";
  const auto r = client.send(req);
  BOOST_REQUIRE(std::holds_alternative<HttpResponse>(r));
  const auto& text = std::get<HttpResponse>(r).body;
  BOOST_TEST(text.find("pulse_incidents_open 1") != std::string::npos, text);
  BOOST_TEST(text.find("pulse_http_requests_total{route=\"/alertmanager\",method=\"POST\",status=\"401\"} 2") !=
             std::string::npos);
  // A web page on this machine (a rebound Host, a foreign Origin) gets nothing.
  for (const auto& h : std::vector<Header>{{"Host", "rebind.example:8766"}, {"Origin", "https://evil.example"}}) {
    HttpRequest page = req;
    page.headers.push_back(h);
    const auto refused = client.send(page);
    BOOST_REQUIRE(std::holds_alternative<HttpResponse>(refused));
    BOOST_TEST(std::get<HttpResponse>(refused).status == 401, h.name);
  }
  write_file(dir.path / "m.txt", text);
  const auto check = run_process({"sh", "-c", "promtool check metrics < '" + dir.str("m.txt") + "'"});
  BOOST_TEST(check.exit_code == 0, check.out << check.err);
  // Every request was logged, the refused one too; no token is in the log.
  const auto log = server.process().wait_for_stderr("path=/metrics");
  BOOST_TEST(log.find("path=/alertmanager status=401") != std::string::npos, log);
  BOOST_TEST(log.find("old-token") == std::string::npos);
  BOOST_TEST(log.find("new-token") == std::string::npos);
}

// A wrong token is refused on the request's headers: the 401 comes back
// while the body (announced at 900 kB, one byte sent) is still unread.
BOOST_AUTO_TEST_CASE(a_wrong_token_is_refused_before_the_body) {
  RecordingServer ingestion([](int, const ServerRequest&) { return ok_response(); });
  TempDir dir;
  write_file(dir.path / "tokens", "right-token\n");
  IncidentServer server(ingestion.url(), "", {}, {"--alertmanager-token-file", dir.str("tokens")});
  for (const std::string auth : {"", "Authorization: Bearer wrong\r\n"}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    BOOST_TEST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::string head = "POST /alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                             auth + "Content-Length: 900000\r\n\r\n{";
    BOOST_TEST_REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    BOOST_TEST_REQUIRE(n > 12);
    buf[n] = 0;
    BOOST_TEST(std::atoi(buf + 9) == 401, buf);
    BOOST_TEST(std::string(buf).find(auth.empty() ? "missing credentials" : "invalid credentials") != std::string::npos,
               buf);
  }
  BOOST_TEST(ingestion.requests().empty());
}

// The per-user outbox holds the CLI's queued incidents too: pulse-incident
// started with another --base-url moves only its own entries, so the
// CLI's incident still reaches the server it was queued for.
BOOST_AUTO_TEST_CASE(a_cli_queued_incident_goes_where_it_was_queued_for) {
  std::atomic<bool> a_up{false}, a_got{false};
  RecordingServer a([&](int, const ServerRequest& r) {
    if (!a_up) return ServerResponse{503, "application/json", "{}", {{"Retry-After", "1"}}};
    if (r.body.find("INC-CLI") != std::string::npos) a_got = true;
    return ok_response();
  });
  RecordingServer b([](int, const ServerRequest&) { return ok_response(); });
  TempDir dir;
  write_file(dir.path / "key", "cli-key\n");
  const EnvOverrides env{{"PULSE_OUTBOX", dir.str("outbox.db")}};
  // Held by the test until pulse-incident has started: no flush delivers
  // anything before (the CLI's own detached flush finds it taken).
  auto lock = std::make_unique<FileLock>(dir.str("outbox.db") + ".lock");
  BOOST_TEST_REQUIRE(lock->held());
  const auto queued =
      cli({"push", "incident", "--queue", "--base-url", a.url(), "--api-key-file", dir.str("key"), "--system", "web",
           "--identifier", "INC-CLI", "--timestampCreated", "1767225600", "--timestampResolved", "1767229200"},
          env);
  BOOST_TEST_REQUIRE(queued.exit_code == 0, queued.err);
  IncidentServer server(b.url(), dir.str("incidents.db"));  // its outbox: dir/outbox.db, the CLI's
  lock.reset();
  a_up = true;
  const auto flushed = cli({"outbox", "flush"}, env);
  BOOST_TEST(flushed.exit_code == 0, flushed.err);
  BOOST_TEST(wait_until([&] { return a_got.load(); }, std::chrono::seconds(10)));  // delivered, not refused
  for (const auto& r : b.requests()) BOOST_TEST(r.body.find("INC-CLI") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(command_line) {
  TempDir scratch;
  const auto refuse =
      run_process({incident_bin(), "serve", "--bind", "0.0.0.0", "--port", "0", "--db", scratch.str("never.db")});
  BOOST_TEST(refuse.exit_code == 2);
  BOOST_TEST(refuse.err.find("refusing to listen on 0.0.0.0 with unauthenticated routes") != std::string::npos,
             refuse.err);
  BOOST_TEST(run_process({incident_bin(), "report"}).exit_code == 2);
  BOOST_TEST(run_process({incident_bin(), "frob"}).exit_code == 2);
  for (const char* c : {"serve", "report", "list"})
    BOOST_TEST(run_process({incident_bin(), c, "--help"}).exit_code == 0);
  BOOST_TEST(run_process({incident_bin(), "serve", "--help"}).out.find("--pagerduty-secret-file") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
