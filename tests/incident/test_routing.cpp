// A route's rules over alert labels: matchers, the system and environment
// labels and their fallbacks, and what the state does with filtered alerts
// (through the Receiver, without a socket).
#include "plugins/incident/receiver.hpp"
#include "plugins/incident/routing.hpp"
#include "../support/support.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;
using namespace pulse::incident;

namespace {

Matcher matcher(std::string_view text) {
  Matcher m;
  std::string why;
  BOOST_REQUIRE_MESSAGE(parse_matcher(text, m, why), why);
  return m;
}

Observation alert(std::string key, Labels labels, Status status = Status::firing) {
  Observation o;
  o.key = std::move(key);
  o.status = status;
  o.created = 1'773'000'000;
  if (status == Status::resolved) o.resolved = o.created + 600;
  o.labels = std::move(labels);
  return o;
}

// A receiver over a state in a temp dir, every route with `rules`.
struct Fixture {
  explicit Fixture(const RouteRules& rules) {
    Routes routes;
    for (auto name : source_names()) routes[std::string(name)].rules = rules;
    routes["generic"].mapping = parse_mapping(
        R"({"identifier":"/id","status":"/status","created":"/at","resolved":"/until","labels":"/labels",)"
        R"("system":"/service"})",
        "test");
    receiver = std::make_unique<Receiver>(state, routes, nullptr, nullptr, [] { return 1'773'000'000; });
  }
  Processed post(std::string_view source, const std::string& body, const std::string& query_system = "") {
    return receiver->process(
        source, body, [](std::string_view) { return std::optional<std::string>(); }, false, query_system);
  }
  test::TempDir dir;
  State state{dir.str("incidents.db")};
  std::unique_ptr<Receiver> receiver;
};

std::string pagerduty(const char* type, const char* priority) {
  return std::string(R"({"event":{"event_type":")") + type +
         R"(","occurred_at":"2026-03-14T04:00:00Z","data":{"id":"Q1","created_at":"2026-03-14T03:00:00Z",)"
         R"("service":{"summary":"Checkout API"},"priority":{"summary":")" +
         priority + R"("},"urgency":"high"}}})";
}

}  // namespace

BOOST_AUTO_TEST_CASE(matchers_parse_and_refuse) {
  const auto m = matcher("severity=critical|page");
  BOOST_TEST(m.label == "severity");
  BOOST_TEST(!m.negated);
  BOOST_TEST((m.values == std::vector<std::string>{"critical", "page"}));
  BOOST_TEST(to_string(m) == "severity=critical|page");
  BOOST_TEST(matcher("severity!=info").negated);
  BOOST_TEST(matcher("team=").values == std::vector<std::string>{""});  // the label is absent or empty
  for (const char* bad : {"severity", "=x", "!=x", "sev erity=x", "a\nb=x"}) {
    Matcher out;
    std::string why;
    BOOST_TEST(!parse_matcher(bad, out, why), bad);
    BOOST_TEST(!why.empty());
    BOOST_TEST(why.find('\n') == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(every_matcher_must_hold_and_absent_labels_are_empty) {
  const Labels critical{{"severity", "critical"}, {"team", "payments"}};
  const Labels info{{"severity", "info"}};
  const Labels none{};
  const std::vector<Matcher> page{matcher("severity=critical|page")};
  BOOST_TEST(matches(page, critical));
  BOOST_TEST(!matches(page, info));
  BOOST_TEST(!matches(page, none));
  const std::vector<Matcher> not_info{matcher("severity!=info")};
  BOOST_TEST(matches(not_info, critical));
  BOOST_TEST(!matches(not_info, info));
  BOOST_TEST(matches(not_info, none));
  const std::vector<Matcher> both{matcher("severity=critical"), matcher("team=payments")};
  BOOST_TEST(matches(both, critical));
  BOOST_TEST(!matches(both, Labels{{"severity", "critical"}, {"team", "search"}}));
  BOOST_TEST(matches({}, none));
}

BOOST_AUTO_TEST_CASE(system_and_environment_precedence) {
  RouteRules rules;
  rules.system = "fallback";
  rules.environment = "production";
  rules.system_label = "service";
  rules.environment_label = "env";
  std::vector<Observation> list{alert("a", {{"service", "payments"}, {"env", "staging"}}), alert("b", {}),
                                alert("c", {{"service", "bad\tname"}}), alert("d", {})};
  list[3].system = "named-by-payload";
  std::vector<std::string> notes;
  apply_rules(rules, "", list, notes);
  BOOST_TEST(list[0].system == "payments");
  BOOST_TEST(list[0].environment == "staging");
  BOOST_TEST(list[1].system == "fallback");
  BOOST_TEST(list[1].environment == "production");
  BOOST_TEST(list[2].system == "fallback");  // not a usable name: said, and the route's used
  BOOST_TEST(notes.size() == 1u);
  BOOST_TEST(notes[0].find("label service") != std::string::npos, notes[0]);
  BOOST_TEST(list[3].system == "named-by-payload");

  std::vector<Observation> queried{alert("a", {{"service", "payments"}}), alert("b", {})};
  apply_rules(rules, "from-query", queried, notes);
  BOOST_TEST(queried[0].system == "payments");  // the alert's own label is the most specific
  BOOST_TEST(queried[1].system == "from-query");
}

BOOST_AUTO_TEST_CASE(filtered_alerts_open_nothing) {
  RouteRules rules;
  rules.system_label = "service";
  rules.matchers = {matcher("severity=critical|page")};
  Fixture f(rules);
  const auto out = f.post("alertmanager", R"({"alerts":[
    {"status":"firing","labels":{"service":"payments","severity":"critical"},"startsAt":"2026-03-10T14:00:00Z","fingerprint":"f1"},
    {"status":"firing","labels":{"service":"payments","severity":"info"},"startsAt":"2026-03-10T14:00:00Z","fingerprint":"f2"},
    {"status":"resolved","labels":{"severity":"warning"},"startsAt":"2026-03-10T14:00:00Z","endsAt":"2026-03-10T15:00:00Z","fingerprint":"f3"}]})");
  BOOST_TEST(out.status == 200, out.message);
  BOOST_TEST(out.applied.opened == 1);
  BOOST_TEST(out.applied.ignored == 2);  // neither the info alert nor a complete warning one is kept
  const auto stored = f.state.list(10);
  BOOST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored[0].system == "payments");
  BOOST_TEST(stored[0].identifier.find(":f1:") != std::string::npos);

  const auto only_ignored = f.post("alertmanager", R"({"alerts":[
    {"status":"firing","labels":{"severity":"info"},"startsAt":"2026-03-10T14:00:00Z","fingerprint":"f4"}]})");
  BOOST_TEST(only_ignored.status == 200);
  BOOST_TEST(only_ignored.message.find("ignored") != std::string::npos, only_ignored.message);
  BOOST_TEST(f.state.list(10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_open_incident_resolves_even_when_its_labels_no_longer_match) {
  RouteRules rules;
  rules.system_label = "service";
  rules.matchers = {matcher("priority=P1|P2")};
  Fixture f(rules);
  BOOST_TEST(f.post("pagerduty", pagerduty("incident.triggered", "P1")).applied.opened == 1);
  // Downgraded to P4 while open, then resolved: the incident still ends.
  const auto downgraded = f.post("pagerduty", pagerduty("incident.priority_updated", "P4"));
  BOOST_TEST(downgraded.applied.ignored == 1);
  BOOST_TEST(f.post("pagerduty", pagerduty("incident.resolved", "P4")).applied.resolved == 1);
  const auto stored = f.state.list(10);
  BOOST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored[0].system == "Checkout API");  // PagerDuty's service, by name
  BOOST_TEST(stored[0].resolved.has_value());
  // A P4 incident never seen firing is not an incident here, resolved or not.
  auto other = pagerduty("incident.resolved", "P4");
  other.replace(other.find("\"Q1\""), 4, "\"Q2\"");
  BOOST_TEST(f.post("pagerduty", other).applied.ignored == 1);
  BOOST_TEST(f.state.list(10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(opsgenie_and_generic_labels) {
  RouteRules rules;
  rules.system_label = "service";
  rules.environment_label = "env";
  rules.matchers = {matcher("priority!=P5")};
  Fixture f(rules);
  const auto og = f.post("opsgenie", R"({"action":"Create","alert":{"alertId":"A1","createdAt":1773563400123,)"
                                     R"("priority":"P1","details":{"service":"search","env":"live"}}})");
  BOOST_TEST(og.applied.opened == 1, og.message);
  const auto low = f.post("opsgenie", R"({"action":"Create","alert":{"alertId":"A2","createdAt":1773563400123,)"
                                      R"("priority":"P5"}})");
  BOOST_TEST(low.applied.ignored == 1);
  const auto generic = f.post("generic", R"({"id":"G1","status":"firing","at":"2026-03-10T14:00:00Z",)"
                                         R"("service":"billing","labels":{"env":"prod","priority":"P2"}})");
  BOOST_TEST(generic.applied.opened == 1, generic.message);
  const auto wrong = f.post("generic", R"({"id":"G2","status":"firing","at":"2026-03-10T14:00:00Z","labels":[1]})");
  BOOST_TEST(wrong.status == 400);
  BOOST_TEST(wrong.message.find("/labels") != std::string::npos, wrong.message);
  std::map<std::string, std::pair<std::string, std::string>> where;
  for (const auto& i : f.state.list(10)) where[i.identifier] = {i.system, i.environment};
  BOOST_TEST((where["opsgenie:A1"] == std::pair<std::string, std::string>{"search", "live"}));
  BOOST_TEST((where["generic:G1"] == std::pair<std::string, std::string>{"billing", "prod"}));
  BOOST_TEST(where.size() == 2u);
}

// A mapping names, for each required field, a value in the payload: an empty
// pointer (the whole payload) is refused naming the field; optional ones may
// be left empty.
BOOST_AUTO_TEST_CASE(a_mapping_refuses_an_empty_pointer_for_a_required_field) {
  for (const std::string field : {"identifier", "status", "created", "resolved"}) {
    BOOST_TEST_CONTEXT(field) {
      std::string text = R"({"identifier":"/id","status":"/s","created":"/c","resolved":"/r","system":""})";
      const auto at = text.find("\"" + field + "\":\"") + field.size() + 4;
      text.erase(at, text.find('"', at) - at);  // its pointer made ""
      try {
        (void)parse_mapping(text, "m.json");
        BOOST_FAIL("accepted " + text);
      } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()).find("\"" + field + "\" must be a JSON Pointer") != std::string::npos,
                   e.what());
      }
    }
  }
  const auto optional_empty =
      parse_mapping(R"({"identifier":"/id","status":"/s","created":"/c","resolved":"/r","system":""})", "m.json");
  BOOST_TEST(optional_empty.system.empty());
}
