#include "env.hpp"

#include <array>

extern char** environ;

namespace pulse {

Env Env::from_process() {
  std::map<std::string, std::string, std::less<>> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return Env(std::move(vars));
}

std::optional<std::string> Env::get(std::string_view name) const {
  const auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Env::non_empty(std::string_view name) const {
  auto v = get(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

namespace {

struct CiRule {
  std::string_view name;                 ///< as the Go CLI names it
  std::array<std::string_view, 4> vars;  ///< all set (non-empty entries) => detected
};

// Order matters: the Go CLI checks the specific providers first and the ones
// with generic variable names (Azure, Docker Hub, Cloud Build) last.
constexpr CiRule kCiRules[] = {
    {"appveyor", {"APPVEYOR"}},
    {"aws-codebuild", {"CODEBUILD_BUILD_ID"}},
    {"bitrise", {"BITRISE_IO"}},
    {"buddy", {"BUDDY_WORKSPACE_ID"}},
    {"buildkite", {"BUILDKITE"}},
    {"circleci", {"CIRCLECI"}},
    {"codefresh", {"CF_BUILD_ID"}},
    {"codemagic", {"CM_BUILD_ID"}},
    {"codeship", {"CI_NAME"}},
    {"drone", {"DRONE"}},
    {"github-actions", {"GITHUB_ACTIONS"}},
    {"gitlab-ci", {"GITLAB_CI"}},
    {"gocd", {"GO_SERVER_URL"}},
    {"greenhouse", {"GREENHOUSE"}},
    {"heroku-ci", {"HEROKU_TEST_RUN_ID"}},
    {"jenkins", {"JENKINS_URL"}},
    {"jfrog-pipelines", {"JFROG_CLI_BUILD_NAME"}},
    {"magnum", {"MAGNUM"}},
    {"semaphore", {"SEMAPHORE"}},
    {"shippable", {"SHIPPABLE"}},
    {"solano", {"TDDIUM"}},
    {"teamcity", {"TEAMCITY_VERSION"}},
    {"travis", {"TRAVIS"}},
    {"wercker", {"WERCKER_MAIN_PIPELINE_STARTED"}},
    {"azurePipelines", {"TF_BUILD"}},
    {"docker", {"SOURCE_BRANCH", "SOURCE_COMMIT", "DOCKER_REPO", "DOCKERFILE_PATH"}},
    {"google-cloud-build", {"PROJECT_ID", "BUILD_ID", "COMMIT_SHA", "REVISION_ID"}},
};

}  // namespace

std::string detect_ci_name(const Env& env) {
  for (const auto& rule : kCiRules) {
    bool all = true;
    for (auto var : rule.vars)
      if (!var.empty() && !env.has(var)) all = false;
    if (all) return std::string(rule.name);
  }
  return "_unknown_";
}

}  // namespace pulse
