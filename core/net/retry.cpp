#include "core/net/retry.hpp"

#include "core/util/timeutil.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>

namespace pulse {

void SystemClock::sleep_for(Millis d) { std::this_thread::sleep_for(d); }

bool is_retryable_status(int status) { return status == 429 || status == 502 || status == 503 || status == 504; }

Millis backoff_delay(const RetryPolicy& p, int next_attempt, const std::function<double()>& unit_random) {
  const double exp = std::max(0, next_attempt - 2);
  double d = static_cast<double>(p.initial_delay.count()) * std::pow(p.multiplier, exp);
  d = std::min(d, static_cast<double>(p.max_delay.count()));
  const double r = std::clamp(unit_random(), 0.0, 1.0);
  return Millis(static_cast<std::int64_t>(d / 2 + r * d / 2));
}

namespace {

// IMF-fixdate, the only HTTP-date form senders may generate (RFC 9110 5.6.7):
// "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<std::int64_t> parse_imf_fixdate(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s.substr(25) != " GMT") return std::nullopt;
  auto num = [&](std::size_t pos, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  const auto mon = s.substr(8, 3);
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (kMonths[i] == mon) month = i + 1;
  if (day < 1 || year < 1970 || month == 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 ||
      s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':')
    return std::nullopt;
  return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + hh * 3600 + mm * 60 + ss;
}

}  // namespace

std::optional<Millis> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t secs = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec != std::errc{} || ptr != value.data() + value.size()) return std::nullopt;
    return Millis(std::min<std::int64_t>(secs, 86400) * 1000);
  }
  const auto when = parse_imf_fixdate(value);
  if (!when) return std::nullopt;
  const auto now_ms = std::chrono::duration_cast<Millis>(now.time_since_epoch()).count();
  return Millis(std::max<std::int64_t>(0, *when * 1000 - now_ms));
}

std::int64_t outbox_backoff_seconds(std::int64_t attempts) {
  return std::min<std::int64_t>(3600, std::int64_t{30} << std::clamp<std::int64_t>(attempts, 0, 7));
}

}  // namespace pulse
