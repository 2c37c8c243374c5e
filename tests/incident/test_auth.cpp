// Authentication of webhook calls: tokens, and the signatures of the
// sources that sign (PagerDuty V3, Grafana with and without a signed
// timestamp). The expected signatures are computed here with openssl(1),
// not with our own HMAC.
#include "plugins/incident/auth.hpp"

#include "core/util/process.hpp"
#include "core/util/text.hpp"

#include <boost/test/unit_test.hpp>

#include <map>

using namespace pulse;
using namespace pulse::incident;

namespace {

// openssl's HMAC-SHA256 of `data` under `key`, in hex: the oracle.
std::string openssl_hmac(const std::string& key, const std::string& data) {
  const auto r = run_command({"openssl", "dgst", "-sha256", "-hmac", key, "-r"}, "", data);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
  return r.out.substr(0, 64);
}

HeaderLookup headers(std::map<std::string, std::string> h) {
  return [h = std::move(h)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : h)
      if (lower(k) == lower(name)) return v;
    return std::nullopt;
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(our_hmac_matches_openssl) {
  BOOST_TEST(hmac_sha256_hex("s3cret", "{\"a\":1}") == openssl_hmac("s3cret", "{\"a\":1}"));
  BOOST_TEST(hmac_sha256_hex("", "") == openssl_hmac("", ""));
}

BOOST_AUTO_TEST_CASE(tokens_bearer_and_basic) {
  RouteAuth a;
  a.tokens = {"t0ken", "user:pass"};
  struct Row {
    std::optional<std::string> authorization;
    AuthResult want;
  };
  const Row rows[] = {
      {std::nullopt, AuthResult::missing},
      {"", AuthResult::missing},
      {"Bearer t0ken", AuthResult::ok},
      {"bearer t0ken", AuthResult::ok},  // the scheme in any case
      {"Bearer t0ke", AuthResult::invalid},
      {"Bearer t0ken ", AuthResult::invalid},
      {"Basic dXNlcjpwYXNz", AuthResult::ok},  // user:pass
      {"Basic dXNlcjpwYXNy", AuthResult::invalid},
      {"Basic not-base64!", AuthResult::invalid},
      {"Token t0ken", AuthResult::invalid},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.authorization.value_or("(none)")) {
      std::map<std::string, std::string> h;
      if (row.authorization) h["Authorization"] = *row.authorization;
      BOOST_TEST((authenticate("generic", a, headers(h), "{}", 0) == row.want));
    }
  }
  BOOST_TEST((authenticate("generic", RouteAuth{}, headers({}), "{}", 0) == AuthResult::ok));  // nothing configured
}

BOOST_AUTO_TEST_CASE(pagerduty_signatures_with_rotated_secrets) {
  RouteAuth a;
  a.hmac_secrets = {"new", "old"};
  const std::string body = R"({"event":{"event_type":"incident.triggered"}})";
  const std::string by_old = "v1=" + openssl_hmac("old", body), other = "v1=" + openssl_hmac("other", body);
  auto check = [&](std::optional<std::string> sig, const std::string& b = "") {
    std::map<std::string, std::string> h;
    if (sig) h["X-PagerDuty-Signature"] = *sig;
    return authenticate("pagerduty", a, headers(h), b.empty() ? body : b, 0);
  };
  BOOST_TEST((check(by_old) == AuthResult::ok));
  BOOST_TEST((check(other + ", " + by_old) == AuthResult::ok));  // several signatures: any one
  BOOST_TEST((check(other) == AuthResult::invalid));
  BOOST_TEST((check(by_old, body + " ") == AuthResult::invalid));  // another body
  BOOST_TEST((check("v2=" + openssl_hmac("old", body)) == AuthResult::invalid));
  BOOST_TEST((check(std::nullopt) == AuthResult::missing));
  // A source that signs nothing cannot pass a route that requires signatures.
  BOOST_TEST(
      (authenticate("opsgenie", a, headers({{"X-PagerDuty-Signature", by_old}}), body, 0) == AuthResult::invalid));
}

BOOST_AUTO_TEST_CASE(grafana_signatures_and_their_timestamps) {
  RouteAuth a;
  a.hmac_secrets = {"g"};
  const std::string body = R"({"alerts":[]})";
  const std::int64_t now = 1767225600;
  // Without a timestamp: the body alone is signed.
  BOOST_TEST((authenticate("grafana", a, headers({{"X-Grafana-Alerting-Signature", openssl_hmac("g", body)}}), body,
                           now) == AuthResult::ok));
  // With one: "<timestamp>:<body>", and the timestamp must be fresh.
  for (const auto& [ts, want] : std::vector<std::pair<std::int64_t, AuthResult>>{{now, AuthResult::ok},
                                                                                 {now - 299, AuthResult::ok},
                                                                                 {now - 301, AuthResult::stale},
                                                                                 {now + 301, AuthResult::stale}}) {
    BOOST_TEST_CONTEXT("timestamp " << ts - now) {
      const std::string t = std::to_string(ts);
      const auto h = headers(
          {{"X-Grafana-Alerting-Signature", openssl_hmac("g", t + ":" + body)}, {"X-Grafana-Alerting-Timestamp", t}});
      BOOST_TEST((authenticate("grafana", a, h, body, now) == want));
    }
  }
  // A timestamp that was not signed with the body does not pass.
  const auto replay = headers({{"X-Grafana-Alerting-Signature", openssl_hmac("g", body)},
                               {"X-Grafana-Alerting-Timestamp", std::to_string(now)}});
  BOOST_TEST((authenticate("grafana", a, replay, body, now) == AuthResult::invalid));
  const auto upper = headers({{"X-Grafana-Alerting-Signature", "ABC"}});
  BOOST_TEST((authenticate("grafana", a, upper, body, now) == AuthResult::invalid));
}

BOOST_AUTO_TEST_SUITE_END()
