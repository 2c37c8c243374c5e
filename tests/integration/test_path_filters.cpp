// The three tools that list ranges agree with git on path filters:
// `push git deployment PATHS`, `pulse-deploy --path` and `backfill PATHS`
// answer what `git rev-list -- PATHS` answers (directories, files, globs,
// :(exclude), several paths), on a generated history with topic branches.
// pulse-deploy on a shallow clone with a tag as the previous ref, and the
// user's git configuration left alone.
#include "cli_helpers.hpp"

#include <sstream>

#include <unistd.h>

using namespace pulse;
using namespace pulse::test;

namespace {

std::vector<std::string> git_lines(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-C", dir});
  const auto r = run_process(args);
  if (r.exit_code != 0) throw std::runtime_error("git: " + r.err);
  return lines(r.out);
}

std::string deploy_bin() {
  return fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/deploy/pulse-deploy";
}

// The change ids of a dry run's printed events, in order.
std::vector<std::string> change_ids(const std::string& out) {
  std::vector<std::string> ids;
  const std::string key = "\"change_id\":\"";
  for (auto p = out.find(key); p != std::string::npos; p = out.find(key, p + 1))
    ids.push_back(out.substr(p + key.size(), 40));
  return ids;
}

struct HistoryFixture {
  TempDir dir;
  std::string repo = dir.str("repo");
  HistoryFixture() {
    const auto made = run_process({(shared_dir() / "bench/make-history").string(), "--commits", "1200", "--tags", "12",
                                   "--topic-span", "60", "--seed", "5", repo});
    if (made.exit_code != 0) throw std::runtime_error("make-history: " + made.err);
  }
};

const std::vector<std::vector<std::string>> kPathSets = {
    {"services/a"}, {"services/*/main.c"}, {":(exclude)lib"}, {"lib", "README"}, {"services/a/main.c"}};

}  // namespace

BOOST_AUTO_TEST_SUITE(path_filters)

BOOST_AUTO_TEST_CASE(every_tool_answers_what_git_answers) {
  HistoryFixture h;
  const auto tags = git_lines(h.repo, {"for-each-ref", "--sort=creatordate", "--format=%(refname:short)", "refs/tags"});
  BOOST_REQUIRE(tags.size() >= 10u);
  const std::string prev = tags[tags.size() - 4];
  for (const auto& paths : kPathSets) {
    std::vector<std::string> args = {"rev-list", "HEAD", "--not", prev, "--"};
    args.insert(args.end(), paths.begin(), paths.end());
    const auto expected = git_lines(h.repo, args);
    BOOST_TEST_CONTEXT(paths.front()) {
      BOOST_TEST(!expected.empty());
      std::vector<std::string> push = {
          "push", "git",         "deployment", "--identifier", "d", "--previous-deployment-ref",
          prev,   "--directory", h.repo,       "--dry-run"};
      push.insert(push.end(), paths.begin(), paths.end());
      const auto r = cli(push);
      BOOST_TEST(r.exit_code == 0, r.err);
      BOOST_TEST(change_ids(r.out) == expected, boost::test_tools::per_element());

      std::vector<std::string> deploy = {deploy_bin(), "--previous-deployment-ref", prev,       "--directory", h.repo,
                                         "--base-url", "http://127.0.0.1:9",        "--dry-run"};
      for (const auto& p : paths) deploy.insert(deploy.end(), {"--path", p});
      const auto d = run_process(deploy);
      BOOST_TEST(d.exit_code == 0, d.err);
      std::vector<std::string> listed;
      for (const auto& l : lines(d.out)) listed.push_back(l.substr(0, 40));
      BOOST_TEST(listed == expected, boost::test_tools::per_element());
    }
  }
  // backfill: each tag's changes are git's rev-list TAG --not EARLIER -- PATHS.
  for (const auto& paths : {kPathSets[0], kPathSets[2]}) {
    std::vector<std::string> args = {"backfill",  "--directory", h.repo,
                                     "--dry-run", "--base-url",  "http://127.0.0.1:9"};
    args.insert(args.end(), paths.begin(), paths.end());
    const auto r = cli(args);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::vector<std::string> earlier = {tags[0]};
    const auto events = lines(r.out);
    std::size_t at = 0;
    for (std::size_t i = 1; i < tags.size(); ++i) {
      std::vector<std::string> git_args = {"rev-list", tags[i], "--not"};
      git_args.insert(git_args.end(), earlier.begin(), earlier.end());
      git_args.push_back("--");
      git_args.insert(git_args.end(), paths.begin(), paths.end());
      const auto expected = git_lines(h.repo, git_args);
      std::vector<std::string> got;
      for (; at < events.size() && events[at].find("\"$type\":\"change\"") != std::string::npos; ++at)
        got.push_back(change_ids(events[at]).at(0));
      BOOST_TEST_REQUIRE(at < events.size());
      BOOST_TEST_CONTEXT(tags[i] << " -- " << paths.front()) {
        BOOST_TEST(events[at].find("\"deploy_id\":\"" + tags[i] + "\"") != std::string::npos, events[at]);
        BOOST_TEST(got == expected, boost::test_tools::per_element());
      }
      ++at;
      earlier.push_back(tags[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(pulse_deploy_on_a_depth_1_clone_with_a_tag_as_previous_ref) {
  HistoryFixture h;
  TempDir work;
  const std::string ws = work.str("ws");
  EnvOverrides env{{"HOME", work.str()}, {"GIT_CONFIG_NOSYSTEM", "1"}};
  BOOST_REQUIRE(
      run_process({"git", "clone", "-q", "--no-tags", "--depth", "1", "file://" + h.repo, ws}, env).exit_code == 0);
  const auto tags = git_lines(h.repo, {"for-each-ref", "--sort=creatordate", "--format=%(refname:short)", "refs/tags"});
  const std::string prev = tags[tags.size() - 3];
  const auto expected = git_lines(h.repo, {"rev-list", "HEAD", "--not", prev});
  env.insert(
      {{"GITHUB_ACTIONS", "true"}, {"CI", "true"}, {"GITHUB_WORKSPACE", ws}, {"GITHUB_REPOSITORY", "acme/shop"}});
  const auto d = run_process(
      {deploy_bin(), "--previous-deployment-ref", prev, "--base-url", "http://127.0.0.1:9", "--dry-run"}, env, ws);
  BOOST_TEST(d.exit_code == 0, d.err);
  std::vector<std::string> listed;
  for (const auto& l : lines(d.out))
    if (l.size() > 40 && l[40] == ' ') listed.push_back(l.substr(0, 40));
  BOOST_TEST(listed == expected, boost::test_tools::per_element());
  BOOST_TEST(d.err.find("range: shallow clone") != std::string::npos, d.err);
  // The tag came as a ref, not as the whole history.
  BOOST_TEST(git_lines(ws, {"tag"}) == std::vector<std::string>{prev}, boost::test_tools::per_element());
  BOOST_TEST(git_lines(ws, {"rev-parse", "--is-shallow-repository"}).at(0) == "true");
  // GitHub mode leaves the user's global configuration alone.
  BOOST_TEST(!fs::exists(fs::path(work.str()) / ".gitconfig"));
}

BOOST_AUTO_TEST_CASE(a_workspace_owned_by_another_user_is_trusted_for_our_commands_only) {
  if (::geteuid() != 0) return;  // needs root to hand the clone to another user, as container jobs do
  HistoryFixture h;
  TempDir work;
  const std::string ws = work.str("ws");
  EnvOverrides env{{"HOME", work.str()}, {"GIT_CONFIG_NOSYSTEM", "1"}};
  BOOST_REQUIRE(run_process({"git", "clone", "-q", "--depth", "1", "file://" + h.repo, ws}, env).exit_code == 0);
  BOOST_REQUIRE(run_process({"chown", "-R", "nobody", ws}).exit_code == 0);
  BOOST_REQUIRE(run_process({"git", "-C", ws, "status"}, env).err.find("dubious ownership") != std::string::npos);
  const std::string prev = git_lines(h.repo, {"rev-parse", "HEAD~20"}).at(0);
  // Outside CI, git's ownership check stands (a shared directory's config could run commands).
  const auto refused = run_process(
      {deploy_bin(), "--previous-deployment-ref", prev, "--base-url", "http://127.0.0.1:9", "--dry-run"}, env, ws);
  BOOST_TEST(refused.exit_code == 2);
  BOOST_TEST(refused.err.find("dubious ownership") != std::string::npos, refused.err);
  env.insert(
      {{"GITHUB_ACTIONS", "true"}, {"CI", "true"}, {"GITHUB_WORKSPACE", ws}, {"GITHUB_REPOSITORY", "acme/shop"}});
  const auto d = run_process(
      {deploy_bin(), "--previous-deployment-ref", prev, "--base-url", "http://127.0.0.1:9", "--dry-run"}, env, ws);
  BOOST_TEST(d.exit_code == 0, d.err);
  BOOST_TEST(lines(d.out).size() == git_lines(h.repo, {"rev-list", "HEAD", "--not", prev}).size());
  BOOST_TEST(!fs::exists(fs::path(work.str()) / ".gitconfig"));  // nothing written to the user's configuration
  run_process({"chown", "-R", "root", ws});
}

BOOST_AUTO_TEST_CASE(in_ci_a_repository_above_the_workspace_owned_by_another_user_is_not_trusted) {
  if (::geteuid() != 0) return;  // needs root to hand the repository to another user
  HistoryFixture h;
  TempDir work;
  // Another user's repository (a shared /tmp/.git, say) holds the job's
  // workspace, which is no checkout of its own; its configuration would run
  // a command as this user through any git command that reads the index.
  const std::string shared = work.str("shared");
  const std::string marker = work.str("ran");
  EnvOverrides env{{"HOME", work.str()}, {"GIT_CONFIG_NOSYSTEM", "1"}};
  BOOST_REQUIRE(run_process({"git", "clone", "-q", "file://" + h.repo, shared}, env).exit_code == 0);
  BOOST_REQUIRE(
      run_process({"git", "-C", shared, "config", "core.fsmonitor", "touch " + marker + "; false"}, env).exit_code ==
      0);
  fs::create_directories(shared + "/build");
  BOOST_REQUIRE(run_process({"chown", "-R", "nobody", shared}).exit_code == 0);
  const std::string prev = git_lines(h.repo, {"rev-parse", "HEAD~3"}).at(0);
  env.insert({{"GITHUB_ACTIONS", "true"},
              {"CI", "true"},
              {"GITHUB_WORKSPACE", shared + "/build"},
              {"GITHUB_REPOSITORY", "acme/shop"}});
  const auto d =
      run_process({deploy_bin(), "--previous-deployment-ref", prev, "--base-url", "http://127.0.0.1:9", "--dry-run"},
                  env, shared + "/build");
  BOOST_TEST(d.exit_code == 2, d.out << d.err);
  BOOST_TEST(d.err.find("owned by another user") != std::string::npos, d.err);
  BOOST_TEST(d.err.find("--directory") != std::string::npos, d.err);
  BOOST_TEST(!fs::exists(marker));
  // Named as the checkout it is (its top level), the same repository is trusted.
  const auto named = run_process({deploy_bin(), "--directory", shared, "--previous-deployment-ref", prev, "--base-url",
                                  "http://127.0.0.1:9", "--dry-run"},
                                 env, shared + "/build");
  BOOST_TEST(named.exit_code == 0, named.err);
  BOOST_TEST(lines(named.out).size() == git_lines(h.repo, {"rev-list", "HEAD", "--not", prev}).size());
  run_process({"chown", "-R", "root", shared});
}

BOOST_AUTO_TEST_SUITE_END()
