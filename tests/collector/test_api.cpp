// The collector's API over a real store: SQLite in a temp dir, or a fresh
// PostgreSQL database (PULSE_TEST_STORE=postgresql).
#include "../support/support.hpp"
#include "collector/api.hpp"
#include "core/db/storage_error.hpp"
#include "collector/store.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>

using namespace pulse;
using namespace pulse::collector;

namespace {

struct ApiFixture {
  test::TestDatabase database;
  std::unique_ptr<Store> store = open_store(database.db(), 4);
  std::int64_t now = 1700000000;
  Api api{*store, ApiConfig{{}, true, 1000, {}, {}}, [this] { return now; }};

  ServerResponse post(const std::string& body, const std::string& query = "api_key=K&system=web",
                      const std::string& path = "/v1/ingestion/cli") {
    return call(api, "POST", path + "?" + query, body);
  }
  static ServerResponse call(Api& a, const std::string& method, const std::string& target, const std::string& body = "",
                             std::vector<Header> headers = {}) {
    ServerRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers = std::move(headers);
    // As every client sends it (writes without it are refused on open access).
    if (method == "POST" && !r.header("Content-Type")) r.headers.push_back({"Content-Type", "application/json"});
    return a.handle(r);
  }
  std::vector<StoredEvent> all(const std::string& type = "") {
    EventQuery q;
    q.type = type;
    return store->list(q);
  }
};

const std::string kChange =
    R"({"source":"cli","change_id":"abc","time_created":"2020-10-16T12:40:32Z","event_type":"commit","$type":"change"})";
const std::string kPush =
    R"({"source":"git","change_id":"abc","time_created":"2020-10-16T13:00:00Z","event_type":"push","$type":"change"})";
const std::string kDeployment =
    R"({"source":"cli","deploy_id":"v1","time_created":"2020-10-16T14:00:00Z","changes":["abc","def"],"teams":["a"],"$type":"deployment"})";
const std::string kIncident =
    R"({"source":"cli","incident_id":"i1","time_created":"2020-10-16T15:00:00Z","time_resolved":"2020-10-16T16:00:00Z","$type":"incident"})";

// The same deployment id in staging and in production: two deployments; the
// same id again in one of them: a duplicate.
void expect_environments_apart(Store& store) {
  auto deploy = [&](const std::string& environment) {
    Deployment d{.deploy_id = "d1", .time_created = 1767250000, .changes = {"x"}, .environment = environment};
    return store.put({d}, "web", 0);
  };
  BOOST_TEST(deploy("staging").stored == 1u);
  BOOST_TEST(deploy("staging").duplicates == 1u);
  (void)deploy("production");  // new in a fresh store, known in a migrated one
  BOOST_TEST(deploy("production").duplicates == 1u);
  BOOST_TEST(deploy("").duplicates == 1u);  // none named: production's
}

}  // namespace

BOOST_AUTO_TEST_SUITE(validation)

BOOST_AUTO_TEST_CASE(accepts_what_the_go_cli_sends) {
  const auto blocks = test::parse_wire_capture(test::shared_dir() / "fixtures/wire/go-cli-1.9.32-requests.txt");
  int bodies = 0;
  for (const auto& b : blocks)
    for (const auto& r : b.requests) {
      BOOST_TEST_CONTEXT(b.title << ": " << r.body) {
        std::string why;
        BOOST_TEST(decode_event(r.body, why).has_value(), why);
        ++bodies;
      }
    }
  BOOST_TEST(bodies >= 15);
}

BOOST_AUTO_TEST_CASE(rejects_with_a_reason_naming_the_field) {
  struct Row {
    std::string body;
    const char* why;
  };
  const Row rows[] = {
      {"", "body: not valid JSON"},
      {"{", "body: not valid JSON"},
      {"[]", "body: must be a JSON object"},
      {R"({"source":"cli"})", "$type: missing"},
      {R"({"$type":"merge","source":"cli"})", "$type: unknown event type \"merge\""},
      {R"({"$type":"change","source":"cli","change_id":"a","time_created":"yesterday","event_type":"commit"})",
       "time_created: not a valid RFC 3339 time"},
      {R"({"$type":"change","source":"cli","time_created":"2020-10-16T12:40:32Z","event_type":"commit"})",
       "change_id: missing"},
      {R"({"$type":"change","source":"cli","change_id":"","time_created":"2020-10-16T12:40:32Z","event_type":"commit"})",
       "change_id: must not be empty"},
      {R"({"$type":"change","source":"cli","change_id":42,"time_created":"2020-10-16T12:40:32Z","event_type":"commit"})",
       "change_id: must be a string"},
      {R"({"$type":"change","source":"cli","change_id":"a","time_created":"2020-10-16T12:40:32Z","event_type":"merge"})",
       "event_type: must be \"commit\" or \"push\""},
      {R"({"$type":"change","change_id":"a","time_created":"2020-10-16T12:40:32Z","event_type":"commit"})",
       "source: missing"},
      {R"({"$type":"deployment","source":"cli","deploy_id":"v","time_created":"2020-10-16T12:40:32Z","changes":"abc"})",
       "changes: must be an array of strings"},
      {R"({"$type":"deployment","source":"cli","deploy_id":"v","time_created":"2020-10-16T12:40:32Z","changes":["a",1]})",
       "changes[1]: must be a non-empty string"},
      {R"({"$type":"incident","source":"cli","incident_id":"i","time_created":"2020-10-16T12:40:32Z"})",
       "time_resolved: missing"},
      {R"({"$type":"incident","source":"cli","incident_id":"i","time_created":"2020-10-16T12:40:32Z","time_resolved":"2020-10-16T12:00:00Z"})",
       "time_resolved: before time_created"},
      {R"({"$type":"change","source":"cli","change_id":"a","time_created":"2200-01-01T00:00:00Z","event_type":"commit"})",
       "time_created: not a valid RFC 3339 time"},
      {std::string(100, '[') + std::string(100, ']'), "body: not valid JSON"},
      {R"({"$type":"change","source":"cli","change_id":")" + std::string(2000, 'x') +
           R"(","time_created":"2020-10-16T12:40:32Z","event_type":"commit"})",
       "change_id: longer than 1024 bytes"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.why) {
      std::string why;
      BOOST_TEST(!decode_event(row.body, why).has_value());
      BOOST_TEST(why.find(row.why) == 0u, "why = " << why);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(api)

// Metrics queries wait for the API's own threads in a bounded queue: beyond
// it, 503 with Retry-After; a query whose client has gone before its turn is
// not computed (499).
BOOST_FIXTURE_TEST_CASE(the_metrics_queue_is_bounded_and_skips_abandoned_queries, ApiFixture) {
  ApiConfig config{{}, true, 1000, {}, {}};
  config.metrics_threads = 1;
  config.max_queued_metrics = 4;
  Api busy(*store, config, [this] { return now; });
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<ServerResponse> answers;
  const auto respond = [&](ServerResponse r) {
    std::lock_guard lock(mutex);
    answers.push_back(std::move(r));
    cv.notify_all();
  };
  ServerRequest query;
  query.method = "GET";
  query.target = "/v1/metrics?from=2016-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&bucket=day";  // 3,653 buckets
  constexpr int kQueries = 40;
  for (int i = 0; i < kQueries; ++i) BOOST_TEST(busy.handle_async(query, respond));
  {
    std::unique_lock lock(mutex);
    BOOST_TEST(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answers.size() == kQueries; }));
  }
  int ok = 0, refused = 0;
  for (const auto& a : answers) {
    if (a.status == 200) ++ok;
    if (a.status != 503) continue;
    ++refused;
    BOOST_TEST(a.body.find("metrics queries are waiting already") != std::string::npos, a.body);
    BOOST_TEST((a.headers.size() == 1 && a.headers[0].name == "Retry-After"));
  }
  BOOST_TEST(ok + refused == kQueries);
  BOOST_TEST(ok >= 4);  // the four queued (and the one running, if it started meanwhile), at least
  BOOST_TEST(refused >= 1);
  // Abandoned while queued: answered 499 without the work.
  auto gone = std::make_shared<std::atomic<bool>>(true);
  ServerRequest abandoned = query;
  abandoned.gone = gone;
  answers.clear();
  BOOST_TEST(busy.handle_async(abandoned, respond));
  std::unique_lock lock(mutex);
  BOOST_TEST(cv.wait_for(lock, std::chrono::seconds(10), [&] { return answers.size() == 1; }));
  BOOST_TEST(answers.at(0).status == 499);
}

BOOST_FIXTURE_TEST_CASE(stores_each_type_and_answers_json, ApiFixture) {
  for (const auto& body : {kChange, kDeployment, kIncident}) {
    const auto r = post(body);
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body == R"({"stored":1,"duplicates":0})");
  }
  const auto events = all();
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_TEST(events[0].type == "incident");
  BOOST_TEST(events[0].time_resolved.value() == *parse_rfc3339("2020-10-16T16:00:00Z"));
  BOOST_TEST(events[1].changes == (std::vector<std::string>{"abc", "def"}));
  BOOST_TEST(events[1].teams == (std::vector<std::string>{"a"}));
  BOOST_TEST(events[2].system == "web");
  BOOST_TEST(events[2].received_at == now);
}

// A forge's push gives a change both times at once (Change::time_pushed):
// the first commit time stays, the earliest push time wins, and a lead time
// already copied into change_deployments follows it.
BOOST_FIXTURE_TEST_CASE(a_change_with_both_times_keeps_the_first_commit_and_earliest_push, ApiFixture) {
  constexpr std::int64_t t = 1700000000;
  auto put = [&](std::int64_t committed, std::int64_t pushed) {
    return store->put({Change{"github", "abc", t + committed, "commit", t + pushed}}, "web", now).stored;
  };
  BOOST_TEST(store->put({Change{"cli", "abc", t + 1000, "commit"}}, "web", now).stored == 1u);
  BOOST_TEST(
      store->put({Deployment{.deploy_id = "d1", .time_created = t + 5000, .changes = {"abc"}}}, "web", now).stored ==
      1u);
  BOOST_TEST(put(900, 2000) == 1u);  // gains a push time; the commit time stays
  BOOST_TEST(put(800, 2500) == 0u);  // nothing earlier: a duplicate
  BOOST_TEST(put(800, 1500) == 1u);  // an earlier push
  const auto events = all("change");
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].time_created.value_or(0) == t + 1000);
  BOOST_TEST(events[0].time_pushed.value_or(0) == t + 1500);
  BOOST_TEST(events[0].source == "cli");
  // The deployed change's lead time now runs from that push: 5000 - 1500.
  const auto r = call(api, "GET", "/v1/metrics?api_key=K&system=web&from=2023-11-14&to=2023-11-16&bucket=day");
  BOOST_TEST(r.body.find("\"lead_time\":{\"median_seconds\":3500") != std::string::npos, r.body.substr(0, 400));
}

BOOST_FIXTURE_TEST_CASE(idempotent_by_type_system_and_identifier, ApiFixture) {
  for (int i = 0; i < 3; ++i) {
    post(kChange);
    post(kDeployment);
    post(kIncident);
  }
  BOOST_TEST(post(kDeployment).body == R"({"stored":0,"duplicates":1})");
  BOOST_TEST(all().size() == 3u);
  // Same identifier in another system is another event.
  post(kChange, "api_key=K&system=api");
  post(kChange, "api_key=K");
  BOOST_TEST(all("change").size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(commit_and_push_times_kept_side_by_side, ApiFixture) {
  post(kPush);
  post(kChange);
  // A later push of the same commit does not move its first push time...
  post(
      R"({"source":"git","change_id":"abc","time_created":"2020-10-17T00:00:00Z","event_type":"push","$type":"change"})");
  // ...an earlier one (delivered late) does.
  post(
      R"({"source":"git","change_id":"abc","time_created":"2020-10-16T12:50:00Z","event_type":"push","$type":"change"})");
  const auto changes = all("change");
  BOOST_REQUIRE_EQUAL(changes.size(), 1u);
  BOOST_TEST(changes[0].time_created.value() == *parse_rfc3339("2020-10-16T12:40:32Z"));
  BOOST_TEST(changes[0].time_pushed.value() == *parse_rfc3339("2020-10-16T12:50:00Z"));
}

BOOST_FIXTURE_TEST_CASE(batch_is_all_or_nothing, ApiFixture) {
  const auto bad =
      post("[" + kChange + "," + kDeployment + R"(,{"$type":"incident"}])", "api_key=K", "/v1/ingestion/cli/batch");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("events[2].source: missing") != std::string::npos, bad.body);
  BOOST_TEST(all().empty());
  const auto ok = post("[" + kChange + "," + kDeployment + "," + kChange + "]", "api_key=K", "/v1/ingestion/cli/batch");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ok.body == R"({"stored":2,"duplicates":1})");
  BOOST_TEST(all().size() == 2u);
  BOOST_TEST(post("[]", "api_key=K", "/v1/ingestion/cli/batch").status == 400);
  BOOST_TEST(post(kChange, "api_key=K", "/v1/ingestion/cli/batch").status == 400);
}

BOOST_FIXTURE_TEST_CASE(offers_batching, ApiFixture) {
  const auto r = post(kChange);
  bool offered = false;
  for (const auto& h : r.headers) offered |= h.name == "Pulse-Batch-Max" && h.value == "1000";
  BOOST_TEST(offered);
}

BOOST_FIXTURE_TEST_CASE(routes_and_methods, ApiFixture) {
  BOOST_TEST(call(api, "GET", "/v1/ingestion/cli?api_key=K").status == 405);
  BOOST_TEST(call(api, "POST", "/v1/events").status == 405);
  BOOST_TEST(call(api, "GET", "/nope").status == 404);
  BOOST_TEST(call(api, "GET", "/healthz").status == 200);
  BOOST_TEST(post(kChange, "api_key=K&system=" + std::string(300, 's')).status == 400);
}

// The one table: every route answers its method (a 404 from no route would
// mean the table and dispatch disagree), refuses the other with 405 and the
// Allow header, and has a label of its own for /metrics.
BOOST_FIXTURE_TEST_CASE(every_route_of_the_table_dispatches_refuses_other_methods_and_has_a_label, ApiFixture) {
  std::size_t rows = 0;
  for (const auto& route : Api::routes()) {
    // Setup: a path the row serves ("/assets/" is a folder: a file in it).
    const std::string path = route.path == "/assets/" ? "/assets/dashboard.js" : std::string(route.path);
    BOOST_TEST_CONTEXT(route.method << " " << path) {
      ++rows;
      // Run
      const std::string method = route.method.empty() ? "GET" : std::string(route.method);
      const auto answered = call(api, method, path + "?api_key=K", route.method == "POST" ? kChange : "");
      const auto other = call(api, route.method == "GET" ? "PUT" : "GET", path + "?api_key=K", "",
                              {{"Content-Type", "application/json"}});
      // Check (the fixture has no registry: /metrics alone is not served)
      BOOST_TEST(answered.status != 405);
      BOOST_TEST((answered.body.find("no such route") == std::string::npos || path == "/metrics"), answered.body);
      if (route.method.empty()) {  // a probe's route: every method
        BOOST_TEST(other.status == answered.status);
        BOOST_TEST(call(api, "OPTIONS", path).status == answered.status);
      } else {
        BOOST_TEST(other.status == 405);
        BOOST_TEST(find_header(other.headers, "Allow").value_or("") == route.method);
      }
      BOOST_TEST(route_label(path) == route.label);
      BOOST_TEST(route_label(path) != "other");
    }
  }
  BOOST_TEST(rows >= 14u);
  BOOST_TEST(route_label("/v1/nope") == "other");
  BOOST_TEST(route_label("/assets") == "other");
}

BOOST_FIXTURE_TEST_CASE(lists_events_with_filters, ApiFixture) {
  post(kChange);
  post(kDeployment);
  post(kIncident, "api_key=K&system=other");
  auto r = call(api, "GET", "/v1/events?type=deployment");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.find(R"("count":1)") != std::string::npos, r.body);
  BOOST_TEST(r.body.find(R"("changes":["abc","def"])") != std::string::npos, r.body);
  r = call(api, "GET", "/v1/events?system=other");
  BOOST_TEST(r.body.find(R"("id":"i1")") != std::string::npos);
  BOOST_TEST(r.body.find(R"("count":1)") != std::string::npos);
  r = call(api, "GET", "/v1/events?since=2020-10-16T13:30:00Z");
  BOOST_TEST(r.body.find(R"("count":2)") != std::string::npos, r.body);
  r = call(api, "GET", "/v1/events?since=1602860400&limit=1");
  BOOST_TEST(r.body.find(R"("count":1)") != std::string::npos, r.body);
  BOOST_TEST(call(api, "GET", "/v1/events?type=bogus").status == 400);
  BOOST_TEST(call(api, "GET", "/v1/events?since=later").status == 400);
  BOOST_TEST(call(api, "GET", "/v1/events?limit=0").status == 400);
}

BOOST_AUTO_TEST_CASE(api_keys) {
  test::TestDatabase database;
  auto store = open_store(database.db(), 2);
  Api locked(*store, ApiConfig{{"k1", "k2"}, false, 1000, {}, {}}, [] { return 1700000000; });
  struct Row {
    std::string target;
    std::vector<Header> headers;
    int want;
  };
  const Row rows[] = {
      {"/v1/ingestion/cli?api_key=k1", {}, 200},
      {"/v1/ingestion/cli?api_key=k2&system=s", {}, 200},
      {"/v1/ingestion/cli?api_key=k3", {}, 401},
      {"/v1/ingestion/cli?api_key=", {}, 401},
      {"/v1/ingestion/cli", {}, 401},
      {"/v1/ingestion/cli", {{"Authorization", "Bearer k2"}}, 200},
      {"/v1/ingestion/cli", {{"Authorization", "Bearer nope"}}, 401},
      {"/v1/ingestion/cli", {{"Authorization", "Basic azE6"}}, 401},
      {"/v1/events?api_key=k1", {}, 200},
      {"/v1/events", {}, 401},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.target) {
      const bool get = row.target.starts_with("/v1/events");
      const auto r = ApiFixture::call(locked, get ? "GET" : "POST", row.target, get ? "" : kChange, row.headers);
      BOOST_TEST(r.status == row.want);
      if (r.status == 401) BOOST_TEST(r.body.find("k1") == std::string::npos);
    }
  }
  // With no keys and no open access (not loopback), nothing gets in.
  Api closed(*store, ApiConfig{{}, false, 1000, {}, {}}, [] { return 0; });
  BOOST_TEST(ApiFixture::call(closed, "POST", "/v1/ingestion/cli?api_key=x", kChange).status == 401);
}

BOOST_AUTO_TEST_CASE(keyless_collector_refuses_what_only_a_web_page_sends) {
  test::TestDatabase database;
  auto store = open_store(database.db(), 2);
  ApiConfig open{{}, true, 1000, {}, {}};
  open.browser_guard.public_hosts = {"pulse.example.org"};
  Api api(*store, open, [] { return 1700000000; });
  Api locked(*store, ApiConfig{{"k1"}, false, 1000, {}, {}}, [] { return 1700000000; });
  const Header json{"Content-Type", "application/json"};
  struct Row {
    std::string method;
    std::vector<Header> headers;
    int want;
  };
  const Row rows[] = {
      // What our clients, curl and the Go CLI send.
      {"POST", {json, {"Host", "127.0.0.1:8765"}}, 200},
      {"POST", {json, {"Host", "localhost:8765"}}, 200},
      {"POST", {json, {"Host", "[::1]:8765"}}, 200},
      {"POST", {{"Content-Type", "application/json; charset=utf-8"}}, 200},
      {"POST", {json, {"Host", "pulse.example.org"}}, 200},                             // --public-host
      {"GET", {{"Host", "127.0.0.1:8765"}, {"Origin", "http://127.0.0.1:8765"}}, 200},  // the dashboard
      // A page's simple POST: no preflight, so no JSON type.
      {"POST", {{"Content-Type", "text/plain"}, {"Host", "127.0.0.1:8765"}}, 400},
      {"POST", {{"Content-Type", "application/x-www-form-urlencoded"}, {"Host", "127.0.0.1:8765"}}, 400},
      // A foreign page.
      {"POST", {json, {"Host", "127.0.0.1:8765"}, {"Origin", "https://evil.example"}}, 403},
      {"GET", {{"Host", "127.0.0.1:8765"}, {"Origin", "null"}}, 403},
      {"GET", {{"Host", "127.0.0.1:8765"}, {"Origin", "http://127.0.0.1:9999"}}, 403},
      // DNS rebinding: our address under the attacker's name.
      {"GET", {{"Host", "evil.example:8765"}}, 403},
      {"GET", {{"Host", "evil.example:8765"}, {"Origin", "http://evil.example:8765"}}, 403},
  };
  std::size_t stored_before = store->list({}).size();
  for (const auto& row : rows) {
    std::string shown = row.method;
    for (const auto& h : row.headers) shown += " " + h.name + "=" + h.value;
    BOOST_TEST_CONTEXT(shown) {
      const bool get = row.method == "GET";
      const auto r = ApiFixture::call(api, row.method, get ? "/v1/events" : "/v1/ingestion/cli?system=g",
                                      get ? "" : kChange, row.headers);
      BOOST_TEST(r.status == row.want, r.body);
    }
  }
  // Only the allowed writes stored (one change, upserted).
  BOOST_TEST(store->list({}).size() == stored_before + 1);
  // With a key, a request carries its own proof: the guard does not apply.
  BOOST_TEST(ApiFixture::call(locked, "GET", "/v1/events?api_key=k1", "", {{"Host", "evil.example"}}).status == 200);
}

BOOST_AUTO_TEST_CASE(control_characters_and_bad_utf8_are_refused_naming_the_field_on_both_stores) {
  ApiFixture f;
  struct Row {
    std::string body, query, field;
  };
  const std::string change_head =
      R"({"source":"cli","time_created":"2020-10-16T12:40:32Z","event_type":"commit","$type":"change",)";
  const Row rows[] = {
      // NUL would be cut by libpq's text parameters: "a\0x" and "a\0y" would become one event there.
      {change_head + R"("change_id":"a\u0000x"})", "system=web", "change_id"},
      {change_head + R"("change_id":"esc\u001b[31m"})", "system=web", "change_id"},
      {change_head + R"("change_id":"nel\u0085"})", "system=web", "change_id"},
      {R"({"source":"c\u0007li","change_id":"x","time_created":"2020-10-16T12:40:32Z","event_type":"commit","$type":"change"})",
       "system=web", "source"},
      {R"({"source":"cli","deploy_id":"d","time_created":"2020-10-16T12:40:32Z","changes":["ok","b\u0000d"],"$type":"deployment"})",
       "system=web", "changes[1]"},
      {R"({"source":"cli","deploy_id":"d","time_created":"2020-10-16T12:40:32Z","teams":["t\tx"],"$type":"deployment"})",
       "system=web", "teams[0]"},
      {kChange, "system=%FFweb", "system"},    // invalid UTF-8
      {kChange, "system=we%00b", "system"},    // NUL
      {kChange, "system=%1B%5B2J", "system"},  // terminal escape
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.body << " ?" << row.query) {
      const auto r = f.post(row.body, row.query);
      BOOST_TEST(r.status == 400, r.body);
      BOOST_TEST(r.body.find(row.field + ": ") != std::string::npos, r.body);
    }
  }
  BOOST_TEST(f.all().empty());
  // Reads too: a bad system is the caller's mistake (400), never storage trouble (503).
  for (const std::string target :
       {"/v1/events?system=%FF", "/v1/metrics?system=%FF", "/v1/deployments/latest?system=%FF"})
    BOOST_TEST(ApiFixture::call(f.api, "GET", target).status == 400, target);
  // One JSON policy with pulse-incident: a duplicate key is refused, not "last wins".
  const auto dup = f.post(change_head + R"("change_id":"a","change_id":"b"})");
  BOOST_TEST(dup.status == 400);
  BOOST_TEST(dup.body.find("duplicate key") != std::string::npos, dup.body);
  const auto dup_batch =
      f.post("[" + change_head + R"("change_id":"a","source":"x"}])", "system=web", "/v1/ingestion/cli/batch");
  BOOST_TEST(dup_batch.status == 400);
  BOOST_TEST(dup_batch.body.find("duplicate key") != std::string::npos, dup_batch.body);
  BOOST_TEST(f.all().empty());
  // Text outside ASCII is fine.
  BOOST_TEST(f.post(change_head + R"("change_id":"caf\u00e9"})", "system=caf%C3%A9").status == 200);
}

BOOST_AUTO_TEST_CASE(readyz_asks_the_store_healthz_does_not) {
  ApiFixture f;
  BOOST_TEST(ApiFixture::call(f.api, "GET", "/readyz").status == 200);
  // A store that cannot answer (a database that went away).
  struct DownStore : Store {
    PutResult put(const std::vector<Event>&, const std::string&, std::int64_t) override { throw StorageError("down"); }
    std::vector<StoredEvent> list(const EventQuery&) override { throw StorageError("down"); }
    std::optional<StoredEvent> latest_deployment(const std::string&, const std::string&) override {
      throw StorageError("connection to server lost");
    }
    MetricFacts metric_facts(Window, const Scope&) override { throw StorageError("down"); }
    std::vector<std::pair<std::string, std::string>> environments() override { throw StorageError("down"); }
    std::vector<std::string> teams() override { throw StorageError("down"); }
    std::vector<std::string> check(bool) override { throw StorageError("down"); }
  } down;
  Api api(down, ApiConfig{{}, true, 1000, {}, {}}, [] { return 0; });
  const auto r = ApiFixture::call(api, "GET", "/readyz");
  BOOST_TEST(r.status == 503);
  BOOST_TEST(r.body.find("connection to server lost") == std::string::npos, r.body);  // logged, not sent
  BOOST_TEST(ApiFixture::call(api, "GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(store_survives_reopen_and_refuses_newer_schema) {
  test::TestDatabase database;
  {
    auto store = open_store(database.db(), 1);
    store->put({Change{"cli", "abc", 1602852032, "commit"}}, "web", 1);
  }
  {
    auto store = open_store(database.db(), 1);
    BOOST_TEST(store->list({}).size() == 1u);
  }
  if (database.postgres()) database.exec("UPDATE pulse_schema SET version = 99");
  else test::run_process({"sqlite3", database.db(), "PRAGMA user_version=99"});
  BOOST_CHECK_EXCEPTION(open_store(database.db(), 1), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("newer than this pulse-collector knows") != std::string::npos;
  });
  BOOST_CHECK_THROW(open_sqlite_store("/proc/definitely/not/here.db"), std::runtime_error);
  BOOST_CHECK_EXCEPTION(open_store("postgresql://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2", 1),
                        std::runtime_error, [](const std::runtime_error& e) {
                          const std::string what = e.what();
                          return what.find("cannot connect") != std::string::npos &&
                                 what.find("hunter2") == std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(database_uris_are_shown_without_passwords) {
  BOOST_TEST(describe_db("postgresql://pulse:s3cret@db.example:5432/pulse") ==
             "postgresql://pulse:***@db.example:5432/pulse");
  BOOST_TEST(describe_db("postgres://db/pulse?user=u&password=s3cret&sslmode=require") ==
             "postgres://db/pulse?user=u&password=***&sslmode=require");
  BOOST_TEST(describe_db("postgresql://pulse@db/pulse") == "postgresql://pulse@db/pulse");
  BOOST_TEST(describe_db("/var/lib/pulse/collector.db") == "/var/lib/pulse/collector.db");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(paging)

// Every stored event can be listed: pages of `limit`, newest first, each
// naming the cursor of the next; no event twice, none left out.
BOOST_FIXTURE_TEST_CASE(events_page_with_a_cursor_until_the_last, ApiFixture) {
  for (int i = 0; i < 25; ++i)
    BOOST_REQUIRE_EQUAL(post(R"({"source":"cli","change_id":"c)" + std::to_string(i) +
                             R"(","time_created":"2020-10-16T12:40:32Z","event_type":"commit","$type":"change"})")
                            .status,
                        200);
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 10; ++pages) {
    const auto r = call(api, "GET", "/v1/events?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor));
    BOOST_REQUIRE_EQUAL(r.status, 200);
    const auto body = boost::json::parse(r.body).as_object();
    for (const auto& e : body.at("events").as_array()) seen.emplace_back(e.at("id").as_string());
    if (body.at("next").is_null()) break;
    cursor = std::string(body.at("next").as_string());
  }
  BOOST_TEST(pages == 2);  // 10 + 10 + 5
  BOOST_REQUIRE_EQUAL(seen.size(), 25u);
  BOOST_TEST(seen.front() == "c24");  // newest first
  BOOST_TEST(seen.back() == "c0");
  BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()).size() == 25u);
  // Exactly a page full: the last page says so with a null next.
  const auto exact = boost::json::parse(call(api, "GET", "/v1/events?limit=25").body).as_object();
  BOOST_TEST(exact.at("count") == 25);
  BOOST_TEST(exact.at("next").is_null());
  for (const std::string bad : {"abc", "-3", "0", "12x"})
    BOOST_TEST(call(api, "GET", "/v1/events?cursor=" + bad).status == 400, bad);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sqlite_upgrade)

BOOST_AUTO_TEST_CASE(a_version_2_database_gains_the_metrics_tables_with_its_history) {
  // A database as the collector wrote it before metrics (schema version 2).
  test::TempDir dir;
  const std::string path = dir.str("old.db");
  const auto made = test::run_process({"sqlite3", path, R"sql(
CREATE TABLE events (id INTEGER PRIMARY KEY, type TEXT NOT NULL, system TEXT NOT NULL, identifier TEXT NOT NULL,
  source TEXT NOT NULL, time_created INTEGER, time_pushed INTEGER, time_resolved INTEGER,
  teams TEXT NOT NULL DEFAULT '[]', received_at INTEGER NOT NULL, head_commit TEXT, environment TEXT,
  UNIQUE (type, system, identifier));
CREATE TABLE deployment_changes (deployment INTEGER NOT NULL REFERENCES events (id), position INTEGER NOT NULL,
  change_id TEXT NOT NULL, PRIMARY KEY (deployment, position));
CREATE INDEX deployment_changes_by_change ON deployment_changes (change_id);
CREATE INDEX events_by_time ON events (type, system, time_created);
CREATE INDEX deployments_latest ON events (system, environment, time_created) WHERE head_commit IS NOT NULL;
INSERT INTO events VALUES (1, 'change', 'web', 'a', 'cli', 1767225600, 1767229200, NULL, '[]', 0, NULL, NULL);
INSERT INTO events VALUES (2, 'deployment', 'web', 'd2', 'cli', 1767240000, NULL, NULL, '[]', 0, NULL, NULL);
INSERT INTO events VALUES (3, 'deployment', 'web', 'd1', 'cli', 1767236400, NULL, NULL, '[]', 0, NULL, NULL);
INSERT INTO deployment_changes VALUES (2, 0, 'a'), (3, 0, 'a'), (3, 1, 'unknown');
PRAGMA user_version = 2;
)sql"});
  BOOST_REQUIRE_EQUAL(made.exit_code, 0);
  auto store = open_store(path, 1);
  const Scope production{std::nullopt, {"production"}};
  const auto facts = store->metric_facts({1767225600, 1767312000}, production);
  BOOST_TEST(facts.systems == std::vector<std::string>{"web"});
  BOOST_TEST(facts.deployments.size() == 2u);
  BOOST_REQUIRE_EQUAL(facts.shipped.size(), 2u);
  for (const auto& s : facts.shipped) {
    BOOST_TEST(s.deployed == 1767236400);  // its first deployment: d1, though d2 was stored first
    BOOST_TEST((s.change_time == 1767229200 || s.change_time == kUnknownTime));  // push time wins
  }
  // The DORA model's change counts come from the links already stored.
  const Scope dora{std::nullopt, {"production"}, Model::dora};
  std::vector<std::uint32_t> counts;
  for (const auto& d : store->metric_facts({1767225600, 1767312000}, dora).deployments) counts.push_back(d.changes);
  std::sort(counts.begin(), counts.end());
  BOOST_TEST(counts == (std::vector<std::uint32_t>{1, 2}), boost::test_tools::per_element());
  // And new events keep the facts current.
  store->put({Change{"cli", "unknown", 1767232800, "commit"}}, "web", 0);
  const auto after = compute_metrics(store->metric_facts({1767225600, 1767312000}, production),
                                     {1767225600, 1767312000}, Bucket::day, production);
  BOOST_TEST(*after.overall.lead_time_median == 5400);  // (7200 + 3600) / 2
  // Nothing lost on the way to schema 5 (environments in the identity):
  // deployments that named none are production's, with their changes.
  EventQuery q;
  q.type = "deployment";
  const auto deployments = store->list(q);
  BOOST_REQUIRE_EQUAL(deployments.size(), 2u);
  for (const auto& d : deployments) BOOST_TEST(d.environment == "production");
  BOOST_TEST(deployments[0].id == "d1");
  BOOST_TEST(deployments[0].changes == (std::vector<std::string>{"a", "unknown"}));
  expect_environments_apart(*store);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(environments)

// A PostgreSQL database as the collector wrote it before environments were
// part of a deployment's identity (schema version 2).
BOOST_AUTO_TEST_CASE(a_version_2_postgresql_database_keeps_everything) {
  test::TestDatabase database;
  if (!database.postgres()) return;  // the SQLite upgrade is tested above
  database.exec(R"sql(
CREATE TABLE events (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('change', 'deployment', 'incident')), system TEXT NOT NULL,
  identifier TEXT NOT NULL, source TEXT NOT NULL, time_created BIGINT, time_pushed BIGINT, time_resolved BIGINT,
  teams TEXT NOT NULL DEFAULT '[]', received_at BIGINT NOT NULL, head_commit TEXT, environment TEXT,
  UNIQUE (type, system, identifier));
CREATE TABLE deployment_changes (deployment BIGINT NOT NULL REFERENCES events (id), position INTEGER NOT NULL,
  change_id TEXT NOT NULL, PRIMARY KEY (deployment, position));
CREATE INDEX deployment_changes_by_change ON deployment_changes (change_id);
CREATE INDEX events_by_time ON events (type, system, time_created);
CREATE INDEX deployments_latest ON events (system, environment, time_created) WHERE head_commit IS NOT NULL;
CREATE TABLE change_facts (system TEXT NOT NULL, change_id TEXT NOT NULL, commit_time BIGINT, push_time BIGINT,
  first_deployed BIGINT, PRIMARY KEY (system, change_id));
CREATE TABLE systems (name TEXT PRIMARY KEY);
CREATE TABLE pulse_schema (version INTEGER NOT NULL);
INSERT INTO pulse_schema VALUES (2);
INSERT INTO systems VALUES ('web');
INSERT INTO events (type, system, identifier, source, time_created, received_at) VALUES
  ('change', 'web', 'a', 'cli', 1767225600, 0),
  ('deployment', 'web', 'd1', 'cli', 1767236400, 0);
INSERT INTO events (type, system, identifier, source, time_created, received_at, head_commit, environment) VALUES
  ('deployment', 'web', 'd2', 'cli', 1767240000, 0, 'a', 'staging');
INSERT INTO deployment_changes SELECT id, 0, 'a' FROM events WHERE type = 'deployment';
)sql");
  auto store = open_store(database.db(), 1);
  EventQuery q;
  q.type = "deployment";
  const auto deployments = store->list(q);
  BOOST_REQUIRE_EQUAL(deployments.size(), 2u);
  BOOST_TEST(deployments[0].id == "d2");
  BOOST_TEST(deployments[0].environment == "staging");
  BOOST_TEST(deployments[1].environment == "production");
  BOOST_TEST(deployments[1].changes == std::vector<std::string>{"a"});
  const Scope dora{std::nullopt, {"production"}, Model::dora};
  const auto facts = store->metric_facts({1767225600, 1767312000}, dora);
  BOOST_REQUIRE_EQUAL(facts.deployments.size(), 1u);
  BOOST_TEST(facts.deployments[0].changes == 1u);  // counted from the stored links
  expect_environments_apart(*store);
}

BOOST_FIXTURE_TEST_CASE(one_id_in_two_environments_is_two_deployments, ApiFixture) {
  expect_environments_apart(*store);
  // Over the API: the extension's environment field, and the Go CLI's
  // deployment without one (production).
  const auto go = post(R"({"source":"cli","deploy_id":"9001","time_created":"2026-01-01T10:00:00Z","changes":[],)"
                       R"("$type":"deployment"})");
  BOOST_TEST(go.body == R"({"stored":1,"duplicates":0})");
  const auto staging = post(R"({"source":"cli","deploy_id":"9001","time_created":"2026-01-01T09:00:00Z","changes":[],)"
                            R"("environment":"staging","$type":"deployment"})");
  BOOST_TEST(staging.body == R"({"stored":1,"duplicates":0})");
  const auto listed = call(api, "GET", "/v1/events?type=deployment&system=web");
  BOOST_TEST(listed.body.find(R"("environment":"staging")") != std::string::npos, listed.body);
  BOOST_TEST(listed.body.find(R"("environment":"production")") != std::string::npos, listed.body);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(storage_failures)

// A store whose database is gone: every call throws, as a real one does when
// PostgreSQL is down or the disk is full.
struct BrokenStore final : Store {
  PutResult put(const std::vector<Event>&, const std::string&, std::int64_t) override { fail(); }
  std::vector<StoredEvent> list(const EventQuery&) override { fail(); }
  std::optional<StoredEvent> latest_deployment(const std::string&, const std::string&) override { fail(); }
  MetricFacts metric_facts(Window, const Scope&) override { fail(); }
  std::vector<std::pair<std::string, std::string>> environments() override { fail(); }
  std::vector<std::string> teams() override { fail(); }
  std::vector<std::string> check(bool) override { fail(); }
  [[noreturn]] void fail() const {
    if (bug) throw std::out_of_range("vector::at: index 7 >= 3");
    throw StorageError("PostgreSQL: cannot connect: Connection refused");
  }
  bool bug = false;  ///< throw what a programming error throws instead
};

BOOST_AUTO_TEST_CASE(are_503_with_retry_after_so_clients_try_again_and_are_logged) {
  BrokenStore store;
  std::vector<std::string> logged;
  ApiConfig config{{}, true, 1000, [&](const std::string& line) { logged.push_back(line); }, {}};
  Api api(store, config, [] { return 1700000000; });
  for (const auto& [method, target, body] :
       std::vector<std::tuple<std::string, std::string, std::string>>{{"POST", "/v1/ingestion/cli?system=s", kChange},
                                                                      {"GET", "/v1/events", ""},
                                                                      {"GET", "/v1/metrics", ""},
                                                                      {"GET", "/v1/deployments/latest?system=s", ""}}) {
    BOOST_TEST_CONTEXT(method << " " << target) {
      const auto r = ApiFixture::call(api, method, target, body);
      BOOST_TEST(r.status == 503);
      BOOST_TEST(find_header(r.headers, "Retry-After").value_or("") == "5");
      BOOST_TEST(r.body.find("Connection refused") == std::string::npos);  // details go to the log only
    }
  }
  BOOST_TEST(logged.size() == 4u);
  BOOST_TEST(logged[0].find("Connection refused") != std::string::npos);
  // A client mistake is still a 400, not a 503.
  BOOST_TEST(ApiFixture::call(api, "POST", "/v1/ingestion/cli?system=s", "{").status == 400);
}

BOOST_AUTO_TEST_CASE(a_bug_is_500_with_an_id_in_answer_and_log_and_never_retry_after) {
  BrokenStore store;
  store.bug = true;
  std::vector<std::string> logged;
  ApiConfig config{{}, true, 1000, [&](const std::string& line) { logged.push_back(line); }, {}};
  Api api(store, config, [] { return 1700000000; });
  const auto r = ApiFixture::call(api, "GET", "/v1/events");
  BOOST_TEST(r.status == 500);
  BOOST_TEST(!find_header(r.headers, "Retry-After"));
  BOOST_TEST(r.body.find("vector::at") == std::string::npos, r.body);  // details go to the log only
  BOOST_REQUIRE_EQUAL(logged.size(), 1u);
  BOOST_TEST(logged[0].find("vector::at") != std::string::npos, logged[0]);
  // The same id in both, so an operator finds the line a user reports.
  const auto at = r.body.find("internal error ");
  BOOST_REQUIRE(at != std::string::npos);
  const std::string id = r.body.substr(at + 15, 8);
  BOOST_TEST(logged[0].find("internal error " + id) != std::string::npos, logged[0] << " / " << r.body);
}

BOOST_AUTO_TEST_SUITE_END()
