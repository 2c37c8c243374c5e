#include "core/cmdline/args.hpp"
#include "core/git/ci.hpp"
#include "core/util/env.hpp"
#include "core/net/http_client.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace pulse;

namespace {
const std::vector<FlagSpec> kSpecs = {
    {"api-key", "KEY", "key", false, "PULSE_API_KEY"},
    {"base-url", "URL", "url", false, "PULSE_BASE_URL", "http://127.0.0.1:8765"},
    {"dry-run", "", "dry", false, "PULSE_DRY_RUN"},
    {"tag", "T", "tag", true},
};
}  // namespace

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(both_flag_forms_and_positionals) {
  std::string why;
  const auto a = parse_args({"--api-key", "K1", "c1", "--base-url=http://h:1", "-dry-run", "--", "--not-a-flag"},
                            kSpecs, Env{}, why);
  BOOST_REQUIRE(a);
  BOOST_TEST(a->get("api-key").value() == "K1");
  BOOST_TEST(a->get("base-url").value() == "http://h:1");
  BOOST_TEST(a->flag("dry-run"));
  BOOST_TEST(a->positionals() == (std::vector<std::string>{"c1", "--not-a-flag"}));
}

BOOST_AUTO_TEST_CASE(precedence_flag_then_env_then_default) {
  std::string why;
  const Env env({{"PULSE_API_KEY", "from-env"}, {"PULSE_BASE_URL", "https://env.example"}});
  const auto only_env = parse_args({}, kSpecs, env, why);
  BOOST_TEST(only_env->get("api-key").value() == "from-env");
  BOOST_TEST(only_env->get("base-url").value() == "https://env.example");
  const auto flag_wins = parse_args({"--api-key=from-flag"}, kSpecs, env, why);
  BOOST_TEST(flag_wins->get("api-key").value() == "from-flag");
  const auto defaults = parse_args({}, kSpecs, Env{}, why);
  BOOST_TEST(defaults->get("base-url").value() == "http://127.0.0.1:8765");
  BOOST_TEST(!defaults->get("api-key").has_value());
  BOOST_TEST(!defaults->flag("dry-run"));
  const auto env_switch = parse_args({}, kSpecs, Env({{"PULSE_DRY_RUN", "1"}}), why);
  BOOST_TEST(env_switch->flag("dry-run"));
  const auto empty_env_ignored = parse_args({}, kSpecs, Env({{"PULSE_API_KEY", ""}}), why);
  BOOST_TEST(!empty_env_ignored->get("api-key").has_value());
}

// Under systemd, LoadCredential=api-key-file:... fills --api-key-file with
// the service's readable copy, after flags, variables and the config file.
BOOST_AUTO_TEST_CASE(a_systemd_credential_fills_a_file_flag_last) {
  // Setup
  const std::vector<FlagSpec> specs = {{"api-key-file", "FILE", "keys", false, "PULSE_API_KEY_FILE"},
                                       {"tls-key", "FILE", "not a -file flag"}};
  const auto dir = std::filesystem::temp_directory_path() / ("pulse-creds-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "api-key-file") << "K\n";
  std::ofstream(dir / "tls-key") << "x\n";
  const Env env({{"CREDENTIALS_DIRECTORY", dir.string()}});
  std::string why;
  // Run
  const auto from_credential = parse_args({}, specs, env, why);
  const auto flag_wins = parse_args({"--api-key-file", "/etc/keys"}, specs, env, why);
  Env with_variable = env;
  with_variable.set("PULSE_API_KEY_FILE", "/from/variable");
  const auto variable_wins = parse_args({}, specs, with_variable, why);
  const auto without_systemd = parse_args({}, specs, Env{}, why);
  // Check
  BOOST_TEST(from_credential->get("api-key-file").value() == (dir / "api-key-file").string());
  BOOST_TEST(!from_credential->get("tls-key").has_value());  // only flags named *-file
  BOOST_TEST(flag_wins->get("api-key-file").value() == "/etc/keys");
  BOOST_TEST(variable_wins->get("api-key-file").value() == "/from/variable");
  BOOST_TEST(!without_systemd->get("api-key-file").has_value());
  std::filesystem::remove_all(dir);
}

// Azure Pipelines writes True, people write ON: a boolean nobody can read is
// an error, never a silent false that sends a dry run for real.
BOOST_AUTO_TEST_CASE(booleans_are_read_strictly_from_flags_and_variables) {
  std::string why;
  for (const std::string yes : {"1", "t", "true", "TRUE", "True", "yes", "Yes", "on", "ON"}) {
    BOOST_TEST_CONTEXT(yes) {
      BOOST_TEST(parse_args({}, kSpecs, Env({{"PULSE_DRY_RUN", yes}}), why)->flag("dry-run"));
      BOOST_TEST(parse_args({"--dry-run=" + yes}, kSpecs, Env{}, why)->flag("dry-run"));
    }
  }
  for (const std::string no : {"0", "f", "false", "FALSE", "no", "off", "Off"}) {
    BOOST_TEST_CONTEXT(no) {
      BOOST_TEST(!parse_args({}, kSpecs, Env({{"PULSE_DRY_RUN", no}}), why)->flag("dry-run"));
      BOOST_TEST(!parse_args({"--dry-run=" + no}, kSpecs, Env{}, why)->flag("dry-run"));
    }
  }
  for (const std::string bad : {"bogus", "2", "yess", "truefalse"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(!parse_args({}, kSpecs, Env({{"PULSE_DRY_RUN", bad}}), why));
      BOOST_TEST(why.find("$PULSE_DRY_RUN=\"" + bad + "\": not a boolean") == 0u, why);
    }
  }
  // The flag on the command line wins over the variable, which is then not judged.
  BOOST_TEST(!parse_args({"--dry-run=false"}, kSpecs, Env({{"PULSE_DRY_RUN", "1"}}), why)->flag("dry-run"));
  BOOST_TEST(parse_args({"--dry-run"}, kSpecs, Env({{"PULSE_DRY_RUN", "bogus"}}), why)->flag("dry-run"));
}

BOOST_AUTO_TEST_CASE(repeatable_and_last_wins) {
  std::string why;
  const auto a = parse_args({"--tag", "a", "--tag=b", "--api-key", "1", "--api-key", "2"}, kSpecs, Env{}, why);
  BOOST_TEST(a->all("tag") == (std::vector<std::string>{"a", "b"}));
  BOOST_TEST(a->get("api-key").value() == "2");
}

BOOST_AUTO_TEST_CASE(errors_name_the_flag) {
  struct Row {
    std::vector<std::string> args;
    const char* why;
  };
  const Row rows[] = {
      {{"--nope"}, "unknown flag --nope"},
      {{"--api-key"}, "--api-key needs a value"},
      {{"--dry-run=maybe"}, "--dry-run takes no value"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.why) {
      std::string why;
      BOOST_TEST(!parse_args(row.args, kSpecs, Env{}, why));
      BOOST_TEST(why.find(row.why) == 0u, why);
    }
  }
}

BOOST_AUTO_TEST_CASE(ci_names_match_the_go_cli) {
  BOOST_TEST(detect_ci_name(Env{}) == "_unknown_");
  BOOST_TEST(detect_ci_name(Env({{"CI", "true"}})) == "_unknown_");
  BOOST_TEST(detect_ci_name(Env({{"GITHUB_ACTIONS", "true"}, {"CI", "true"}})) == "github-actions");
  BOOST_TEST(detect_ci_name(Env({{"GITLAB_CI", "true"}})) == "gitlab-ci");
  BOOST_TEST(detect_ci_name(Env({{"JENKINS_URL", "http://j"}})) == "jenkins");
  BOOST_TEST(detect_ci_name(Env({{"TF_BUILD", "True"}})) == "azure-pipelines");
  // Generic names only count when no specific provider matched.
  BOOST_TEST(detect_ci_name(Env({{"TF_BUILD", "True"}, {"CIRCLECI", "true"}})) == "circleci");
  BOOST_TEST(detect_ci_name(Env({{"PROJECT_ID", "p"}, {"BUILD_ID", "b"}, {"COMMIT_SHA", "c"}})) == "_unknown_");
  BOOST_TEST(detect_ci_name(Env({{"PROJECT_ID", "p"}, {"BUILD_ID", "b"}, {"COMMIT_SHA", "c"}, {"REVISION_ID", "r"}})) ==
             "google-cloud-build");
}

BOOST_AUTO_TEST_CASE(proxy_selection) {
  std::string why;
  const Origin https{true, "api.example.com", 443, false};
  const Origin http{false, "collector.example.com", 8765, true};
  BOOST_TEST(!proxy_for(https, Env{}, why).has_value());
  const auto p = proxy_for(https, Env({{"HTTPS_PROXY", "http://user:p%40ss@proxy.corp:3128"}}), why);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->origin.host == "proxy.corp");
  BOOST_TEST(p->origin.port == 3128);
  BOOST_TEST(p->authorization == "Basic dXNlcjpwQHNz");  // user:p@ss
  BOOST_TEST(proxy_for(https, Env({{"https_proxy", "proxy:1"}, {"HTTPS_PROXY", "other:2"}}), why)->origin.host ==
             "proxy");
  BOOST_TEST(!proxy_for(https, Env({{"HTTP_PROXY", "http://proxy:1"}}), why).has_value());  // wrong scheme's variable
  BOOST_TEST(proxy_for(http, Env({{"HTTP_PROXY", "http://proxy:1"}}), why)->origin.port == 1);
  struct Row {
    const char* no_proxy;
    bool bypass;
  };
  const Row rows[] = {{"*", true},
                      {"example.com", true},
                      {".example.com", true},
                      {"*.example.com", true},
                      {"api.example.com:443", true},
                      {"xample.com", false},
                      {"other.com, example.com", true},
                      {"", false},
                      {"com.example", false}};
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.no_proxy) {
      const auto r = proxy_for(https, Env({{"HTTPS_PROXY", "http://proxy:1"}, {"NO_PROXY", row.no_proxy}}), why);
      BOOST_TEST(!r.has_value() == row.bypass);
    }
  }
  // Loopback is never proxied; NO_PROXY takes CIDR blocks, as Go and curl.
  for (const char* host : {"127.0.0.1", "127.9.8.7", "localhost", "::1"})
    BOOST_TEST(!proxy_for(Origin{false, host, 8765, true}, Env({{"HTTP_PROXY", "http://proxy:1"}}), why).has_value(),
               host);
  struct Cidr {
    const char* no_proxy;
    const char* host;
    bool bypass;
  };
  const Cidr cidrs[] = {{"10.0.0.0/8", "10.1.2.3", true},
                        {"10.0.0.0/8", "11.0.0.1", false},
                        {"192.168.4.0/22", "192.168.7.9", true},
                        {"192.168.4.0/22", "192.168.8.1", false},
                        {"fd00::/8", "fd12::1", true},
                        {"fd00::/8", "fe80::1", false},
                        {"10.0.0.0/8", "api.example.com", false},
                        {"10.0.0.0/99", "10.1.2.3", false},
                        {"10.1.2.3/8", "10.9.9.9", true},
                        {"10.0.0.0/8", "::ffff:10.1.2.3", false}};
  for (const auto& row : cidrs) {
    BOOST_TEST_CONTEXT(row.no_proxy << " " << row.host) {
      const auto r = proxy_for(Origin{true, row.host, 443, false},
                               Env({{"HTTPS_PROXY", "http://proxy:1"}, {"NO_PROXY", row.no_proxy}}), why);
      BOOST_TEST(!r.has_value() == row.bypass);
    }
  }
  why.clear();
  BOOST_TEST(!proxy_for(https, Env({{"HTTPS_PROXY", "socks5://proxy:1"}}), why).has_value());
  BOOST_TEST(why.find("only http:// proxies") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
