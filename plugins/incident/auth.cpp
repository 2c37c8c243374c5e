#include "plugins/incident/auth.hpp"

#include "plugins/incident/model.hpp"
#include "core/util/crypto.hpp"
#include "core/util/text.hpp"

#include <openssl/evp.h>

namespace pulse::incident {

namespace {

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

}  // namespace

AuthResult authenticate(std::string_view source, const RouteAuth& auth, const HeaderLookup& header,
                        std::string_view body, std::int64_t now) {
  if (!auth.hmac_secrets.empty()) {
    // Each source checks its own signature (beside its parser); one that
    // signs nothing cannot pass a route that requires signatures.
    const auto* spec = find_source(source);
    const AuthResult r = spec && spec->verify ? spec->verify(auth, header, body, now) : AuthResult::invalid;
    if (r != AuthResult::ok) return r;
  }
  if (!auth.tokens.empty()) return check_token(auth, header);
  return AuthResult::ok;
}

}  // namespace pulse::incident
