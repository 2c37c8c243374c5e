// CI detection (one table for the Go CLI's Environment header and for the
// build details) and the one rule for a repository's system name.
#include "core/git/ci.hpp"
#include "core/git/system_name.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <vector>

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
  BOOST_TEST(detect_ci_name(Env({{"CI_NAME", "other"}})) == "_unknown_");  // Go: CI_NAME must say codeship
  BOOST_TEST(detect_ci(Env({})).provider.empty());
  BOOST_TEST(detect_ci(Env({{"GREENHOUSE", "1"}})).provider.empty());  // a name only, no build details
  BOOST_TEST(detect_ci_name(Env({{"GREENHOUSE", "1"}})) == "greenhouse");
}

// The Environment header, for every CI in the Go CLI's own table (1.9.32,
// internal/environment/*.go): its markers give its name, as Go's do.
BOOST_AUTO_TEST_CASE(the_environment_header_is_the_go_clis_for_every_ci_in_its_table) {
  using Vars = std::map<std::string, std::string, std::less<>>;
  const std::vector<std::pair<Vars, std::string>> rows = {
      {{{"APPVEYOR", "True"}}, "appveyor"},
      {{{"CODEBUILD_BUILD_ID", "b:1"}}, "aws-codebuild"},
      {{{"BITRISE_IO", "true"}}, "bitrise"},
      {{{"BUDDY", "true"}}, "buddy"},
      {{{"BUILDKITE", "true"}}, "buildkite"},
      {{{"CIRCLECI", "true"}}, "circleci"},
      {{{"CF_BUILD_ID", "1"}, {"CF_BUILD_URL", "u"}}, "codefresh"},
      {{{"FCI_PROJECT_ID", "1"}}, "codemagic"},
      {{{"CI_NAME", "codeship"}}, "codeship"},
      {{{"DRONE", "true"}}, "drone"},
      {{{"GITHUB_ACTIONS", "true"}}, "github-actions"},
      {{{"GITLAB_CI", "true"}}, "gitlab-ci"},
      {{{"GO_PIPELINE_NAME", "p"}}, "gocd"},
      {{{"GREENHOUSE", "1"}}, "greenhouse"},
      {{{"HEROKU_TEST_RUN_ID", "1"}}, "heroku-ci"},
      {{{"JENKINS_URL", "https://j"}}, "jenkins"},
      {{{"JFROG_CLI_BUILD_NUMBER", "3"}}, "jfrog-pipelines"},
      {{{"MAGNUM", "1"}}, "magnum"},
      {{{"SEMAPHORE", "true"}}, "semaphore"},
      {{{"SHIPPABLE", "true"}}, "shippable"},
      {{{"SOLANO", "1"}}, "solano"},
      {{{"TDDIUM", "1"}}, "solano"},
      {{{"TEAMCITY_VERSION", "2024"}}, "teamcity"},
      {{{"TRAVIS", "true"}}, "travis"},
      {{{"WERCKER_GIT_BRANCH", "main"}}, "wercker"},
      {{{"TF_BUILD", "True"}}, "azure-pipelines"},
      {{{"SOURCE_BRANCH", "m"}, {"SOURCE_COMMIT", "c"}, {"DOCKER_REPO", "r"}, {"DOCKERFILE_PATH", "D"}}, "docker"},
      {{{"PROJECT_ID", "p"}, {"BUILD_ID", "b"}, {"COMMIT_SHA", "c"}, {"REVISION_ID", "r"}}, "google-cloud-build"},
      // An empty value is set, as for Go's LookupEnv; the generic three come last,
      // the others in Go's order (its files' names).
      {{{"JENKINS_URL", ""}}, "jenkins"},
      {{{"TF_BUILD", "True"}, {"CIRCLECI", "true"}}, "circleci"},
      {{{"TRAVIS", "true"}, {"APPVEYOR", "True"}}, "appveyor"},
      // Markers that are not Go's name nothing.
      {{{"CF_BUILD_ID", "1"}}, "_unknown_"},
      {{{"BUDDY_WORKSPACE_ID", "1"}}, "_unknown_"},
      {{{"CM_BUILD_ID", "1"}}, "_unknown_"},
      {{{"GO_SERVER_URL", "https://go"}}, "_unknown_"},
      {{{"CI_NAME", "woodpecker"}}, "_unknown_"},
      {{{"CI", "true"}}, "_unknown_"},
  };
  for (const auto& [vars, name] : rows) {
    std::string marked;
    for (const auto& [k, v] : vars) marked += k + "=" + v + " ";
    BOOST_TEST_CONTEXT(marked) { BOOST_TEST(detect_ci_name(Env(vars)) == name); }
  }
}

BOOST_AUTO_TEST_CASE(every_provider_by_its_variables) {
  // One row per CI pulse-deploy reads: the variables that mark it, its name,
  // and the variable holding the commit (empty: the CI gives no build
  // details, only the Environment header names it).
  using Vars = std::map<std::string, std::string, std::less<>>;
  struct Row {
    Vars vars;
    const char* header;
    const char* sha_var;
  };
  const std::vector<Row> rows = {
      {{{"APPVEYOR", "True"}}, "appveyor", "APPVEYOR_REPO_COMMIT"},
      {{{"CODEBUILD_BUILD_ID", "b:1"}}, "aws-codebuild", "CODEBUILD_RESOLVED_SOURCE_VERSION"},
      {{{"BITRISE_IO", "true"}}, "bitrise", "BITRISE_GIT_COMMIT"},
      {{{"BUDDY_WORKSPACE_ID", "1"}}, "buddy", "BUDDY_EXECUTION_REVISION"},
      {{{"BUILDKITE", "true"}}, "buildkite", "BUILDKITE_COMMIT"},
      {{{"CIRCLECI", "true"}}, "circleci", "CIRCLE_SHA1"},
      {{{"CF_BUILD_ID", "1"}}, "codefresh", "CF_REVISION"},
      {{{"CM_BUILD_ID", "1"}}, "codemagic", "CM_COMMIT"},
      {{{"CI_NAME", "codeship"}}, "codeship", "CI_COMMIT_ID"},
      {{{"DRONE", "true"}}, "drone", "DRONE_COMMIT_SHA"},
      {{{"GITHUB_ACTIONS", "true"}}, "github-actions", "GITHUB_SHA"},
      {{{"GITLAB_CI", "true"}}, "gitlab-ci", "CI_COMMIT_SHA"},
      {{{"GO_SERVER_URL", "https://go"}}, "gocd", "GO_REVISION"},
      {{{"GREENHOUSE", "1"}}, "greenhouse", ""},
      {{{"HEROKU_TEST_RUN_ID", "1"}}, "heroku-ci", "HEROKU_TEST_RUN_COMMIT_VERSION"},
      {{{"JENKINS_URL", "https://j"}}, "jenkins", "GIT_COMMIT"},
      {{{"JFROG_CLI_BUILD_NAME", "b"}}, "jfrog-pipelines", ""},
      {{{"MAGNUM", "1"}}, "magnum", ""},
      {{{"SEMAPHORE", "true"}}, "semaphore", "SEMAPHORE_GIT_SHA"},
      {{{"SHIPPABLE", "true"}}, "shippable", ""},
      {{{"TDDIUM", "1"}}, "solano", ""},
      {{{"TEAMCITY_VERSION", "2024"}}, "teamcity", "BUILD_VCS_NUMBER"},
      {{{"TRAVIS", "true"}}, "travis", "TRAVIS_COMMIT"},
      {{{"WERCKER_MAIN_PIPELINE_STARTED", "1"}}, "wercker", ""},
      {{{"CI", "woodpecker"}, {"CI_PIPELINE_NUMBER", "1"}}, "woodpecker", "CI_COMMIT_SHA"},  // unknown to the Go CLI
      {{{"BITBUCKET_BUILD_NUMBER", "1"}}, "bitbucket", "BITBUCKET_COMMIT"},                  // and these three
      {{{"GITHUB_ACTIONS", "true"}, {"GITEA_ACTIONS", "true"}}, "gitea-actions", "GITHUB_SHA"},
      {{{"GITHUB_ACTIONS", "true"}, {"FORGEJO_ACTIONS", "true"}}, "forgejo-actions", "GITHUB_SHA"},
      {{{"TF_BUILD", "True"}}, "azure-pipelines", "BUILD_SOURCEVERSION"},
      {{{"SOURCE_BRANCH", "m"}, {"SOURCE_COMMIT", "c"}, {"DOCKER_REPO", "r"}, {"DOCKERFILE_PATH", "D"}}, "docker", ""},
      {{{"PROJECT_ID", "p"}, {"BUILD_ID", "b"}, {"COMMIT_SHA", "c"}, {"REVISION_ID", "r"}},
       "google-cloud-build",
       "COMMIT_SHA"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.header << " " << row.sha_var) {
      // Setup: its markers, its commit variable, and a build id everywhere it may be read.
      auto vars = row.vars;
      if (*row.sha_var) vars[row.sha_var] = "0123abc";
      for (const char* id :
           {"APPVEYOR_BUILD_ID", "BITRISE_BUILD_NUMBER", "BUDDY_EXECUTION_ID", "BUILDKITE_BUILD_ID", "CIRCLE_BUILD_NUM",
            "CI_BUILD_NUMBER", "DRONE_BUILD_NUMBER", "GITHUB_RUN_ID", "CI_PIPELINE_ID", "GO_PIPELINE_COUNTER",
            "BUILD_NUMBER", "JFROG_CLI_BUILD_NUMBER", "SEMAPHORE_WORKFLOW_ID", "TRAVIS_BUILD_ID", "BUILD_BUILDID"})
        if (!vars.count(id)) vars[id] = "77";
      const Env env(vars);
      // Run and check: the provider and the commit where the CI gives them.
      const auto ci = detect_ci(env);
      if (*row.sha_var) {
        BOOST_TEST(ci.provider == row.header);
        BOOST_TEST(ci.sha == "0123abc");
        BOOST_TEST(!ci.run_id.empty());
      }
    }
  }
}

// One id per execution of the job: a retried job or a re-run of an old
// pipeline's job gets a new one (pulse-deploy's default identifier).
BOOST_AUTO_TEST_CASE(execution_ids_are_new_for_each_retry_and_re_run) {
  struct Row {
    Env env;
    const char* execution;
  };
  const Row rows[] = {
      {Env({{"GITLAB_CI", "true"}, {"CI_PIPELINE_ID", "9001"}, {"CI_JOB_ID", "4"}}), "4"},
      {Env({{"GITLAB_CI", "true"}, {"CI_PIPELINE_ID", "9001"}}), "9001"},
      {Env({{"GITHUB_ACTIONS", "true"}, {"GITHUB_RUN_ID", "4242"}, {"GITHUB_RUN_ATTEMPT", "1"}}), "4242"},
      {Env({{"GITHUB_ACTIONS", "true"}, {"GITHUB_RUN_ID", "4242"}, {"GITHUB_RUN_ATTEMPT", "3"}}), "4242-3"},
      {Env({{"GITHUB_ACTIONS", "true"}, {"GITHUB_RUN_ID", "4242"}}), "4242"},
      {Env({{"TF_BUILD", "True"}, {"BUILD_BUILDID", "88"}, {"SYSTEM_JOBATTEMPT", "2"}}), "88-2"},
      {Env({{"BITBUCKET_BUILD_NUMBER", "12"}, {"BITBUCKET_COMMIT", "c"}, {"BITBUCKET_STEP_RUN_NUMBER", "2"}}), "12-2"},
      {Env({{"TRAVIS", "true"}, {"TRAVIS_BUILD_ID", "5"}, {"TRAVIS_JOB_ID", "51"}}), "51"},
      {Env({{"BUILDKITE", "true"}, {"BUILDKITE_BUILD_ID", "b"}, {"BUILDKITE_JOB_ID", "j-1"}}), "j-1"},
      {Env({{"CIRCLECI", "true"}, {"CIRCLE_BUILD_NUM", "31"}}), "31"},
      {Env({}), ""},
  };
  for (const auto& row : rows) BOOST_TEST(detect_ci(row.env).execution_id == row.execution);
}

BOOST_AUTO_TEST_CASE(bitbucket_gitea_forgejo_and_woodpecker_details) {
  const auto bb = detect_ci(Env({{"CI", "true"},
                                 {"BITBUCKET_BUILD_NUMBER", "12"},
                                 {"BITBUCKET_COMMIT", "abc"},
                                 {"BITBUCKET_TAG", "v2.0.0"},
                                 {"BITBUCKET_REPO_FULL_NAME", "acme/shop"},
                                 {"BITBUCKET_GIT_HTTP_ORIGIN", "http://bitbucket.org/acme/shop"},
                                 {"BITBUCKET_DEPLOYMENT_ENVIRONMENT", "production"}}));
  BOOST_TEST(bb.provider == "bitbucket");
  BOOST_TEST(bb.sha == "abc");
  BOOST_TEST(bb.ref == "v2.0.0");  // a tag pipeline has no branch
  BOOST_TEST(bb.repository == "acme/shop");
  BOOST_TEST(bb.run_url == "http://bitbucket.org/acme/shop/pipelines/results/12");
  BOOST_TEST(bb.environment == "production");
  for (const char* forge : {"GITEA_ACTIONS", "FORGEJO_ACTIONS"}) {
    const auto g = detect_ci(Env({{"GITHUB_ACTIONS", "true"},
                                  {forge, "true"},
                                  {"GITHUB_SHA", "def"},
                                  {"GITHUB_REF_NAME", "main"},
                                  {"GITHUB_REPOSITORY", "acme/shop"},
                                  {"GITHUB_RUN_ID", "5521"},
                                  {"GITHUB_RUN_NUMBER", "17"},
                                  {"GITHUB_SERVER_URL", "https://git.example.com"}}));
    BOOST_TEST(g.provider == (std::string(forge) == "GITEA_ACTIONS" ? "gitea-actions" : "forgejo-actions"));
    BOOST_TEST(g.sha == "def");
    BOOST_TEST(g.run_url == "https://git.example.com/acme/shop/actions/runs/17");  // by the run's number
    BOOST_TEST(detect_ci_name(Env({{"GITHUB_ACTIONS", "true"}, {forge, "true"}})) == "github-actions");  // as Go
  }
  const auto wp = detect_ci(Env({{"CI", "woodpecker"},
                                 {"CI_PIPELINE_NUMBER", "9"},
                                 {"CI_COMMIT_SHA", "f00"},
                                 {"CI_COMMIT_TAG", "v3"},
                                 {"CI_REPO", "acme/shop"},
                                 {"CI_PIPELINE_URL", "https://ci.example.com/repos/1/pipeline/9"},
                                 {"CI_PIPELINE_DEPLOY_TARGET", "production"}}));
  BOOST_TEST(wp.provider == "woodpecker");
  BOOST_TEST(wp.ref == "v3");
  BOOST_TEST(wp.execution_id == "9");
  BOOST_TEST(wp.run_url == "https://ci.example.com/repos/1/pipeline/9");
  BOOST_TEST(wp.environment == "production");
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
