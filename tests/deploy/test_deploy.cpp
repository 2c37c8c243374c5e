// pulse_deploy in process: pulse-deploy's range, identifier and refusals, with
// a CI's variables given as an Env, on a real git repository.
#include "plugins/deploy/deploy.hpp"

#include "../support/support.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>

using namespace pulse;
using namespace pulse::test;

namespace {

struct Ran {
  int code;
  std::string out, err;
};

Ran deploy_run(std::vector<std::string> args, Env env) {
  std::ostringstream out, err;
  env.set("PATH", "/usr/local/bin:/usr/bin:/bin");
  const int code = deploy::run(args, env, out, err);
  return {code, out.str(), err.str()};
}

// A CI run of GitHub Actions on `repo` at `sha`.
Env github(const GitRepo& repo, const std::string& sha) {
  return Env{{"GITHUB_ACTIONS", "true"},
             {"GITHUB_SHA", sha},
             {"GITHUB_REPOSITORY", "o/r"},
             {"GITHUB_RUN_ID", "77"},
             {"GITHUB_SERVER_URL", "https://github.example"},
             {"GITHUB_WORKSPACE", repo.dir()},
             {"HOME", repo.dir()}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deploy_in_process)

BOOST_AUTO_TEST_CASE(a_github_run_deploys_the_commits_since_the_previous_tag) {
  // Setup: v1 tagged, then two commits.
  GitRepo repo;
  const auto first = repo.commit("a", "1", 1700000000);
  repo.git({"tag", "v1.0.0", first});
  const auto second = repo.commit("b", "2", 1700000100);
  const auto third = repo.commit("c", "3", 1700000200);
  // Run
  const auto r = deploy_run({"--dry-run"}, github(repo, third));
  // Check: the run's id, the system from the CI, exactly the two commits.
  BOOST_TEST(r.code == 0, r.err);
  BOOST_TEST(r.err.find("github-actions; deploying " + third.substr(0, 12) + " as 77 (system o/r") != std::string::npos,
             r.err);
  BOOST_TEST(r.out.find(third) != std::string::npos);
  BOOST_TEST(r.out.find(second) != std::string::npos);
  BOOST_TEST(r.out.find(first) == std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(outside_a_ci_it_refuses_without_an_identifier) {
  // Setup
  GitRepo repo;
  repo.commit("a", "1", 1700000000);
  // Run
  const auto r = deploy_run({"--directory", repo.dir(), "--base-url", "http://127.0.0.1:9"}, Env{{"HOME", repo.dir()}});
  // Check: nothing sent (the port would refuse), a usage error naming the way out.
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.err.find("no CI detected") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("--dry-run") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_previous_ref_that_names_nothing_is_a_clear_error) {
  // Setup
  GitRepo repo;
  const auto head = repo.commit("a", "1", 1700000000);
  // Run
  const auto r = deploy_run({"--dry-run", "--previous-deployment-ref", "no-such-tag"}, github(repo, head));
  // Check
  BOOST_TEST(r.code != 0);
  BOOST_TEST(r.err.find("no-such-tag") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
