// The collector's Prometheus series: events received, stored and
// duplicated, commit sizes and times, store errors, and the DORA figures
// of the default window per system and environment, computed on a thread of their own at
// most once a minute so that a scrape only copies text.
#pragma once

#include "core/event/event.hpp"
#include "collector/store.hpp"
#include "core/net/telemetry.hpp"

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pulse::collector {

class Exporter {
 public:
  /// Registry and store are borrowed and must outlive the exporter, which
  /// observes the store's commits. `now` gives Unix seconds.
  Exporter(telemetry::Registry& registry, Store& store, std::function<std::int64_t()> now);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  /// Thread-safe.
  void received(const std::vector<Event>& events);
  void stored(const PutResult& result);
  void store_failed();

  /// The DORA figures as exposition text (computing them first if they
  /// never were, else asking for a refresh when older than a minute).
  std::string dora_text();

  /// Each environment's own figures (Bucket::month) over `window`, from one
  /// read of the store's facts for all environments, split in memory: the
  /// cost grows with the facts, not with facts × environments.
  static std::vector<MetricsReport> reports_per_environment(Store& store, Window window);
  /// Every environment any system has, sorted, once each.
  static std::vector<std::string> environment_names(Store& store);

  /// Exposition text for reports of one environment each: their
  /// per-system figures, labelled by system and environment (tests call it).
  static std::string dora_exposition(const std::vector<MetricsReport>& reports, std::int64_t computed_at);

 private:
  void refresh_loop();

  Store& store_;
  std::function<std::int64_t()> now_;
  telemetry::Family<telemetry::Counter>& received_;
  telemetry::Counter& stored_;
  telemetry::Counter& duplicates_;
  telemetry::Counter& store_errors_;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::string text_;              ///< last computed DORA exposition
  std::int64_t computed_at_ = 0;  ///< Unix seconds; 0: never
  bool wanted_ = false, stopping_ = false;
  std::thread refresher_;  ///< last: starts once the rest exists
};

}  // namespace pulse::collector
