#include "plugins/incident/reporter.hpp"

#include "core/event/event.hpp"
#include "core/client/outbox.hpp"
#include "core/util/timeutil.hpp"

#include <map>

namespace pulse::incident {

Reporter::Reporter(State& state, ReporterConfig config, Logger log)
    : state_(state), config_(std::move(config)), log_(std::move(log)) {}

Reporter::~Reporter() { stop(); }

FlushReport Reporter::flush(std::int64_t now, bool ignore_backoff) {
  Outbox outbox(config_.outbox);
  // 1. Resolved incidents into the outbox, a thousand per transaction, until
  //    none is due. Marked reported once enqueued; a crash in between
  //    enqueues again, which the idempotency key absorbs.
  constexpr std::size_t kBatch = 1000;
  for (;;) {
    const auto due = state_.due_reports(now, kBatch);
    std::map<std::string, std::vector<const StoredIncident*>> by_system;
    for (const auto& inc : due) by_system[inc.system].push_back(&inc);
    std::vector<std::string> queued;
    for (const auto& [system, incidents] : by_system) {
      const Destination to{config_.base_url, system, config_.api_key_file};
      std::vector<std::pair<std::string, std::string>> items;
      for (const auto* inc : incidents)
        items.emplace_back(
            std::string(kOutboxKeyPrefix) + to.base_url + ":" + to.system + ":" + inc->identifier,
            encode_body(Incident{inc->source, inc->identifier, inc->created, *inc->resolved, inc->environment}));
      const auto results = outbox.enqueue_all(items, to, now);
      for (std::size_t k = 0; k < incidents.size(); ++k) {
        const auto& inc = *incidents[k];
        if (results[k] == Enqueued::full) {
          state_.mark_retry(inc.identifier, now + 60, "outbox full");
          if (log_) log_("outbox full: incident " + inc.identifier + " waits");
          continue;
        }
        queued.push_back(inc.identifier);
        if (log_)
          log_("incident " + inc.identifier + " resolved (" + format_rfc3339(inc.created) + " to " +
               format_rfc3339(*inc.resolved) + "): queued for delivery");
      }
    }
    state_.mark_reported_all(queued, now);
    if (due.size() < kBatch) break;
  }
  // 2. Deliver, until nothing due is left or a delivery fails (the outbox
  //    paces its retries).
  FlushReport total;
  for (;;) {
    auto r = flush_outbox(outbox, config_.env, now, log_, ignore_backoff);
    delivered_ += r.delivered;
    rejected_ += r.rejected;
    failed_ += r.failed;
    if (r.locked_out) {
      total.locked_out = true;
      total.failed = static_cast<int>(outbox.stats().pending);
      break;
    }
    total.delivered += r.delivered;
    total.rejected += r.rejected;
    total.failed += r.failed;
    total.patch_records += r.patch_records;
    if (r.failed || r.delivered + r.rejected + r.patch_records == 0) break;
  }
  return total;
}

FlushReport Reporter::totals() const { return {delivered_.load(), rejected_.load(), failed_.load(), false}; }

OutboxStats Reporter::outbox_stats() const { return Outbox(config_.outbox).stats(); }

void Reporter::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reporter::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_one();
}

void Reporter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Reporter::loop() {
  bool first = true;  // a (re)start is a good moment to retry everything
  for (;;) {
    try {
      flush(unix_now(), first);
      first = false;
    } catch (const std::exception& e) {
      if (log_) log_(std::string("reporter: ") + e.what());
    }
    std::unique_lock lock(mutex_);
    const auto wait = std::chrono::seconds(30);  // the outbox paces retries itself
    cv_.wait_for(lock, wait, [this] { return woken_ || stopping_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace pulse::incident
