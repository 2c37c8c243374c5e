#include "core/util/timeutil.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace pulse {

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string format_go_local(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm local{};
  ::tzset();
  if (!::localtime_r(&t, &local)) return format_rfc3339(unix_seconds);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &local);
  return n ? std::string(buf, n) : format_rfc3339(unix_seconds);
}

std::string format_rfc3339(std::int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{unix_seconds}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

namespace {

bool take_digits(std::string_view& s, std::size_t n, int& out) {
  if (s.size() < n) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  s.remove_prefix(n);
  return true;
}

bool take_char(std::string_view& s, char a, char b = '\0') {
  if (s.empty() || (s[0] != a && (b == '\0' || s[0] != b))) return false;
  s.remove_prefix(1);
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!take_digits(s, 4, year) || !take_char(s, '-') || !take_digits(s, 2, month) || !take_char(s, '-') ||
      !take_digits(s, 2, day) || !take_char(s, 'T', 't') || !take_digits(s, 2, hour) || !take_char(s, ':') ||
      !take_digits(s, 2, minute) || !take_char(s, ':') || !take_digits(s, 2, second))
    return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1) return std::nullopt;
  const int month_days = kDays[month - 1] + (month == 2 && is_leap(year) ? 1 : 0);
  // Second 60 is a leap second: accepted and folded into the next minute.
  if (day > month_days || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0 || n > 9) return std::nullopt;
    s.remove_prefix(n);
  }
  int offset = 0;
  if (take_char(s, 'Z', 'z')) {
  } else if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    const int sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!take_digits(s, 2, oh) || !take_char(s, ':') || !take_digits(s, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t t = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (t < 0) return std::nullopt;
  return t;
}

std::optional<std::int64_t> parse_unix_timestamp(std::string_view text, std::string& why) {
  if (text.empty()) {
    why = "is empty (expected Unix seconds, e.g. 1602852032)";
    return std::nullopt;
  }
  if (text[0] == '-') {
    why = "is negative (expected Unix seconds, e.g. 1602852032)";
    return std::nullopt;
  }
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) {
    why = "is out of range (expected Unix seconds between 2000 and 2100)";
    return std::nullopt;
  }
  if (ec != std::errc{} || ptr != text.data() + text.size()) {
    why = "is not a number (expected Unix seconds, e.g. 1602852032)";
    return std::nullopt;
  }
  if (v < kEarliestPlausible || v >= kLatestPlausible) {
    why = "is outside 2000-01-01..2100-01-01 (expected Unix seconds; milliseconds are 1000 times larger)";
    return std::nullopt;
  }
  return v;
}

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace pulse
