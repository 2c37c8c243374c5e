// Golden bodies: our encoder against the Go CLI's captured requests.
#include "../support/support.hpp"
#include "core/event/event.hpp"
#include "core/util/timeutil.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

namespace {

std::vector<test::CapturedBlock> capture() {
  return test::parse_wire_capture(test::shared_dir() / "fixtures/wire/go-cli-1.9.32-requests.txt");
}

const test::CapturedRequest& first_request(const std::vector<test::CapturedBlock>& blocks, const std::string& title) {
  for (const auto& b : blocks)
    if (b.title.starts_with(title) && !b.requests.empty()) return b.requests.front();
  throw std::runtime_error("no captured block " + title);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(event_codec)

BOOST_AUTO_TEST_CASE(fixture_parses) {
  const auto blocks = capture();
  BOOST_TEST(blocks.size() >= 14u);
  BOOST_TEST(first_request(blocks, "push change").body.starts_with("{\"source\":\"cli\""));
}

BOOST_AUTO_TEST_CASE(change_body_is_byte_identical) {
  const Change c{"cli", "abc", 1602852032, "commit"};
  BOOST_TEST(encode_body(c) == first_request(capture(), "push change").body);
}

BOOST_AUTO_TEST_CASE(deployment_body_is_byte_identical) {
  const Deployment d{
      .deploy_id = "abc",
      .time_created = 1602852032,
      .changes = {"b69f3082a0dd66e6d20f9f634d1dc32523e66ce6", "c2a3d66d22d1694c28a1091ff0f702e79c155399"},
      .teams = {"a", "b"}};
  BOOST_TEST(encode_body(d) == first_request(capture(), "push deployment").body);
}

BOOST_AUTO_TEST_CASE(deployment_without_teams_sends_empty_array) {
  const Deployment d{.deploy_id = "d1", .time_created = 1602852032, .changes = {"c1"}};
  BOOST_TEST(encode_body(d) == first_request(capture(), "no --system, no --teams").body);
}

BOOST_AUTO_TEST_CASE(incident_body_is_byte_identical) {
  const Incident i{"cli", "abc", 1602852032, 1602855632, {}};
  BOOST_TEST(encode_body(i) == first_request(capture(), "push incident").body);
  // Our extension, sent only when set: the environment, before $type.
  const Incident staged{"cli", "abc", 1602852032, 1602855632, "staging"};
  BOOST_TEST(encode_body(staged) ==
             R"({"source":"cli","incident_id":"abc","time_created":"2020-10-16T12:40:32Z",)"
             R"("time_resolved":"2020-10-16T13:40:32Z","environment":"staging","$type":"incident"})");
}

BOOST_AUTO_TEST_CASE(git_deployment_bodies_are_byte_identical) {
  const auto blocks = capture();
  const test::CapturedBlock* git = nullptr;
  for (const auto& b : blocks)
    if (b.title.starts_with("push git deployment")) git = &b;
  BOOST_REQUIRE(git);
  BOOST_REQUIRE_EQUAL(git->requests.size(), 3u);
  const std::string c3 = "c2a3d66d22d1694c28a1091ff0f702e79c155399", c2 = "b69f3082a0dd66e6d20f9f634d1dc32523e66ce6";
  BOOST_TEST(encode_body(Change{"git", c3, *parse_rfc3339("2020-10-16T12:11:40Z"), "commit"}) == git->requests[0].body);
  BOOST_TEST(encode_body(Change{"git", c2, *parse_rfc3339("2020-10-16T12:10:00Z"), "commit"}) == git->requests[1].body);
  BOOST_TEST(
      encode_body(Deployment{.source = "git", .deploy_id = "v1", .time_created = 1602852032, .changes = {c3, c2}}) ==
      git->requests[2].body);
}

BOOST_AUTO_TEST_CASE(local_offset_times_are_written_in_utc) {
  // The Go CLI writes the machine's offset (08:40:32-04:00); we always write
  // UTC, the same instant.
  const auto blocks = capture();
  const auto& captured = first_request(blocks, "TZ=America/New_York");
  BOOST_TEST(captured.body.find("2020-10-16T08:40:32-04:00") != std::string::npos);
  BOOST_TEST(encode_body(Change{"cli", "abc", 1602852032, "commit"}).find("\"2020-10-16T12:40:32Z\"") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(special_characters_escape_like_go) {
  const auto blocks = capture();
  const auto& captured = first_request(blocks, "special chars");
  const Change c{"GitHub", "id\"1", 0, "push"};
  BOOST_TEST(encode_body(c) == captured.body);

  struct Row {
    std::string in, out;
  };
  const Row rows[] = {
      {"a<b>&c", R"("a\u003cb\u003e\u0026c")"},
      {"tab\tnl\ncr\r", R"("tab\tnl\ncr\r")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"back\\slash", R"("back\\slash")"},
      {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
      {"\xe2\x80\xa8", R"("\u2028")"},
      {"bad\xff", R"("bad\ufffd")"},
      {"\xc0\xaf", R"("\ufffd\ufffd")"},  // overlong '/'
      {"\xf0\x9f\x9a\x80", "\"\xf0\x9f\x9a\x80\""},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.out) {
      std::string out;
      append_json_string(out, row.in);
      BOOST_TEST(out == row.out);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
