// CI detection (one table for the Go CLI's Environment header and for the
// build details) and the one rule for a repository's system name.
#include "ci.hpp"
#include "system_name.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(ci)

BOOST_AUTO_TEST_CASE(build_details_per_provider) {
  auto gl = detect_ci(Env({{"GITLAB_CI", "true"},
                           {"CI_COMMIT_SHA", "abc"},
                           {"CI_PROJECT_PATH", "group/sub/app"},
                           {"CI_PIPELINE_ID", "9001"},
                           {"CI_PIPELINE_URL", "https://gitlab.example/p/9001"},
                           {"CI_ENVIRONMENT_NAME", "staging"},
                           {"CI_COMMIT_BEFORE_SHA", "0000000000"}}));
  BOOST_TEST(gl.provider == "gitlab-ci");
  BOOST_TEST(gl.sha == "abc");
  BOOST_TEST(gl.repository == "group/sub/app");
  BOOST_TEST(gl.run_url == "https://gitlab.example/p/9001");
  BOOST_TEST(gl.environment == "staging");
  BOOST_TEST(gl.before_sha.empty());  // all zeros: a new branch, no previous tip
  const auto gh = detect_ci(Env({{"GITHUB_ACTIONS", "true"},
                                 {"GITHUB_REPOSITORY", "acme/shop"},
                                 {"GITHUB_RUN_ID", "42"},
                                 {"GITHUB_SERVER_URL", "https://ghe.example"}}));
  BOOST_TEST(gh.run_url == "https://ghe.example/acme/shop/actions/runs/42");
  // Shared marker names need their confirming value for the details.
  BOOST_TEST(detect_ci(Env({{"CI_NAME", "other"}})).provider.empty());
  BOOST_TEST(detect_ci(Env({{"CI_NAME", "codeship"}, {"CI_COMMIT_ID", "c"}})).provider == "codeship");
  BOOST_TEST(detect_ci(Env({{"CI", "woodpecker"}, {"CI_PIPELINE_NUMBER", "7"}, {"CI_REPO", "o/r"}})).repository ==
             "o/r");
  // The header keeps the Go CLI's names and rules: it knows no Woodpecker.
  BOOST_TEST(detect_ci_name(Env({{"CI", "woodpecker"}, {"CI_PIPELINE_NUMBER", "7"}})) == "_unknown_");
  BOOST_TEST(detect_ci_name(Env({{"CI_NAME", "other"}})) == "codeship");
  BOOST_TEST(detect_ci(Env({})).provider.empty());
  BOOST_TEST(detect_ci(Env({{"GREENHOUSE", "1"}})).provider.empty());  // a name only, no build details
  BOOST_TEST(detect_ci_name(Env({{"GREENHOUSE", "1"}})) == "greenhouse");
}

BOOST_AUTO_TEST_CASE(remote_paths) {
  struct Row {
    const char* url;
    const char* path;
  };
  const Row rows[] = {
      {"git@github.com:acme/shop.git", "acme/shop"},
      {"https://github.com/acme/shop", "acme/shop"},
      {"https://github.com/acme/shop.git/", "acme/shop"},
      {"https://user:token@gitlab.example/group/sub/app.git", "group/sub/app"},
      {"ssh://git@host:2222/group/sub/app.git", "group/sub/app"},
      {"ssh://host/~alice/tools.git", "alice/tools"},
      {"git@host:~/tools.git", "tools"},
      {"file:///srv/git/shop.git", "shop"},
      {"/srv/git/shop.git", "shop"},
      {"../shop", "shop"},
      {"https://example.com", ""},
      {"", ""},
  };
  for (const auto& r : rows) BOOST_TEST(remote_path(r.url) == r.path, r.url);
}

BOOST_AUTO_TEST_CASE(the_system_rule) {
  CiInfo ci;
  BOOST_TEST(default_system(ci, "git@github.com:acme/shop.git", "/home/me/src/shop-fork") == "acme/shop");
  BOOST_TEST(default_system(ci, "", "/home/me/src/shop-fork/") == "shop-fork");
  ci.repository = "acme/shop";
  BOOST_TEST(default_system(ci, "git@github.com:someone/fork.git", "/w") == "acme/shop");  // the CI's slug first
  ci.repository = "git@github.com:acme/shop.git";  // Buildkite, CircleCI and Jenkins give a clone URL
  BOOST_TEST(default_system(ci, "", "/w") == "acme/shop");
  ci.repository = "https://example.com";
  BOOST_TEST(default_system(ci, "", "/w/app") == "app");
}

BOOST_AUTO_TEST_SUITE_END()
