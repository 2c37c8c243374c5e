#include "../support/support.hpp"
#include "core/cmdline/config_file.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

namespace {

const std::vector<FlagSpec> kSpecs = {
    {"port", "PORT", "port", false, "T_PORT", "8765"},
    {"bind", "ADDR", "bind", false, "T_BIND", "127.0.0.1"},
    {"public-host", "NAME", "hosts", true},
    {"insecure", "", "switch", false, "T_INSECURE"},
    {"grafana-secret-file", "FILE", "secret"},
    {"config", "FILE", "config", false, "T_CONFIG"},
};

struct ConfigFixture {
  test::TempDir dir;
  std::string file(const std::string& text) {
    test::write_file(dir.path / "c.toml", text);
    return dir.str("c.toml");
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(config_file, ConfigFixture)

BOOST_AUTO_TEST_CASE(precedence_is_flag_then_environment_then_file_then_default) {
  const auto path = file(
      "port = 9000\nbind = \"127.0.0.2\"\npublic-host = [\"a.example\", \"b.example\"]\n"
      "insecure = true\n[grafana]\nsecret-file = \"/run/s\"\n");
  std::string why;
  // File over default.
  auto a = parse_args_with_config({"--config", path}, kSpecs, Env(), why);
  BOOST_REQUIRE_MESSAGE(a, why);
  BOOST_TEST(a->get_or("port", "") == "9000");
  BOOST_TEST(a->get_or("bind", "") == "127.0.0.2");
  BOOST_TEST(a->all("public-host") == (std::vector<std::string>{"a.example", "b.example"}));
  BOOST_TEST(a->flag("insecure"));
  BOOST_TEST(a->get_or("grafana-secret-file", "") == "/run/s");  // a table prefixes its keys
  // Environment over file, flag over environment; a repeatable flag on argv replaces the file's list.
  a = parse_args_with_config({"--port", "9200", "--public-host", "c.example"}, kSpecs,
                             Env{{"T_CONFIG", path}, {"T_PORT", "9100"}, {"T_BIND", "127.0.0.3"}}, why);
  BOOST_REQUIRE_MESSAGE(a, why);
  BOOST_TEST(a->get_or("port", "") == "9200");
  BOOST_TEST(a->get_or("bind", "") == "127.0.0.3");
  BOOST_TEST(a->all("public-host") == std::vector<std::string>{"c.example"});
  // No file: defaults.
  a = parse_args_with_config({}, kSpecs, Env(), why);
  BOOST_TEST(a->get_or("port", "") == "8765");
}

BOOST_AUTO_TEST_CASE(mistakes_name_the_file_and_line) {
  std::string why;
  const struct {
    std::string text, expected;
  } cases[] = {
      {"port = 1\nprot = 2\n", "c.toml:2: unknown key \"prot\" (did you mean port?)"},
      {"bind = [\"a\"]\n", "c.toml:1: bind: takes one value, not a list"},
      {"insecure = \"yes\"\n", "c.toml:1: insecure: must be true or false"},
      {"public-host = [1, {a = 2}]\n", "c.toml:1: public-host: list items must be strings"},
      {"port = 1.5\n", "c.toml:1: port: must be a string, a number or a boolean"},
      {"\n\nport = \n", "c.toml:3: "},
      {"config = \"other.toml\"\n", "c.toml:1: unknown key \"config\""},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      const auto path = file(c.text);
      BOOST_TEST(!parse_args_with_config({"--config", path}, kSpecs, Env(), why));
      BOOST_TEST(why.find(c.expected) != std::string::npos, why);
    }
  }
  BOOST_TEST(!parse_args_with_config({"--config", dir.str("missing.toml")}, kSpecs, Env(), why));
  BOOST_TEST(why.find("missing.toml: cannot read") != std::string::npos, why);
}

BOOST_AUTO_TEST_SUITE_END()
