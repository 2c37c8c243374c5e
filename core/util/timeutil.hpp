// Time handling shared by every component: RFC 3339 in UTC on the wire,
// Unix seconds inside.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulse {

/// Unix seconds of 2000-01-01T00:00:00Z and 2100-01-01T00:00:00Z: the range
/// our clients accept for user-given timestamps (anything else is a typo:
/// milliseconds, a negative number, a year with a digit missing).
inline constexpr std::int64_t kEarliestPlausible = 946684800;
inline constexpr std::int64_t kLatestPlausible = 4102444800;

/// Formats Unix seconds as RFC 3339 in UTC, e.g. "2020-10-16T12:40:32Z".
std::string format_rfc3339(std::int64_t unix_seconds);

/// The time as Go's time.Time prints it, in the local zone ($TZ, else
/// /etc/localtime): "2020-10-09 14:25:23 +0000 UTC".
std::string format_go_local(std::int64_t unix_seconds);

/// Parses RFC 3339 ("2020-10-16T12:40:32Z", "2020-10-16T08:40:32.5-04:00").
/// Fractions are truncated to the second. Returns nullopt on anything else,
/// including out-of-range fields (month 13, hour 24) and years before 1970.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

/// Parses a user-given Unix timestamp in seconds: digits only, within
/// [kEarliestPlausible, kLatestPlausible). On failure `why` says what is wrong.
std::optional<std::int64_t> parse_unix_timestamp(std::string_view text, std::string& why);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

/// Current Unix time in seconds.
std::int64_t unix_now();

}  // namespace pulse
