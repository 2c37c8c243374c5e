// Keyed digests and comparisons for secrets: the webhook signatures that
// pulse-incident's sources and the collector's forge webhooks check.
#pragma once

#include <string>
#include <string_view>

namespace pulse {

/// Lower-case hex HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// Constant-time equality (for secrets and signatures).
bool equal_ct(std::string_view a, std::string_view b);

}  // namespace pulse
