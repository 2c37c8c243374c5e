#include "core/util/timeutil.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>

BOOST_TEST_DONT_PRINT_LOG_VALUE(std::optional<std::int64_t>)

using namespace pulse;

BOOST_AUTO_TEST_SUITE(timeutil)

BOOST_AUTO_TEST_CASE(formats_utc_rfc3339) {
  BOOST_TEST(format_rfc3339(1602852032) == "2020-10-16T12:40:32Z");
  BOOST_TEST(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(format_rfc3339(951782400) == "2000-02-29T00:00:00Z");
}

// As Go prints a time.Time in the local zone (the Go CLI's stdout lines).
BOOST_AUTO_TEST_CASE(formats_as_go_prints_local_times) {
  const char* saved = std::getenv("TZ");
  const std::string before = saved ? saved : "";
  ::setenv("TZ", "UTC", 1);
  BOOST_TEST(format_go_local(1602253523) == "2020-10-09 14:25:23 +0000 UTC");
  if (std::filesystem::exists("/usr/share/zoneinfo/America/New_York")) {
    ::setenv("TZ", "America/New_York", 1);
    BOOST_TEST(format_go_local(1602253523) == "2020-10-09 10:25:23 -0400 EDT");
    BOOST_TEST(format_go_local(1607437523) == "2020-12-08 09:25:23 -0500 EST");
  }
  if (saved) ::setenv("TZ", before.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
}

BOOST_AUTO_TEST_CASE(parses_rfc3339_forms) {
  struct Row {
    const char* text;
    std::optional<std::int64_t> want;
  };
  const Row rows[] = {
      {"2020-10-16T12:40:32Z", 1602852032},
      {"2020-10-16t12:40:32z", 1602852032},
      {"2020-10-16T08:40:32-04:00", 1602852032},  // the Go CLI's local-offset form
      {"2020-10-16T14:40:32+02:00", 1602852032},
      {"2020-10-16T12:40:32.999999999Z", 1602852032},
      {"2000-02-29T00:00:00Z", 951782400},
      {"2001-02-29T00:00:00Z", std::nullopt},
      {"2020-13-01T00:00:00Z", std::nullopt},
      {"2020-10-16T24:00:00Z", std::nullopt},
      {"2020-10-16T12:40:32", std::nullopt},
      {"2020-10-16 12:40:32Z", std::nullopt},
      {"2020-10-16T12:40:32.Z", std::nullopt},
      {"1602852032", std::nullopt},
      {"", std::nullopt},
      {"1969-12-31T23:59:59Z", std::nullopt},
      {"2020-10-16T12:40:32Z trailing", std::nullopt},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.text) { BOOST_TEST(parse_rfc3339(row.text) == row.want); }
  }
}

BOOST_AUTO_TEST_CASE(round_trips) {
  for (std::int64_t t : {946684800LL, 1602852032LL, 1709164800LL, 4102444799LL}) {
    BOOST_TEST_CONTEXT(t) { BOOST_TEST(parse_rfc3339(format_rfc3339(t)) == t); }
  }
}

BOOST_AUTO_TEST_CASE(user_timestamps_are_bounded) {
  struct Row {
    const char* text;
    bool ok;
    const char* why;
  };
  const Row rows[] = {
      {"1602852032", true, ""},
      {"946684800", true, ""},
      {"946684799", false, "outside 2000"},
      {"4102444800", false, "outside 2000"},
      {"1602852032000", false, "milliseconds"},
      {"-5", false, "negative"},
      {"12abc", false, "not a number"},
      {"", false, "empty"},
      {"99999999999999999999999", false, "out of range"},
      {"1.5", false, "not a number"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.text) {
      std::string why;
      const auto t = parse_unix_timestamp(row.text, why);
      BOOST_TEST(t.has_value() == row.ok);
      BOOST_TEST(why.find(row.why) != std::string::npos, "why = " << why);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
