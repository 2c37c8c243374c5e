// The dashboard in a real browser: headless Chromium (Debian's chromium)
// loads it from a collector holding the reference data set; the figures it
// shows must be the hand-worked ones. A screenshot is saved beside the test
// (dashboard-sqlite.png or dashboard-postgresql.png in the build's tests/).
#include "cli_helpers.hpp"

#include "core/net/http_client.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <regex>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

std::vector<std::string> chromium_args(const TempDir& profile) {
  // As root Chromium needs --no-sandbox; the rest keeps it off the network
  // (this machine has none) and quiet.
  return {kChromium,
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--disable-dev-shm-usage",
          "--user-data-dir=" + profile.str("profile"),
          "--window-size=1400,1700",
          "--virtual-time-budget=15000"};
}

void load_reference(const CollectorProcess& collector, const std::string& file = "events.json") {
  std::string why;
  HttpClient client(*parse_origin(collector.url(), why), ClientOptions{});
  const auto events = json::parse(read_file(fs::path(PULSE_TEST_SOURCE_DIR) / "tests/fixtures/metrics" / file));
  for (const auto& e : events.as_array()) {
    const auto r = client.send(HttpRequest{"POST",
                                           "/v1/ingestion/cli?system=" + std::string(e.at("system").as_string()),
                                           {{"Content-Type", "application/json"}},
                                           json::serialize(e.at("event"))});
    BOOST_REQUIRE(std::holds_alternative<HttpResponse>(r));
    BOOST_REQUIRE_EQUAL(std::get<HttpResponse>(r).status, 200);
  }
}

// The text inside the element with this id (no nested elements expected).
std::string text_of(const std::string& dom, const std::string& id) {
  const std::regex re("id=\"" + id + "\"[^>]*>([^<]*)<");
  std::smatch m;
  return std::regex_search(dom, m, re) ? m[1].str() : "<no element #" + id + ">";
}

std::string class_of(const std::string& dom, const std::string& id) {
  const std::regex re("id=\"" + id + "\"[^>]*class=\"([^\"]*)\"|class=\"([^\"]*)\"[^>]*id=\"" + id + "\"");
  std::smatch m;
  if (!std::regex_search(dom, m, re)) return "<no element #" + id + ">";
  return m[1].matched ? m[1].str() : m[2].str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dashboard)

BOOST_AUTO_TEST_CASE(shows_the_reference_figures_in_a_real_browser) {
  BOOST_REQUIRE_MESSAGE(fs::exists(kChromium),
                        "Chromium is not installed: apt-get install chromium (scripts/test.sh does)");
  CollectorProcess collector;
  load_reference(collector);
  // One staging deployment, with its CI run: left out of the default figures.
  std::string why;
  HttpClient client(*parse_origin(collector.url(), why), ClientOptions{});
  Deployment staged{.deploy_id = "S1",
                    .time_created = 1770000000,
                    .environment = "staging",
                    .run_url = "https://ci.example/runs/77"};  // 2026-02-02
  BOOST_REQUIRE_EQUAL(
      std::get<HttpResponse>(
          client.send(HttpRequest{
              "POST", "/v1/ingestion/cli?system=web", {{"Content-Type", "application/json"}}, encode_body(staged)}))
          .status,
      200);
  load_reference(collector, "dora-events.json");  // system shop, May 2026
  const std::string page = collector.url() + "/?from=2026-01-01&to=2026-02-28&bucket=week";

  TempDir profile;
  auto args = chromium_args(profile);
  args.push_back("--dump-dom");
  args.push_back(page);
  const auto dom = run_process(args, {}, "", std::chrono::seconds(90));
  BOOST_REQUIRE_MESSAGE(dom.exit_code == 0, "chromium failed: " << dom.err);
  const std::string& d = dom.out;
  BOOST_REQUIRE_MESSAGE(d.find("data-loaded=\"true\"") != std::string::npos, "the page did not finish loading:\n" << d);

  // The tiles: the hand-worked overall figures (tests/fixtures/metrics).
  BOOST_TEST(text_of(d, "frequency-value") == "4.07 / month");  // 8 deployments / 59 days
  BOOST_TEST(text_of(d, "frequency-detail") == "8 deployments on 7 of 59 days");
  BOOST_TEST(text_of(d, "frequency-level") == "High");
  BOOST_TEST(text_of(d, "lead-value") == "1h 00m");  // 3600 s
  BOOST_TEST(text_of(d, "lead-detail") == "median of 9 changes");
  BOOST_TEST(text_of(d, "lead-level") == "High");
  BOOST_TEST(text_of(d, "recovery-value") == "1h 30m");                               // 5400 s
  BOOST_TEST(text_of(d, "recovery-detail") == "median of 7 incidents, mean 6h 48m");  // 24514 s
  BOOST_TEST(text_of(d, "recovery-level") == "High");
  BOOST_TEST(text_of(d, "failure-value") == "37.5%");
  BOOST_TEST(text_of(d, "failure-detail") == "3 of 8 deployments followed by an incident");
  BOOST_TEST(text_of(d, "failure-level") == "Low");
  BOOST_TEST(class_of(d, "failure-level") == "level low");
  BOOST_TEST(text_of(d, "quality").find("2 changes with a lead time of zero or below") != std::string::npos);
  BOOST_TEST(text_of(d, "window") ==
             "All systems · production, prod, live · 2026-01-01 00:00:00 to 2026-03-01 00:00:00 UTC");
  BOOST_TEST(d.find("<option value=\"\">Production (production, prod, live)</option>") != std::string::npos);
  BOOST_TEST(d.find("<option value=\"staging\">staging</option>") != std::string::npos);
  BOOST_TEST(d.find("<option value=\"production,staging\">All environments</option>") != std::string::npos);
  BOOST_TEST(d.find("S1") == std::string::npos);  // not in production's recent deployments

  // The per-system table, the system filter and the events view.
  BOOST_TEST(
      d.find(
          "<td>web</td><td>2.03 / month (High)</td><td>45m 00s (Elite)</td><td>1h 15m (High)</td><td>25.0% (High)</td>") !=
      std::string::npos);
  BOOST_TEST(d.find("<td>batch</td><td>no data</td><td>no data</td><td>1d 12h (Medium)</td><td>no data</td>") !=
             std::string::npos);
  BOOST_TEST(d.find("<option value=\"api\">api</option>") != std::string::npos);
  BOOST_TEST(d.find("<td>2026-02-20 15:30:00</td><td>api</td><td>production</td><td>A4</td>") != std::string::npos);
  BOOST_TEST(d.find("<td>2026-02-10 00:00:00</td><td>batch</td><td>production</td><td>K1</td><td>1d 12h</td>") !=
             std::string::npos);
  // Five charts were drawn (Chart.js marks its canvases).
  std::size_t charts = 0;
  for (auto p = d.find("<canvas"); p != std::string::npos; p = d.find("<canvas", p + 1))
    charts += d.substr(p, d.find('>', p) - p).find("height=") != std::string::npos;
  BOOST_TEST(charts == 5u);
  BOOST_TEST(text_of(d, "lead-phases") == "");  // the reference events say nothing of phases
  // Durations charted in the unit that fits: weekly lead-time medians reach
  // 3 days, recovery medians 36 hours.
  BOOST_TEST(text_of(d, "caption-lead") == "Lead time, median (days)");
  BOOST_TEST(text_of(d, "caption-recovery") == "Time to recover, median (hours)");
  // Nothing from anywhere else.
  BOOST_TEST(!std::regex_search(d, std::regex("(src|href)=\"(https?:)?//")));

  // One system, chosen through the URL like the filter does.
  auto one = chromium_args(profile);
  one.push_back("--dump-dom");
  one.push_back(collector.url() + "/?system=web&from=2026-01-01&to=2026-02-28&bucket=month");
  const auto web = run_process(one, {}, "", std::chrono::seconds(90));
  BOOST_TEST(text_of(web.out, "lead-value") == "45m 00s");
  BOOST_TEST(text_of(web.out, "lead-level") == "Elite");
  BOOST_TEST(text_of(web.out, "failure-value") == "25.0%");
  BOOST_TEST(text_of(web.out, "caption-lead") == "Lead time, median (minutes)");  // by month: at most 1h 00m
  BOOST_TEST(web.out.find("<option value=\"web\" selected=\"\">web</option>") != std::string::npos);

  // Staging chosen: its one deployment, linked to its run; the recent
  // events follow the window (nothing of March in a February window).
  auto staging_args = chromium_args(profile);
  staging_args.push_back("--dump-dom");
  staging_args.push_back(collector.url() + "/?environment=staging&from=2026-02-01&to=2026-02-28");
  const auto staging = run_process(staging_args, {}, "", std::chrono::seconds(90));
  BOOST_TEST(text_of(staging.out, "frequency-detail") == "1 deployment on 1 of 28 days", staging.out);
  BOOST_TEST(staging.out.find("<option value=\"staging\" selected=\"\">staging</option>") != std::string::npos);
  BOOST_TEST(
      staging.out.find(R"(<td>staging</td><td><a href="https://ci.example/runs/77" rel="noopener noreferrer" )") !=
          std::string::npos,
      staging.out);
  BOOST_TEST(staging.out.find("<td>production</td>") == std::string::npos);
  // An environment with nothing in the window says where the deployments are.
  auto empty_args = chromium_args(profile);
  empty_args.push_back("--dump-dom");
  empty_args.push_back(collector.url() + "/?system=web&from=2026-02-02&to=2026-02-02");
  const auto empty = run_process(empty_args, {}, "", std::chrono::seconds(90));
  BOOST_TEST(text_of(empty.out, "frequency-detail") ==
                 "no deployments to production, prod, live in this window; 1 deployment in staging (choose it above)",
             empty.out);

  // The DORA model, with the failed deployments behind the change fail rate
  // (the hand-worked second reference set).
  auto dora_args = chromium_args(profile);
  dora_args.push_back("--dump-dom");
  dora_args.push_back(collector.url() +
                      "/?model=dora&system=shop&from=2026-05-01&to=2026-05-31&explain=change_failure_rate");
  const auto dora = run_process(dora_args, {}, "", std::chrono::seconds(90));
  BOOST_REQUIRE_MESSAGE(dora.out.find("data-loaded=\"true\"") != std::string::npos, dora.out);
  BOOST_TEST(dora.out.find("<option value=\"dora\" selected=\"\">") != std::string::npos);
  BOOST_TEST(text_of(dora.out, "recovery-title") == "Failed deployment recovery time");
  BOOST_TEST(text_of(dora.out, "recovery-value") == "2h 30m");  // 9,000 s
  BOOST_TEST(text_of(dora.out, "failure-value") == "42.9%");
  BOOST_TEST(text_of(dora.out, "failure-detail") ==
             "6 of 14 deployments failed (2 incidents, 1 rollback, 1 revert, 2 marks)");
  BOOST_TEST(text_of(dora.out, "failure-level") == "Low");
  BOOST_TEST(text_of(dora.out, "rework-value") == "35.7%");
  BOOST_TEST(text_of(dora.out, "rework-level").empty());  // no DORA bands for rework
  BOOST_TEST(text_of(dora.out, "drilldown-title") == "Failed deployments and why");
  BOOST_TEST(text_of(dora.out, "drilldown-summary") == "6 records, showing 6");
  BOOST_TEST(dora.out.find("<td>P2</td><td>rolled back by P3</td>") != std::string::npos, dora.out);
  BOOST_TEST(dora.out.find("<td>P9</td><td>marked failed, fixed by P10</td>") != std::string::npos);
  BOOST_TEST(dora.out.find("<th>Rework rate</th>") != std::string::npos);
  BOOST_TEST(text_of(dora.out, "footer").find("DORA 2023 report") != std::string::npos);
  BOOST_TEST(text_of(dora.out, "caption-recovery") == "Failed deployment recovery, median (days)");
  BOOST_TEST(text_of(dora.out, "caption-failure") == "Change fail rate (%)");

  // The team filter: a team's deployment counted, another team's not.
  Deployment teamed{.deploy_id = "T1", .time_created = 1775815200, .teams = {"pay"}};  // 2026-04-10
  BOOST_REQUIRE_EQUAL(
      std::get<HttpResponse>(
          client.send(HttpRequest{
              "POST", "/v1/ingestion/cli?system=teamed", {{"Content-Type", "application/json"}}, encode_body(teamed)}))
          .status,
      200);
  Incident after_teamed{"cli", "TI1", 1775901600, 1775905200, {}};  // 2026-04-11, attributed to T1
  BOOST_REQUIRE_EQUAL(std::get<HttpResponse>(client.send(HttpRequest{"POST",
                                                                     "/v1/ingestion/cli?system=teamed",
                                                                     {{"Content-Type", "application/json"}},
                                                                     encode_body(after_teamed)}))
                          .status,
                      200);
  for (const std::string team : {"pay", "search"}) {
    auto team_args = chromium_args(profile);
    team_args.push_back("--dump-dom");
    team_args.push_back(collector.url() + "/?system=teamed&team=" + team + "&from=2026-04-01&to=2026-04-30");
    const auto t = run_process(team_args, {}, "", std::chrono::seconds(90));
    BOOST_TEST_CONTEXT(team) {
      BOOST_TEST(t.out.find("<option value=\"pay\"" + std::string(team == "pay" ? " selected=\"\"" : "") +
                            ">pay</option>") != std::string::npos,
                 t.out);
      BOOST_TEST(text_of(t.out, "frequency-detail")
                     .starts_with(team == "pay" ? "1 deployment on 1 of 30 days" : "no deployments"),
                 t.out);
      BOOST_TEST(text_of(t.out, "window").find("team " + team) != std::string::npos);
      BOOST_TEST((t.out.find("<td>T1</td>") != std::string::npos) == (team == "pay"));   // recent deployments too
      BOOST_TEST((t.out.find("<td>TI1</td>") != std::string::npos) == (team == "pay"));  // and incidents
    }
  }

  // A phone's width, 400 CSS pixels: nothing wider than the screen. (Headless
  // Chromium's windows are at least 500 pixels wide: a 500-pixel window at
  // 125% zoom, the profile's default, lays pages out at 400.)
  TempDir phone_profile;
  fs::create_directories(phone_profile.path / "profile/Default");
  write_file(phone_profile.path / "profile/Default/Preferences",
             R"({"partition":{"default_zoom_level":{"x":)" + std::to_string(std::log(1.25) / std::log(1.2)) + "}}}");
  auto phone = chromium_args(phone_profile);
  std::replace(phone.begin(), phone.end(), std::string("--window-size=1400,1700"),
               std::string("--window-size=500,900"));
  phone.push_back("--dump-dom");
  phone.push_back(collector.url() +
                  "/?model=dora&system=shop&from=2026-05-01&to=2026-05-31&explain=deployment_rework_rate");
  const auto narrow = run_process(phone, {}, "", std::chrono::seconds(90));
  BOOST_TEST(narrow.out.find("data-loaded=\"true\"") != std::string::npos);
  BOOST_TEST(narrow.out.find("data-overflow=\"false\"") != std::string::npos, narrow.out.substr(0, 400));
  BOOST_TEST(text_of(narrow.out, "drilldown-summary") == "5 records, showing 5");

  // An empty window with older events offers the window that holds them.
  auto later = chromium_args(profile);
  later.push_back("--dump-dom");
  later.push_back(collector.url() + "/?system=shop&from=2026-07-01&to=2026-07-31");
  const auto offer = run_process(later, {}, "", std::chrono::seconds(90));
  BOOST_TEST(text_of(offer.out, "offer-text") == "Nothing in this window; the latest earlier event is from 2026-06-02.",
             offer.out);
  BOOST_TEST(text_of(offer.out, "offer-button") == "Show 2026-03-05 to 2026-06-02");
  // Dates as ISO dates whatever the browser's locale: text fields.
  BOOST_TEST(offer.out.find(R"(id="from" required="" pattern=)") != std::string::npos);

  // And a picture of it.
  const std::string shot = (fs::path(PULSE_TEST_ARTIFACT_DIR) /
                            (std::string("dashboard-") + (testing_postgres() ? "postgresql" : "sqlite") + ".png"))
                               .string();
  auto pic = chromium_args(profile);
  pic.push_back("--screenshot=" + shot);
  pic.push_back(page);
  const auto taken = run_process(pic, {}, "", std::chrono::seconds(90));
  BOOST_TEST(taken.exit_code == 0, taken.err);
  const std::string png = read_file(shot);
  BOOST_TEST(png.size() > 50'000u);  // a blank page is a few kB
  BOOST_TEST(png.substr(1, 3) == "PNG");
  BOOST_TEST_MESSAGE("screenshot: " << shot);
}

// Where lead time went: the tile names the phases' medians, the fifth
// chart draws them, and each change in the drill-down has its own.
BOOST_AUTO_TEST_CASE(lead_time_phases_on_the_tile_the_chart_and_the_drill_down) {
  BOOST_REQUIRE_MESSAGE(fs::exists(kChromium),
                        "Chromium is not installed: apt-get install chromium (scripts/test.sh does)");
  CollectorProcess collector;
  std::string why;
  HttpClient client(*parse_origin(collector.url(), why), ClientOptions{});
  auto post = [&](const Event& e) {
    const auto r = client.send(
        HttpRequest{"POST", "/v1/ingestion/cli?system=app", {{"Content-Type", "application/json"}}, encode_body(e)});
    BOOST_REQUIRE(std::holds_alternative<HttpResponse>(r));
    BOOST_REQUIRE_EQUAL(std::get<HttpResponse>(r).status, 200);
  };
  const std::int64_t t = *parse_rfc3339("2026-04-01T10:00:00Z");
  const std::string sha(40, 'c');
  // Authored 2 h before its first push, merged 1 h after it, deployed 30 min later.
  post(Change{.source = "git", .change_id = sha, .time_created = t, .event_type = "push", .author_time = t - 7200});
  post(Change{.source = "git", .change_id = sha, .time_created = t + 3600, .merged_time = t + 3600});
  post(Deployment{.source = "git", .deploy_id = "D1", .time_created = t + 5400, .changes = {sha}});

  TempDir profile;
  auto args = chromium_args(profile);
  args.push_back("--dump-dom");
  args.push_back(collector.url() + "/?system=app&from=2026-03-25&to=2026-04-05&bucket=day&explain=lead_time");
  const auto dom = run_process(args, {}, "", std::chrono::seconds(90));
  BOOST_REQUIRE_MESSAGE(dom.exit_code == 0, "chromium failed: " << dom.err);
  const std::string& d = dom.out;
  BOOST_REQUIRE_MESSAGE(d.find("data-loaded=\"true\"") != std::string::npos, "the page did not finish loading:\n" << d);
  BOOST_TEST(text_of(d, "lead-value") == "1h 30m");
  BOOST_TEST(text_of(d, "lead-phases") == "coding 2h 00m · review 1h 00m · deploy 30m 00s");
  BOOST_TEST(text_of(d, "caption-phases") == "Lead time phases, median (minutes)");
  const auto canvas = d.find("id=\"chart-phases\"");
  BOOST_TEST_REQUIRE(canvas != std::string::npos);
  BOOST_TEST(d.substr(d.rfind("<canvas", canvas), d.find('>', canvas) - d.rfind("<canvas", canvas)).find("height=") !=
             std::string::npos);  // drawn
  BOOST_TEST(d.find("lead time 1h 30m (coding 2h 00m, review 1h 00m, deploy 30m 00s)") != std::string::npos,
             d.substr(d.find("drilldown"), 1500));
}

BOOST_AUTO_TEST_CASE(assets_are_served_with_a_strict_policy) {
  CollectorProcess collector;
  std::string why;
  HttpClient client(*parse_origin(collector.url(), why), ClientOptions{});
  for (const char* path : {"/", "/assets/dashboard.js", "/assets/dashboard.css", "/assets/chart.min.js"}) {
    BOOST_TEST_CONTEXT(path) {
      const auto r = std::get<HttpResponse>(client.send(HttpRequest{"GET", path, {}, ""}));
      BOOST_TEST(r.status == 200);
      BOOST_TEST(find_header(r.headers, "Content-Security-Policy").value_or("").starts_with("default-src 'self'"));
      BOOST_TEST(find_header(r.headers, "X-Content-Type-Options").value_or("") == "nosniff");
      BOOST_TEST(r.body.size() > 1000u);
    }
  }
  const auto chart = std::get<HttpResponse>(client.send(HttpRequest{"GET", "/assets/chart.min.js", {}, ""}));
  BOOST_TEST(chart.body == read_file("/usr/share/javascript/chart.js/chart.min.js"));  // Debian's, byte for byte
  BOOST_TEST(std::get<HttpResponse>(client.send(HttpRequest{"GET", "/assets/other.js", {}, ""})).status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
