#include "core/util/url.hpp"

#include <boost/test/unit_test.hpp>

using namespace pulse;

BOOST_AUTO_TEST_SUITE(url)

BOOST_AUTO_TEST_CASE(parses_origins) {
  struct Row {
    const char* url;
    bool ok;
    bool tls;
    const char* host;
    int port;
    const char* host_header;
  };
  const Row rows[] = {
      {"http://127.0.0.1:18765", true, false, "127.0.0.1", 18765, "127.0.0.1:18765"},
      {"https://ingestion.pulse.example", true, true, "ingestion.pulse.example", 443, "ingestion.pulse.example"},
      {"http://127.0.0.1:18766/some/prefix?x=1", true, false, "127.0.0.1", 18766, "127.0.0.1:18766"},
      {"http://[::1]:8080/", true, false, "::1", 8080, "[::1]:8080"},
      {"HTTP://Example.com", true, false, "Example.com", 80, "Example.com"},
      {"ftp://example.com", false, false, "", 0, ""},
      {"example.com", false, false, "", 0, ""},
      {"http://", false, false, "", 0, ""},
      {"http://h:0", false, false, "", 0, ""},
      {"http://h:99999", false, false, "", 0, ""},
      {"http://user:pw@h", false, false, "", 0, ""},
      {"", false, false, "", 0, ""},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.url) {
      std::string why;
      const auto o = parse_origin(row.url, why);
      BOOST_TEST(o.has_value() == row.ok);
      if (o && row.ok) {
        BOOST_TEST(o->tls == row.tls);
        BOOST_TEST(o->host == row.host);
        BOOST_TEST(o->port == row.port);
        BOOST_TEST(o->host_header() == row.host_header);
      } else {
        BOOST_TEST(!why.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(ingestion_target_matches_go) {
  BOOST_TEST(ingestion_target("K", "S") == "/v1/ingestion/cli?api_key=K&system=S");
  BOOST_TEST(ingestion_target("K", "") == "/v1/ingestion/cli?api_key=K");
  // From the captured request: --api-key "a b&c=d" --system "my sys/ü".
  BOOST_TEST(ingestion_target("a b&c=d", "my sys/\xc3\xbc") ==
             "/v1/ingestion/cli?api_key=a+b%26c%3Dd&system=my+sys%2F%C3%BC");
  BOOST_TEST(form_escape("A-z_0.9~") == "A-z_0.9~");
}

BOOST_AUTO_TEST_CASE(redacts_raw_and_escaped_key) {
  BOOST_TEST(redact("GET /x?api_key=s3cret&y", "s3cret") == "GET /x?api_key=***&y");
  BOOST_TEST(redact("key a+b%26c in url, a b&c raw", "a b&c") == "key *** in url, *** raw");
  BOOST_TEST(redact("nothing", "") == "nothing");
}

BOOST_AUTO_TEST_CASE(targets_decode_query_parameters) {
  const auto t = parse_target("/v1/ingestion/cli?api_key=a+b%26c%3Dd&system=my+sys%2F%C3%BC");
  BOOST_REQUIRE(t);
  BOOST_TEST(t->path == "/v1/ingestion/cli");
  BOOST_TEST(t->param("api_key").value() == "a b&c=d");
  BOOST_TEST(t->param("system").value() == "my sys/\xc3\xbc");
  BOOST_TEST(!t->param("missing").has_value());
  const auto abs = parse_target("http://127.0.0.1:1/v1/events?type=change");
  BOOST_REQUIRE(abs);
  BOOST_TEST(abs->path == "/v1/events");
}

BOOST_AUTO_TEST_SUITE_END()
