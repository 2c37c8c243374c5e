// The DORA metrics: the reference data set (tests/fixtures/metrics, figures
// worked out by hand in its README) through the real API and store, then
// each rule on its own.
#include "../support/support.hpp"
#include "collector/api.hpp"
#include "collector/explain.hpp"
#include "collector/metrics.hpp"
#include "collector/exporter.hpp"
#include "collector/store.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <thread>

using namespace pulse;
using namespace pulse::collector;
namespace json = boost::json;

namespace {

std::int64_t at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

const Scope kProduction{std::nullopt, {"production"}};

json::value load(const std::string& name) {
  return json::parse(test::read_file(test::fs::path(PULSE_TEST_SOURCE_DIR) / "tests/fixtures/metrics" / name));
}

struct StoreFixture {
  test::TestDatabase database;
  std::unique_ptr<Store> store = open_store(database.db(), 4);
  Api api{*store, ApiConfig{{}, true, 1000, {}, {}}, [] { return at("2026-03-10T00:00:00Z"); }};

  ServerResponse get(const std::string& target) {
    ServerRequest r;
    r.method = "GET";
    r.target = target;
    return api.handle(r);
  }
  void post(const std::string& system, const std::string& body) {
    ServerRequest r;
    r.method = "POST";
    r.headers.push_back({"Content-Type", "application/json"});
    r.target = "/v1/ingestion/cli?system=" + system;
    r.body = body;
    const auto res = api.handle(r);
    BOOST_TEST_REQUIRE(res.status == 200, res.body);
  }
  void load_reference() {
    const auto events = load("events.json");
    for (const auto& e : events.as_array())
      post(std::string(e.at("system").as_string()), json::serialize(e.at("event")));
  }
  json::object explain(const std::string& query) {
    const auto res = get("/v1/metrics/explain?" + query);
    BOOST_TEST_REQUIRE(res.status == 200, res.body);
    return json::parse(res.body).as_object();
  }
  json::object metrics(const std::string& query) {
    const auto res = get("/v1/metrics?" + query);
    BOOST_TEST_REQUIRE(res.status == 200, res.body);
    return json::parse(res.body).as_object();
  }
};

// Compares one figures object of the API with one of expected.json.
void check_figures(const json::object& got, const json::object& want, const std::string& where) {
  BOOST_TEST_CONTEXT(where) {
    const auto& df = got.at("deployment_frequency").as_object();
    const auto& lt = got.at("lead_time").as_object();
    const auto& ttr = got.at("time_to_recover").as_object();
    const auto& cfr = got.at("change_failure_rate").as_object();
    const auto& dq = got.at("data_quality").as_object();
    BOOST_TEST(df.at("deployments") == want.at("deployments"));
    BOOST_TEST(df.at("days") == want.at("days"));
    BOOST_TEST(df.at("deployment_days") == want.at("deployment_days"));
    BOOST_TEST(df.at("level") == want.at("deployment_frequency_level"));
    if (want.at("deployments").as_int64() == 0) {
      BOOST_TEST(df.at("per_day").is_null());
      BOOST_TEST(cfr.at("rate").is_null());
    } else {
      BOOST_TEST(df.at("per_day").as_double() ==
                     static_cast<double>(want.at("deployments").as_int64()) / want.at("days").as_int64(),
                 boost::test_tools::tolerance(1e-12));
      BOOST_TEST(cfr.at("rate").as_double() == static_cast<double>(want.at("failed_deployments").as_int64()) /
                                                   static_cast<double>(want.at("deployments").as_int64()),
                 boost::test_tools::tolerance(1e-12));
    }
    BOOST_TEST(lt.at("median_seconds") == want.at("lead_time_median_seconds"));
    BOOST_TEST(lt.at("changes") == want.at("lead_time_changes"));
    BOOST_TEST(lt.at("level") == want.at("lead_time_level"));
    BOOST_TEST(ttr.at("median_seconds") == want.at("time_to_recover_median_seconds"));
    BOOST_TEST(ttr.at("mean_seconds") == want.at("time_to_recover_mean_seconds"));
    BOOST_TEST(ttr.at("incidents") == want.at("incidents"));
    BOOST_TEST(ttr.at("level") == want.at("time_to_recover_level"));
    BOOST_TEST(cfr.at("failed_deployments") == want.at("failed_deployments"));
    BOOST_TEST(cfr.at("level") == want.at("change_failure_level"));
    BOOST_TEST(dq.at("non_positive_lead_times") == want.at("non_positive_lead_times"));
    BOOST_TEST(dq.at("changes_without_time") == want.at("changes_without_time"));
    BOOST_TEST(dq.at("incidents_without_deployment") == want.at("incidents_without_deployment"));
  }
}

void check_reference(StoreFixture& f) {
  const auto expected = load("expected.json").as_object();
  const auto& q = expected.at("query").as_object();
  const auto got = f.metrics("from=" + std::string(q.at("from").as_string()) +
                             "&to=" + std::string(q.at("to").as_string()) + "&bucket=week");
  BOOST_TEST(got.at("window").at("from") == q.at("from"));
  BOOST_TEST(got.at("window").at("to") == q.at("to"));
  check_figures(got.at("overall").as_object(), expected.at("overall").as_object(), "overall");
  const auto& systems = got.at("systems").as_array();
  BOOST_TEST_REQUIRE(systems.size() == expected.at("systems").as_object().size());
  for (const auto& s : systems) {
    const std::string name(s.at("system").as_string());
    check_figures(s.as_object(), expected.at("systems").at(name).as_object(), name);
  }
  const auto& points = got.at("series").at("points").as_array();
  const auto& weeks = expected.at("weeks").as_array();
  BOOST_TEST_REQUIRE(points.size() == weeks.size());
  for (std::size_t i = 0; i < weeks.size(); ++i) {
    BOOST_TEST_CONTEXT("week " << i) {
      const auto& p = points[i].as_object();
      const auto& w = weeks[i].as_object();
      BOOST_TEST(p.at("start") == w.at("start"));
      BOOST_TEST(p.at("end") == w.at("end"));
      BOOST_TEST(p.at("deployment_frequency").at("deployments") == w.at("deployments"));
      BOOST_TEST(p.at("lead_time").at("median_seconds") == w.at("lead_time_median_seconds"));
      BOOST_TEST(p.at("time_to_recover").at("median_seconds") == w.at("time_to_recover_median_seconds"));
      BOOST_TEST(p.at("change_failure_rate").at("failed_deployments") == w.at("failed_deployments"));
      BOOST_TEST(!p.at("lead_time").as_object().contains("level"));
    }
  }
}

// Facts for the rule tests: one system unless given.
struct Facts {
  MetricFacts f;
  Facts& deploy(const char* t, const char* system = "s") {
    f.deployments.push_back({f.system_index(system), 0, at(t)});
    return *this;
  }
  Facts& ship(const char* deployed, std::int64_t change_time, const char* system = "s") {
    f.shipped.push_back({f.system_index(system), at(deployed), change_time});
    return *this;
  }
  Facts& incident(const char* created, std::int64_t seconds, const char* system = "s") {
    f.incidents.push_back({f.system_index(system), 0, at(created), at(created) + seconds});
    return *this;
  }
  Figures overall(const char* from, const char* to) const {
    return compute_metrics(f, {at(from), at(to)}, Bucket::week, kProduction).overall;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(reference_data_set)

BOOST_FIXTURE_TEST_CASE(matches_the_hand_worked_figures_to_the_second, StoreFixture) {
  load_reference();
  check_reference(*this);
}

BOOST_FIXTURE_TEST_CASE(same_figures_when_every_event_is_sent_twice_and_in_reverse, StoreFixture) {
  auto events = load("events.json").as_array();
  std::reverse(events.begin(), events.end());
  for (int round = 0; round < 2; ++round)
    for (const auto& e : events) post(std::string(e.at("system").as_string()), json::serialize(e.at("event")));
  check_reference(*this);
}

BOOST_FIXTURE_TEST_CASE(one_system_and_other_buckets, StoreFixture) {
  load_reference();
  const auto web = metrics("system=web&from=2026-01-01&to=2026-02-28&bucket=month");
  BOOST_TEST(web.at("system") == "web");
  BOOST_TEST(web.at("systems").as_array().size() == 1u);
  BOOST_TEST(web.at("overall").at("lead_time").at("median_seconds") == 2700);
  const auto& months = web.at("series").at("points").as_array();
  BOOST_TEST_REQUIRE(months.size() == 2u);
  BOOST_TEST(months[0].at("deployment_frequency").at("deployments") == 3);
  BOOST_TEST(months[1].at("deployment_frequency").at("deployments") == 1);
  BOOST_TEST(months[1].at("end") == "2026-03-01T00:00:00Z");  // a date as `to` includes that day

  const auto days = metrics("from=2026-01-10&to=2026-01-10&bucket=day");
  BOOST_TEST(days.at("series").at("points").as_array().size() == 1u);
  BOOST_TEST(days.at("overall").at("deployment_frequency").at("deployments") == 2);
  BOOST_TEST(days.at("overall").at("deployment_frequency").at("level") == "elite");

  // Default window: the 90 days before now (2026-03-10).
  const auto def = metrics("");
  BOOST_TEST(def.at("window").at("from") == "2025-12-10T00:00:00Z");
  BOOST_TEST(def.at("window").at("to") == "2026-03-10T00:00:00Z");
  BOOST_TEST(def.at("overall").at("deployment_frequency").at("deployments") == 10);  // with A0 and B1
}

BOOST_FIXTURE_TEST_CASE(empty_window_is_no_data_not_zero, StoreFixture) {
  load_reference();
  const auto got = metrics("from=2024-01-01&to=2024-02-01");
  const auto& o = got.at("overall").as_object();
  BOOST_TEST(o.at("deployment_frequency").at("per_day").is_null());
  BOOST_TEST(o.at("deployment_frequency").at("level").is_null());
  BOOST_TEST(o.at("lead_time").at("median_seconds").is_null());
  BOOST_TEST(o.at("time_to_recover").at("median_seconds").is_null());
  BOOST_TEST(o.at("time_to_recover").at("mean_seconds").is_null());
  BOOST_TEST(o.at("change_failure_rate").at("rate").is_null());
  BOOST_TEST(got.at("systems").as_array().empty());
  BOOST_TEST(got.at("series").at("points").as_array().size() == 5u);
}

BOOST_FIXTURE_TEST_CASE(bad_queries_get_a_reason, StoreFixture) {
  BOOST_TEST(get("/v1/metrics?from=yesterday").body.find("from:") != std::string::npos);
  BOOST_TEST(get("/v1/metrics?to=2026-13-01").status == 400);
  BOOST_TEST(get("/v1/metrics?from=2026-02-01&to=2026-01-01").body.find("before") != std::string::npos);
  BOOST_TEST(get("/v1/metrics?from=1950-01-01&to=2026-01-01").status == 400);               // over fifty years
  BOOST_TEST(get("/v1/metrics?from=2005-04-07&to=2026-01-01&bucket=month").status == 200);  // git.git's 21 years
  BOOST_TEST(get("/v1/metrics?from=2005-04-07&to=2026-01-01&bucket=day").body.find("bucket") != std::string::npos);
  BOOST_TEST(get("/v1/metrics?bucket=hour").body.find("bucket") != std::string::npos);
  BOOST_TEST(get("/v1/metrics?system=" + std::string(300, 'x')).status == 400);
  ServerRequest post;
  post.method = "POST";
  post.headers.push_back({"Content-Type", "application/json"});
  post.target = "/v1/metrics";
  BOOST_TEST(api.handle(post).status == 405);
}

BOOST_AUTO_TEST_CASE(needs_a_key_like_every_read) {
  test::TestDatabase database;
  auto store = open_store(database.db(), 1);
  Api api{*store, ApiConfig{{"secret"}, false, 1000, {}, {}}, [] { return at("2026-03-10T00:00:00Z"); }};
  ServerRequest r;
  r.method = "GET";
  r.target = "/v1/metrics";
  BOOST_TEST(api.handle(r).status == 401);
  r.headers.push_back({"Authorization", "Bearer secret"});
  BOOST_TEST(api.handle(r).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

// The DORA model's figures in one figures object, against a hand-worked one.
void check_dora(const json::object& got, const json::object& want, const std::string& where) {
  BOOST_TEST_CONTEXT(where) {
    const auto& df = got.at("deployment_frequency").as_object();
    const auto& lt = got.at("lead_time").as_object();
    const auto& cfr = got.at("change_failure_rate").as_object();
    const auto& fdrt = got.at("failed_deployment_recovery_time").as_object();
    const auto& rework = got.at("deployment_rework_rate").as_object();
    BOOST_TEST(!got.contains("time_to_recover"));
    BOOST_TEST(df.at("deployments") == want.at("deployments"));
    BOOST_TEST(df.at("level") == want.at("deployment_frequency_level"));
    BOOST_TEST(lt.at("median_seconds") == want.at("lead_time_median_seconds"));
    BOOST_TEST(lt.at("level") == want.at("lead_time_level"));
    BOOST_TEST(cfr.at("failed_deployments") == want.at("failed_deployments"));
    BOOST_TEST(cfr.at("level") == want.at("change_failure_level"));
    for (const char* reason : {"incident", "rollback", "revert", "mark"})
      BOOST_TEST(cfr.at("reasons").at(reason) == want.at("reasons").at(reason), reason);
    BOOST_TEST(fdrt.at("median_seconds") == want.at("failed_recovery_median_seconds"));
    BOOST_TEST(fdrt.at("recovered") == want.at("recovered"));
    BOOST_TEST(fdrt.at("unrecovered") == want.at("unrecovered"));
    BOOST_TEST(fdrt.at("level") == want.at("failed_recovery_level"));
    BOOST_TEST(!fdrt.contains("mean_seconds"));
    BOOST_TEST(rework.at("rework_deployments") == want.at("rework_deployments"));
    BOOST_TEST(!rework.contains("level"));  // DORA publishes no bands for it
    const auto n = want.at("deployments").as_int64();
    if (n == 0) {
      BOOST_TEST(rework.at("rate").is_null());
      BOOST_TEST(cfr.at("rate").is_null());
    } else {
      BOOST_TEST(rework.at("rate").as_double() == static_cast<double>(want.at("rework_deployments").as_int64()) / n,
                 boost::test_tools::tolerance(1e-12));
      BOOST_TEST(cfr.at("rate").as_double() == static_cast<double>(want.at("failed_deployments").as_int64()) / n,
                 boost::test_tools::tolerance(1e-12));
    }
  }
}

// The series adds up to the whole window (no level per bucket).
void check_series_adds_up(const json::object& got) {
  std::int64_t deployments = 0, failed = 0, rework = 0;
  for (const auto& p : got.at("series").at("points").as_array()) {
    deployments += p.at("deployment_frequency").at("deployments").as_int64();
    failed += p.at("change_failure_rate").at("failed_deployments").as_int64();
    rework += p.at("deployment_rework_rate").at("rework_deployments").as_int64();
    BOOST_TEST(!p.at("failed_deployment_recovery_time").as_object().contains("level"));
  }
  const auto& o = got.at("overall");
  BOOST_TEST(deployments == o.at("deployment_frequency").at("deployments").as_int64());
  BOOST_TEST(failed == o.at("change_failure_rate").at("failed_deployments").as_int64());
  BOOST_TEST(rework == o.at("deployment_rework_rate").at("rework_deployments").as_int64());
}

void load_dora_set(StoreFixture& f, bool reversed_twice) {
  auto events = load("dora-events.json").as_array();
  if (reversed_twice) std::reverse(events.begin(), events.end());
  for (int round = 0; round < (reversed_twice ? 2 : 1); ++round)
    for (const auto& e : events) f.post(std::string(e.at("system").as_string()), json::serialize(e.at("event")));
}

void check_dora_set(StoreFixture& f) {
  const auto expected = load("dora-expected.json").as_object();
  const auto& q = expected.at("query").as_object();
  const std::string query =
      "system=shop&from=" + std::string(q.at("from").as_string()) + "&to=" + std::string(q.at("to").as_string());
  const auto pulse = f.metrics(query);
  BOOST_TEST(pulse.at("model") == "pulse");
  BOOST_TEST(!pulse.contains("edition"));
  const auto& want = expected.at("pulse").as_object();
  const auto& o = pulse.at("overall").as_object();
  BOOST_TEST(o.at("deployment_frequency").at("deployments") == want.at("deployments"));
  BOOST_TEST(o.at("deployment_frequency").at("deployment_days") == want.at("deployment_days"));
  BOOST_TEST(o.at("deployment_frequency").at("level") == want.at("deployment_frequency_level"));
  BOOST_TEST(o.at("lead_time").at("median_seconds") == want.at("lead_time_median_seconds"));
  BOOST_TEST(o.at("lead_time").at("changes") == want.at("lead_time_changes"));
  BOOST_TEST(o.at("lead_time").at("level") == want.at("lead_time_level"));
  BOOST_TEST(o.at("time_to_recover").at("median_seconds") == want.at("time_to_recover_median_seconds"));
  BOOST_TEST(o.at("time_to_recover").at("mean_seconds") == want.at("time_to_recover_mean_seconds"));
  BOOST_TEST(o.at("time_to_recover").at("incidents") == want.at("incidents"));
  BOOST_TEST(o.at("change_failure_rate").at("failed_deployments") == want.at("failed_deployments"));
  BOOST_TEST(o.at("change_failure_rate").at("level") == want.at("change_failure_level"));
  BOOST_TEST(!o.contains("deployment_rework_rate"));

  const auto dora = f.metrics(query + "&model=dora&bucket=day");
  BOOST_TEST(dora.at("model") == "dora");
  BOOST_TEST(std::string(dora.at("edition").as_string()).find("2023") != std::string::npos);
  check_dora(dora.at("overall").as_object(), expected.at("dora").as_object(), "shop, dora");
  check_series_adds_up(dora);
  // The lists behind the figures: the deployments worked out by hand.
  auto ids = [&](const std::string& metric) {
    const auto page = f.explain(query + "&model=dora&metric=" + metric + "&limit=1000");
    std::vector<std::string> out;
    for (const auto& r : page.at("records").as_array()) out.emplace_back(r.at("deployment").as_string());
    BOOST_TEST(page.at("count").as_int64() == static_cast<std::int64_t>(out.size()));
    return out;
  };
  auto listed = [](const json::value& v) {
    std::vector<std::string> out;
    for (const auto& x : v.as_array()) out.emplace_back(x.as_string());
    return out;
  };
  BOOST_TEST(ids("change_failure_rate") == listed(expected.at("failed")), boost::test_tools::per_element());
  BOOST_TEST(ids("failed_deployment_recovery_time") == listed(expected.at("failed")), boost::test_tools::per_element());
  BOOST_TEST(ids("deployment_rework_rate") == listed(expected.at("rework")), boost::test_tools::per_element());
  BOOST_TEST(ids("deployment_frequency").size() == 14u);
  const auto failed = f.explain(query + "&model=dora&metric=failed_deployment_recovery_time");
  std::map<std::string, json::object> by_id;
  for (const auto& r : failed.at("records").as_array())
    by_id[std::string(r.at("deployment").as_string())] = r.as_object();
  BOOST_TEST(json::serialize(by_id["P2"].at("reasons")) == R"([{"reason":"rollback","by":"P3"}])");
  BOOST_TEST(json::serialize(by_id["P2"].at("recovered_by")) == R"({"reason":"rollback","deployment":"P3"})");
  BOOST_TEST(json::serialize(by_id["P5"].at("recovered_by")) == R"({"reason":"incident resolved","incident":"I1"})");
  BOOST_TEST(json::serialize(by_id["P7"].at("reasons")) == R"([{"reason":"revert","by":"P8"}])");
  BOOST_TEST(json::serialize(by_id["P9"].at("reasons")) == R"([{"reason":"mark","status":"failed","fixed_by":"P10"}])");
  BOOST_TEST(json::serialize(by_id["P12"].at("recovered_by")) == R"({"reason":"next deployment","deployment":"P13"})");
  BOOST_TEST(by_id["P12"].at("recovery_seconds") == 3 * 86400);
  const auto rework = f.explain(query + "&model=dora&metric=deployment_rework_rate");
  const auto& first = rework.at("records").as_array()[0];
  BOOST_TEST(json::serialize(first.at("reasons")) == R"([{"reason":"during incident","incident":"I0"}])");
  // Each team's share, worked out by hand: its deployments, what they shipped and caused.
  for (const auto& [team, share] : expected.at("teams").as_object()) {
    BOOST_TEST_CONTEXT("team " << team) {
      const std::string tq = query + "&team=" + std::string(team);
      const auto tp = f.metrics(tq).at("overall");
      BOOST_TEST(tp.at("deployment_frequency").at("deployments") == share.at("deployments"));
      BOOST_TEST(tp.at("change_failure_rate").at("failed_deployments") == share.at("pulse_failed"));
      BOOST_TEST(tp.at("time_to_recover").at("incidents") == share.at("incidents"));
      BOOST_TEST(tp.at("time_to_recover").at("median_seconds") == share.at("time_to_recover_median_seconds"));
      BOOST_TEST(tp.at("lead_time").at("changes") == share.at("lead_time_changes"));
      BOOST_TEST(tp.at("lead_time").at("median_seconds") == share.at("lead_time_median_seconds"));
      const auto td = f.metrics(tq + "&model=dora").at("overall");
      BOOST_TEST(td.at("change_failure_rate").at("failed_deployments") == share.at("dora_failed"));
      BOOST_TEST(td.at("failed_deployment_recovery_time").at("median_seconds") ==
                 share.at("failed_recovery_median_seconds"));
      BOOST_TEST(td.at("deployment_rework_rate").at("rework_deployments") == share.at("rework_deployments"));
    }
  }
  // Staging's deployment and incident are its own.
  const auto staging = f.metrics(query + "&model=dora&environment=staging");
  BOOST_TEST(staging.at("overall").at("deployment_frequency").at("deployments") == 1);
  BOOST_TEST(staging.at("overall").at("change_failure_rate").at("failed_deployments") == 1);
  BOOST_TEST(staging.at("overall").at("deployment_rework_rate").at("rework_deployments") == 0);
}

BOOST_AUTO_TEST_SUITE(dora_model)

BOOST_FIXTURE_TEST_CASE(the_reference_set_in_the_dora_model, StoreFixture) {
  load_reference();
  const auto expected = load("expected-dora.json").as_object();
  const auto got = metrics("from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=week&model=dora");
  check_dora(got.at("overall").as_object(), expected.at("overall").as_object(), "overall");
  const auto& systems = got.at("systems").as_array();
  BOOST_TEST_REQUIRE(systems.size() == expected.at("systems").as_object().size());
  for (const auto& sys : systems) {
    const std::string name(sys.at("system").as_string());
    check_dora(sys.as_object(), expected.at("systems").at(name).as_object(), name);
  }
  check_series_adds_up(got);
  // And the Pulse model's figures of the same set are what they were.
  check_reference(*this);
}

BOOST_FIXTURE_TEST_CASE(rollbacks_reverts_marks_and_rework_as_worked_by_hand, StoreFixture) {
  load_dora_set(*this, false);
  check_dora_set(*this);
}

BOOST_FIXTURE_TEST_CASE(the_same_figures_whatever_the_arrival_order, StoreFixture) {
  load_dora_set(*this, true);
  check_dora_set(*this);
}

BOOST_FIXTURE_TEST_CASE(a_mark_can_come_later_and_changes_nothing_else, StoreFixture) {
  const std::string d = R"({"source":"git","deploy_id":"D1","time_created":"2026-05-04T10:00:00Z","changes":["a"],)"
                        R"("teams":[],"head_commit":"a","environment":"production")";
  post("s", d + R"(,"$type":"deployment"})");
  auto failed = [&] {
    return metrics("from=2026-05-01&to=2026-05-31&model=dora")
        .at("overall")
        .at("change_failure_rate")
        .at("failed_deployments")
        .as_int64();
  };
  BOOST_TEST(failed() == 0);
  ServerRequest r;
  r.method = "POST";
  r.headers.push_back({"Content-Type", "application/json"});
  r.target = "/v1/ingestion/cli?system=s";
  r.body = d + R"(,"status":"failed","$type":"deployment"})";
  BOOST_TEST(api.handle(r).status == 200);
  BOOST_TEST(failed() == 1);
  EventQuery q;
  q.type = "deployment";
  BOOST_TEST(store->list(q).size() == 1u);  // marked, not duplicated
  BOOST_TEST(store->list(q)[0].changes == std::vector<std::string>{"a"});
  r.body = d + R"(,"status":"broken","$type":"deployment"})";
  const auto bad = api.handle(r);
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("status") != std::string::npos, bad.body);
}

// Each figure's count is its list's length, in both models, page by page.
BOOST_FIXTURE_TEST_CASE(every_figure_is_explained_by_its_records, StoreFixture) {
  load_reference();
  load_dora_set(*this, false);
  for (const std::string window : {"from=2026-01-01&to=2026-03-01", "from=2026-05-01&to=2026-06-01"})
    for (const std::string model : {"pulse", "dora"}) {
      BOOST_TEST_CONTEXT(window << " " << model) {
        const auto m = metrics(window + "&model=" + model).at("overall");
        auto count = [&](const std::string& metric) {
          std::int64_t seen = 0;
          std::optional<std::int64_t> cursor = 0;
          json::object page;
          while (cursor) {  // pages of 2
            page = explain(window + "&model=" + model + "&metric=" + metric +
                           "&limit=2&cursor=" + std::to_string(*cursor));
            seen += static_cast<std::int64_t>(page.at("records").as_array().size());
            BOOST_TEST(page.at("records").as_array().size() <= 2u);
            cursor =
                page.at("next").is_null() ? std::nullopt : std::optional(page.at("next").to_number<std::int64_t>());
          }
          BOOST_TEST(seen == page.at("count").as_int64(), metric);
          return seen;
        };
        BOOST_TEST(count("deployment_frequency") == m.at("deployment_frequency").at("deployments").as_int64());
        BOOST_TEST(count("lead_time") == m.at("lead_time").at("changes").as_int64());
        BOOST_TEST(count("change_failure_rate") == m.at("change_failure_rate").at("failed_deployments").as_int64());
        const auto lead = explain(window + "&model=" + model + "&metric=lead_time");
        BOOST_TEST(lead.at("left_out_count").as_int64() ==
                   m.at("data_quality").at("non_positive_lead_times").as_int64() +
                       m.at("data_quality").at("changes_without_time").as_int64());
        if (model == "pulse") {
          BOOST_TEST(count("time_to_recover") == m.at("time_to_recover").at("incidents").as_int64());
        } else {
          const auto& fdrt = m.at("failed_deployment_recovery_time");
          BOOST_TEST(count("failed_deployment_recovery_time") ==
                     fdrt.at("recovered").as_int64() + fdrt.at("unrecovered").as_int64());
          BOOST_TEST(count("deployment_rework_rate") ==
                     m.at("deployment_rework_rate").at("rework_deployments").as_int64());
        }
      }
    }
  // A lead time names its change, its time's source and the deployment.
  const auto lead = explain("from=2026-01-01&to=2026-03-01&metric=lead_time&system=api&limit=1");
  const auto& r = lead.at("records").as_array().at(0);
  BOOST_TEST(r.at("deployment") == "A1");
  BOOST_TEST(r.at("lead_seconds").as_int64() > 0);
  // a1 was pushed (its push time counts), a2 only committed, a3 pushed before a later commit event came.
  std::map<std::string, std::string> source;
  const auto api_leads = explain("from=2026-01-01&to=2026-03-01&metric=lead_time&system=api");
  for (const auto& x : api_leads.at("records").as_array())
    source[std::string(x.at("change").as_string())] = x.at("time_source").as_string();
  BOOST_TEST(source["a1"] == "push");
  BOOST_TEST(source["a2"] == "commit");
  BOOST_TEST(source["a3"] == "push");
  BOOST_TEST(get("/v1/metrics/explain?metric=rework").status == 400);
  BOOST_TEST(get("/v1/metrics/explain?metric=deployment_rework_rate").body.find("not a figure of the pulse model") !=
             std::string::npos);
  BOOST_TEST(get("/v1/metrics/explain?metric=lead_time&limit=0").status == 400);
  BOOST_TEST(get("/v1/metrics/explain?metric=lead_time&cursor=x").status == 400);
}

// A team's figures: its deployments, the changes they shipped first and the
// incidents attributed to them, in both models and in the explanations.
BOOST_FIXTURE_TEST_CASE(a_team_filter_counts_the_teams_deployments_and_what_they_caused, StoreFixture) {
  auto deploy = [&](const char* id, const char* t, const char* change, const char* teams) {
    post("s", std::string(R"({"source":"cli","change_id":")") + change + R"(","time_created":"2026-01-0)" + t[0] +
                  R"(T00:00:00Z","event_type":"commit","$type":"change"})");
    post("s", std::string(R"({"source":"cli","deploy_id":")") + id + R"(","time_created":"2026-01-)" + t +
                  R"(T00:00:00Z","changes":[")" + change + R"("],"teams":)" + teams + R"(,"$type":"deployment"})");
  };
  deploy("D1", "10", "a", R"(["pay"])");
  deploy("D2", "12", "b", R"(["search"])");
  deploy("D3", "14", "c", R"(["pay","search"])");
  post(
      "s",
      R"({"source":"cli","incident_id":"I1","time_created":"2026-01-12T01:00:00Z","time_resolved":"2026-01-12T02:00:00Z","$type":"incident"})");
  post(
      "s",
      R"({"source":"cli","incident_id":"I2","time_created":"2026-01-14T01:00:00Z","time_resolved":"2026-01-14T03:00:00Z","$type":"incident"})");
  const std::string w = "from=2026-01-01&to=2026-01-31";
  struct Want {
    const char* team;
    int deployments, changes, incidents, failed;
  };
  for (const Want& want :
       {Want{"", 3, 3, 2, 2}, Want{"pay", 2, 2, 1, 1}, Want{"search", 2, 2, 2, 2}, Want{"none", 0, 0, 0, 0}}) {
    BOOST_TEST_CONTEXT("team " << want.team) {
      const std::string q = w + (*want.team ? std::string("&team=") + want.team : "");
      const auto pulse = metrics(q);
      BOOST_TEST(pulse.at("team") == (*want.team ? json::value(want.team) : json::value(nullptr)));
      const auto& o = pulse.at("overall");
      BOOST_TEST(o.at("deployment_frequency").at("deployments") == want.deployments);
      BOOST_TEST(o.at("lead_time").at("changes") == want.changes);
      BOOST_TEST(o.at("time_to_recover").at("incidents") == want.incidents);
      BOOST_TEST(o.at("change_failure_rate").at("failed_deployments") == want.failed);
      const auto dora = metrics(q + "&model=dora");
      BOOST_TEST(dora.at("overall").at("change_failure_rate").at("failed_deployments") == want.failed);
      BOOST_TEST(explain(q + "&metric=change_failure_rate").at("count") == want.failed);
      BOOST_TEST(explain(q + "&metric=lead_time").at("count") == want.changes);
    }
  }
  const auto pay = explain(w + "&team=pay&metric=change_failure_rate");
  BOOST_TEST(pay.at("records").at(0).at("deployment") == "D3");
  BOOST_TEST(pay.at("team") == "pay");
  BOOST_TEST(get("/v1/teams").body == R"({"teams":["pay","search"]})");
  // The events list: a team's deployments, and the incidents attributed to
  // them (I1 follows D2, search's; I2 follows D3, both teams').
  auto listed = [&](const std::string& query) {
    std::vector<std::string> ids;
    const auto page = json::parse(get("/v1/events?" + query).body);
    for (const auto& e : page.at("events").as_array()) ids.emplace_back(e.at("id").as_string());
    return ids;
  };
  using Ids = std::vector<std::string>;
  BOOST_TEST(listed("team=pay") == (Ids{"I2", "D3", "D1"}), boost::test_tools::per_element());
  BOOST_TEST(listed("team=pay&type=deployment") == (Ids{"D3", "D1"}), boost::test_tools::per_element());
  BOOST_TEST(listed("team=search&type=incident") == (Ids{"I2", "I1"}), boost::test_tools::per_element());
  BOOST_TEST(listed("team=none&type=incident").empty());
  BOOST_TEST(get("/v1/metrics?team=a%0Ab").status == 400);
}

BOOST_FIXTURE_TEST_CASE(bad_model_is_a_reason, StoreFixture) {
  const auto r = get("/v1/metrics?model=space");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("model: must be pulse or dora") != std::string::npos, r.body);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(store_rules)

BOOST_FIXTURE_TEST_CASE(a_change_counts_at_its_first_deployment_whatever_the_arrival_order, StoreFixture) {
  // The later deployment arrives first, the change last.
  post(
      "s",
      R"({"source":"cli","deploy_id":"late","time_created":"2026-01-20T00:00:00Z","changes":["x"],"teams":[],"$type":"deployment"})");
  post(
      "s",
      R"({"source":"cli","deploy_id":"early","time_created":"2026-01-10T00:00:00Z","changes":["x"],"teams":[],"$type":"deployment"})");
  post(
      "s",
      R"({"source":"cli","change_id":"x","time_created":"2026-01-09T00:00:00Z","event_type":"commit","$type":"change"})");
  const auto m = metrics("from=2026-01-01&to=2026-01-31");
  BOOST_TEST(m.at("overall").at("lead_time").at("median_seconds") == 86400);
  BOOST_TEST(m.at("overall").at("lead_time").at("changes") == 1);
  // Only the late deployment in the window: the change is not counted again.
  const auto late = metrics("from=2026-01-15&to=2026-01-31");
  BOOST_TEST(late.at("overall").at("lead_time").at("changes") == 0);
  BOOST_TEST(late.at("overall").at("lead_time").at("median_seconds").is_null());
}

BOOST_FIXTURE_TEST_CASE(push_time_wins_over_commit_time_and_the_first_push_wins, StoreFixture) {
  post(
      "s",
      R"({"source":"cli","deploy_id":"d","time_created":"2026-01-10T12:00:00Z","changes":["x"],"teams":[],"$type":"deployment"})");
  post(
      "s",
      R"({"source":"cli","change_id":"x","time_created":"2026-01-01T00:00:00Z","event_type":"commit","$type":"change"})");
  BOOST_TEST(metrics("from=2026-01-01&to=2026-01-31").at("overall").at("lead_time").at("median_seconds") ==
             9 * 86400 + 43200);
  post(
      "s",
      R"({"source":"git","change_id":"x","time_created":"2026-01-10T11:00:00Z","event_type":"push","$type":"change"})");
  post(
      "s",
      R"({"source":"git","change_id":"x","time_created":"2026-01-10T10:00:00Z","event_type":"push","$type":"change"})");
  post(
      "s",
      R"({"source":"git","change_id":"x","time_created":"2026-01-10T11:30:00Z","event_type":"push","$type":"change"})");
  BOOST_TEST(metrics("from=2026-01-01&to=2026-01-31").at("overall").at("lead_time").at("median_seconds") == 7200);
}

BOOST_FIXTURE_TEST_CASE(changes_of_another_system_do_not_match, StoreFixture) {
  post(
      "a",
      R"({"source":"cli","change_id":"x","time_created":"2026-01-09T00:00:00Z","event_type":"commit","$type":"change"})");
  post(
      "b",
      R"({"source":"cli","deploy_id":"d","time_created":"2026-01-10T00:00:00Z","changes":["x"],"teams":[],"$type":"deployment"})");
  const auto m = metrics("from=2026-01-01&to=2026-01-31");
  BOOST_TEST(m.at("overall").at("lead_time").at("changes") == 0);
  BOOST_TEST(m.at("overall").at("data_quality").at("changes_without_time") == 1);
}

BOOST_FIXTURE_TEST_CASE(concurrent_puts_share_commits_and_lose_nothing, StoreFixture) {
  // 16 callers at once, each id sent by two of them: every put returns only
  // once durable, and each event is stored exactly once.
  std::atomic<std::size_t> stored{0}, duplicates{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const auto r = store->put(
            {Change{"cli", std::to_string(t / 2) + "-" + std::to_string(i), at("2026-01-01T00:00:00Z"), "commit"}}, "s",
            0);
        stored += r.stored;
        duplicates += r.duplicates;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(stored == 320u);
  BOOST_TEST(duplicates == 320u);
  EventQuery q;
  q.limit = 10000;
  BOOST_TEST(store->list(q).size() == 320u);
}

BOOST_FIXTURE_TEST_CASE(store_reopens_with_its_data, StoreFixture) {
  load_reference();
  store.reset();
  store = open_store(database.db(), 2);
  Api again{*store, ApiConfig{{}, true, 1000, {}, {}}, [] { return at("2026-03-10T00:00:00Z"); }};
  ServerRequest r;
  r.method = "GET";
  r.target = "/v1/metrics?from=2026-01-01&to=2026-02-28";
  const auto body = json::parse(again.handle(r).body);
  BOOST_TEST(body.at("overall").at("lead_time").at("median_seconds") == 3600);
}

BOOST_AUTO_TEST_SUITE_END()

// Metrics by environment, on the real stores: production by default,
// others on request, incidents blamed within their own environment.
BOOST_AUTO_TEST_SUITE(environments)

std::string deployment(const std::string& id, const std::string& time, const std::string& changes,
                       const std::string& environment) {
  return R"({"source":"cli","deploy_id":")" + id + R"(","time_created":")" + time + R"(","changes":[)" + changes +
         R"(],"teams":[])" + (environment.empty() ? "" : R"(,"environment":")" + environment + "\"") +
         R"(,"$type":"deployment"})";
}
std::string incident(const std::string& id, const std::string& created, const std::string& resolved,
                     const std::string& environment) {
  return R"({"source":"cli","incident_id":")" + id + R"(","time_created":")" + created + R"(","time_resolved":")" +
         resolved + "\"" + (environment.empty() ? "" : R"(,"environment":")" + environment + "\"") +
         R"(,"$type":"incident"})";
}
std::string commit(const std::string& id, const std::string& time) {
  return R"({"source":"cli","change_id":")" + id + R"(","time_created":")" + time +
         R"(","event_type":"commit","$type":"change"})";
}

// One pipeline: staging on the 10th, production on the 12th, both shipping
// c1 (committed on the 9th); an incident in each environment afterwards.
void pipeline(StoreFixture& f) {
  f.post("web", commit("c1", "2026-01-09T00:00:00Z"));
  f.post("web", deployment("9001", "2026-01-10T00:00:00Z", R"("c1")", "staging"));
  f.post("web", deployment("9001", "2026-01-12T00:00:00Z", R"("c1")", "production"));
  f.post("web", incident("i-stage", "2026-01-11T00:00:00Z", "2026-01-11T00:10:00Z", "staging"));
  f.post("web", incident("i-prod", "2026-01-13T00:00:00Z", "2026-01-13T01:00:00Z", ""));  // names none: production
}

BOOST_FIXTURE_TEST_CASE(production_by_default_others_when_asked, StoreFixture) {
  pipeline(*this);
  const auto prod = metrics("from=2026-01-01&to=2026-01-31");
  BOOST_TEST(prod.at("environments") == json::parse(R"(["production","prod","live"])"));
  const auto& o = prod.at("overall");
  BOOST_TEST(o.at("deployment_frequency").at("deployments") == 1);
  BOOST_TEST(o.at("lead_time").at("median_seconds") == 3 * 86400);  // to production, not to staging
  BOOST_TEST(o.at("time_to_recover").at("incidents") == 1);
  BOOST_TEST(o.at("time_to_recover").at("median_seconds") == 3600);
  BOOST_TEST(o.at("change_failure_rate").at("failed_deployments") == 1);

  const auto staging = metrics("from=2026-01-01&to=2026-01-31&environment=staging");
  BOOST_TEST(staging.at("environments") == json::parse(R"(["staging"])"));
  BOOST_TEST(staging.at("overall").at("deployment_frequency").at("deployments") == 1);
  BOOST_TEST(staging.at("overall").at("lead_time").at("median_seconds") == 86400);
  BOOST_TEST(staging.at("overall").at("time_to_recover").at("median_seconds") == 600);
  BOOST_TEST(staging.at("overall").at("change_failure_rate").at("failed_deployments") == 1);

  // Both: a change counts once, at its first deployment to either; each
  // incident is blamed on its own environment's deployment.
  const auto both = metrics("from=2026-01-01&to=2026-01-31&environment=staging,%20production");
  BOOST_TEST(both.at("environments") == json::parse(R"(["staging","production"])"));
  BOOST_TEST(both.at("overall").at("deployment_frequency").at("deployments") == 2);
  BOOST_TEST(both.at("overall").at("lead_time").at("changes") == 1);
  BOOST_TEST(both.at("overall").at("lead_time").at("median_seconds") == 86400);
  BOOST_TEST(both.at("overall").at("time_to_recover").at("incidents") == 2);
  BOOST_TEST(both.at("overall").at("change_failure_rate").at("failed_deployments") == 2);

  const auto none = metrics("from=2026-01-01&to=2026-01-31&environment=qa");
  BOOST_TEST(none.at("overall").at("deployment_frequency").at("deployments") == 0);
  BOOST_TEST(none.at("overall").at("change_failure_rate").at("rate").is_null());
}

// The Prometheus exporter reads the facts once for every environment and
// splits them; each environment's figures equal those of a query for that
// environment alone (a change shipped to staging, then production, counts
// in each), on both stores.
BOOST_FIXTURE_TEST_CASE(the_exporter_s_one_pass_equals_each_environment_alone, StoreFixture) {
  pipeline(*this);
  const char* envs[] = {"staging", "production", "qa", "eu-prod"};
  for (int k = 0; k < 40; ++k) {
    const std::string system = "svc" + std::to_string(k % 7), day = std::to_string(10 + k % 18);
    const std::string c = "k" + std::to_string(k);
    post(system, commit(c, "2026-02-" + day + "T00:00:00Z"));
    for (int e = 0; e <= k % 4; ++e)  // the same change, on to further environments
      post(system, deployment("d" + std::to_string(k) + envs[e],
                              "2026-02-" + day + "T0" + std::to_string(e + 1) + ":00:00Z", "\"" + c + "\"", envs[e]));
    if (k % 3 == 0)
      post(system, incident("i" + std::to_string(k), "2026-02-" + day + "T06:00:00Z", "2026-02-" + day + "T07:30:00Z",
                            envs[k % 4]));
  }
  const Window window{at("2025-12-10T00:00:00Z"), at("2026-03-10T00:00:00Z")};
  const auto one_pass = Exporter::reports_per_environment(*store, window);
  std::vector<MetricsReport> each;
  const auto names = Exporter::environment_names(*store);
  BOOST_TEST(names.size() == 4u);
  for (const auto& name : names) {
    const Scope scope{std::nullopt, {name}};
    each.push_back(compute_metrics(store->metric_facts(window, scope), window, Bucket::month, scope));
  }
  const auto got = Exporter::dora_exposition(one_pass, 1), want = Exporter::dora_exposition(each, 1);
  BOOST_TEST(got == want);
  // Not vacuous: production's lead times come from the changes staging had first.
  BOOST_TEST(want.find("pulse_dora_lead_time_median_seconds{system=\"svc1\",environment=\"staging\"}") !=
             std::string::npos);
  BOOST_TEST(want.find("pulse_dora_lead_time_median_seconds{system=\"svc1\",environment=\"production\"}") !=
             std::string::npos);
  BOOST_TEST(want.find("pulse_dora_incidents{system=\"svc3\",environment=\"qa\"}") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_production_incident_is_not_blamed_on_a_later_staging_deployment, StoreFixture) {
  post("web", deployment("p1", "2026-01-10T00:00:00Z", "", "production"));
  post("web", deployment("s1", "2026-01-11T00:00:00Z", "", "staging"));
  post("web", incident("i", "2026-01-12T00:00:00Z", "2026-01-12T00:30:00Z", "production"));
  const auto both = metrics("from=2026-01-01&to=2026-01-31&environment=production,staging");
  BOOST_TEST(both.at("overall").at("change_failure_rate").at("failed_deployments") == 1);
  BOOST_TEST(both.at("overall").at("data_quality").at("incidents_without_deployment") == 0);
  // Staging alone: no incident there.
  const auto staging = metrics("from=2026-01-01&to=2026-01-31&environment=staging");
  BOOST_TEST(staging.at("overall").at("change_failure_rate").at("failed_deployments") == 0);
  BOOST_TEST(staging.at("overall").at("time_to_recover").at("incidents") == 0);
  // An incident in an environment with no deployment is nobody's.
  post("web", incident("j", "2026-01-13T00:00:00Z", "2026-01-13T00:30:00Z", "qa"));
  const auto qa = metrics("from=2026-01-01&to=2026-01-31&environment=qa");
  BOOST_TEST(qa.at("overall").at("data_quality").at("incidents_without_deployment") == 1);
}

BOOST_FIXTURE_TEST_CASE(the_default_set_counts_prod_and_live_and_a_change_once, StoreFixture) {
  post("web", commit("c1", "2026-01-09T00:00:00Z"));
  post("web", commit("c2", "2026-01-09T00:00:00Z"));
  // c1 reaches prod and live at the same second, c2 live then prod.
  post("web", deployment("a", "2026-01-10T00:00:00Z", R"("c1")", "prod"));
  post("web", deployment("b", "2026-01-10T00:00:00Z", R"("c1","c2")", "live"));
  post("web", deployment("c", "2026-01-11T00:00:00Z", R"("c2")", "prod"));
  post("web", deployment("d", "2026-01-10T00:00:00Z", R"("c2")", "qa"));
  const auto m = metrics("from=2026-01-01&to=2026-01-31");
  BOOST_TEST(m.at("overall").at("deployment_frequency").at("deployments") == 3);
  BOOST_TEST(m.at("overall").at("lead_time").at("changes") == 2);
  BOOST_TEST(m.at("overall").at("lead_time").at("median_seconds") == 86400);
  // A window holding only the later prod deployment counts no change: both
  // were first deployed (to live) before it.
  const auto later = metrics("from=2026-01-11&to=2026-01-31");
  BOOST_TEST(later.at("overall").at("deployment_frequency").at("deployments") == 1);
  BOOST_TEST(later.at("overall").at("lead_time").at("changes") == 0);
  // prod alone: c2 first reached it on the 11th.
  const auto prod = metrics("from=2026-01-11&to=2026-01-31&environment=prod");
  BOOST_TEST(prod.at("overall").at("lead_time").at("changes") == 1);
  BOOST_TEST(prod.at("overall").at("lead_time").at("median_seconds") == 2 * 86400);
}

BOOST_FIXTURE_TEST_CASE(a_change_time_arriving_after_its_deployments_counts, StoreFixture) {
  post("web", deployment("s", "2026-01-10T00:00:00Z", R"("late")", "staging"));
  post("web", deployment("p", "2026-01-12T00:00:00Z", R"("late")", ""));
  BOOST_TEST(metrics("from=2026-01-01&to=2026-01-31").at("overall").at("data_quality").at("changes_without_time") == 1);
  post("web", commit("late", "2026-01-09T00:00:00Z"));  // backfilled afterwards
  BOOST_TEST(metrics("from=2026-01-01&to=2026-01-31").at("overall").at("lead_time").at("median_seconds") == 3 * 86400);
  BOOST_TEST(
      metrics("from=2026-01-01&to=2026-01-31&environment=staging").at("overall").at("lead_time").at("median_seconds") ==
      86400);
  // A push time, later, wins over the commit time in every environment.
  post(
      "web",
      R"({"source":"git","change_id":"late","time_created":"2026-01-09T12:00:00Z","event_type":"push","$type":"change"})");
  BOOST_TEST(metrics("from=2026-01-01&to=2026-01-31").at("overall").at("lead_time").at("median_seconds") ==
             2 * 86400 + 43200);
  BOOST_TEST(
      metrics("from=2026-01-01&to=2026-01-31&environment=staging").at("overall").at("lead_time").at("median_seconds") ==
      43200);
}

BOOST_FIXTURE_TEST_CASE(environment_parameter_is_checked_and_environments_are_listed, StoreFixture) {
  pipeline(*this);
  for (const char* bad : {"environment=,", "environment=prod,,live", "environment=%01"}) {
    const auto r = get(std::string("/v1/metrics?") + bad);
    BOOST_TEST(r.status == 400, bad);
    BOOST_TEST(r.body.find("environment") != std::string::npos, r.body);
  }
  std::string many = "environment=e0";
  for (int i = 1; i <= 32; ++i) many += ",e" + std::to_string(i);
  BOOST_TEST(get("/v1/metrics?" + many).status == 400);
  // Empty: the default set.
  BOOST_TEST(metrics("environment=").at("environments").as_array().size() == 3u);
  const auto r = get("/v1/environments");
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  BOOST_TEST(json::parse(r.body) ==
             json::parse(R"({"production":["production","prod","live"],"environments":[)"
                         R"({"system":"web","environment":"production"},{"system":"web","environment":"staging"}]})"));
  BOOST_TEST(get("/v1/events?type=incident").body.find(R"("environment":"staging")") != std::string::npos);
  // Listings filter by environment and by a window's end too.
  auto count = [&](const std::string& q) {
    const auto listed = get("/v1/events?" + q);
    BOOST_TEST_REQUIRE(listed.status == 200, listed.body);
    return json::parse(listed.body).at("count").as_int64();
  };
  BOOST_TEST(count("type=deployment&environment=staging") == 1);
  BOOST_TEST(count("environment=staging,production") == 4);  // changes have none
  BOOST_TEST(count("environment=production,prod,live") == 2);
  BOOST_TEST(count("until=2026-01-12T00:00:00Z") == 3);  // c1, staging's deployment and incident
  BOOST_TEST(count("since=2026-01-11T00:00:00Z&until=2026-01-13T00:00:00Z") == 2);
  BOOST_TEST(get("/v1/events?until=tomorrow").status == 400);
  // A deployment's CI run: a web address, or refused.
  post("web", R"({"source":"cli","deploy_id":"r","time_created":"2026-01-14T00:00:00Z","changes":[],"teams":[],)"
              R"("run_url":"https://ci.example/runs/7","$type":"deployment"})");
  BOOST_TEST(get("/v1/events?type=deployment&limit=1").body.find(R"("run_url":"https://ci.example/runs/7")") !=
             std::string::npos);
  ServerRequest bad;
  bad.method = "POST";
  bad.headers.push_back({"Content-Type", "application/json"});
  bad.target = "/v1/ingestion/cli?system=web";
  bad.body = R"({"source":"cli","deploy_id":"x","time_created":"2026-01-14T00:00:00Z","changes":[],"teams":[],)"
             R"x("run_url":"javascript:alert(1)","$type":"deployment"})x";
  const auto refused = api.handle(bad);
  BOOST_TEST(refused.status == 400);
  BOOST_TEST(refused.body.find("run_url") != std::string::npos, refused.body);
  BOOST_TEST(get("/v1/events?environment=a,,b").status == 400);
}

BOOST_AUTO_TEST_CASE(the_production_set_is_the_collectors) {
  test::TestDatabase database;
  auto store = open_store(database.db(), 2);
  ApiConfig config{{}, true, 1000, {}, {}};
  config.production_environments = {"live"};
  Api api{*store, config, [] { return at("2026-03-10T00:00:00Z"); }};
  ServerRequest post;
  post.method = "POST";
  post.headers.push_back({"Content-Type", "application/json"});
  post.target = "/v1/ingestion/cli?system=web";
  for (const char* env : {"live", "production"}) {
    post.body = deployment(std::string("d-") + env, "2026-01-10T00:00:00Z", "", env);
    BOOST_TEST_REQUIRE(api.handle(post).status == 200);
  }
  ServerRequest get;
  get.method = "GET";
  get.target = "/v1/metrics?from=2026-01-01&to=2026-01-31";
  const auto m = json::parse(api.handle(get).body);
  BOOST_TEST(m.at("environments") == json::parse(R"(["live"])"));
  BOOST_TEST(m.at("overall").at("deployment_frequency").at("deployments") == 1);
}

BOOST_AUTO_TEST_CASE(environment_lists) {
  std::string why;
  BOOST_TEST(*parse_environment_list(" production , prod,production", why) ==
             (std::vector<std::string>{"production", "prod"}));
  BOOST_TEST(!parse_environment_list("", why));
  BOOST_TEST(!parse_environment_list("a,", why));
  BOOST_TEST(why.find("empty") != std::string::npos, why);
  BOOST_TEST(!parse_environment_list("a\tb", why));
  BOOST_TEST(default_production_environments() == (std::vector<std::string>{"production", "prod", "live"}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rules)

BOOST_AUTO_TEST_CASE(lead_time_median_even_and_odd_and_non_positive_left_out) {
  Facts f;
  f.deploy("2026-01-10T00:00:00Z")
      .ship("2026-01-10T00:00:00Z", at("2026-01-09T23:00:00Z"))  // 3600
      .ship("2026-01-10T00:00:00Z", at("2026-01-09T22:00:00Z"))  // 7200
      .ship("2026-01-10T00:00:00Z", at("2026-01-10T00:00:00Z"))  // 0: left out
      .ship("2026-01-10T00:00:00Z", at("2026-01-10T00:00:05Z"))  // -5: left out
      .ship("2026-01-10T00:00:00Z", kUnknownTime);               // no time
  auto o = f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  BOOST_TEST(*o.lead_time_median == 5400);  // (3600 + 7200) / 2
  BOOST_TEST(o.lead_time_changes == 2u);
  BOOST_TEST(o.non_positive_lead_times == 2u);
  BOOST_TEST(o.changes_without_time == 1u);
  BOOST_TEST(level_name(*o.lead_time_level) == "high");
  f.ship("2026-01-10T00:00:00Z", at("2026-01-09T23:59:59Z"));  // 1
  o = f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  BOOST_TEST(*o.lead_time_median == 3600);
  // Even count with an odd sum: rounded down.
  f.ship("2026-01-10T00:00:00Z", at("2026-01-09T23:59:58Z"));  // 2
  o = f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  BOOST_TEST(*o.lead_time_median == 1801);  // (2 + 3600) / 2
}

BOOST_AUTO_TEST_CASE(lead_time_levels_at_their_boundaries) {
  auto level = [](std::int64_t lead) {
    Facts f;
    f.deploy("2026-06-01T00:00:00Z").ship("2026-06-01T00:00:00Z", at("2026-06-01T00:00:00Z") - lead);
    return std::string(level_name(*f.overall("2026-05-01T00:00:00Z", "2026-07-01T00:00:00Z").lead_time_level));
  };
  BOOST_TEST(level(3599) == "elite");
  BOOST_TEST(level(3600) == "high");
  BOOST_TEST(level(7 * 86400 - 1) == "high");
  BOOST_TEST(level(7 * 86400) == "medium");
  BOOST_TEST(level(183 * 86400 - 1) == "medium");
  BOOST_TEST(level(183 * 86400) == "low");
}

BOOST_AUTO_TEST_CASE(recovery_median_mean_and_levels) {
  auto figures = [](std::vector<std::int64_t> durations) {
    Facts f;
    for (auto d : durations) f.incident("2026-01-10T00:00:00Z", d);
    return f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  };
  auto o = figures({60, 120, 3600});
  BOOST_TEST(*o.recovery_median == 120);
  BOOST_TEST(*o.recovery_mean == 1260);
  BOOST_TEST(level_name(*o.recovery_level) == "elite");
  BOOST_TEST(o.incidents_without_deployment == 3u);
  BOOST_TEST(!o.change_failure_rate);  // no deployments: no data
  BOOST_TEST(level_name(*figures({3600}).recovery_level) == "high");
  BOOST_TEST(level_name(*figures({86399}).recovery_level) == "high");
  BOOST_TEST(level_name(*figures({86400}).recovery_level) == "medium");
  BOOST_TEST(level_name(*figures({7 * 86400}).recovery_level) == "low");
  BOOST_TEST(*figures({1, 2}).recovery_mean == 1);  // rounded down
}

BOOST_AUTO_TEST_CASE(incident_belongs_to_the_last_deployment_strictly_before_it_in_its_system) {
  Facts f;
  f.deploy("2026-01-10T00:00:00Z", "a")
      .deploy("2026-01-12T00:00:00Z", "a")
      .deploy("2026-01-11T00:00:00Z", "b")
      .incident("2026-01-12T00:00:00Z", 60, "a")   // same second as a's second: belongs to a's first
      .incident("2026-01-11T12:00:00Z", 60, "a");  // a's first again (b's deployment is another system)
  auto r = compute_metrics(f.f, {at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z")}, Bucket::week, kProduction);
  BOOST_TEST(r.overall.failed_deployments == 1u);
  BOOST_TEST(r.overall.deployments == 3u);
  BOOST_TEST(r.systems.size() == 2u);
  BOOST_TEST(r.systems[0].second.failed_deployments == 1u);  // a
  BOOST_TEST(r.systems[1].second.failed_deployments == 0u);  // b
}

BOOST_AUTO_TEST_CASE(incident_after_the_window_end_is_not_looked_at) {
  Facts f;
  f.deploy("2026-01-30T00:00:00Z").incident("2026-02-01T00:00:00Z", 60);
  auto o = f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  BOOST_TEST(o.failed_deployments == 0u);
  BOOST_TEST(o.incidents == 0u);
  BOOST_TEST(*o.change_failure_rate == 0.0);
}

BOOST_AUTO_TEST_CASE(incident_after_a_deployment_before_the_window) {
  Facts f;
  f.deploy("2025-12-20T00:00:00Z").deploy("2026-01-20T00:00:00Z").incident("2026-01-05T00:00:00Z", 60);
  auto o = f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
  BOOST_TEST(o.deployments == 1u);
  BOOST_TEST(o.failed_deployments == 0u);            // the failed one is outside the window
  BOOST_TEST(o.incidents_without_deployment == 0u);  // but it had one
  BOOST_TEST(o.incidents == 1u);
}

BOOST_AUTO_TEST_CASE(change_failure_rate_levels_at_their_boundaries) {
  auto level = [](int deployments, int failed) {
    Facts f;
    for (int i = 0; i < deployments; ++i) {
      const std::int64_t t = at("2026-01-01T00:00:00Z") + i * 3600;
      f.f.deployments.push_back({f.f.system_index("s"), 0, t});
      if (i < failed) f.f.incidents.push_back({0, 0, t + 60, t + 120});
    }
    return std::string(level_name(*f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z").failure_level));
  };
  BOOST_TEST(level(20, 0) == "elite");
  BOOST_TEST(level(20, 3) == "elite");  // 15%
  BOOST_TEST(level(20, 4) == "high");   // 20%
  BOOST_TEST(level(20, 6) == "high");   // 30%
  BOOST_TEST(level(20, 7) == "low");    // 35%
}

BOOST_AUTO_TEST_CASE(deployment_frequency_levels) {
  // A 10-day window within one month and one half-year.
  auto level = [](std::vector<const char*> times, const char* from, const char* to) {
    Facts f;
    for (auto t : times) f.deploy(t);
    return std::string(level_name(*f.overall(from, to).frequency_level));
  };
  BOOST_TEST(level({"2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z", "2026-01-03T01:00:00Z", "2026-01-04T01:00:00Z",
                    "2026-01-05T01:00:00Z", "2026-01-06T01:00:00Z"},
                   "2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z") == "elite");  // 6 of 10 days
  BOOST_TEST(level({"2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z", "2026-01-02T01:00:00Z", "2026-01-03T01:00:00Z",
                    "2026-01-04T01:00:00Z", "2026-01-05T01:00:00Z"},
                   "2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z") == "high");  // 5 of 10 days: not more than half
  // Four months, deployments in three: High. In two: Medium (one half-year).
  BOOST_TEST(level({"2026-01-05T00:00:00Z", "2026-02-05T00:00:00Z", "2026-03-05T00:00:00Z"}, "2026-01-01T00:00:00Z",
                   "2026-05-01T00:00:00Z") == "high");
  BOOST_TEST(level({"2026-01-05T00:00:00Z", "2026-02-05T00:00:00Z"}, "2026-01-01T00:00:00Z", "2026-05-01T00:00:00Z") ==
             "medium");
  // A year: two half-years, deployments in one: Low.
  BOOST_TEST(level({"2026-01-05T00:00:00Z"}, "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z") == "low");
  // Days overlapping the window count whole: 12:00 to 12:00 spans two days.
  Facts f;
  f.deploy("2026-01-01T13:00:00Z");
  const auto o = f.overall("2026-01-01T12:00:00Z", "2026-01-02T12:00:00Z");
  BOOST_TEST(o.days == 2u);
  BOOST_TEST(*o.deployments_per_day == 1.0);
}

BOOST_AUTO_TEST_CASE(window_is_half_open) {
  Facts f;
  f.deploy("2026-01-01T00:00:00Z").deploy("2026-02-01T00:00:00Z");
  BOOST_TEST(f.overall("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z").deployments == 1u);
}

BOOST_AUTO_TEST_CASE(buckets_are_utc_days_iso_weeks_and_months_clipped_to_the_window) {
  const Window w{at("2026-01-01T06:00:00Z"), at("2026-03-01T00:00:00Z")};
  BOOST_TEST(bucket_count(w, Bucket::day) == 59u);
  BOOST_TEST(bucket_count(w, Bucket::week) == 9u);
  BOOST_TEST(bucket_count(w, Bucket::month) == 2u);
  Facts f;
  f.deploy("2026-01-04T23:59:59Z").deploy("2026-01-05T00:00:00Z");
  const auto r = compute_metrics(f.f, w, Bucket::week, kProduction);
  BOOST_TEST(format_rfc3339(r.series[0].start) == "2026-01-01T06:00:00Z");
  BOOST_TEST(format_rfc3339(r.series[0].end) == "2026-01-05T00:00:00Z");  // a Monday
  BOOST_TEST(r.series[0].figures.deployments == 1u);
  BOOST_TEST(r.series[1].figures.deployments == 1u);
  BOOST_TEST(!r.series[0].figures.frequency_level);
  const auto months =
      compute_metrics(f.f, {at("2024-01-15T00:00:00Z"), at("2024-03-15T00:00:00Z")}, Bucket::month, kProduction);
  BOOST_TEST_REQUIRE(months.series.size() == 3u);
  BOOST_TEST(format_rfc3339(months.series[1].start) == "2024-02-01T00:00:00Z");
  BOOST_TEST(format_rfc3339(months.series[1].end) == "2024-03-01T00:00:00Z");  // leap year
}

BOOST_AUTO_TEST_CASE(window_parsing) {
  std::string why;
  const auto now = at("2026-03-10T12:00:00Z");
  auto w = parse_window("", "", now, why);
  BOOST_TEST(w->to == now);
  BOOST_TEST(w->from == now - 90 * 86400);
  w = parse_window("2026-01-01", "2026-01-31", now, why);
  BOOST_TEST(format_rfc3339(w->to) == "2026-02-01T00:00:00Z");
  w = parse_window("2026-01-01T05:00:00+02:00", "2026-01-02T00:00:00Z", now, why);
  BOOST_TEST(format_rfc3339(w->from) == "2026-01-01T03:00:00Z");
  BOOST_TEST(!parse_window("2026-01-02", "2026-01-01T00:00:00Z", now, why));
  BOOST_TEST(why == "from: must be before to");
  BOOST_TEST(!parse_window("1/1/2026", "", now, why));
  BOOST_TEST(why.starts_with("from:"));
}

BOOST_AUTO_TEST_CASE(table_names_no_data_and_levels) {
  Facts f;
  f.deploy("2026-01-10T00:00:00Z", "api").ship("2026-01-10T00:00:00Z", at("2026-01-09T23:00:00Z"), "api");
  f.incident("2026-01-20T00:00:00Z", 7200, "batch");
  const auto text = metrics_table(
      compute_metrics(f.f, {at("2026-01-01T00:00:00Z"), at("2026-02-01T00:00:00Z")}, Bucket::week, kProduction));
  BOOST_TEST(text.find("api") != std::string::npos);
  BOOST_TEST(text.find("1h 00m high") != std::string::npos);
  BOOST_TEST(text.find("no data") != std::string::npos);
  BOOST_TEST(text.find("(all systems)") != std::string::npos);
  BOOST_TEST(human_duration(59) == "59s");
  BOOST_TEST(human_duration(90061) == "1d 01h");
}

BOOST_AUTO_TEST_SUITE_END()

// Squash and rebase merges (extension "patches"): a commit the forge made
// on the default branch takes the earliest push and author times of the
// commits with its patch-id, whichever arrives first; without a match it
// keeps its own time and the explanation says which case it was.
BOOST_AUTO_TEST_SUITE(patches)

namespace {
std::string hex(char c) { return std::string(40, c); }
std::string change(const std::string& sha, std::int64_t pushed, const std::string& extra) {
  return R"({"source":"git","change_id":")" + sha + R"(","time_created":")" + format_rfc3339(pushed) +
         R"(","event_type":"push")" + extra + R"(,"$type":"change"})";
}
std::string deployment(const std::string& id, std::int64_t at_time, const std::vector<std::string>& shas,
                       const std::string& patches) {
  std::string list;
  for (const auto& s : shas) list += (list.empty() ? "\"" : ",\"") + s + "\"";
  return R"({"source":"ci","deploy_id":")" + id + R"(","time_created":")" + format_rfc3339(at_time) +
         R"(","changes":[)" + list + R"(],"teams":[],"patches":{)" + patches + R"(},"$type":"deployment"})";
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(squash_rebase_late_and_unmatched, StoreFixture) {
  const std::int64_t t = at("2026-03-01T00:00:00Z");
  const std::string p_branch = hex('b'), p_rebased = hex('c'), p_late = hex('d'), p_none = hex('e');
  // A feature branch: two commits pushed at t and t+100 (authored at t-500);
  // its tip carries the branch's whole-diff patch-id over both.
  post("web",
       change(hex('1'), t, R"(,"author_time":")" + format_rfc3339(t - 500) + R"(","patch_id":")" + hex('f') + "\""));
  post("web", change(hex('2'), t + 100,
                     R"(,"patch_id":")" + hex('a') + R"(","branch_patch_id":")" + p_branch +
                         R"(","branch_commits":[")" + hex('1') + R"(",")" + hex('2') + "\"]"));
  // A commit later rebased onto main, pushed at t+200.
  post("web", change(hex('3'), t + 200, R"(,"patch_id":")" + p_rebased + "\""));
  // Deployed at t+1000: the squash S, the rebased copy R', a commit whose
  // push is reported later (L), one that matches nothing (N, committed t+900).
  post("web", R"({"source":"cli","change_id":")" + hex('9') + R"(","time_created":")" + format_rfc3339(t + 900) +
                  R"(","event_type":"commit","$type":"change"})");
  post("web", deployment("d1", t + 1000, {hex('5'), hex('6'), hex('7'), hex('9')},
                         "\"" + hex('5') + "\":\"" + p_branch + "\",\"" + hex('6') + "\":\"" + p_rebased + "\",\"" +
                             hex('7') + "\":\"" + p_late + "\",\"" + hex('9') + "\":\"" + p_none + "\""));
  // L's source arrives after the deployment: L follows.
  post("web", change(hex('4'), t + 300, R"(,"patch_id":")" + p_late + "\""));

  const auto ex = explain("system=web&from=2026-02-01&to=2026-03-05&metric=lead_time&limit=100");
  std::map<std::string, json::object> by_change;
  for (const auto& r : ex.at("records").as_array()) by_change[std::string(r.at("change").as_string())] = r.as_object();
  BOOST_TEST_REQUIRE(by_change.size() == 4u, json::serialize(ex).substr(0, 2000));
  auto lead_of = [&](char c) { return by_change.at(hex(c)).at("lead_seconds").to_number<std::int64_t>(); };
  BOOST_TEST(lead_of('5') == 1000);  // from the branch's first push (t), not the merge
  BOOST_TEST(by_change.at(hex('5')).at("matched").as_string().starts_with("squash"));
  BOOST_TEST(lead_of('6') == 800);  // from the rebased commit's push (t+200)
  BOOST_TEST(by_change.at(hex('6')).at("matched").as_string().starts_with("rebase"));
  BOOST_TEST(lead_of('7') == 700);  // from t+300, reported after the deployment
  BOOST_TEST(lead_of('9') == 100);  // no match: its own commit time
  BOOST_TEST(!by_change.at(hex('9')).contains("matched"));
  BOOST_TEST(by_change.at(hex('9')).at("time_source").as_string() == "commit");
  // A redelivered deployment or push changes nothing.
  post("web", change(hex('4'), t + 300, R"(,"patch_id":")" + p_late + "\""));
  const auto again = explain("system=web&from=2026-02-01&to=2026-03-05&metric=lead_time&limit=100");
  BOOST_TEST(json::serialize(again.at("records")) == json::serialize(ex.at("records")));
}

// Where lead time goes: the deploy step's merge times beside the hook's push
// and author times give each change its coding, review and deploy phases;
// medians in /v1/metrics, each change's in the explanation; a merge time
// reported after the deployment counts too.
BOOST_FIXTURE_TEST_CASE(phases_from_author_push_merge_and_deploy_times, StoreFixture) {
  const std::int64_t t = at("2026-03-01T00:00:00Z");
  auto commit = [&](const std::string& sha, std::int64_t committed, const std::string& extra) {
    post("web", R"({"source":"git","change_id":")" + sha + R"(","time_created":")" + format_rfc3339(committed) +
                    R"(","event_type":"commit")" + extra + R"(,"$type":"change"})");
  };
  auto time = [](const char* field, std::int64_t v) {
    return std::string(",\"") + field + "\":\"" + format_rfc3339(v) + "\"";
  };
  // A branch of two commits (authored t-3600, pushed t and t+100), squashed
  // by the forge as S (authored t+4000, merged t+5000).
  post("web", change(hex('1'), t, time("author_time", t - 3600)));
  post("web", change(hex('2'), t + 100,
                     R"(,"branch_patch_id":")" + hex('b') + R"(","branch_commits":[")" + hex('1') + R"(",")" +
                         hex('2') + "\"]"));
  commit(hex('5'), t + 5000, time("author_time", t + 4000) + time("merged_time", t + 5000));
  // D: pushed straight to main at t+6000 (authored t+5500), its commit time t+5400 is its merge time.
  post("web", change(hex('6'), t + 6000, time("author_time", t + 5500)));
  commit(hex('6'), t + 5400, time("author_time", t + 5500) + time("merged_time", t + 5400));
  // M: never pushed through a hook, merged by a merge commit at t+7000.
  commit(hex('7'), t + 2000, time("merged_time", t + 7000));
  // E: its merge time arrives after the deployment.
  commit(hex('8'), t + 1000, "");
  post("web", deployment("d1", t + 10000, {hex('5'), hex('6'), hex('7'), hex('8')},
                         "\"" + hex('5') + "\":\"" + hex('b') + "\""));
  commit(hex('8'), t + 1000, time("merged_time", t + 9000));

  const auto m = metrics("system=web&from=2026-02-01&to=2026-03-05");
  const auto& lt = m.at("overall").at("lead_time").as_object();
  BOOST_TEST(lt.at("changes").to_number<std::int64_t>() == 4);
  const auto& phases = lt.at("phases").as_object();
  BOOST_TEST(phases.at("coding").to_number<std::int64_t>() == (3600 + 500) / 2);   // S, D
  BOOST_TEST(phases.at("review").to_number<std::int64_t>() == (5000 + 0) / 2);     // S; D merged before its push
  BOOST_TEST(phases.at("deploy").to_number<std::int64_t>() == (3000 + 4000) / 2);  // 1000, 3000, 4000, 5000

  const auto ex = explain("system=web&from=2026-02-01&to=2026-03-05&metric=lead_time&limit=100");
  std::map<std::string, json::object> by_change;
  for (const auto& r : ex.at("records").as_array()) by_change[std::string(r.at("change").as_string())] = r.as_object();
  BOOST_TEST_REQUIRE(by_change.size() == 4u, json::serialize(ex).substr(0, 2000));
  auto phase = [&](char c, const char* name) { return json::serialize(by_change.at(hex(c)).at("phases").at(name)); };
  BOOST_TEST(by_change.at(hex('5')).at("authored").as_string() == format_rfc3339(t - 3600));  // the branch's
  BOOST_TEST(by_change.at(hex('5')).at("merged").as_string() == format_rfc3339(t + 5000));
  BOOST_TEST(phase('5', "coding") == "3600");
  BOOST_TEST(phase('5', "review") == "5000");
  BOOST_TEST(phase('5', "deploy") == "5000");
  BOOST_TEST(phase('6', "review") == "0");
  BOOST_TEST(phase('6', "deploy") == "4000");  // from the push, later than the commit
  BOOST_TEST(phase('7', "coding") == "null");  // no push time: no coding or review
  BOOST_TEST(phase('7', "review") == "null");
  BOOST_TEST(phase('7', "deploy") == "3000");
  BOOST_TEST(phase('8', "deploy") == "1000");
  // The CLI's table says the same.
  const auto table = explain_table(ex);
  BOOST_TEST(table.find("(push time, squash) deployed by d1 at 2026-03-01T02:46:40Z: 2h 46m "
                        "(coding 1h 00m, review 1h 23m, deploy 1h 23m)") != std::string::npos,
             table);
  // Nothing known: every phase null.
  const auto none = metrics("system=web&from=2026-01-01&to=2026-02-01");
  BOOST_TEST(json::serialize(none.at("overall").at("lead_time").at("phases")) ==
             R"({"coding":null,"review":null,"deploy":null})");
}

BOOST_FIXTURE_TEST_CASE(malformed_patches_are_refused_naming_the_field, StoreFixture) {
  auto refused = [&](const std::string& body, const std::string& says) {
    ServerRequest r;
    r.method = "POST";
    r.headers.push_back({"Content-Type", "application/json"});
    r.target = "/v1/ingestion/cli?system=web";
    r.body = body;
    const auto res = api.handle(r);
    BOOST_TEST(res.status == 400, body);
    BOOST_TEST(res.body.find(says) != std::string::npos, res.body);
  };
  const std::int64_t t = at("2026-03-01T00:00:00Z");
  refused(change(hex('1'), t, R"(,"patch_id":"abc")"), "patch_id: not an object id");
  refused(change(hex('1'), t, R"(,"author_time":"yesterday")"), "author_time: not a valid RFC 3339 time");
  refused(change(hex('1'), t, R"(,"branch_patch_id":")" + hex('b') + "\""),
          "branch_patch_id: comes with branch_commits");
  refused(change(hex('1'), t, R"(,"branch_patch_id":")" + hex('b') + R"(","branch_commits":["HEAD"])"),
          "branch_commits[0]: not a commit id");
  refused(deployment("d", t, {hex('5')}, "\"" + hex('5') + "\":\"short\""), "patches: " + hex('5'));
  refused(R"({"source":"ci","deploy_id":"d","time_created":"2026-03-01T00:00:00Z","changes":[],"teams":[],)"
          R"("patches":[],"$type":"deployment"})",
          "patches: must be an object");
}

BOOST_AUTO_TEST_SUITE_END()
