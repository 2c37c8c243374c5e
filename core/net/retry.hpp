// When and how long to wait before trying a request again. Pure logic: the
// clock and the random source are injected, so tests never sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace pulse {

using Millis = std::chrono::milliseconds;

struct RetryPolicy {
  int max_attempts = 5;       ///< including the first
  Millis initial_delay{500};  ///< before the 2nd attempt, then doubled
  double multiplier = 2.0;
  Millis max_delay{10'000};  ///< cap on one wait
  Millis max_total{60'000};  ///< no retry starts after this much time in total
};

/// Time source and sleeper. Abstract so tests can fake time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  /// Wall clock, for HTTP-date Retry-After values.
  virtual std::chrono::system_clock::time_point wall_now() = 0;
  virtual void sleep_for(Millis d) = 0;
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() override { return std::chrono::system_clock::now(); }
  void sleep_for(Millis d) override;
};

/// HTTP statuses worth retrying: 429, 502, 503, 504. Every other 4xx and 5xx is final.
bool is_retryable_status(int status);

/// Delay before attempt `next_attempt` (2 for the first retry): exponential
/// with "equal jitter", i.e. uniform in [d/2, d] where d = initial * mult^(n-2)
/// capped at max_delay. `unit_random` returns a value in [0, 1).
Millis backoff_delay(const RetryPolicy& p, int next_attempt, const std::function<double()>& unit_random);

/// How long an outbox event waits after `attempts` failed deliveries before
/// a background flush tries it again: 30 s, doubling, at most an hour.
std::int64_t outbox_backoff_seconds(std::int64_t attempts);

/// Parses a Retry-After header: delta seconds or an HTTP-date. Returns the
/// wait (never negative), or nullopt if the value is unusable.
std::optional<Millis> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now);

}  // namespace pulse
