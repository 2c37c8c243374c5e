#include "reporter.hpp"

#include "ingestion.hpp"
#include "timeutil.hpp"

#include <map>

namespace pulse::incident {

Reporter::Reporter(State& state, ReporterConfig config, Logger log)
    : state_(state), config_(std::move(config)), log_(std::move(log)) {}

Reporter::~Reporter() { stop(); }

FlushResult Reporter::flush(std::int64_t now) {
  FlushResult result;
  auto due = state_.due_reports(now, 500);
  if (due.empty()) return result;
  HttpClient client(config_.origin, config_.client);  // one connection for the whole round
  SystemClock clock;
  std::map<std::string, std::unique_ptr<IngestionClient>> by_system;
  for (const auto& inc : due) {
    auto& sender = by_system[inc.system];
    if (!sender) {
      IngestionConfig ic;
      ic.api_key = config_.api_key;
      ic.system = inc.system;
      ic.environment = config_.environment;
      ic.user_agent = "pulse-incident/" PULSE_VERSION;
      ic.retry.max_attempts = config_.attempts_per_round;
      ic.retry.max_total = std::chrono::seconds(20);
      ic.allow_batch = false;
      sender = std::make_unique<IngestionClient>(client, clock, ic, nullptr);
    }
    const Incident event{inc.source, inc.identifier, inc.created, *inc.resolved};
    const auto r = sender->send(event);
    if (r.status == Delivery::delivered) {
      state_.mark_reported(inc.identifier, unix_now());
      ++result.delivered;
      if (log_) log_("reported incident " + inc.identifier + " (" + format_rfc3339(inc.created) + " to " +
                     format_rfc3339(*inc.resolved) + ")");
    } else if (r.status == Delivery::rejected) {
      state_.mark_rejected(inc.identifier, r.reason);
      ++result.rejected;
      if (log_) log_("incident " + inc.identifier + " set aside: " + r.reason);
    } else {
      // Exponential backoff across rounds: 5 s, 10 s, 20 s, ... capped.
      const std::int64_t step = std::min<std::int64_t>(config_.max_backoff_seconds, 5LL << std::min<std::int64_t>(inc.attempts, 16));
      state_.mark_retry(inc.identifier, unix_now() + step, r.reason);
      ++result.failed;
      if (log_) log_("incident " + inc.identifier + " not delivered yet (" + r.reason + "); next try in " +
                     std::to_string(step) + "s");
    }
  }
  return result;
}

void Reporter::start() { thread_ = std::thread([this] { loop(); }); }

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
  for (;;) {
    try {
      flush(unix_now());
    } catch (const std::exception& e) {
      if (log_) log_(std::string("reporter: ") + e.what());
    }
    std::optional<std::int64_t> next;
    try {
      next = state_.next_due();
    } catch (const std::exception&) {
    }
    std::unique_lock lock(mutex_);
    const auto wait = next ? std::chrono::seconds(std::clamp<std::int64_t>(*next - unix_now(), 1, 60))
                           : std::chrono::seconds(60);
    cv_.wait_for(lock, wait, [this] { return woken_ || stopping_; });
    if (stopping_) return;
    woken_ = false;
  }
}

}  // namespace pulse::incident
