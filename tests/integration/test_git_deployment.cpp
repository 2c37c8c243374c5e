// push git deployment against real repositories made with git.
#include "cli_helpers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

using namespace pulse;
using namespace pulse::test;

namespace {

constexpr std::int64_t kT0 = 1700000000;

struct Sent {
  std::vector<std::string> change_ids;  // in order
  std::vector<std::int64_t> change_times;
  std::vector<std::string> deployment_changes;
  std::string deployment;
  std::size_t requests = 0;
};

// Decodes what a recording server (no batch offer: one event per request) got.
Sent decode(const std::vector<ServerRequest>& reqs) {
  Sent s;
  s.requests = reqs.size();
  for (const auto& r : reqs) {
    const auto v = boost::json::parse(r.body).as_object();
    if (v.at("$type") == "change") {
      BOOST_TEST(v.at("source") == "git");
      BOOST_TEST(v.at("event_type") == "commit");
      s.change_ids.emplace_back(v.at("change_id").as_string());
      s.change_times.push_back(*parse_rfc3339(v.at("time_created").as_string()));
    } else {
      s.deployment = r.body;
      for (const auto& c : v.at("changes").as_array()) s.deployment_changes.emplace_back(c.as_string());
    }
  }
  return s;
}

std::vector<std::string> deploy_args(const std::string& url, const std::string& dir, const std::string& prev) {
  return {"push",
          "git",
          "deployment",
          "--base-url",
          url,
          "--api-key",
          "K",
          "--identifier",
          "v2",
          "--timestamp",
          std::to_string(kT0 + 86400),
          "--previous-deployment-ref",
          prev,
          "--directory",
          dir};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(git_deployment)

BOOST_AUTO_TEST_CASE(linear_history_matches_git_log) {
  GitRepo repo;
  std::vector<std::string> shas;
  for (int i = 0; i < 6; ++i) shas.push_back(repo.commit("f" + std::to_string(i), "x", kT0 + i * 60, kT0 - 3600));
  repo.git({"tag", "v1", shas[1]});
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  const auto r = cli(deploy_args(server.url(), repo.dir(), "v1"));
  BOOST_TEST(r.exit_code == 0, r.err);
  const auto sent = decode(server.requests());
  BOOST_TEST(sent.change_ids == repo.log("v1..HEAD"));
  BOOST_TEST(sent.deployment_changes == repo.log("v1..HEAD"));
  BOOST_TEST(sent.requests == 5u);  // 4 changes, then the deployment last
  BOOST_TEST(sent.deployment.find("\"deploy_id\":\"v2\"") != std::string::npos);
  // The committer time, not the author time.
  BOOST_TEST(sent.change_times.front() == kT0 + 5 * 60);
  BOOST_TEST(sent.change_times.back() == kT0 + 2 * 60);
  BOOST_TEST(r.err.find("sent 4 change(s) and deployment v2") != std::string::npos, r.err);
  // One keep-alive connection for all requests.
  std::set<std::string> peers;
  for (const auto& req : server.requests()) peers.insert(req.remote);
  BOOST_TEST(peers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(merges_are_included_like_git_log) {
  GitRepo repo;
  const auto base = repo.commit("a", "1", kT0);
  repo.git({"checkout", "-q", "-b", "feature"});
  repo.commit("feature.txt", "f1", kT0 + 100);
  repo.commit("feature.txt", "f2", kT0 + 200);
  repo.git({"checkout", "-q", "main"});
  repo.commit("main.txt", "m1", kT0 + 150);
  repo.git({"merge", "-q", "--no-ff", "-m", "merge feature", "feature"},
           {{"GIT_COMMITTER_DATE", "@" + std::to_string(kT0 + 300) + " +0000"},
            {"GIT_AUTHOR_DATE", "@" + std::to_string(kT0 + 300) + " +0000"}});
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  const auto r = cli(deploy_args(server.url(), repo.dir(), base));
  BOOST_TEST(r.exit_code == 0, r.err);
  const auto sent = decode(server.requests());
  const auto expected = repo.log(base + "..HEAD");
  BOOST_TEST(expected.size() == 4u);
  BOOST_TEST(sent.change_ids == expected);
}

BOOST_AUTO_TEST_CASE(path_filters_match_git_log_paths) {
  GitRepo repo;
  const auto base = repo.commit("README", "r", kT0);
  repo.commit("services/api/main.c", "1", kT0 + 10);
  repo.commit("services/web/app.js", "1", kT0 + 20);
  repo.commit("services/api/util.c", "1", kT0 + 30);
  repo.commit("docs/guide.md", "1", kT0 + 40);
  repo.commit("services/web/app.js", "2", kT0 + 50);
  struct Row {
    std::vector<std::string> paths;
  };
  const Row rows[] = {{{"services/api"}}, {{"services/web/app.js"}}, {{"services/api/", "docs"}}, {{"nothing/here"}}};
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.paths.front()) {
      RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
      auto args = deploy_args(server.url(), repo.dir(), base);
      args.insert(args.end(), row.paths.begin(), row.paths.end());
      const auto r = cli(args);
      BOOST_TEST(r.exit_code == 0, r.err);
      BOOST_TEST(decode(server.requests()).change_ids == repo.log(base + "..HEAD", row.paths));
    }
  }
  // Paths are relative to --directory, as git's are to the working directory.
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  auto args = deploy_args(server.url(), (repo.path() / "services").string(), base);
  args.push_back("api");
  BOOST_TEST(cli(args).exit_code == 0);
  BOOST_TEST(decode(server.requests()).change_ids == repo.log(base + "..HEAD", {"services/api"}));
}

BOOST_AUTO_TEST_CASE(empty_range_sends_an_empty_deployment) {
  GitRepo repo;
  repo.commit("a", "1", kT0);
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  auto args = deploy_args(server.url(), repo.dir(), "HEAD");
  args.insert(args.end(), {"--teams", "x"});
  const auto r = cli(args);
  BOOST_TEST(r.exit_code == 0, r.err);
  const auto reqs = server.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), 1u);
  BOOST_TEST(reqs[0].body == "{\"source\":\"git\",\"deploy_id\":\"v2\",\"time_created\":\"" +
                                 format_rfc3339(kT0 + 86400) +
                                 "\",\"changes\":[],\"teams\":[\"x\"],\"$type\":\"deployment\"}");
}

BOOST_AUTO_TEST_CASE(unknown_ref_sends_nothing) {
  GitRepo repo;
  repo.commit("a", "1", kT0);
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  const auto r = cli(deploy_args(server.url(), repo.dir(), "nope"));
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("push git deployment: --previous-deployment-ref \"nope\" is not a commit, tag or branch") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(server.requests().empty());
}

BOOST_AUTO_TEST_CASE(dry_run_prints_and_sends_nothing) {
  GitRepo repo;
  const auto base = repo.commit("a", "1", kT0);
  const auto c2 = repo.commit("b", "1", kT0 + 10);
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  auto args = deploy_args(server.url(), repo.dir(), base);
  args.push_back("--dry-run");
  const auto r = cli(args);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(server.requests().empty());
  BOOST_TEST(count_of(r.out, "\n") == 2u);
  BOOST_TEST(r.out.find("\"change_id\":\"" + c2 + "\"") != std::string::npos, r.out);
  BOOST_TEST(r.err.find("dry run: would send 2 event(s)") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(source_flag_is_ignored_like_go) {
  GitRepo repo;
  const auto base = repo.commit("a", "1", kT0);
  repo.commit("b", "1", kT0 + 10);
  RecordingServer server([](int, const ServerRequest&) { return ok_response(); });
  auto args = deploy_args(server.url(), repo.dir(), base);
  args.insert(args.end(), {"--source", "custom"});
  BOOST_TEST(cli(args).exit_code == 0);
  for (const auto& req : server.requests()) BOOST_TEST(req.body.starts_with("{\"source\":\"git\""));
}

BOOST_AUTO_TEST_CASE(batches_to_our_collector_and_stores_everything) {
  GitRepo repo;
  const auto base = repo.commit("a", "0", kT0);
  for (int i = 1; i <= 30; ++i) repo.commit("a", std::to_string(i), kT0 + i);
  CollectorProcess collector;
  const auto r = cli(deploy_args(collector.url(), repo.dir(), base));
  BOOST_TEST(r.exit_code == 0, r.err);
  const auto changes =
      collector_cmd({"events", "--db", collector.db(), "--type", "change", "--limit", "1000", "--format", "json"});
  BOOST_TEST(count_of(changes.out, "\"type\":\"change\"") == 30u);
  const auto deployments =
      collector_cmd({"events", "--db", collector.db(), "--type", "deployment", "--format", "json"});
  BOOST_TEST(deployments.out.find("\"id\":\"v2\"") != std::string::npos);
  const auto listed = boost::json::parse(deployments.out).as_array();
  BOOST_REQUIRE_EQUAL(listed.size(), 1u);
  BOOST_TEST(listed[0].at("changes").as_array().size() == 30u);
  // Re-running is harmless: nothing is stored twice.
  BOOST_TEST(cli(deploy_args(collector.url(), repo.dir(), base)).exit_code == 0);
  const auto again = collector_cmd({"events", "--db", collector.db(), "--limit", "1000", "--format", "json"});
  BOOST_TEST(count_of(again.out, "\"type\":") == 31u);
}

BOOST_AUTO_TEST_SUITE_END()
