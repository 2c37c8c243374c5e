// pulse-deploy in simulated GitHub Actions and GitLab CI jobs, on shallow
// clones of real repositories, against a real collector.
#include "cli_helpers.hpp"

#include "core/db/sqlite.hpp"
#include "core/util/process.hpp"

#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

std::string deploy_bin() {
  return fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/deploy/pulse-deploy";
}

// An "origin" with history, and a CI workspace cloned from it.
struct DeployFixture {
  TempDir root;
  GitRepo origin;
  std::string workspace = root.str("ws");
  std::vector<std::string> shas;  // oldest first
  EnvOverrides env{{"HOME", root.str("home")}, {"GIT_CONFIG_NOSYSTEM", "1"}};

  DeployFixture() {
    fs::create_directories(root.path / "home");
    for (int i = 0; i < 60; ++i)
      shas.push_back(origin.commit(i % 3 == 0 ? "services/api/f" : "web/f", std::to_string(i), 1700000000 + i * 60));
  }
  void clone(int depth) {
    std::vector<std::string> argv = {"git", "clone", "-q"};
    if (depth > 0) argv.insert(argv.end(), {"--depth", std::to_string(depth)});
    argv.insert(argv.end(), {"file://" + origin.dir(), workspace});
    const auto r = run_process(argv, env);
    if (r.exit_code != 0) throw std::runtime_error("clone: " + r.err);
  }
  EnvOverrides github(const std::string& before) {
    write_file(root.path / "event.json", "{\"before\":\"" + before + "\",\"after\":\"" + shas.back() + "\"}");
    EnvOverrides e = env;
    e.insert({{"GITHUB_ACTIONS", "true"},
              {"CI", "true"},
              {"GITHUB_SHA", shas.back()},
              {"GITHUB_REPOSITORY", "acme/shop"},
              {"GITHUB_RUN_ID", "4242"},
              {"GITHUB_EVENT_PATH", root.str("event.json")},
              {"GITHUB_WORKSPACE", workspace},
              {"GITHUB_OUTPUT", root.str("output")},
              {"GITHUB_STEP_SUMMARY", root.str("summary")}});
    return e;
  }
  EnvOverrides gitlab(const std::string& before) {
    EnvOverrides e = env;
    e.insert({{"GITLAB_CI", "true"},
              {"CI", "true"},
              {"CI_COMMIT_SHA", shas.back()},
              {"CI_COMMIT_BEFORE_SHA", before},
              {"CI_PROJECT_PATH", "acme/shop"},
              {"CI_PIPELINE_ID", "9001"},
              {"CI_PROJECT_DIR", workspace},
              {"CI_ENVIRONMENT_NAME", "production"}});
    return e;
  }
  ProcessResult deploy(const EnvOverrides& e, std::vector<std::string> args = {}) {
    args.insert(args.begin(), deploy_bin());
    return run_process(args, e, workspace);
  }
  std::vector<std::string> range(const std::string& from, const std::vector<std::string>& paths = {}) {
    return origin.log(from + ".." + shas.back(), paths);
  }
};

json::array deployments(const CollectorProcess& c) {
  const auto r = collector_cmd({"events", "--db", c.db(), "--type", "deployment", "--format", "json"});
  return json::parse(r.out).as_array();
}

std::vector<std::string> changes_of(const json::value& deployment) {
  std::vector<std::string> out;
  for (const auto& c : deployment.at("changes").as_array()) out.emplace_back(c.as_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deploy)

// Typed in a developer's checkout, pulse-deploy must not report a
// production deployment of whatever is checked out.
BOOST_FIXTURE_TEST_CASE(outside_ci_it_needs_an_explicit_identifier, DeployFixture) {
  clone(0);
  CollectorProcess collector;
  EnvOverrides e = env;
  e["PULSE_BASE_URL"] = collector.url();
  const auto refused = deploy(e);
  BOOST_TEST(refused.exit_code == 2, refused.err);
  BOOST_TEST(refused.err.find("no CI detected: not reporting a deployment of this checkout without --identifier") !=
                 std::string::npos,
             refused.err);
  BOOST_TEST(deployments(collector).empty());
  BOOST_TEST(deploy(e, {"--dry-run"}).exit_code == 0);  // trying it sends nothing and is fine
  const auto sent = deploy(e, {"--identifier", "manual-1"});
  BOOST_TEST(sent.exit_code == 0, sent.err);
  BOOST_REQUIRE_EQUAL(deployments(collector).size(), 1u);
  BOOST_TEST(deployments(collector)[0].at("id") == "manual-1");
}

BOOST_FIXTURE_TEST_CASE(github_depth_1_previous_25_commits_back, DeployFixture) {
  clone(1);
  CollectorProcess collector;
  auto e = github(shas[shas.size() - 26]);
  e["PULSE_BASE_URL"] = collector.url();
  const auto r = deploy(e);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.err.find("shallow clone: fetching") != std::string::npos, r.err);
  const auto d = deployments(collector);
  BOOST_REQUIRE_EQUAL(d.size(), 1u);
  BOOST_TEST(d[0].at("id").as_string() == "4242");
  BOOST_TEST(d[0].at("system").as_string() == "acme/shop");  // the CI's repository slug
  BOOST_TEST(d[0].at("run_url") == "https://github.com/acme/shop/actions/runs/4242");
  BOOST_TEST(changes_of(d[0]) == range(shas[shas.size() - 26]), boost::test_tools::per_element());
  const auto output = read_file(root.path / "output");
  BOOST_TEST(output.find("deployment-id=4242\nchanges=25\nprevious-ref=" + shas[shas.size() - 26]) != std::string::npos,
             output);
  BOOST_TEST(read_file(root.path / "summary").find("| changes | 25 |") != std::string::npos);
}

// One GitLab pipeline (one CI_PIPELINE_ID) deploys to staging, then to
// production: two deployments, not one lost as a duplicate.
BOOST_FIXTURE_TEST_CASE(one_pipeline_two_environments_two_deployments, DeployFixture) {
  clone(0);
  CollectorProcess collector;
  auto e = gitlab(shas[shas.size() - 5]);
  e["PULSE_BASE_URL"] = collector.url();
  e["CI_ENVIRONMENT_NAME"] = "staging";
  const auto staging = deploy(e);
  BOOST_TEST(staging.exit_code == 0, staging.err);
  e["CI_ENVIRONMENT_NAME"] = "production";
  const auto production = deploy(e);
  BOOST_TEST(production.exit_code == 0, production.err);
  const auto d = deployments(collector);
  BOOST_REQUIRE_EQUAL(d.size(), 2u);
  std::set<std::string> environments;
  for (const auto& x : d) {
    BOOST_TEST(x.at("id").as_string() == "9001");
    environments.emplace(x.at("environment").as_string());
    BOOST_TEST(changes_of(x) == range(shas[shas.size() - 5]), boost::test_tools::per_element());
  }
  BOOST_TEST(environments == (std::set<std::string>{"production", "staging"}));
  // Production's metrics count production's deployment only; staging's are its own.
  auto deployments_counted = [&](std::vector<std::string> extra) {
    // A window past now: deployed this second, the deployments are before its end.
    std::vector<std::string> args{"metrics",    "--db", collector.db(),
                                  "--format",   "json", "--from",
                                  "2026-01-01", "--to", format_rfc3339(unix_now() + 86400)};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto m = collector_cmd(args);
    BOOST_REQUIRE_MESSAGE(m.exit_code == 0, m.err);
    return json::parse(m.out).at("overall").at("deployment_frequency").at("deployments").as_int64();
  };
  BOOST_TEST(deployments_counted({}) == 1);
  BOOST_TEST(deployments_counted({"--environment", "staging"}) == 1);
  BOOST_TEST(deployments_counted({"--environment", "production,staging", "--model", "dora"}) == 2);
}

// GitLab's environment "Rollback" re-runs an old pipeline's deploy job, and
// a retried job runs again: each execution is its own deployment (job ids
// 2, 3, 4 of pipeline 9001 deploy A, B, then A again), and the third is the
// rollback the DORA model counts. On GitHub "Re-run jobs" keeps the run id
// and counts the attempt.
BOOST_FIXTURE_TEST_CASE(re_runs_and_retried_jobs_are_deployments_of_their_own, DeployFixture) {
  origin.git({"tag", "v1.0.0", shas[50]});
  clone(0);
  CollectorProcess collector;
  auto e = gitlab(shas[30]);
  e["PULSE_BASE_URL"] = collector.url();
  const std::int64_t t0 = 1767600000;  // 2026-01-05
  int job = 1;
  auto run_job = [&](const std::string& sha) {
    ++job;
    e["CI_JOB_ID"] = std::to_string(job);
    e["CI_COMMIT_SHA"] = sha;
    const auto r = deploy(e, {"--timestamp", std::to_string(t0 + job * 3600)});
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return r;
  };
  run_job(shas[40]);                        // job 2: A
  run_job(shas[50]);                        // job 3: B, tagged v1.0.0
  const auto rollback = run_job(shas[40]);  // job 4: A again
  BOOST_TEST(rollback.err.find("rollback: " + shas[40].substr(0, 12)) != std::string::npos, rollback.err);
  std::set<std::string> ids;
  for (const auto& d : deployments(collector)) ids.emplace(d.at("id").as_string());
  BOOST_TEST(ids == (std::set<std::string>{"2", "v1.0.0+3", "4"}));
  const auto m = collector_cmd({"metrics", "--db", collector.db(), "--model", "dora", "--from", "2026-01-05", "--to",
                                "2026-01-06", "--format", "json"});
  BOOST_TEST_REQUIRE(m.exit_code == 0, m.err);
  const auto o = json::parse(m.out).at("overall");
  BOOST_TEST(o.at("deployment_frequency").at("deployments") == 3);
  BOOST_TEST(o.at("change_failure_rate").at("reasons").at("rollback") == 1, m.out);

  // GitHub: the same run, attempt 1 and then re-run as attempt 2.
  CollectorProcess other;
  auto g = github(shas[45]);
  g["PULSE_BASE_URL"] = other.url();
  g["GITHUB_RUN_ATTEMPT"] = "1";
  BOOST_TEST(deploy(g).exit_code == 0);
  g["GITHUB_RUN_ATTEMPT"] = "2";
  const auto again = deploy(g);
  BOOST_TEST(again.exit_code == 0, again.err);
  ids.clear();
  for (const auto& d : deployments(other)) ids.emplace(d.at("id").as_string());
  BOOST_TEST(ids == (std::set<std::string>{"4242", "4242-2"}));
}

// A depth-1 clone deepened to a previous deployment 45 commits back: with
// a server that takes partial-clone filters, commits only (with --path,
// commits and trees); with one that does not, whole objects. The range is
// git's either way, and the clone works for `git log -p` afterwards (git
// fetches what it lacks on demand).
BOOST_FIXTURE_TEST_CASE(shallow_deepening_fetches_commits_only_where_the_server_allows, DeployFixture) {
  for (const bool allow : {true, false}) {
    for (const bool with_path : {false, true}) {
      BOOST_TEST_CONTEXT("uploadpack.allowFilter=" << allow << (with_path ? ", --path services/api" : "")) {
        origin.git({"config", "uploadpack.allowFilter", allow ? "true" : "false"});
        fs::remove_all(workspace);
        clone(1);
        const std::string previous = shas[shas.size() - 46];
        std::vector<std::string> args = {"--dry-run", "--previous-deployment-ref", previous, "--identifier", "x"};
        std::vector<std::string> paths;
        if (with_path) {
          args.insert(args.end(), {"--path", "services/api"});
          paths.push_back("services/api");
        }
        const auto r = deploy(env, args);
        BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
        // The commits, as git lists them on the full history.
        std::vector<std::string> listed;
        for (const auto& line : lines(r.out)) listed.push_back(line.substr(0, line.find(' ')));
        BOOST_TEST(listed == range(previous, paths), boost::test_tools::per_element());
        const std::string expected = !allow      ? "whole objects (the server does not take partial-clone filters)"
                                     : with_path ? "commits and trees (--filter=blob:none)"
                                                 : "commits only (--filter=tree:0)";
        BOOST_TEST(r.err.find("fetching " + expected) != std::string::npos, r.err);
        // What is missing locally (listed without fetching it): trees of the
        // older commits with tree:0, blobs with blob:none, nothing without.
        const auto missing = run_process({"git", "-C", workspace, "rev-list", "--objects", "--missing=print",
                                          shas[shas.size() - 30] + "~1", "-n", "1"},
                                         env);
        BOOST_TEST(missing.exit_code == 0, missing.err);
        BOOST_TEST((missing.out.find("\n?") != std::string::npos || missing.out.starts_with("?")) == allow,
                   missing.out);
        // Later steps read anything: git fetches it from the remote.
        const auto log = run_process({"git", "-C", workspace, "log", "-p", "-3", shas[shas.size() - 30]}, env);
        BOOST_TEST(log.exit_code == 0, log.err);
        BOOST_TEST(log.out.find("diff --git") != std::string::npos);
      }
    }
  }
}

// Patch-ids in a depth-1 clone deepened to commits only: the diffs' trees
// and blobs come in two batched fetches (not one lazy fetch per object),
// and every patch-id equals git's own on the full history.
BOOST_FIXTURE_TEST_CASE(patch_ids_in_a_partial_clone_equal_git_s_on_the_full_history, DeployFixture) {
  origin.git({"config", "uploadpack.allowFilter", "true"});
  origin.git({"config", "uploadpack.allowAnySHA1InWant", "true"});
  clone(1);
  CollectorProcess collector;
  const std::string previous = shas[shas.size() - 11];
  auto e = env;
  e["PULSE_BASE_URL"] = collector.url();
  e["GIT_TRACE2_EVENT"] = root.str("trace.json");
  const auto r = deploy(e, {"--previous-deployment-ref", previous, "--identifier", "p1"});
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  BOOST_TEST(r.err.find("patch-ids left out") == std::string::npos, r.err);
  // git fetch ran for the deepening and the two batches, not per object.
  int fetches = 0;
  for (const auto& line : lines(read_file(root.path / "trace.json")))
    if (line.find("\"event\":\"cmd_name\"") != std::string::npos &&
        line.find("\"name\":\"fetch\"") != std::string::npos)
      ++fetches;
  BOOST_TEST(fetches <= 5, fetches << " fetches");
  if (testing_postgres()) return;  // the patch-ids are read from the SQLite file below
  // git's own patch-ids, on the full history.
  const auto listed = run_process(
      {"git", "-C", origin.dir(), "rev-list", "--first-parent", "--no-merges", shas.back(), "^" + previous}, env);
  const auto diffs =
      run_command({"git", "-C", origin.dir(), "diff-tree", "-p", "-r", "--root", "--stdin"}, "", listed.out);
  const auto ids = run_command({"git", "-C", origin.dir(), "patch-id", "--stable"}, "", diffs.out);
  std::map<std::string, std::string> expected, stored;
  std::istringstream in(ids.out);
  for (std::string pid, sha; in >> pid >> sha;) expected[sha] = pid;
  BOOST_TEST_REQUIRE(expected.size() == 10u);
  sql::Database db(collector.db());
  auto s = db.prepare("SELECT change_id, patch_id FROM patches WHERE kind = 'deployed'");
  while (s.step()) stored[s.text(0)] = s.text(1);
  BOOST_TEST(stored.size() == expected.size());
  for (const auto& [sha, pid] : expected) BOOST_TEST(stored[sha] == pid, sha);
}

BOOST_FIXTURE_TEST_CASE(gitlab_depth_20_and_then_the_collector_record, DeployFixture) {
  clone(20);
  CollectorProcess collector;
  auto e = gitlab(shas[shas.size() - 31]);
  e["PULSE_BASE_URL"] = collector.url();
  auto r = deploy(e, {"--dotenv", root.str("deploy.env")});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(changes_of(deployments(collector)[0]) == range(shas[shas.size() - 31]), boost::test_tools::per_element());
  BOOST_TEST(read_file(root.path / "deploy.env").find("PULSE_DEPLOYMENT_ID=9001\nPULSE_CHANGES=30\n") !=
             std::string::npos);
  // More commits, a new pipeline that knows no "before": the collector remembers where the last one ended.
  for (int i = 0; i < 3; ++i) shas.push_back(origin.commit("web/g", std::to_string(i), 1700100000 + i));
  BOOST_TEST(run_process({"git", "-C", workspace, "fetch", "-q", "origin"}, env).exit_code == 0);
  run_process({"git", "-C", workspace, "checkout", "-q", shas.back()}, env);
  e = gitlab("0000000000000000000000000000000000000000");
  e["PULSE_BASE_URL"] = collector.url();
  e["CI_PIPELINE_ID"] = "9002";
  r = deploy(e);
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.err.find("from the collector's last production deployment") != std::string::npos, r.err);
  for (const auto& d : deployments(collector))
    if (d.at("id").as_string() == "9002") BOOST_TEST(changes_of(d).size() == 3u);
}

BOOST_FIXTURE_TEST_CASE(tags_first_deployment_and_paths, DeployFixture) {
  origin.git({"tag", "v1.0.0", shas[40]});
  origin.git({"tag", "v1.1.0", shas.back()});
  origin.git({"tag", "nightly", shas[50]});
  clone(0);
  CollectorProcess collector;
  EnvOverrides e = env;
  e["PULSE_BASE_URL"] = collector.url();
  // The deployed commit's tag names the deployment; the previous tag bounds it.
  // (Outside CI the deployed commit is named: --sha.)
  auto r = deploy(e, {"--path", "services/api", "--sha", shas.back()});
  BOOST_TEST(r.exit_code == 0, r.err);
  auto d = deployments(collector);
  BOOST_REQUIRE_EQUAL(d.size(), 1u);
  BOOST_TEST(d[0].at("id").as_string() == "v1.1.0");
  BOOST_TEST(changes_of(d[0]) == range(shas[40], {"services/api"}), boost::test_tools::per_element());
  // With no tag, no record, no before: the first deployment ships only its commit.
  const auto dry = deploy(e, {"--tag-pattern", "^none$", "--system", "fresh", "--dry-run"});
  BOOST_TEST(dry.exit_code == 0, dry.err);
  BOOST_TEST(dry.err.find("first deployment ships only") != std::string::npos, dry.err);
  BOOST_TEST(count_of(dry.out, "\n") == 1u);
  BOOST_TEST(deployments(collector).size() == 1u);  // dry run sent nothing
}

BOOST_FIXTURE_TEST_CASE(rewritten_history_warns_and_reports_what_it_can, DeployFixture) {
  clone(1);
  CollectorProcess collector;
  const std::string gone = "1234567890abcdef1234567890abcdef12345678";  // a force push's lost tip
  auto e = github(gone);
  e["PULSE_BASE_URL"] = collector.url();
  const auto r = deploy(e, {"--max-deepen", "2"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("::warning title=pulse-deploy::previous deployment " + gone) != std::string::npos, r.out);
  BOOST_TEST(changes_of(deployments(collector)[0]) == std::vector<std::string>{shas.back()});
}

BOOST_FIXTURE_TEST_CASE(a_squash_merged_branch_was_deployed_before, DeployFixture) {
  // The previous deployment shipped a feature branch that was then squashed
  // into main: its tip is in the clone but not an ancestor of what ships now.
  origin.git({"checkout", "-q", "-b", "feature", shas[50]});
  const auto f1 = origin.commit("web/feature", "1", 1700200000);
  const auto f2 = origin.commit("web/feature", "2", 1700200100);
  origin.git({"checkout", "-q", "main"});
  origin.git({"merge", "-q", "--squash", "feature"});
  origin.git({"commit", "-q", "-m", "feature (squashed)"}, {{"GIT_COMMITTER_DATE", "@1700300000 +0000"}});
  shas.push_back(origin.git({"rev-parse", "HEAD"}));
  clone(0);
  CollectorProcess collector;
  EnvOverrides e = env;
  e["PULSE_BASE_URL"] = collector.url();
  const auto r = deploy(e, {"--previous-deployment-ref", f2, "--tag-pattern", "^none$", "--sha", shas.back(),
                            "--environment", "staging"});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.err.find("previous deployment " + f2) != std::string::npos, r.err);
  BOOST_TEST(r.err.find("history was rewritten") != std::string::npos, r.err);
  const auto d = deployments(collector);
  BOOST_REQUIRE_EQUAL(d.size(), 1u);
  BOOST_TEST(changes_of(d[0]) == std::vector<std::string>{shas.back()});
  // With the previous deployment named, the collector's extensions are
  // still used: the environment and head commit are recorded.
  BOOST_TEST(d[0].at("environment") == "staging");
  (void)f1;
}

// What the DORA model counts, made the way users make it: a rollback is
// pulse-deploy of an older commit, a revert is git revert, marks are flags.
BOOST_FIXTURE_TEST_CASE(rollback_revert_and_marks_reach_the_dora_model, DeployFixture) {
  CollectorProcess collector;
  const std::string feature = origin.commit("feature/x", "new", 1700010000);
  origin.git({"revert", "--no-edit", feature}, {{"GIT_COMMITTER_DATE", "@1700010060 +0000"}});
  const std::string revert = origin.git({"rev-parse", "HEAD"});
  clone(0);
  EnvOverrides e = env;
  e["PULSE_BASE_URL"] = collector.url();
  const std::int64_t t0 = 1767600000;  // 2026-01-05
  int n = 0;
  auto step = [&](const std::string& sha, std::vector<std::string> extra = {}) {
    ++n;
    std::vector<std::string> args{"--sha",    sha,    "--identifier", "d" + std::to_string(n),
                                  "--system", "shop", "--timestamp",  std::to_string(t0 + n * 3600)};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = deploy(e, args);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return r;
  };
  step(shas[40]);                        // d1
  step(shas[50]);                        // d2: rolled back by d3
  const auto rollback = step(shas[40]);  // d3
  BOOST_TEST(rollback.err.find("rollback: " + shas[40].substr(0, 12)) != std::string::npos, rollback.err);
  step(feature);                        // d4: its change is reverted by d5
  const auto reverting = step(revert);  // d5
  BOOST_TEST(reverting.err.find("ships a revert of " + feature.substr(0, 12)) != std::string::npos, reverting.err);
  step(revert, {"--status", "failed"});  // d6: marked
  step(revert, {"--fixes", "d6"});       // d7: fixes it
  for (const auto& d : deployments(collector))
    if (d.at("id") == "d3") BOOST_TEST(changes_of(d).empty());  // a rollback ships nothing new

  const auto m = collector_cmd({"metrics", "--db", collector.db(), "--model", "dora", "--from", "2026-01-05", "--to",
                                "2026-01-06", "--format", "json"});
  BOOST_TEST_REQUIRE(m.exit_code == 0, m.err);
  const auto o = json::parse(m.out).at("overall");
  BOOST_TEST(o.at("deployment_frequency").at("deployments") == 7);
  const auto& reasons = o.at("change_failure_rate").at("reasons");
  BOOST_TEST(reasons.at("rollback") == 1, m.out);
  BOOST_TEST(reasons.at("revert") == 1, m.out);
  BOOST_TEST(reasons.at("mark") == 1, m.out);
  BOOST_TEST(o.at("change_failure_rate").at("failed_deployments") == 3);
  BOOST_TEST(o.at("deployment_rework_rate").at("rework_deployments") == 3);          // d3, d5, d7
  BOOST_TEST(o.at("failed_deployment_recovery_time").at("median_seconds") == 3600);  // each recovered an hour later
  const auto table = collector_cmd(
      {"metrics", "--db", collector.db(), "--model", "dora", "--from", "2026-01-05", "--to", "2026-01-06"});
  BOOST_TEST(table.out.find("REWORK RATE") != std::string::npos, table.out);
  BOOST_TEST(table.out.find("1 rolled back, 1 reverted, 1 marked") != std::string::npos, table.out);
  const auto bad = deploy(e, {"--sha", revert, "--identifier", "d9", "--status", "broken"});
  BOOST_TEST(bad.exit_code == 2);
  BOOST_TEST(bad.err.find("--status must be failed or rolled-back") != std::string::npos, bad.err);
}

BOOST_FIXTURE_TEST_CASE(failure_policy, DeployFixture) {
  clone(1);
  // The collector down: a warning, exit 0; --strict fails.
  std::uint16_t port;
  {
    RecordingServer s([](int, const ServerRequest&) { return ok_response(); });
    port = s.port();
  }
  auto e = github(shas[shas.size() - 3]);
  e["PULSE_BASE_URL"] = "http://127.0.0.1:" + std::to_string(port);
  e["PULSE_API_KEY"] = "k-secret";
  auto r = deploy(e, {});
  BOOST_TEST(r.exit_code == 0, r.err);
  BOOST_TEST(r.out.find("::warning title=pulse-deploy::deployment not reported") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("::add-mask::k-secret") != std::string::npos);
  r = deploy(e, {"--strict"});
  BOOST_TEST(r.exit_code == 4);
  {
    // --max-attempts bounds the retries of a failing server.
    RecordingServer failing([](int, const ServerRequest&) { return ServerResponse{503, "text/plain", "busy", {}}; });
    auto busy = e;
    busy["PULSE_BASE_URL"] = "http://127.0.0.1:" + std::to_string(failing.port());
    r = deploy(busy, {"--strict", "--max-attempts", "2", "--timeout", "5"});
    BOOST_TEST(r.exit_code == 4, r.err);
    std::size_t posts = 0;
    for (const auto& q : failing.requests()) posts += q.method == "POST" ? 1 : 0;
    BOOST_TEST(posts == 2u);
  }
  // A bad key always fails the step.
  CollectorProcess locked({"--api-key", "right"});
  e["PULSE_BASE_URL"] = locked.url();
  e["PULSE_API_KEY"] = "wrong";
  r = deploy(e, {});
  BOOST_TEST(r.exit_code == 3);
  BOOST_TEST(r.err.find("server rejected event (401)") != std::string::npos, r.err);
  BOOST_TEST(r.out.find("::error") != std::string::npos);
  // The key shows up only in GitHub's add-mask command, which hides it from logs.
  std::string shown = r.out + r.err;
  shown.erase(shown.find("::add-mask::wrong\n"), 18);
  BOOST_TEST(shown.find("wrong") == std::string::npos, shown);
}

BOOST_AUTO_TEST_SUITE_END()
