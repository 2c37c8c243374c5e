#include "collector/exporter.hpp"

#include <algorithm>
#include <chrono>

namespace pulse::collector {

namespace tel = telemetry;

Exporter::Exporter(tel::Registry& registry, Store& store, std::function<std::int64_t()> now)
    : store_(store),
      now_(std::move(now)),
      received_(
          registry.counter("pulse_events_received_total", "Events received in valid requests, by type", {"type"})),
      stored_(registry.counter("pulse_events_stored_total", "Events stored (new, or a change that gained a time)")
                  .with({})),
      duplicates_(registry.counter("pulse_events_duplicate_total", "Events already stored, nothing changed").with({})),
      store_errors_(registry
                        .counter("pulse_store_errors_total",
                                 "Store failures: requests answered 503, and DORA refreshes that failed")
                        .with({})),
      refresher_([this] { refresh_loop(); }) {
  auto& sizes = registry.histogram("pulse_commit_events", "Events per store transaction",
                                   {1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100000});
  auto& requests = registry.histogram("pulse_commit_requests", "Requests per store transaction (group commit)",
                                      {1, 2, 4, 8, 16, 32, 64, 128, 256});
  auto& seconds = registry.histogram("pulse_commit_duration_seconds", "Time to write and sync one store transaction",
                                     tel::latency_bounds());
  store.observe_commits([&sizes = sizes.with({}), &requests = requests.with({}), &seconds = seconds.with({})](
                            std::size_t n_requests, std::size_t n_events, double secs) {
    sizes.observe(static_cast<double>(n_events));
    requests.observe(static_cast<double>(n_requests));
    seconds.observe(secs);
  });
  registry.add_exposition([this] { return dora_text(); });
}

Exporter::~Exporter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  refresher_.join();
}

void Exporter::received(const std::vector<Event>& events) {
  std::size_t counts[3] = {0, 0, 0};
  for (const auto& e : events) ++counts[e.index()];
  for (std::size_t i = 0; i < 3; ++i)
    if (counts[i])
      received_.with({std::string(i == 0   ? "change"
                                  : i == 1 ? "deployment"
                                           : "incident")})
          .inc(static_cast<double>(counts[i]));
}

void Exporter::stored(const PutResult& r) {
  stored_.inc(static_cast<double>(r.stored));
  duplicates_.inc(static_cast<double>(r.duplicates));
}

void Exporter::store_failed() { store_errors_.inc(); }

std::string Exporter::dora_text() {
  std::unique_lock lock(mutex_);
  if (computed_at_ == 0) {
    // The first scrape waits (a bounded time) for the first figures.
    wanted_ = true;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(5), [&] { return computed_at_ != 0; });
  } else if (now_() - computed_at_ >= 60) {
    wanted_ = true;
    cv_.notify_all();
  }
  return text_;
}

void Exporter::refresh_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || wanted_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    const std::int64_t now = now_();
    std::string text;
    try {
      text = dora_exposition(reports_per_environment(store_, Window{now - kDefaultWindowDays * 86400, now}), now);
    } catch (const std::exception&) {
      store_failed();  // figures stay as they were; the next scrape asks again
    }
    lock.lock();
    if (!text.empty()) {
      text_ = std::move(text);
      computed_at_ = now;
    }
    cv_.notify_all();
  }
}

std::vector<std::string> Exporter::environment_names(Store& store) {
  std::vector<std::string> names;
  for (auto& [system, environment] : store.environments()) names.push_back(std::move(environment));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::vector<MetricsReport> Exporter::reports_per_environment(Store& store, Window window) {
  const auto names = environment_names(store);
  Scope all{std::nullopt, names};
  all.each_environment = true;
  const MetricFacts facts = store.metric_facts(window, all);
  // Each environment's facts, its systems numbered anew (only those it has).
  struct Part {
    MetricFacts facts;
    std::vector<std::uint32_t> system_of;  ///< all's system index -> this part's, +1 (0: none yet)
  };
  std::vector<Part> parts(names.size());
  const auto split = [&](const auto& list, auto member) {
    for (auto fact : list) {
      auto& part = parts.at(fact.environment);
      if (part.system_of.empty()) part.system_of.assign(facts.systems.size(), 0);
      auto& slot = part.system_of.at(fact.system);
      if (slot == 0) slot = part.facts.system_index(facts.systems[fact.system]) + 1;
      fact.system = slot - 1;
      fact.environment = 0;
      (part.facts.*member).push_back(fact);
    }
  };
  split(facts.deployments, &MetricFacts::deployments);
  split(facts.shipped, &MetricFacts::shipped);
  split(facts.incidents, &MetricFacts::incidents);
  std::vector<MetricsReport> reports;
  reports.reserve(names.size());
  for (std::size_t e = 0; e < names.size(); ++e) {
    const Scope scope{std::nullopt, {names[e]}};
    reports.push_back(compute_metrics(parts[e].facts, window, Bucket::month, scope));
  }
  return reports;
}

std::string Exporter::dora_exposition(const std::vector<MetricsReport>& reports, std::int64_t computed_at) {
  struct Gauge {
    const char* name;
    const char* help;
    std::function<std::optional<double>(const Figures&)> value;
  };
  const std::vector<Gauge> gauges = {
      {"pulse_dora_deployments", "Deployments in the default window (last 90 days), per system and environment",
       [](const Figures& f) { return std::optional<double>(static_cast<double>(f.deployments)); }},
      {"pulse_dora_deployments_per_day", "Deployment frequency: deployments per day over the default window",
       [](const Figures& f) { return f.deployments_per_day; }},
      {"pulse_dora_lead_time_median_seconds", "Lead time for changes: median from push (else commit) to deployment",
       [](const Figures& f) {
         return f.lead_time_median ? std::optional<double>(static_cast<double>(*f.lead_time_median)) : std::nullopt;
       }},
      {"pulse_dora_time_to_recover_median_seconds", "Time to recover: median incident duration",
       [](const Figures& f) {
         return f.recovery_median ? std::optional<double>(static_cast<double>(*f.recovery_median)) : std::nullopt;
       }},
      {"pulse_dora_change_failure_ratio", "Change failure rate: share of deployments followed by an incident (0-1)",
       [](const Figures& f) { return f.change_failure_rate; }},
      {"pulse_dora_incidents", "Incidents created in the default window, per system and environment",
       [](const Figures& f) { return std::optional<double>(static_cast<double>(f.incidents)); }},
  };
  std::string out;
  std::size_t series = 0;
  for (const auto& r : reports) series += r.systems.size();
  out.reserve(256 + series * 6 * 80);
  for (const auto& g : gauges) {
    out += std::string("# HELP ") + g.name + " " + g.help + "\n# TYPE " + g.name + " gauge\n";
    for (const auto& r : reports) {
      const std::string environment = r.environments.empty() ? "" : r.environments.front();
      for (const auto& [system, figures] : r.systems)
        if (const auto v = g.value(figures))  // no data: no sample, never NaN or 0
          out += tel::series_name(g.name, {{"system", system}, {"environment", environment}}) + " " +
                 tel::format_value(*v) + "\n";
    }
  }
  // The phases of lead time, one series per phase.
  static constexpr const char* kPhase = "pulse_dora_lead_time_phase_median_seconds";
  out += std::string("# HELP ") + kPhase +
         " Lead time phases: median seconds of coding (authored to first push), review (first push to merged) "
         "and deploy (merged to deployment)\n# TYPE " +
         kPhase + " gauge\n";
  for (const auto& [phase, median] :
       {std::pair{"coding", &Figures::coding_median}, std::pair{"review", &Figures::review_median},
        std::pair{"deploy", &Figures::deploy_median}})
    for (const auto& r : reports) {
      const std::string environment = r.environments.empty() ? "" : r.environments.front();
      for (const auto& [system, figures] : r.systems)
        if (const auto& v = figures.*median)
          out += tel::series_name(kPhase, {{"system", system}, {"environment", environment}, {"phase", phase}}) + " " +
                 std::to_string(*v) + "\n";
    }
  out +=
      "# HELP pulse_dora_computed_timestamp_seconds When the DORA figures were last computed\n"
      "# TYPE pulse_dora_computed_timestamp_seconds gauge\n"
      "pulse_dora_computed_timestamp_seconds " +
      std::to_string(computed_at) + "\n";
  return out;
}

}  // namespace pulse::collector
