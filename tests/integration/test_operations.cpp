// Running the collector as an operator does: Prometheus metrics, request
// logs, a config file, reload on SIGHUP, start-up checks, readiness with the
// database gone, and moving queued events to another collector.
#include "cli_helpers.hpp"

#include <sys/stat.h>

#include <map>

#include "core/net/http_client.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/parse.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

using namespace pulse;
using namespace pulse::test;

namespace {

HttpResponse send(const CollectorProcess& c, const std::string& method, const std::string& target,
                  std::vector<Header> headers = {}, const std::string& body = "") {
  std::string why;
  HttpClient client(*parse_origin(c.url(), why), ClientOptions{});
  if (!body.empty()) headers.push_back({"Content-Type", "application/json"});
  const auto r = client.send(HttpRequest{method, target, std::move(headers), body});
  if (const auto* f = std::get_if<TransportFailure>(&r)) throw std::runtime_error(f->message());
  return std::get<HttpResponse>(r);
}

std::string change_body(const std::string& id) { return encode_body(Change{"cli", id, 1602852032, "commit"}); }

// One kept-alive connection written by hand, so a test can tell that the
// server kept it open (across a reload, say).
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(fd_); }
  /// Sends a GET and returns the status, or 0 if the connection was closed.
  int get(const std::string& target, const std::string& key) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
                            "\r\nConnection: keep-alive\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return 0;
    std::string got;
    char buf[4096];
    for (;;) {
      const auto head_end = got.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const auto cl = got.find("Content-Length: ");
        const std::size_t length = cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16));
        if (got.size() >= head_end + 4 + length) {
          const int status = std::stoi(got.substr(9, 3));
          got.clear();
          return status;
        }
      }
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return 0;
      got.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
};

std::string incident_bin() {
  return fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/incident/pulse-incident";
}

ProcessResult promtool_check(const std::string& text) {
  TempDir dir;
  write_file(dir.path / "m.txt", text);
  return run_process({"sh", "-c", "promtool check metrics < '" + dir.str("m.txt") + "'"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(operations)

BOOST_AUTO_TEST_CASE(metrics_for_prometheus_need_the_key_and_pass_promtool) {
  CollectorProcess collector({"--api-key", "k-123456"});
  BOOST_TEST(send(collector, "GET", "/metrics").status == 401);
  const std::vector<Header> key{{"Authorization", "Bearer k-123456"}};
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", key, change_body("abc")).status == 200);
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", key, change_body("abc")).status == 200);
  // A change with its author and merge times (extension "patches"): 30 minutes in each phase.
  const auto t0 = unix_now();
  const auto phased = encode_body(Change{.source = "git",
                                         .change_id = std::string(40, 'a'),
                                         .time_created = t0 - 7200,
                                         .event_type = "push",
                                         .author_time = t0 - 9000,
                                         .merged_time = t0 - 5400});
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", key, phased).status == 200);
  const auto deploy =
      encode_body(Deployment{.deploy_id = "d1", .time_created = t0 - 3600, .changes = {"abc", std::string(40, 'a')}});
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", key, deploy).status == 200);
  // The same pipeline id in staging, twice: a deployment of its own there.
  const auto staging = encode_body(
      Deployment{.deploy_id = "d1", .time_created = unix_now() - 1800, .changes = {"abc"}, .environment = "staging"});
  for (int i = 0; i < 2; ++i)
    BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", key, staging).status == 200);
  const auto r = send(collector, "GET", "/metrics", key);
  BOOST_REQUIRE_EQUAL(r.status, 200);
  BOOST_TEST(find_header(r.headers, "Content-Type").value_or("").starts_with("text/plain; version=0.0.4"));
  const auto check = promtool_check(r.body);
  BOOST_TEST(check.exit_code == 0, check.out << check.err);
  BOOST_TEST(check.out + check.err == "", "promtool lint: " << check.out << check.err);
  for (const std::string want :
       {"pulse_events_received_total{type=\"change\"} 3", "pulse_events_stored_total 4",
        "pulse_events_duplicate_total 2", "pulse_dora_deployments{system=\"web\",environment=\"production\"} 1",
        "pulse_dora_deployments{system=\"web\",environment=\"staging\"} 1",
        "pulse_dora_lead_time_phase_median_seconds{system=\"web\",environment=\"production\",phase=\"coding\"} 1800\n",
        "pulse_dora_lead_time_phase_median_seconds{system=\"web\",environment=\"production\",phase=\"review\"} 1800\n",
        "pulse_dora_lead_time_phase_median_seconds{system=\"web\",environment=\"production\",phase=\"deploy\"} 1800\n",
        "pulse_http_requests_total{route=\"/v1/ingestion/cli\",method=\"POST\",status=\"200\"} 6",
        "pulse_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 1", "pulse_commit_events_count"})
    BOOST_TEST(r.body.find(want) != std::string::npos, want);
  // Every route the collector serves is counted under its own name, never "other".
  const std::vector<std::pair<std::string, std::string>> routes{
      {"GET", "/healthz"},
      {"GET", "/readyz"},
      {"GET", "/"},
      {"GET", "/index.html"},
      {"GET", "/assets/dashboard.js"},
      {"POST", "/v1/ingestion/cli/batch"},
      {"GET", "/v1/events"},
      {"GET", "/v1/metrics"},
      {"GET", "/v1/metrics/explain?metric=lead_time"},
      {"GET", "/v1/environments"},
      {"GET", "/v1/teams"},
      {"GET", "/v1/deployments/latest?system=web"},
  };
  for (const auto& [method, target] : routes)
    send(collector, method, target, key, method == "POST" ? "[" + change_body("def") + "]" : "");
  const auto labelled = send(collector, "GET", "/metrics", key).body;
  for (const auto& [method, target] : routes) {
    const std::string path = target.substr(0, target.find('?'));
    const std::string label = path == "/" || path == "/index.html" || path.starts_with("/assets/") ? "dashboard" : path;
    BOOST_TEST(labelled.find("pulse_http_requests_total{route=\"" + label + "\",method=\"" + method + "\",status=\"") !=
                   std::string::npos,
               method << " " << target);
  }
  BOOST_TEST(labelled.find("route=\"other\"") == std::string::npos, labelled);
  // A scan of random paths does not make new series.
  for (int i = 0; i < 20; ++i) send(collector, "GET", "/nope-" + std::to_string(i), key);
  const auto after = send(collector, "GET", "/metrics", key).body;
  BOOST_TEST(after.find("nope") == std::string::npos);
  BOOST_TEST(after.find("route=\"other\",method=\"GET\",status=\"404\"} 20") != std::string::npos, after);
}

BOOST_AUTO_TEST_CASE(one_log_line_per_request_without_keys_or_queries) {
  CollectorProcess collector({"--api-key", "k-123456", "--log-format", "json"});
  send(collector, "POST", "/v1/ingestion/cli?api_key=k-123456&system=web", {}, change_body("abc"));
  send(collector, "GET", "/v1/events?api_key=wrong-key");
  send(collector, "GET", "/healthz");
  const std::string log = collector.process().wait_for_stderr("\"path\":\"/healthz\"");
  std::vector<boost::json::object> requests;
  for (const auto& line : lines(log)) {
    const auto v = boost::json::parse(line);  // every line is one JSON object
    BOOST_REQUIRE(v.is_object());
    BOOST_TEST(v.as_object().contains("time"));
    if (v.as_object().at("msg") == "request") requests.push_back(v.as_object());
  }
  BOOST_REQUIRE_EQUAL(requests.size(), 3u);
  // By path: info lines go out in batches, warnings at once, so a refusal's
  // line may come before an earlier request's.
  std::map<std::string, boost::json::object> by_path;
  for (const auto& r : requests) by_path[std::string(r.at("path").as_string())] = r;
  BOOST_REQUIRE_EQUAL(by_path.size(), 3u);
  BOOST_TEST(by_path.at("/v1/ingestion/cli").at("status") == "200");
  BOOST_TEST(by_path.at("/v1/ingestion/cli").at("method") == "POST");
  BOOST_TEST(by_path.at("/v1/events").at("status") == "401");  // refusals are logged too
  BOOST_TEST(by_path.at("/v1/events").at("level") == "warn");
  BOOST_TEST(by_path.at("/healthz").at("method") == "GET");
  BOOST_TEST(log.find("k-123456") == std::string::npos);
  BOOST_TEST(log.find("wrong-key") == std::string::npos);
  BOOST_TEST(log.find("api_key") == std::string::npos);
  // --log-level warn leaves the successful requests out.
  CollectorProcess quiet({"--log-level", "warn"});
  send(quiet, "GET", "/healthz");
  send(quiet, "GET", "/v1/events", {{"Origin", "https://evil.example"}});
  const auto quiet_log = quiet.process().wait_for_stderr("status=403");
  BOOST_TEST(quiet_log.find("status=200") == std::string::npos, quiet_log);
}

BOOST_AUTO_TEST_CASE(refusals_are_rate_limited_in_the_log) {
  CollectorProcess collector({"--api-key", "k-123456"});
  for (int i = 0; i < 40; ++i) send(collector, "GET", "/v1/events", {{"Authorization", "Bearer nope"}});
  send(collector, "GET", "/healthz");
  const auto log = collector.process().wait_for_stderr("path=/healthz");
  BOOST_TEST(count_of(log, "status=401") == 10u, log);
}

BOOST_AUTO_TEST_CASE(sighup_swaps_the_key_file_without_dropping_connections) {
  TempDir dir;
  write_file(dir.path / "keys", "old-key-1\n");
  CollectorProcess collector({"--api-key-file", dir.str("keys")});
  RawConnection conn(collector.port());
  BOOST_TEST(conn.get("/v1/events", "old-key-1") == 200);
  write_file(dir.path / "keys", "# rotated\nnew-key-2\n");
  collector.process().signal(SIGHUP);
  collector.process().wait_for_stderr("reloaded: 1 API key(s)");
  BOOST_TEST(conn.get("/v1/events", "old-key-1") == 401);  // same connection, still open
  BOOST_TEST(conn.get("/v1/events", "new-key-2") == 200);
  // A reload that cannot be read keeps what runs, and says so.
  std::filesystem::remove(dir.path / "keys");
  collector.process().signal(SIGHUP);
  collector.process().wait_for_stderr("reload failed, keeping the running configuration");
  BOOST_TEST(conn.get("/v1/events", "new-key-2") == 200);
}

// A reload that blocks (its key file became a FIFO nobody writes) holds
// neither requests nor SIGTERM: the server answers meanwhile and stops.
BOOST_AUTO_TEST_CASE(a_blocked_reload_holds_neither_requests_nor_sigterm) {
  TempDir dir;
  write_file(dir.path / "keys", "key-1\n");
  CollectorProcess collector({"--api-key-file", dir.str("keys")});
  std::filesystem::remove(dir.path / "keys");
  BOOST_TEST_REQUIRE(::mkfifo(dir.str("keys").c_str(), 0600) == 0);
  collector.process().signal(SIGHUP);
  collector.process().signal(SIGHUP);  // a second one while the first waits: coalesced
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RawConnection conn(collector.port());
  BOOST_TEST(conn.get("/v1/events", "key-1") == 200);
  BOOST_TEST(conn.get("/healthz", "") == 200);
  collector.process().signal(SIGTERM);
  BOOST_TEST(collector.process().wait(std::chrono::seconds(20)) == 0);
  const auto log = collector.process().stderr_text();
  BOOST_TEST(log.find("a reload is still running") != std::string::npos, log);
  BOOST_TEST(log.find("stopped") != std::string::npos, log);
}

BOOST_AUTO_TEST_CASE(turning_keys_on_takes_a_restart_and_says_so) {
  TempDir dir;
  write_file(dir.path / "keys", "k-1\n");
  write_file(dir.path / "c.toml", "log-level = \"info\"\n");
  CollectorProcess collector({"--config", dir.str("c.toml")});  // keyless, on loopback
  write_file(dir.path / "c.toml", "api-key-file = \"" + dir.str("keys") + "\"\n");
  collector.process().signal(SIGHUP);
  collector.process().wait_for_stderr("needs a restart to apply: api keys on or off");
  BOOST_TEST(send(collector, "GET", "/v1/events").status == 200);  // still as it started
}

BOOST_AUTO_TEST_CASE(config_file_gives_every_flag_with_flags_and_variables_above_it) {
  TempDir dir;
  write_file(dir.path / "keys", "file-key\n");
  write_file(dir.path / "collector.toml",
             "# pulse-collector\nport = 0\napi-key-file = \"" + dir.str("keys") + "\"\nlog-level = \"warn\"\n");
  CollectorProcess collector({"--config", dir.str("collector.toml")});
  BOOST_TEST(send(collector, "GET", "/v1/events", {{"Authorization", "Bearer file-key"}}).status == 200);
  BOOST_TEST(send(collector, "GET", "/v1/events").status == 401);
  // SIGHUP re-reads the file too: the log level changes at run time; what cannot is named.
  write_file(dir.path / "collector.toml",
             "max-connections = 500\napi-key-file = \"" + dir.str("keys") + "\"\nlog-level = \"info\"\n");
  collector.process().signal(SIGHUP);
  collector.process().wait_for_stderr("needs a restart to apply: max-connections");
  send(collector, "GET", "/healthz");
  const auto log = collector.process().wait_for_stderr("path=/healthz status=200");
  BOOST_TEST(count_of(log, "status=200") == 1u, log);  // the 200 before the reload was below the file's level
  // Mistakes name the file and line, and nothing starts.
  write_file(dir.path / "bad.toml", "port = 0\n\nbnid = \"0.0.0.0\"\n");
  const auto bad = collector_cmd({"serve", "--config", dir.str("bad.toml"), "--db", dir.str("x.db")});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("bad.toml:3: unknown key \"bnid\" (did you mean bind?)") != std::string::npos, bad.err);
  BOOST_TEST(!std::filesystem::exists(dir.path / "x.db"));
}

BOOST_AUTO_TEST_CASE(the_shipped_example_configs_start_both_servers) {
  const auto examples = fs::path(PULSE_TEST_SOURCE_DIR) / "packaging" / "examples";
  CollectorProcess collector({"--config", (examples / "collector.toml").string()});
  BOOST_TEST(send(collector, "GET", "/healthz").status == 200);
  TempDir dir;
  Background incident({incident_bin(), "serve", "--config", (examples / "incident.toml").string(), "--port", "0",
                       "--db", dir.str("i.db")});
  BOOST_TEST(incident.wait_for_stderr(" listening on ").find("reporting to http://127.0.0.1:8765") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_damaged_database_is_refused_at_start_and_check_names_it) {
  if (testing_postgres()) return;  // SQLite files; PostgreSQL: the next test
  TempDir dir;
  const std::string db = dir.str("collector.db");
  {
    CollectorProcess collector({}, db);
    for (int i = 0; i < 300; ++i)
      send(collector, "POST", "/v1/ingestion/cli?system=web", {}, change_body("c" + std::to_string(i)));
  }
  const auto ok = collector_cmd({"check", "--db", db});
  BOOST_TEST(ok.exit_code == 0, ok.err);
  BOOST_TEST(ok.out == db + ": ok\n");
  // Garbage over the pages after the first (the schema and header stay readable).
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3 * 4096);
    const std::string junk(4 * 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const auto start = collector_cmd({"serve", "--port", "0", "--db", db});
  BOOST_TEST(start.exit_code == 1);
  BOOST_TEST((start.err.find("is damaged") != std::string::npos || start.err.find("malformed") != std::string::npos),
             start.err);
  const auto check = collector_cmd({"check", "--db", db});
  BOOST_TEST(check.exit_code == 1);
  BOOST_TEST(check.err.find("problem(s) found") != std::string::npos, check.err);
}

BOOST_AUTO_TEST_CASE(readyz_follows_the_database_and_healthz_does_not) {
  TestDatabase database;
  CollectorProcess collector({}, database.db());
  BOOST_TEST(send(collector, "GET", "/readyz").status == 200);
  if (!database.postgres()) {
    // The SQLite file taken away under the running server: its connections
    // still hold it, so readiness stays; the PostgreSQL run tests the outage.
    return;
  }
  database.allow_connections(false);  // PostgreSQL gone for this collector
  const auto down = send(collector, "GET", "/readyz");
  BOOST_TEST(down.status == 503, down.body);
  BOOST_TEST(find_header(down.headers, "Retry-After").value_or("") == "5");
  BOOST_TEST(send(collector, "GET", "/healthz").status == 200);
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", {}, change_body("x")).status == 503);
  database.allow_connections(true);
  BOOST_TEST(send(collector, "GET", "/readyz").status == 200);
  BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", {}, change_body("x")).status == 200);
}

// On SQLite, /readyz says "not ready" when the database's file system is
// nearly full (writes are about to fail), and ready again once there is room.
BOOST_AUTO_TEST_CASE(readyz_reports_a_full_disk_on_sqlite) {
  if (::geteuid() != 0) return;  // mounting a small file system needs root
  TempDir dir;
  const std::string mnt = dir.str("small");
  std::filesystem::create_directories(mnt);
  if (run_process({"mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt}).exit_code != 0) return;  // no mounts here
  struct Unmount {
    std::string at;
    ~Unmount() { run_process({"umount", "-l", at}); }
  } unmount{mnt};
  {
    CollectorProcess collector({}, mnt + "/events.db");
    BOOST_TEST(send(collector, "GET", "/readyz").status == 200);
    // Fill it: dd stops at ENOSPC.
    run_process({"dd", "if=/dev/zero", "of=" + mnt + "/filler", "bs=1M", "count=64"});
    const auto full = send(collector, "GET", "/readyz");
    BOOST_TEST(full.status == 503, full.body);
    BOOST_TEST(full.body.find("KiB free on the database's file system") != std::string::npos, full.body);
    BOOST_TEST(find_header(full.headers, "Retry-After").value_or("") == "5");
    BOOST_TEST(send(collector, "GET", "/healthz").status == 200);  // alive all the same
    std::filesystem::remove(mnt + "/filler");
    BOOST_TEST(send(collector, "GET", "/readyz").status == 200);
    BOOST_TEST(send(collector, "POST", "/v1/ingestion/cli?system=web", {}, change_body("x")).status == 200);
  }
}

BOOST_AUTO_TEST_CASE(outbox_flush_to_sends_what_waits_to_the_fixed_url) {
  TempDir dir;
  const EnvOverrides env{{"PULSE_OUTBOX", dir.str("outbox.db")}, {"PULSE_API_KEY", "k"}};
  // Queued for a URL where nothing listens (a typo in pulse.url).
  const auto queued = cli({"push", "change", "--base-url", "http://127.0.0.1:9", "--system", "web", "--queue",
                           "--identifier", "abc", "--timestamp", "1602852032"},
                          env);
  BOOST_TEST(queued.exit_code == 0, queued.err);
  CollectorProcess collector;
  const auto bad = cli({"outbox", "flush", "--to", "not a url"}, env);
  BOOST_TEST(bad.exit_code == 2, bad.err);
  const auto flushed = cli({"outbox", "flush", "--to", collector.url()}, env);
  BOOST_TEST(flushed.exit_code == 0, flushed.err);
  BOOST_TEST(flushed.err.find("1 event(s) now go to " + collector.url()) != std::string::npos, flushed.err);
  BOOST_TEST(flushed.out.find("1 delivered") != std::string::npos, flushed.out);
  const auto listed = collector_cmd({"events", "--db", collector.db(), "--format", "json"});
  BOOST_TEST(listed.out.find("\"abc\"") != std::string::npos, listed.out);
}

BOOST_AUTO_TEST_CASE(events_all_lists_past_the_limit) {
  CollectorProcess collector;
  for (int i = 0; i < 60; ++i)
    send(collector, "POST", "/v1/ingestion/cli?system=web", {}, change_body("c" + std::to_string(i)));
  const auto limited = collector_cmd({"events", "--db", collector.db(), "--format", "json"});
  BOOST_TEST(count_of(limited.out, "\"type\":\"change\"") == 50u);  // the default --limit
  const auto all = collector_cmd({"events", "--db", collector.db(), "--all", "--format", "json"});
  BOOST_TEST(all.exit_code == 0, all.err);
  BOOST_TEST(count_of(all.out, "\"type\":\"change\"") == 60u);
}

BOOST_AUTO_TEST_SUITE_END()
