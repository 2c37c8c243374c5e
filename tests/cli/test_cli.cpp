// pulse_cli in process: what a command prints and answers, without a server
// (--dry-run) or with one on 127.0.0.1.
#include "cli/cli.hpp"

#include "../support/support.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

ServerResponse ok_response() { return {200, "application/json", "{}", {}}; }

struct Ran {
  int code;
  std::string out, err;
};

Ran cli_run(const std::vector<std::string>& args, Env env = {}) {
  TempDir state;  // no outbox or config of the user's
  env.set("XDG_STATE_HOME", state.str("state"));
  env.set("XDG_CONFIG_HOME", state.str("config"));
  std::ostringstream out, err;
  const int code = cli::run(args, env, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_in_process)

BOOST_AUTO_TEST_CASE(a_dry_run_prints_the_go_clis_body_and_sends_nothing) {
  // Run
  const auto r = cli_run({"push", "change", "--identifier", "abc", "--timestamp", "1602852032", "--dry-run"});
  // Check
  BOOST_TEST(r.code == 0, r.err);
  const auto body = json::parse(r.out).as_object();
  BOOST_TEST(body.at("$type").as_string() == "change");
  BOOST_TEST(body.at("change_id").as_string() == "abc");
  BOOST_TEST(body.at("time_created").as_string() == "2020-10-16T12:40:32Z");
  BOOST_TEST(r.err.find("dry run: would send 1 event(s)") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_deployment_lists_its_positional_commits) {
  // Run
  const auto r = cli_run({"push", "deployment", "--identifier", "v1", "--timestamp", "1602852032", "--dry-run", "c1",
                          "c2", "--teams", "a,b"});
  // Check
  BOOST_TEST(r.code == 0, r.err);
  const auto body = json::parse(r.out).as_object();
  BOOST_TEST(body.at("deploy_id").as_string() == "v1");
  BOOST_TEST(json::serialize(body.at("changes")) == R"(["c1","c2"])");
  BOOST_TEST(json::serialize(body.at("teams")) == R"(["a","b"])");
}

BOOST_AUTO_TEST_CASE(a_boolean_variable_that_is_not_one_refuses_to_send) {
  // Setup: Azure renders booleans as True; a typo must not send for real.
  for (const std::string spelling : {"True", "ON", "0", "no"}) {
    const auto r = cli_run(
        {"push", "change", "--identifier", "a"},
        Env{{"PULSE_DRY_RUN", spelling}, {"PULSE_BASE_URL", "http://127.0.0.1:9"}, {"PULSE_MAX_ATTEMPTS", "1"}});
    const bool dry = spelling == "True" || spelling == "ON";
    BOOST_TEST(r.code == (dry ? 0 : 4), spelling + ": " + r.err);
  }
  // Run
  const auto r = cli_run({"push", "change", "--identifier", "a"}, Env{{"PULSE_DRY_RUN", "bogus"}});
  // Check
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err.find("$PULSE_DRY_RUN=\"bogus\": not a boolean") != std::string::npos, r.err);
  BOOST_TEST(r.out.empty());
}

BOOST_AUTO_TEST_CASE(conflicting_flags_are_refused_before_anything_is_sent) {
  // Run
  const auto r = cli_run({"push", "change", "--identifier", "a", "--dry-run", "--queue"});
  // Check
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err.find("--queue") != std::string::npos, r.err);
  BOOST_TEST(r.out.empty());
}

BOOST_AUTO_TEST_CASE(the_collector_receives_what_was_pushed) {
  // Setup
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  // Run
  const auto r = cli_run({"push", "incident", "--identifier", "i1", "--timestampCreated", "1602852032",
                          "--timestampResolved", "1602855632"},
                         Env{{"PULSE_BASE_URL", server.url()}, {"PULSE_API_KEY", "K"}});
  // Check
  BOOST_TEST(r.code == 0, r.err);
  const auto requests = server.requests();
  BOOST_TEST_REQUIRE(requests.size() == 1u);
  const auto body = json::parse(requests[0].body).as_object();
  BOOST_TEST(body.at("incident_id").as_string() == "i1");
  BOOST_TEST(body.at("time_resolved").as_string() == "2020-10-16T13:40:32Z");
}

BOOST_AUTO_TEST_SUITE_END()
