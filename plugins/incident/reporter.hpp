// Hands resolved incidents to the outbox (Pulse's incident event) and has it
// deliver them: at least once, retried with backoff, 4xx set aside there.
#pragma once

#include "core/net/http_client.hpp"
#include "core/client/outbox.hpp"
#include "plugins/incident/state.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <string_view>
#include <mutex>
#include <thread>

namespace pulse::incident {

/// The outbox keys of pulse-incident's reports: its own, so that it moves
/// only its entries when --base-url changes, never the incidents
/// `pulse-event-cli push incident --queue` queued (keys "incident:...") in
/// the same per-user outbox.
inline constexpr std::string_view kOutboxKeyPrefix = "pulse-incident:incident:";

struct ReporterConfig {
  Origin origin;
  ClientOptions client;
  std::string base_url;      ///< as configured, recorded with each outbox event
  std::string api_key_file;  ///< read at delivery; empty: $PULSE_API_KEY
  std::string outbox;        ///< outbox database path
  Env env;                   ///< for delivery (key, CA file, proxies)
};

class Reporter {
 public:
  using Logger = std::function<void(const std::string&)>;
  /// `state` is borrowed and must outlive the reporter.
  Reporter(State& state, ReporterConfig config, Logger log);
  ~Reporter();

  /// Moves resolved incidents into the outbox and delivers what it holds,
  /// on the calling thread. `ignore_backoff` retries everything now.
  /// (Another flusher at work: `failed` counts every event still waiting.)
  FlushReport flush(std::int64_t now, bool ignore_backoff = false);

  /// Events delivered, set aside (4xx) and failed (to retry) since start. Thread-safe.
  FlushReport totals() const;
  /// The outbox's waiting and set-aside events, and the oldest one's age.
  OutboxStats outbox_stats() const;

  /// Background delivery: a thread that flushes when woken or when a retry is due.
  void start();
  void wake();
  void stop();

 private:
  void loop();

  State& state_;
  ReporterConfig config_;
  Logger log_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool stopping_ = false;
  std::atomic<int> delivered_{0}, rejected_{0}, failed_{0};
};

}  // namespace pulse::incident
