// The forges' push webhooks read and checked (collector/forge.cpp): the
// rules a payload from a real forge does not show, each on its own.
#include "collector/forge.hpp"
#include "core/util/crypto.hpp"

#include <boost/test/unit_test.hpp>

#include <map>

using namespace pulse;
using namespace pulse::collector;

namespace {

const std::string kSha1 = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
const std::string kSha2 = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c";

HeaderLookup headers(std::map<std::string, std::string> h) {
  return [h = std::move(h)](std::string_view name) -> std::optional<std::string> {
    const auto it = h.find(std::string(name));
    if (it == h.end()) return std::nullopt;
    return it->second;
  };
}

std::optional<ForgeDelivery> github(const std::string& body, std::string& why, const std::string& event = "push") {
  return decode_delivery(Forge::github, headers({{"X-GitHub-Event", event}}), body, why);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(forge)

BOOST_AUTO_TEST_CASE(a_github_push_gives_a_change_with_both_times_per_commit) {
  std::string why;
  const auto d = github(R"({"ref":"refs/heads/main","repository":{"full_name":"o/r","pushed_at":1700000100},)"
                        R"("commits":[{"id":")" +
                            kSha1 +
                            R"(","timestamp":"2023-11-14T22:13:20+01:00"},)"
                            R"({"id":")" +
                            kSha2 + R"(","timestamp":null}]})",
                        why);
  BOOST_TEST_REQUIRE(d.has_value(), why);
  BOOST_TEST(d->ignored.empty());
  BOOST_TEST(d->repository == "o/r");
  BOOST_TEST(d->pushed_at == 1700000100);
  const auto events = push_events(*d, "github", 1800000000);
  BOOST_TEST_REQUIRE(events.size() == 2u);
  const auto& commit = std::get<Change>(events[0]);  // both times in one change
  BOOST_TEST(commit.event_type == "commit");
  BOOST_TEST(commit.time_created == 1699996400);
  BOOST_TEST(commit.time_pushed == 1700000100);
  const auto& pushed = std::get<Change>(events[1]);  // no commit time given: its push alone
  BOOST_TEST(pushed.change_id == kSha2);
  BOOST_TEST(pushed.event_type == "push");
  BOOST_TEST(pushed.time_created == 1700000100);
}

BOOST_AUTO_TEST_CASE(without_pushed_at_the_push_is_the_time_received) {
  std::string why;
  const auto d = decode_delivery(
      Forge::gitlab, headers({{"X-Gitlab-Event", "Push Hook"}}),
      R"({"ref":"refs/heads/main","project":{"path_with_namespace":"g/sub/n"},"commits":[{"id":")" + kSha1 + R"("}]})",
      why);
  BOOST_TEST_REQUIRE(d.has_value(), why);
  BOOST_TEST(d->repository == "g/sub/n");
  const auto events = push_events(*d, "gitlab", 1800000000);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(std::get<Change>(events[0]).time_created == 1800000000);
}

BOOST_AUTO_TEST_CASE(what_stores_nothing_says_why) {
  std::string why;
  const std::string repo = R"("repository":{"full_name":"o/r"})";
  BOOST_TEST(github(R"({"ref":"refs/tags/v1",)" + repo + "}", why)->ignored == "tag push");
  BOOST_TEST(github(R"({"ref":"refs/heads/x","deleted":true,)" + repo + "}", why)->ignored == "branch deleted");
  BOOST_TEST(github(R"({"ref":"refs/notes/commits",)" + repo + "}", why)->ignored.starts_with("not a branch"));
  BOOST_TEST(github(R"({"ref":"refs/heads/x","commits":[],)" + repo + "}", why)->ignored == "no new commits");
  BOOST_TEST(github("not even json", why, "ping")->ignored == "event ping");  // never parsed
  // Gitea and GitLab mark a deletion by an all-zero "after".
  const auto gitea =
      decode_delivery(Forge::gitea, headers({{"X-Forgejo-Event", "push"}}),
                      R"({"ref":"refs/heads/x","after":"0000000000000000000000000000000000000000",)" + repo + "}", why);
  BOOST_TEST(gitea->ignored == "branch deleted");
  // GitLab's system hooks send every kind of event under one header.
  const auto system = decode_delivery(Forge::gitlab, headers({{"X-Gitlab-Event", "System Hook"}}),
                                      R"({"object_kind":"project_create"})", why);
  BOOST_TEST(system->ignored == "system hook project_create");
  // Bitbucket: a deleted branch and a tag.
  const auto bitbucket = decode_delivery(
      Forge::bitbucket, headers({{"X-Event-Key", "repo:push"}}),
      R"({"repository":{"full_name":"w/r"},"push":{"changes":[{"new":null},{"new":{"type":"tag","name":"v1"}}]}})",
      why);
  BOOST_TEST(bitbucket->ignored == "no branch updated (tags or deleted refs)");
}

BOOST_AUTO_TEST_CASE(a_bitbucket_commit_listed_under_two_branches_is_stored_once) {
  std::string why;
  const std::string change = R"({"new":{"type":"branch","name":"B"},"commits":[{"hash":")" + kSha1 +
                             R"(","date":"2023-05-12T11:45:45+00:00"}]})";
  const auto d =
      decode_delivery(Forge::bitbucket, headers({{"X-Event-Key", "repo:push"}}),
                      R"({"repository":{"full_name":"w/r"},"push":{"changes":[)" + change + "," + change + "]}}", why);
  BOOST_TEST_REQUIRE(d.has_value(), why);
  BOOST_TEST(push_events(*d, "bitbucket", 1800000000).size() == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_pushes_name_the_field) {
  auto refused = [](const std::string& body, const std::string& says) {
    std::string why;
    const auto d = github(body, why);
    BOOST_TEST(!d.has_value(), body);
    BOOST_TEST(why.find(says) != std::string::npos, why);
  };
  refused(R"({"ref":"refs/heads/x"})", "repository.full_name: missing");
  refused(R"({"ref":"refs/heads/x","repository":{"full_name":"a\u001b[31m"}})", "without control characters");
  refused(R"({"repository":{"full_name":"o/r"}})", "ref: missing");
  refused(R"({"ref":"refs/heads/x","repository":{"full_name":"o/r"},"commits":{}})", "commits: must be an array");
  refused(R"({"ref":"refs/heads/x","repository":{"full_name":"o/r"},"commits":[{"id":")" + kSha1 +
              R"(","timestamp":"yesterday"}]})",
          "commits[0].timestamp: not an RFC 3339 time");
  refused(R"({"ref":"refs/heads/x","repository":{"full_name":"o/r"},"commits":[{"id":")" + kSha1.substr(1) + R"("}]})",
          "commits[0].id: not a commit id");
  refused(R"({"ref":"refs/heads/x","ref":"refs/heads/y","repository":{"full_name":"o/r"}})", "duplicate key");
  refused("[]", "body: must be a JSON object");
  std::string many = R"({"ref":"refs/heads/x","repository":{"full_name":"o/r"},"commits":[)";
  for (std::size_t i = 0; i <= kMaxPushedCommits; ++i)
    many += std::string(i ? "," : "") + R"({"id":")" + kSha1 + R"("})";
  refused(many + "]}", "more than 10000 commits");
  std::string why;
  BOOST_TEST(!decode_delivery(Forge::bitbucket, headers({}), "{}", why).has_value());
  BOOST_TEST(why == "missing X-Event-Key header: not a Bitbucket webhook delivery");
}

BOOST_AUTO_TEST_CASE(signatures_and_tokens) {
  const std::string body = R"({"zen":"Keep it logically awesome."})";
  const std::string hex = hmac_sha256_hex("new", body);
  const std::vector<std::string> rotating = {"old", "new"};
  auto check = [&](Forge f, std::map<std::string, std::string> h) {
    return verify_delivery(f, rotating, headers(std::move(h)), body);
  };
  BOOST_TEST((check(Forge::github, {{"X-Hub-Signature-256", "sha256=" + hex}}) == ForgeAuth::ok));
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST((check(Forge::github, {{"X-Hub-Signature-256", "SHA256=" + upper}}) == ForgeAuth::ok));
  BOOST_TEST((check(Forge::github, {{"X-Hub-Signature-256", hex}}) == ForgeAuth::invalid));  // GitHub always prefixes
  BOOST_TEST((check(Forge::github, {{"X-Hub-Signature", "sha1=" + hex.substr(0, 40)}}) == ForgeAuth::missing));
  BOOST_TEST((check(Forge::bitbucket, {{"X-Hub-Signature", "sha256=" + hex}}) == ForgeAuth::ok));
  BOOST_TEST((check(Forge::gitea, {{"X-Gitea-Signature", hex}}) == ForgeAuth::ok));
  BOOST_TEST((check(Forge::gitea, {{"X-Forgejo-Signature", hex}}) == ForgeAuth::ok));
  BOOST_TEST((check(Forge::gitea, {{"X-Gitea-Signature", hmac_sha256_hex("other", body)}}) == ForgeAuth::invalid));
  BOOST_TEST((check(Forge::gitlab, {{"X-Gitlab-Token", "old"}}) == ForgeAuth::ok));
  BOOST_TEST((check(Forge::gitlab, {{"X-Gitlab-Token", "ol"}}) == ForgeAuth::invalid));
  BOOST_TEST((check(Forge::gitlab, {}) == ForgeAuth::missing));
  // No secret: nothing passes.
  BOOST_TEST((verify_delivery(Forge::gitlab, {}, headers({{"X-Gitlab-Token", ""}}), body) == ForgeAuth::invalid));
}

BOOST_AUTO_TEST_SUITE_END()
