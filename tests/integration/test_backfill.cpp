// pulse-event-cli backfill against a generated history with many tags: the
// events in the collector equal what git itself says; a re-run adds nothing.
#include "cli_helpers.hpp"
#include "core/git/git_range.hpp"
#include "core/net/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <sstream>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

std::string git_out(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir});
  const auto r = run_process(args);
  if (r.exit_code != 0) throw std::runtime_error("git: " + r.err);
  return r.out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backfill)

BOOST_AUTO_TEST_CASE(events_equal_what_git_says_and_rerun_adds_nothing) {
  TempDir dir;
  const std::string repo = dir.str("repo");
  const auto made = run_process(
      {(shared_dir() / "bench/make-history").string(), "--commits", "1500", "--tags", "25", "--seed", "3", repo});
  BOOST_REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  // Tags oldest first by the tagger's date, as backfill orders them.
  const auto tags =
      lines(git_out(repo, {"for-each-ref", "--sort=creatordate", "--format=%(refname:short)", "refs/tags"}));
  BOOST_REQUIRE(tags.size() >= 20u);

  CollectorProcess collector;
  const auto first = cli({"backfill", "--base-url", collector.url(), "--system", "hist", "--directory", repo});
  BOOST_TEST(first.exit_code == 0, first.err);

  const auto listed = collector_cmd({"events", "--db", collector.db(), "--limit", "100000", "--format", "json"});
  const json::value all = json::parse(listed.out);
  std::map<std::string, std::set<std::string>> deployed;
  std::map<std::string, std::int64_t> change_time, deploy_time;
  for (const auto& e : all.as_array()) {
    const std::string id(e.at("id").as_string());
    const auto t = *parse_rfc3339(e.at("time_created").as_string());
    if (e.at("type") == "deployment") {
      for (const auto& c : e.at("changes").as_array()) deployed[id].insert(std::string(c.as_string()));
      deploy_time[id] = t;
    } else {
      change_time[id] = t;
    }
  }
  // The first tag is the baseline; every later tag ships what git lists
  // between it and all tags before it.
  BOOST_TEST(deployed.size() == tags.size() - 1);
  std::vector<std::string> before = {"^" + tags[0]};
  std::size_t total = 0;
  for (std::size_t i = 1; i < tags.size(); ++i) {
    std::vector<std::string> args = {"rev-list", tags[i]};
    args.insert(args.end(), before.begin(), before.end());
    const auto want = lines(git_out(repo, args));
    BOOST_TEST_CONTEXT(tags[i]) {
      BOOST_TEST(deployed[tags[i]] == std::set<std::string>(want.begin(), want.end()),
                 boost::test_tools::per_element());
      const auto tag_date =
          std::stoll(git_out(repo, {"for-each-ref", "--format=%(creatordate:unix)", "refs/tags/" + tags[i]}));
      BOOST_TEST(deploy_time[tags[i]] == tag_date);
    }
    total += want.size();
    before.push_back("^" + tags[i]);
  }
  BOOST_TEST(change_time.size() == total);
  // Changes carry the committer time.
  for (const auto& l : lines(git_out(repo, {"log", "--format=%H %ct", "-n", "50", tags.back()}))) {
    const auto sha = l.substr(0, 40);
    if (change_time.count(sha)) BOOST_TEST(change_time[sha] == std::stoll(l.substr(41)));
  }
  // Idempotent: a second run stores nothing new.
  const auto second = cli({"backfill", "--base-url", collector.url(), "--system", "hist", "--directory", repo});
  BOOST_TEST(second.exit_code == 0, second.err);
  BOOST_TEST(
      second.err.find(std::to_string(tags.size() - 1) + " tag(s) already stored by the collector") != std::string::npos,
      second.err);
  BOOST_TEST(second.err.find("sent 0 deployment(s) and 0 change(s)") != std::string::npos, second.err);
  const auto again = collector_cmd({"events", "--db", collector.db(), "--limit", "100000", "--format", "json"});
  BOOST_TEST(json::parse(again.out).as_array().size() == all.as_array().size());
}

// A team that ran pulse-hook before its first backfill: the branch pushes
// are in the collector, the history's squash merge is found by its
// patch-id, and each commit gets its author and merge times.
BOOST_AUTO_TEST_CASE(history_squashes_join_the_branch_pushes_and_merges_have_their_times) {
  GitRepo repo;
  const std::int64_t t = 1767225600;  // 2026-01-01
  repo.git({"checkout", "-q", "-b", "main"});
  repo.commit("base.txt", "base", t);
  repo.git({"tag", "v1.0.0"});
  repo.git({"checkout", "-q", "-b", "feature"});
  const auto f1 = repo.commit("f/1.txt", "one", t + 100, t + 50);
  const auto f2 = repo.commit("f/2.txt", "two", t + 200);
  repo.git({"checkout", "-q", "-b", "topic", "main"});
  const auto topic = repo.commit("t.txt", "topic", t + 1100);
  repo.git({"checkout", "-q", "main"});
  const auto at = [](std::int64_t v) {
    return EnvOverrides{{"GIT_AUTHOR_DATE", "@" + std::to_string(v) + " +0000"},
                        {"GIT_COMMITTER_DATE", "@" + std::to_string(v) + " +0000"}};
  };
  repo.git({"merge", "-q", "--squash", "feature"});
  repo.git({"commit", "-q", "-m", "Feature (#1)"}, at(t + 1000));
  const auto squash = repo.git({"rev-parse", "HEAD"});
  repo.git({"tag", "v1.1.0"});
  repo.git({"merge", "-q", "--no-ff", "-m", "Merge topic", "topic"}, at(t + 1500));
  repo.git({"tag", "v1.2.0"});

  // The hook's reports of the feature branch's push at t+300.
  CollectorProcess collector;
  std::string why;
  HttpClient client(*parse_origin(collector.url(), why), ClientOptions{});
  std::vector<CommitPatch> ids;
  BOOST_REQUIRE_MESSAGE(patch_ids(GitCommand(repo.dir()), {f1, f2}, "origin", ids, why), why);
  const auto authored = author_times(GitCommand(repo.dir()), {f1, f2});
  for (const auto& p : ids) {
    Change c{.source = "git",
             .change_id = p.sha,
             .time_created = t + 300,
             .event_type = "push",
             .author_time = authored.at(p.sha),
             .patch_id = p.patch_id};
    if (p.sha == f2) {
      c.branch_patch_id = diff_patch_id(GitCommand(repo.dir()), repo.git({"merge-base", "main~1", f2}), f2);
      c.branch_commits = {f1, f2};
    }
    const auto r = client.send(
        HttpRequest{"POST", "/v1/ingestion/cli?system=hist", {{"Content-Type", "application/json"}}, encode_body(c)});
    BOOST_REQUIRE(std::holds_alternative<HttpResponse>(r));
    BOOST_REQUIRE_EQUAL(std::get<HttpResponse>(r).status, 200);
  }
  const auto ran = cli({"backfill", "--base-url", collector.url(), "--system", "hist", "--directory", repo.dir()});
  BOOST_TEST_REQUIRE(ran.exit_code == 0, ran.err);

  const auto explained =
      json::parse(collector_cmd({"metrics", "--db", collector.db(), "--system", "hist", "--explain", "lead_time",
                                 "--from", "2025-12-01", "--to", "2026-02-01", "--format", "json"})
                      .out);
  std::map<std::string, json::object> by_change;
  for (const char* list : {"records", "left_out"})
    for (const auto& r : explained.at(list).as_array())
      by_change[std::string(r.at("change").as_string())] = r.as_object();
  BOOST_TEST_REQUIRE(by_change.contains(squash), json::serialize(explained).substr(0, 1500));
  const auto& s = by_change.at(squash);
  BOOST_TEST(s.at("time").as_string() == format_rfc3339(t + 300));  // the branch's push, not the squash
  BOOST_TEST(s.at("matched").as_string().starts_with("squash"));
  BOOST_TEST(s.at("authored").as_string() == format_rfc3339(t + 50));  // the branch's first commit
  BOOST_TEST(s.at("merged").as_string() == format_rfc3339(t + 1000));
  BOOST_TEST(s.at("phases").at("review").to_number<std::int64_t>() == 700);
  BOOST_TEST_REQUIRE(by_change.contains(topic));
  BOOST_TEST(by_change.at(topic).at("merged").as_string() == format_rfc3339(t + 1500));  // its merge commit's
  BOOST_TEST(by_change.at(topic).at("authored").as_string() == format_rfc3339(t + 1100));
}

BOOST_AUTO_TEST_CASE(since_dry_run_and_patterns) {
  GitRepo repo;
  repo.commit("a", "1", 1600000000);
  repo.git({"tag", "v1.0.0"});
  repo.commit("a", "2", 1600100000);
  repo.git({"tag", "release-7"});
  repo.commit("a", "3", 1600200000);
  repo.git({"tag", "v1.1.0"});
  const auto c4 = repo.commit("a", "4", 1700000000);
  repo.git({"tag", "v1.2.0"});
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  // Dry run: prints, sends nothing; release-7 is not a semantic version.
  auto r = cli({"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--dry-run"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(server.requests().empty());
  BOOST_TEST(count_of(r.out, "\"$type\":\"deployment\"") == 2u);  // v1.1.0 and v1.2.0; v1.0.0 is the baseline
  BOOST_TEST(count_of(r.out, "\"$type\":\"change\"") == 3u);
  // --since keeps later deployments only.
  r = cli({"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--dry-run", "--since", "2023-01-01"});
  BOOST_TEST(count_of(r.out, "\"$type\":\"deployment\"") == 1u);
  BOOST_TEST(r.out.find(c4) != std::string::npos);
  // Another pattern.
  r = cli(
      {"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--dry-run", "--tag-pattern", "^release-"});
  BOOST_TEST(r.exit_code == 0, r.err);  // one tag: the baseline, no deployment
  BOOST_TEST(count_of(r.out, "\"$type\":\"deployment\"") == 0u);
  r = cli({"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--tag-pattern", "(("});
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("not a valid regular expression") != std::string::npos, r.err);
  r = cli({"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--tag-pattern", "^nothing$"});
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(
      r.err.find("matches --tag-pattern ^nothing$ (give the pattern your release tags follow") != std::string::npos,
      r.err);
  r = cli({"backfill", "--base-url", server.url(), "--directory", repo.dir(), "--since", "someday"});
  BOOST_TEST(r.exit_code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
