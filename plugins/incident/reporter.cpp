#include "plugins/incident/reporter.hpp"

#include "core/event/event.hpp"
#include "core/client/outbox.hpp"
#include "core/util/timeutil.hpp"

namespace pulse::incident {

Reporter::Reporter(State& state, ReporterConfig config, Logger log)
    : state_(state), config_(std::move(config)), log_(std::move(log)) {}

Reporter::~Reporter() { stop(); }

FlushReport Reporter::flush(std::int64_t now, bool ignore_backoff) {
  Outbox outbox(config_.outbox);
  // 1. Resolved incidents into the outbox. Marked reported once enqueued; a
  //    crash in between enqueues again, which the idempotency key absorbs.
  for (const auto& inc : state_.due_reports(now, 1000)) {
    const Destination to{config_.base_url, inc.system, config_.api_key_file};
    const Incident event{inc.source, inc.identifier, inc.created, *inc.resolved, inc.environment};
    const auto queued =
        outbox.enqueue(std::string(kOutboxKeyPrefix) + to.base_url + ":" + to.system + ":" + inc.identifier, to,
                       encode_body(event), now);
    if (queued == Enqueued::full) {
      state_.mark_retry(inc.identifier, now + 60, "outbox full");
      if (log_) log_("outbox full: incident " + inc.identifier + " waits");
      continue;
    }
    state_.mark_reported(inc.identifier, now);
    if (log_)
      log_("incident " + inc.identifier + " resolved (" + format_rfc3339(inc.created) + " to " +
           format_rfc3339(*inc.resolved) + "): queued for delivery");
  }
  // 2. Deliver.
  auto r = flush_outbox(outbox, config_.env, now, log_, ignore_backoff);
  delivered_ += r.delivered;
  rejected_ += r.rejected;
  failed_ += r.failed;
  if (r.locked_out) r.failed = static_cast<int>(outbox.stats().pending);
  return r;
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
