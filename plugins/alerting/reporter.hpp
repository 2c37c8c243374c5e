// Delivers resolved incidents to the ingestion API (Pulse's incident event),
// from the durable state: at least once, retried with backoff, 4xx set aside.
#pragma once

#include "http_client.hpp"
#include "state.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace pulse::incident {

struct ReporterConfig {
  Origin origin;
  ClientOptions client;
  std::string api_key;
  std::string environment = "_unknown_";
  int attempts_per_round = 3;        ///< quick retries within one delivery round
  std::int64_t max_backoff_seconds = 600;
};

struct FlushResult {
  int delivered = 0;
  int rejected = 0;
  int failed = 0;  ///< still pending, retried later
};

class Reporter {
 public:
  using Logger = std::function<void(const std::string&)>;
  /// `state` is borrowed and must outlive the reporter.
  Reporter(State& state, ReporterConfig config, Logger log);
  ~Reporter();

  /// Delivers everything due now, on the calling thread.
  FlushResult flush(std::int64_t now);

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
};

}  // namespace pulse::incident
