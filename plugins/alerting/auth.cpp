#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pulse::incident {

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xF];
  }
  return out;
}

namespace {

bool equal_ct(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;  // EVP_DecodeBlock keeps padding bytes
  out.resize(len);
  return out;
}

AuthResult check_token(const RouteAuth& auth, const HeaderLookup& header) {
  const auto value = header("Authorization");
  if (!value || value->empty()) return AuthResult::missing;
  std::optional<std::string> presented;
  if (value->size() > 7 && lower(value->substr(0, 7)) == "bearer ") presented = value->substr(7);
  else if (value->size() > 6 && lower(value->substr(0, 6)) == "basic ") presented = base64_decode(value->substr(6));
  if (!presented) return AuthResult::invalid;
  bool ok = false;
  for (const auto& t : auth.tokens) ok |= equal_ct(t, *presented);
  return ok ? AuthResult::ok : AuthResult::invalid;
}

// "v1=<hex>[,v1=<hex>...]": any signature made with any secret passes.
AuthResult check_pagerduty(const RouteAuth& auth, const HeaderLookup& header, std::string_view body) {
  const auto value = header("X-PagerDuty-Signature");
  if (!value || value->empty()) return AuthResult::missing;
  std::vector<std::string> expected;
  for (const auto& s : auth.hmac_secrets) expected.push_back(hmac_sha256_hex(s, body));
  bool ok = false;
  std::string_view rest(*value);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (!item.starts_with("v1=")) continue;
    const std::string sig = lower(item.substr(3));
    for (const auto& e : expected) ok |= equal_ct(e, sig);
  }
  return ok ? AuthResult::ok : AuthResult::invalid;
}

// Unix seconds, digits only, within the window around `now`.
bool fresh_timestamp(std::string_view ts, std::int64_t now, std::int64_t window) {
  if (ts.empty() || ts.size() > 12) return false;
  std::int64_t t = 0;
  for (char c : ts) {
    if (c < '0' || c > '9') return false;
    t = t * 10 + (c - '0');
  }
  return t >= now - window && t <= now + window;
}

// Hex HMAC of the body, or of "<timestamp>:<body>" when Grafana is set to
// send a timestamp header; a signed timestamp must then be fresh, so a
// captured call cannot be replayed later.
AuthResult check_grafana(const RouteAuth& auth, const HeaderLookup& header, std::string_view body, std::int64_t now) {
  const auto sig = header("X-Grafana-Alerting-Signature");
  if (!sig || sig->empty()) return AuthResult::missing;
  const auto ts = header("X-Grafana-Alerting-Timestamp");
  std::string signed_data;
  if (ts) {
    signed_data.reserve(ts->size() + 1 + body.size());
    signed_data.append(*ts).append(":").append(body);
  }
  const std::string presented = lower(*sig);
  bool ok = false;
  for (const auto& s : auth.hmac_secrets)
    ok |= equal_ct(hmac_sha256_hex(s, ts ? std::string_view(signed_data) : body), presented);
  if (!ok) return AuthResult::invalid;
  return !ts || fresh_timestamp(*ts, now, auth.timestamp_window) ? AuthResult::ok : AuthResult::stale;
}

}  // namespace

AuthResult authenticate(std::string_view source, const RouteAuth& auth, const HeaderLookup& header,
                        std::string_view body, std::int64_t now) {
  if (!auth.hmac_secrets.empty()) {
    AuthResult r = AuthResult::invalid;
    if (source == "pagerduty") r = check_pagerduty(auth, header, body);
    else if (source == "grafana") r = check_grafana(auth, header, body, now);
    if (r != AuthResult::ok) return r;
  }
  if (!auth.tokens.empty()) return check_token(auth, header);
  return AuthResult::ok;
}

}  // namespace pulse::incident
