#include "core/util/strict_json.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(strict_json)

BOOST_AUTO_TEST_CASE(one_policy_for_every_body) {
  std::string why;
  BOOST_TEST(parse_strict_json(R"({"a":[1,2.5,"\u00e9",null,{"b":true}]})", 8, why).has_value());
  const struct {
    std::string text, why;
  } refused[] = {
      {R"({"a":1,"a":2})", "duplicate key \"a\""},
      {R"({"x":{"k":1,"k":1}})", "duplicate key \"k\""},
      {R"({"n":15e310})", "a number out of range"},  // found by fuzz_json: read as infinity, written back as junk
      {R"([-1e999])", "a number out of range"},
      {"[[[[[[[[[1]]]]]]]]]", "nested deeper than 8 levels"},
      {"{\"s\":\"a\xFF"
       "b\"}",
       "invalid UTF-8"},
      {"", "empty body"},
  };
  for (const auto& r : refused) {
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_TEST(!parse_strict_json(r.text, 8, why));
      BOOST_TEST(why == r.why);
    }
  }
  // Keys may repeat in different objects.
  BOOST_TEST(parse_strict_json(R"([{"a":1},{"a":2}])", 8, why).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
