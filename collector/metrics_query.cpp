// Parsing a metrics query's parameters, and reading a store's facts system
// by system.
#include "collector/metrics.hpp"

#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <algorithm>
#include <thread>

namespace pulse::collector {

namespace {
constexpr std::int64_t kDay = 86400;
}  // namespace

namespace {

// RFC 3339, or YYYY-MM-DD as UTC midnight (the next midnight if `end`).
std::optional<std::int64_t> parse_instant(std::string_view text, bool end) {
  if (auto t = parse_rfc3339(text)) return t;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto t = parse_rfc3339(std::string(text) + "T00:00:00Z");
  if (!t) return std::nullopt;
  return end ? *t + kDay : *t;
}

}  // namespace

std::optional<Window> parse_window(std::string_view from, std::string_view to, std::int64_t now, std::string& why) {
  Window w;
  if (to.empty()) {
    w.to = now;
  } else if (auto t = parse_instant(to, true)) {
    w.to = *t;
  } else {
    why = "to: not an RFC 3339 time or a YYYY-MM-DD date";
    return std::nullopt;
  }
  if (from.empty()) {
    w.from = w.to - kDefaultWindowDays * kDay;
  } else if (auto t = parse_instant(from, false)) {
    w.from = *t;
  } else {
    why = "from: not an RFC 3339 time or a YYYY-MM-DD date";
    return std::nullopt;
  }
  if (w.from >= w.to) {
    why = "from: must be before to";
    return std::nullopt;
  }
  if (w.to - w.from > kMaxWindowDays * kDay) {
    why = "from: the window may span at most fifty years";
    return std::nullopt;
  }
  return w;
}

std::optional<std::vector<std::string>> parse_environment_list(std::string_view text, std::string& why) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= text.size();) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view name = text.substr(start, end - start);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name.empty()) {
      why = "an empty environment name (expected names separated by commas, e.g. production,prod)";
      return std::nullopt;
    }
    if (name.size() > 256 || !is_clean_text(name)) {
      why = "an environment name must be at most 256 bytes of text without control characters";
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    if (out.size() > kMaxQueryEnvironments) {
      why = "more than " + std::to_string(kMaxQueryEnvironments) + " environments";
      return std::nullopt;
    }
    start = end + 1;
  }
  return out;
}

std::vector<std::string> default_production_environments() {
  std::string why;
  return *parse_environment_list(kDefaultProductionEnvironments, why);
}

std::optional<Scope> parse_scope(std::string_view system, std::optional<std::string_view> environment,
                                 const std::vector<std::string>& production, std::string_view model,
                                 std::string_view team, std::string& why) {
  Scope scope;
  if (system.size() > 256 || !is_clean_text(system)) {
    why = "system: must be at most 256 bytes of text without control characters";
    return std::nullopt;
  }
  if (!system.empty()) scope.system = std::string(system);
  if (!environment || environment->empty()) {
    scope.environments = production;
  } else {
    auto list = parse_environment_list(*environment, why);
    if (!list) {
      why = "environment: " + why;
      return std::nullopt;
    }
    scope.environments = std::move(*list);
  }
  const auto m = parse_model(model);
  if (!m) {
    why = "model: must be pulse or dora";
    return std::nullopt;
  }
  scope.model = *m;
  if (!valid_team(team, why)) return std::nullopt;
  if (!team.empty()) scope.team = std::string(team);
  return scope;
}

bool valid_team(std::string_view team, std::string& why) {
  if (team.size() <= 256 && is_clean_text(team)) return true;
  why = "team: must be at most 256 bytes of text without control characters";
  return false;
}

MetricFacts read_facts_by_system(const std::vector<std::string>& systems, std::size_t workers,
                                 const SystemReader& read) {
  MetricFacts all;
  for (const auto& s : systems) all.system_index(s);
  workers = std::max<std::size_t>(1, std::min(workers, all.systems.size()));
  std::vector<std::vector<std::pair<std::uint32_t, std::string>>> shares(workers);
  for (std::uint32_t i = 0; i < all.systems.size(); ++i) shares[i % workers].emplace_back(i, all.systems[i]);
  std::vector<MetricFacts> parts(workers);
  std::vector<std::exception_ptr> failures(workers);
  std::vector<std::thread> threads;
  for (std::size_t w = 1; w < workers; ++w)
    threads.emplace_back([&, w] {
      try {
        read(w, shares[w], parts[w]);
      } catch (...) {
        failures[w] = std::current_exception();
      }
    });
  try {
    if (workers > 0 && !shares.empty()) read(0, shares[0], parts[0]);
  } catch (...) {
    failures[0] = std::current_exception();
  }
  for (auto& t : threads) t.join();
  for (const auto& f : failures)
    if (f) std::rethrow_exception(f);
  for (auto& p : parts) {
    all.deployments.insert(all.deployments.end(), p.deployments.begin(), p.deployments.end());
    all.shipped.insert(all.shipped.end(), p.shipped.begin(), p.shipped.end());
    all.incidents.insert(all.incidents.end(), p.incidents.begin(), p.incidents.end());
    all.reverts.insert(all.reverts.end(), p.reverts.begin(), p.reverts.end());
    all.firsts.insert(all.firsts.end(), p.firsts.begin(), p.firsts.end());
    for (auto names : {&MetricFacts::deployment_ids, &MetricFacts::incident_ids, &MetricFacts::shipped_ids})
      (all.*names)
          .insert((all.*names).end(), std::make_move_iterator((p.*names).begin()),
                  std::make_move_iterator((p.*names).end()));
  }
  return all;
}

std::optional<MetricsQuery> parse_metrics_query(std::string_view from, std::string_view to, std::string_view bucket,
                                                std::int64_t now, std::string& why) {
  const auto window = parse_window(from, to, now, why);
  if (!window) return std::nullopt;
  const auto b = parse_bucket(bucket);
  if (!b) {
    why = "bucket: must be day, week or month";
    return std::nullopt;
  }
  if (bucket_count(*window, *b) > kMaxBuckets) {
    why = "bucket: too many buckets for this window; choose week or month";
    return std::nullopt;
  }
  return MetricsQuery{*window, *b};
}

}  // namespace pulse::collector
