// The schema's steps: the same in both dialects, by name and in order, so a
// change to the schema is one step written twice, side by side.
#include "collector/schema.hpp"

#include <boost/test/unit_test.hpp>

#include <cctype>
#include <string>

using namespace pulse::collector;

BOOST_AUTO_TEST_SUITE(schema)

BOOST_AUTO_TEST_CASE(both_dialects_name_the_same_steps_in_the_same_order) {
  // Run
  const auto sqlite = schema_steps(SchemaDialect::sqlite);
  const auto postgres = schema_steps(SchemaDialect::postgres);
  // Check: one list of names, numbered 01, 02, ... without gaps, each with SQL.
  BOOST_TEST_REQUIRE(sqlite.size() >= 11u);  // the steps databases in the field have run
  BOOST_TEST_REQUIRE(sqlite.size() == postgres.size());
  for (std::size_t i = 0; i < sqlite.size(); ++i) {
    BOOST_TEST_CONTEXT(sqlite[i].name) {
      BOOST_TEST(sqlite[i].name == postgres[i].name);
      const std::string number = (i + 1 < 10 ? "0" : "") + std::to_string(i + 1) + "-";
      BOOST_TEST(sqlite[i].name.starts_with(number));
      for (const char c : sqlite[i].name.substr(number.size()))
        BOOST_TEST((std::islower(static_cast<unsigned char>(c)) || c == '-'), sqlite[i].name);
      for (const auto* step : {&sqlite[i], &postgres[i]}) {
        const std::string sql(step->sql);
        // Each step says why it exists, then does something.
        BOOST_TEST(sql.starts_with("-- "), sql);
        BOOST_TEST((sql.find("CREATE") != std::string::npos || sql.find("ALTER") != std::string::npos ||
                    sql.find("UPDATE") != std::string::npos || sql.find("INSERT") != std::string::npos),
                   sql);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
