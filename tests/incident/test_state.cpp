// Incident state transitions, one notification at a time: firing opens,
// resolved closes, repeats and stale notifications change nothing, a newer
// episode closes an open one, a resolved notification alone is complete,
// filtered alerts only close, and a delivery id is applied once.
#include "plugins/incident/model.hpp"
#include "plugins/incident/state.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>

using namespace pulse::incident;
namespace fs = std::filesystem;

namespace {

struct StateFixture {
  fs::path dir = fs::temp_directory_path() / ("pulse-state-" + std::to_string(std::random_device{}()));
  State state{(fs::create_directories(dir), (dir / "state.db").string())};
  ~StateFixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  static Observation firing(std::string key, std::int64_t created) {
    Observation o;
    o.key = std::move(key);
    o.created = created;
    o.system = "shop";
    return o;
  }
  static Observation resolved(std::string key, std::int64_t created, std::int64_t at) {
    auto o = firing(std::move(key), created);
    o.status = Status::resolved;
    o.resolved = at;
    return o;
  }
  ApplyResult apply(const char* source, std::vector<Observation> obs, const std::string& delivery = "") {
    return state.apply(*find_source(source), obs, delivery, 2000);
  }
  // When the stored incident was resolved: -1 while open, -2 when there is none.
  std::int64_t resolved_at(const std::string& identifier) {
    for (const auto& i : state.list(100))
      if (i.identifier == identifier) return i.resolved.value_or(-1);
    return -2;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(incident_state, StateFixture)

BOOST_AUTO_TEST_CASE(firing_opens_resolved_closes_repeats_change_nothing) {
  // Run, check: each step's counts and what is stored.
  BOOST_TEST(apply("pagerduty", {firing("P1", 100)}).opened == 1);
  BOOST_TEST(state.open_count() == 1);
  BOOST_TEST(apply("pagerduty", {firing("P1", 100)}).unchanged == 1);  // a repeat
  BOOST_TEST(apply("pagerduty", {resolved("P1", 100, 160)}).resolved == 1);
  BOOST_TEST(state.open_count() == 0);
  BOOST_TEST(resolved_at("pagerduty:P1") == 160);
  const auto again = apply("pagerduty", {resolved("P1", 100, 170)});
  BOOST_TEST(again.unchanged == 1);  // a repeated resolution keeps the first time
  BOOST_TEST(again.notes.size() == 1u);
  BOOST_TEST(resolved_at("pagerduty:P1") == 160);
  BOOST_TEST(apply("pagerduty", {firing("P1", 100)}).unchanged == 1);  // a late firing never reopens
  BOOST_TEST(state.open_count() == 0);
}

BOOST_AUTO_TEST_CASE(a_resolved_notification_alone_is_a_complete_incident) {
  BOOST_TEST(apply("pagerduty", {resolved("P2", 100, 130)}).resolved == 1);
  BOOST_TEST(resolved_at("pagerduty:P2") == 130);
  BOOST_TEST(state.due_reports(2000, 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(episodes_of_a_repeating_key) {
  // Alertmanager keys (fingerprints) repeat: the start tells episodes apart.
  BOOST_TEST(apply("alertmanager", {firing("fp", 100)}).opened == 1);
  // A newer episode begins without the first one's resolution: that one is closed at the new start.
  const auto newer = apply("alertmanager", {firing("fp", 200)});
  BOOST_TEST(newer.opened == 1);
  BOOST_TEST(newer.resolved == 1);
  BOOST_TEST(resolved_at("alertmanager:fp:100") == 200);
  // A stale firing of the first episode changes nothing.
  BOOST_TEST(apply("alertmanager", {firing("fp", 100)}).unchanged == 1);
  // An earlier episode never seen firing, resolved: complete on its own.
  BOOST_TEST(apply("alertmanager", {resolved("fp", 50, 60)}).resolved == 1);
  BOOST_TEST(resolved_at("alertmanager:fp:50") == 60);
  BOOST_TEST(state.open_count() == 1);  // the 200 episode
}

BOOST_AUTO_TEST_CASE(filtered_alerts_only_close) {
  auto filtered = firing("P3", 100);
  filtered.filtered = true;
  BOOST_TEST(apply("pagerduty", {filtered}).ignored == 1);
  BOOST_TEST(state.open_count() == 0);
  BOOST_TEST(apply("pagerduty", {firing("P3", 100)}).opened == 1);
  auto filtered_resolution = resolved("P3", 100, 150);
  filtered_resolution.filtered = true;  // its labels changed: it still closes what is open
  BOOST_TEST(apply("pagerduty", {filtered_resolution}).resolved == 1);
  BOOST_TEST(state.open_count() == 0);
}

BOOST_AUTO_TEST_CASE(a_delivery_is_applied_once) {
  BOOST_TEST(apply("pagerduty", {firing("P4", 100)}, "delivery-1").opened == 1);
  const auto again = apply("pagerduty", {resolved("P4", 100, 120)}, "delivery-1");
  BOOST_TEST(again.duplicate_delivery);
  BOOST_TEST(again.unchanged == 1);
  BOOST_TEST(state.open_count() == 1);
}

BOOST_AUTO_TEST_SUITE_END()
