// The forges' push webhook bodies, read as each forge's push: whatever is
// read holds commit ids only, every refusal says why, and the signature
// checks never accept what was not signed with the secret.
#include "collector/forge.hpp"

#include "core/util/crypto.hpp"

#include <cstdint>
#include <string>

using namespace pulse;
using namespace pulse::collector;

namespace {

bool is_hex_id(const std::string& s) {
  if (s.size() != 40 && s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const std::string secret = "fuzz-secret";
  const std::string signature = "sha256=" + hmac_sha256_hex(secret, body);
  for (const auto& spec : forges()) {
    const std::string event = spec.forge == Forge::gitlab      ? "Push Hook"
                              : spec.forge == Forge::bitbucket ? "repo:push"
                                                               : "push";
    const HeaderLookup header = [&](std::string_view name) -> std::optional<std::string> {
      if (name == "X-GitHub-Event" || name == "X-Gitlab-Event" || name == "X-Gitea-Event" || name == "X-Event-Key")
        return event;
      if (name == "X-Gitlab-Token") return body.substr(0, 16);
      if (name.find("Signature") != std::string_view::npos) return body.substr(0, 71);
      return std::nullopt;
    };
    std::string why;
    if (const auto d = decode_delivery(spec.forge, header, body, why)) {
      if (d->ignored.empty() && (d->commits.empty() || d->repository.empty())) __builtin_trap();
      for (const auto& c : d->commits)
        if (!is_hex_id(c.sha)) __builtin_trap();
      if (push_events(*d, spec.source, 1700000000).size() > 2 * d->commits.size()) __builtin_trap();
    } else if (why.empty()) {
      __builtin_trap();
    }
    // The body's own first bytes as the signature: accepted only if they are the HMAC.
    const std::string secrets[] = {secret};
    if (verify_delivery(spec.forge, secrets, header, body) == ForgeAuth::ok) {
      const std::string presented = spec.forge == Forge::gitlab ? body.substr(0, 16) : body.substr(0, 71);
      if (presented != secret && presented.find(signature.substr(7)) == std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
