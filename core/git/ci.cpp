#include "core/git/ci.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pulse {

namespace {

// The Go CLI's own table (1.9.32, internal/environment/*.go), in the order
// it checks it: each file's init() in file-name order, then the three with
// generic variable names. It decides the `Environment` header alone, so that
// every client sends what the Go CLI sends; its markers are Go's, even where
// the build details below read others.
struct GoCi {
  const char* name;
  std::array<std::string_view, 4> markers;  ///< all set (an empty value counts, as Go's LookupEnv)
  std::string_view equals = {};             ///< VAR=value instead (codeship: CI_NAME=codeship)
};

// clang-format off
constexpr GoCi kGoCis[] = {
    {"appveyor", {"APPVEYOR"}}, {"aws-codebuild", {"CODEBUILD_BUILD_ID"}}, {"bitrise", {"BITRISE_IO"}},
    {"buddy", {"BUDDY"}}, {"buildkite", {"BUILDKITE"}}, {"circleci", {"CIRCLECI"}},
    {"codefresh", {"CF_BUILD_ID", "CF_BUILD_URL"}}, {"codemagic", {"FCI_PROJECT_ID"}},
    {"codeship", {}, "CI_NAME=codeship"}, {"drone", {"DRONE"}}, {"github-actions", {"GITHUB_ACTIONS"}},
    {"gitlab-ci", {"GITLAB_CI"}}, {"gocd", {"GO_PIPELINE_NAME"}}, {"greenhouse", {"GREENHOUSE"}},
    {"heroku-ci", {"HEROKU_TEST_RUN_ID"}}, {"jenkins", {"JENKINS_URL"}}, {"jfrog-pipelines", {"JFROG_CLI_BUILD_NUMBER"}},
    {"magnum", {"MAGNUM"}}, {"semaphore", {"SEMAPHORE"}}, {"shippable", {"SHIPPABLE"}},
    {"solano", {"SOLANO"}}, {"solano", {"TDDIUM"}},  // either
    {"teamcity", {"TEAMCITY_VERSION"}}, {"travis", {"TRAVIS"}}, {"wercker", {"WERCKER_GIT_BRANCH"}},
    {"azure-pipelines", {"TF_BUILD"}}, {"docker", {"SOURCE_BRANCH", "SOURCE_COMMIT", "DOCKER_REPO", "DOCKERFILE_PATH"}},
    {"google-cloud-build", {"PROJECT_ID", "BUILD_ID", "COMMIT_SHA", "REVISION_ID"}},
};
// clang-format on

// The build details of each CI pulse-deploy reads, one row per provider
// (research: git-ci.md §3–5, env-ci, ci-info); names as the Go CLI's.
// Order matters: the specific providers first, the ones with generic
// variable names (Azure, Docker Hub, Cloud Build) last.
struct Provider {
  const char* name;
  std::array<std::string_view, 4> markers;  ///< all set (non-empty entries) => this CI
  const char* sha = "";
  const char* ref = "";
  const char* repository = "";
  const char* run_id = "";
  const char* run_url = "";
  const char* environment = "";
  const char* before = "";
  const char* confirm = "";  ///< VAR=value that must hold too for the build details (shared marker names)
};

// A table, one provider per row.
// clang-format off
constexpr Provider kProviders[] = {
    {"appveyor", {"APPVEYOR"}, "APPVEYOR_REPO_COMMIT", "APPVEYOR_REPO_BRANCH", "APPVEYOR_REPO_NAME",
     "APPVEYOR_BUILD_ID"},
    {"aws-codebuild", {"CODEBUILD_BUILD_ID"}, "CODEBUILD_RESOLVED_SOURCE_VERSION", "CODEBUILD_WEBHOOK_HEAD_REF", "",
     "CODEBUILD_BUILD_ID", "CODEBUILD_BUILD_URL", "", "CODEBUILD_WEBHOOK_PREV_COMMIT"},
    {"bitrise", {"BITRISE_IO"}, "BITRISE_GIT_COMMIT", "BITRISE_GIT_BRANCH", "", "BITRISE_BUILD_NUMBER",
     "BITRISE_BUILD_URL"},
    {"buddy", {"BUDDY_WORKSPACE_ID"}, "BUDDY_EXECUTION_REVISION", "BUDDY_EXECUTION_BRANCH", "BUDDY_REPO_SLUG",
     "BUDDY_EXECUTION_ID", "BUDDY_EXECUTION_URL", "", "BUDDY_EXECUTION_PREVIOUS_REVISION"},
    {"buildkite", {"BUILDKITE"}, "BUILDKITE_COMMIT", "BUILDKITE_BRANCH", "BUILDKITE_REPO", "BUILDKITE_BUILD_ID",
     "BUILDKITE_BUILD_URL"},
    {"circleci", {"CIRCLECI"}, "CIRCLE_SHA1", "CIRCLE_BRANCH", "CIRCLE_REPOSITORY_URL", "CIRCLE_BUILD_NUM",
     "CIRCLE_BUILD_URL"},
    {"codefresh", {"CF_BUILD_ID"}, "CF_REVISION", "CF_BRANCH", "CF_REPO_NAME", "CF_BUILD_ID", "CF_BUILD_URL"},
    {"codemagic", {"CM_BUILD_ID"}, "CM_COMMIT", "CM_BRANCH", "", "CM_BUILD_ID", "", "", "CM_PREVIOUS_COMMIT"},
    {"codeship", {"CI_NAME"}, "CI_COMMIT_ID", "CI_BRANCH", "CI_REPO_NAME", "CI_BUILD_NUMBER", "CI_BUILD_URL", "", "",
     "CI_NAME=codeship"},
    {"drone", {"DRONE"}, "DRONE_COMMIT_SHA", "DRONE_BRANCH", "DRONE_REPO", "DRONE_BUILD_NUMBER", "DRONE_BUILD_LINK",
     "DRONE_DEPLOY_TO", "DRONE_COMMIT_BEFORE"},
    {"forgejo-actions", {"GITHUB_ACTIONS", "FORGEJO_ACTIONS"}, "GITHUB_SHA", "GITHUB_REF_NAME", "GITHUB_REPOSITORY",
     "GITHUB_RUN_ID"},
    {"gitea-actions", {"GITHUB_ACTIONS", "GITEA_ACTIONS"}, "GITHUB_SHA", "GITHUB_REF_NAME", "GITHUB_REPOSITORY",
     "GITHUB_RUN_ID"},
    {"github-actions", {"GITHUB_ACTIONS"}, "GITHUB_SHA", "GITHUB_REF_NAME", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"},
    {"gitlab-ci", {"GITLAB_CI"}, "CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PROJECT_PATH", "CI_PIPELINE_ID",
     "CI_PIPELINE_URL", "CI_ENVIRONMENT_NAME", "CI_COMMIT_BEFORE_SHA"},
    {"gocd", {"GO_SERVER_URL"}, "GO_REVISION", "", "", "GO_PIPELINE_COUNTER"},
    {"greenhouse", {"GREENHOUSE"}},
    {"heroku-ci", {"HEROKU_TEST_RUN_ID"}, "HEROKU_TEST_RUN_COMMIT_VERSION", "HEROKU_TEST_RUN_BRANCH", "",
     "HEROKU_TEST_RUN_ID"},
    {"jenkins", {"JENKINS_URL"}, "GIT_COMMIT", "BRANCH_NAME", "GIT_URL", "BUILD_NUMBER", "BUILD_URL", "",
     "GIT_PREVIOUS_SUCCESSFUL_COMMIT"},
    {"jfrog-pipelines", {"JFROG_CLI_BUILD_NAME"}, "", "", "", "JFROG_CLI_BUILD_NUMBER", "JFROG_CLI_BUILD_URL"},
    {"magnum", {"MAGNUM"}},
    {"semaphore", {"SEMAPHORE"}, "SEMAPHORE_GIT_SHA", "SEMAPHORE_GIT_BRANCH", "SEMAPHORE_GIT_REPO_SLUG",
     "SEMAPHORE_WORKFLOW_ID"},
    {"shippable", {"SHIPPABLE"}},
    {"solano", {"TDDIUM"}},
    {"teamcity", {"TEAMCITY_VERSION"}, "BUILD_VCS_NUMBER", "", "", "BUILD_NUMBER"},
    {"travis", {"TRAVIS"}, "TRAVIS_COMMIT", "TRAVIS_BRANCH", "TRAVIS_REPO_SLUG", "TRAVIS_BUILD_ID",
     "TRAVIS_BUILD_WEB_URL"},
    {"wercker", {"WERCKER_MAIN_PIPELINE_STARTED"}},
    {"bitbucket", {"BITBUCKET_BUILD_NUMBER", "BITBUCKET_COMMIT"}, "BITBUCKET_COMMIT", "BITBUCKET_BRANCH",
     "BITBUCKET_REPO_FULL_NAME", "BITBUCKET_BUILD_NUMBER", "", "BITBUCKET_DEPLOYMENT_ENVIRONMENT"},
    {"woodpecker", {"CI_PIPELINE_NUMBER"}, "CI_COMMIT_SHA", "CI_COMMIT_BRANCH", "CI_REPO", "CI_PIPELINE_NUMBER",
     "CI_PIPELINE_URL", "CI_PIPELINE_DEPLOY_TARGET", "", "CI=woodpecker"},
    {"azure-pipelines", {"TF_BUILD"}, "BUILD_SOURCEVERSION", "BUILD_SOURCEBRANCHNAME", "BUILD_REPOSITORY_NAME",
     "BUILD_BUILDID"},
    {"docker", {"SOURCE_BRANCH", "SOURCE_COMMIT", "DOCKER_REPO", "DOCKERFILE_PATH"}},
    {"google-cloud-build", {"PROJECT_ID", "BUILD_ID", "COMMIT_SHA", "REVISION_ID"}, "COMMIT_SHA", "BRANCH_NAME",
     "REPO_NAME", "BUILD_ID"},
};
// clang-format on

// How a CI names one execution of a job, where its run id does not: a
// job's own id (new for each retry), or the run id with the attempt number
// (a re-run keeps the run id). Elsewhere the run id is per execution already
// (CircleCI, Jenkins, Drone, Woodpecker, CodeBuild, Codemagic: a restart is a
// new build number).
struct Execution {
  std::string_view provider;
  const char* job = "";      ///< the execution's own id
  const char* attempt = "";  ///< 1 for the first execution
};
constexpr Execution kExecutions[] = {
    {"appveyor", "APPVEYOR_JOB_ID"},
    {"azure-pipelines", "", "SYSTEM_JOBATTEMPT"},
    {"bitbucket", "", "BITBUCKET_STEP_RUN_NUMBER"},
    {"buildkite", "BUILDKITE_JOB_ID"},
    {"forgejo-actions", "", "GITHUB_RUN_ATTEMPT"},
    {"gitea-actions", "", "GITHUB_RUN_ATTEMPT"},
    {"github-actions", "", "GITHUB_RUN_ATTEMPT"},
    {"gitlab-ci", "CI_JOB_ID"},
    {"semaphore", "SEMAPHORE_JOB_ID"},
    {"travis", "TRAVIS_JOB_ID"},
};

bool markers_set(const Env& env, const Provider& p) {
  for (auto var : p.markers)
    if (!var.empty() && !env.has(var)) return false;
  return true;
}

bool confirmed(const Env& env, const Provider& p) {
  const std::string_view c = p.confirm;
  if (c.empty()) return true;
  const auto eq = c.find('=');
  return env.get(c.substr(0, eq)).value_or("") == c.substr(eq + 1);
}

std::string get(const Env& env, const char* name) { return *name ? env.non_empty(name).value_or("") : ""; }

}  // namespace

std::string detect_ci_name(const Env& env) {
  for (const auto& ci : kGoCis) {
    if (!ci.equals.empty()) {
      const auto eq = ci.equals.find('=');
      if (env.get(ci.equals.substr(0, eq)).value_or("") == ci.equals.substr(eq + 1)) return ci.name;
      continue;
    }
    if (std::all_of(ci.markers.begin(), ci.markers.end(), [&](std::string_view v) { return v.empty() || env.has(v); }))
      return ci.name;
  }
  return "_unknown_";
}

CiInfo detect_ci(const Env& env) {
  CiInfo ci;
  for (const auto& p : kProviders) {
    // Rows without build details (CIs only the header names) are no use here.
    if (!*p.run_id || !markers_set(env, p) || !confirmed(env, p)) continue;
    ci.provider = p.name;
    ci.sha = get(env, p.sha);
    ci.ref = get(env, p.ref);
    ci.repository = get(env, p.repository);
    ci.run_id = get(env, p.run_id);
    ci.run_url = get(env, p.run_url);
    ci.environment = get(env, p.environment);
    ci.before_sha = get(env, p.before);
    break;
  }
  ci.execution_id = ci.run_id;
  for (const auto& e : kExecutions) {
    if (e.provider != ci.provider) continue;
    if (const std::string job = get(env, e.job); !job.empty()) ci.execution_id = job;
    if (const std::string attempt = get(env, e.attempt); !attempt.empty() && attempt != "1" && !ci.run_id.empty())
      ci.execution_id = ci.run_id + "-" + attempt;
  }
  if (ci.provider == "woodpecker" && ci.ref.empty()) ci.ref = get(env, "CI_COMMIT_TAG");
  if (ci.provider == "bitbucket") {
    if (ci.ref.empty()) ci.ref = get(env, "BITBUCKET_TAG");
    if (const auto origin = env.non_empty("BITBUCKET_GIT_HTTP_ORIGIN"); origin && !ci.run_id.empty())
      ci.run_url = *origin + "/pipelines/results/" + ci.run_id;
  }
  if (ci.actions_compatible()) {
    const auto server = env.non_empty("GITHUB_SERVER_URL").value_or("https://github.com");
    // Gitea and Forgejo address a run by its number in the repository.
    const std::string run = ci.provider == "github-actions" ? ci.run_id : get(env, "GITHUB_RUN_NUMBER");
    if (!ci.repository.empty() && !run.empty()) ci.run_url = server + "/" + ci.repository + "/actions/runs/" + run;
    // The push event's payload names the previous tip ("before").
    // At most 25 MiB of it (GitHub's own limit on a webhook payload); a
    // larger or unreadable file names no "before".
    if (const auto path = env.non_empty("GITHUB_EVENT_PATH")) {
      constexpr std::uintmax_t kMaxEventBytes = 25u << 20;
      std::error_code size_ec;
      const auto size = std::filesystem::file_size(*path, size_ec);
      boost::system::error_code ec;
      boost::json::value v;
      if (!size_ec && size <= kMaxEventBytes) {
        std::ifstream in(*path, std::ios::binary);
        std::string text(static_cast<std::size_t>(size), '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        text.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
        v = boost::json::parse(text, ec);
      }
      if (!ec && v.is_object())
        if (const auto* before = v.as_object().if_contains("before"); before && before->is_string())
          ci.before_sha = std::string(before->as_string());
    }
  }
  if (ci.provider == "travis")
    if (const auto range = env.non_empty("TRAVIS_COMMIT_RANGE"); range && range->find("...") != std::string::npos)
      ci.before_sha = range->substr(0, range->find("..."));
  if (ci.before_sha.find_first_not_of('0') == std::string::npos) ci.before_sha.clear();  // new branch: none
  return ci;
}

}  // namespace pulse
