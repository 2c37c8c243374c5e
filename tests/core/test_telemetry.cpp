#include "../support/support.hpp"
#include "core/net/log.hpp"
#include "core/net/telemetry.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>

using namespace pulse;
namespace tel = pulse::telemetry;

namespace {

// Prometheus's own parser and linter, from Debian's prometheus package.
test::ProcessResult promtool_check(const std::string& exposition) {
  test::TempDir dir;
  test::write_file(dir.path / "metrics.txt", exposition);
  return test::run_process({"sh", "-c", "promtool check metrics < '" + dir.str("metrics.txt") + "'"});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(telemetry)

BOOST_AUTO_TEST_CASE(renders_the_text_format_that_promtool_accepts) {
  tel::Registry r;
  auto& requests = r.counter("pulse_http_requests_total", "Requests by route and status", {"route", "status"});
  requests.with({"/v1/events", "200"}).inc();
  requests.with({"/v1/events", "200"}).inc(2);
  requests.with({"/v1/events", "401"}).inc();
  auto& open = r.gauge("pulse_http_connections_open", "Connections open now");
  r.on_scrape([&] { open.with({}).set(7); });
  auto& latency = r.histogram("pulse_http_request_duration_seconds", "Latency", {0.001, 0.01, 0.1}, {"route"});
  for (double v : {0.0005, 0.001, 0.005, 0.05, 2.0}) latency.with({"/x"}).observe(v);
  r.add_exposition(
      [] { return std::string("# HELP pulse_extra An extra\n# TYPE pulse_extra gauge\npulse_extra 1\n"); });

  const std::string text = r.render();
  BOOST_TEST(text.find("# TYPE pulse_http_requests_total counter\n") != std::string::npos, text);
  BOOST_TEST(text.find("pulse_http_requests_total{route=\"/v1/events\",status=\"200\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("pulse_http_connections_open 7\n") != std::string::npos);
  // Buckets are cumulative; an observation equal to a bound falls in that bucket.
  BOOST_TEST(
      text.find("pulse_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.001\"} 2\n") != std::string::npos,
      text);
  BOOST_TEST(text.find("pulse_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.01\"} 3\n") !=
             std::string::npos);
  BOOST_TEST(text.find("pulse_http_request_duration_seconds_bucket{route=\"/x\",le=\"0.1\"} 4\n") != std::string::npos);
  BOOST_TEST(text.find("pulse_http_request_duration_seconds_bucket{route=\"/x\",le=\"+Inf\"} 5\n") !=
             std::string::npos);
  BOOST_TEST(text.find("pulse_http_request_duration_seconds_count{route=\"/x\"} 5\n") != std::string::npos);
  BOOST_TEST(text.find("pulse_extra 1\n") != std::string::npos);
  const auto check = promtool_check(text);
  BOOST_TEST(check.exit_code == 0, check.out << check.err);
  BOOST_TEST(check.out + check.err == "", "promtool lint: " << check.out << check.err);
}

BOOST_AUTO_TEST_CASE(label_values_are_escaped_and_numbers_read_back) {
  tel::Registry r;
  auto& g = r.gauge("pulse_dora_deployments", "Per system", {"system"});
  g.with({"we\"ird\\sys\ntem"}).set(0.0005);
  g.with({"big"}).set(1e20);
  g.with({"plain"}).set(100000);
  const std::string text = r.render();
  BOOST_TEST(text.find(R"(pulse_dora_deployments{system="we\"ird\\sys\ntem"} 0.0005)") != std::string::npos, text);
  BOOST_TEST(text.find("pulse_dora_deployments{system=\"big\"} 1e+20") != std::string::npos, text);
  BOOST_TEST(text.find("pulse_dora_deployments{system=\"plain\"} 100000\n") != std::string::npos, text);
  BOOST_TEST(tel::format_value(1.0 / 0.0) == "+Inf");
  BOOST_TEST(promtool_check(text).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(the_same_name_twice_is_the_same_family) {
  tel::Registry r;
  auto& a = r.counter("pulse_x_total", "x");
  auto& b = r.counter("pulse_x_total", "x");
  BOOST_TEST(&a == &b);
  a.with({}).inc();
  const std::string text = r.render();
  BOOST_TEST(text.find("# TYPE pulse_x_total counter") == text.rfind("# TYPE pulse_x_total counter"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(text_lines_have_time_level_program_and_escaped_fields) {
  std::ostringstream out;
  Logger log(out, "pulse-collector", LogLevel::info, LogFormat::text, [] { return std::int64_t(1796182593123); });
  log.write(LogLevel::info, "request", {{"path", "/v1/events"}, {"remote", "a b"}, {"evil", "x\x1B[2Jy"}});
  log.write(LogLevel::debug, "hidden");
  BOOST_TEST(
      out.str() ==
      "2026-12-02T03:36:33.123Z info pulse-collector: request path=/v1/events remote=\"a b\" evil=\"x\\\\x1b[2Jy\"\n");
  log.set_level(LogLevel::error);
  log.warn("hidden too");
  BOOST_TEST(out.str().find("hidden") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_lines_are_one_object_each) {
  std::ostringstream out;
  Logger log(out, "pulse-incident", LogLevel::debug, LogFormat::json, [] { return std::int64_t(1796182593001); });
  log.write(LogLevel::warn, "say \"hi\"", {{"status", "401"}});
  BOOST_TEST(out.str() == R"({"time":"2026-12-02T03:36:33.001Z","level":"warn","program":"pulse-incident",)"
                          R"("msg":"say \"hi\"","status":"401"})"
                          "\n");
}

BOOST_AUTO_TEST_CASE(levels_and_formats_parse_strictly) {
  BOOST_TEST((parse_log_level("warning") == LogLevel::warn));
  BOOST_TEST(!parse_log_level("INFO"));
  BOOST_TEST(!parse_log_level("verbose"));
  BOOST_TEST((parse_log_format("json") == LogFormat::json));
  BOOST_TEST(!parse_log_format("logfmt"));
}

BOOST_AUTO_TEST_CASE(rate_limit_lets_a_burst_through_and_counts_the_rest) {
  RateLimit limit(3, std::chrono::hours(1));
  std::size_t suppressed = 99;
  for (int i = 0; i < 3; ++i) BOOST_TEST(limit.allow(suppressed));
  BOOST_TEST(suppressed == 0u);
  for (int i = 0; i < 5; ++i) BOOST_TEST(!limit.allow(suppressed));
  RateLimit quick(1, std::chrono::milliseconds(0));  // every call opens a new window
  BOOST_TEST(quick.allow(suppressed));
  BOOST_TEST(quick.allow(suppressed));
}

BOOST_AUTO_TEST_CASE(error_ids_differ) {
  const auto a = new_error_id(), b = new_error_id();
  BOOST_TEST(a.size() == 8u);
  BOOST_TEST(a != b);
}

BOOST_AUTO_TEST_SUITE_END()
