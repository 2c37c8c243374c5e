#include "collector/metrics.hpp"

#include "collector/classify.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <span>
#include <sstream>
#include <thread>

namespace pulse::collector {

namespace json = boost::json;
using namespace detail;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kHour = 3600;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct Civil {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;
};

// Howard Hinnant's civil_from_days.
Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {m <= 2 ? y + 1 : y, m, d};
}

std::int64_t day_of(std::int64_t t) { return floor_div(t, kDay); }
std::int64_t month_of(std::int64_t t) {
  const Civil c = civil_from_days(day_of(t));
  return c.year * 12 + (c.month - 1);
}
std::int64_t semester_of(std::int64_t t) { return floor_div(month_of(t), 6); }
// ISO weeks, Monday to Sunday (1970-01-01 was a Thursday).
std::int64_t week_of(std::int64_t t) { return floor_div(day_of(t) + 3, 7); }

// Start of the bucket holding `t`.
std::int64_t bucket_start(std::int64_t t, Bucket b) {
  const std::int64_t d = day_of(t);
  switch (b) {
    case Bucket::day:
      return d * kDay;
    case Bucket::week:
      return (d - ((d % 7 + 7 + 3) % 7)) * kDay;  // 1970-01-01 was a Thursday; weeks start on Monday
    case Bucket::month: {
      const Civil c = civil_from_days(d);
      return days_from_civil(c.year, c.month, 1) * kDay;
    }
  }
  return d * kDay;
}

std::int64_t next_bucket(std::int64_t start, Bucket b) {
  switch (b) {
    case Bucket::day:
      return start + kDay;
    case Bucket::week:
      return start + 7 * kDay;
    case Bucket::month: {
      const Civil c = civil_from_days(day_of(start));
      return c.month == 12 ? days_from_civil(c.year + 1, 1, 1) * kDay : days_from_civil(c.year, c.month + 1, 1) * kDay;
    }
  }
  return start + kDay;
}

// Number of distinct periods overlapping [from, to).
template <class PeriodOf>
std::size_t periods(Window w, PeriodOf period_of) {
  return static_cast<std::size_t>(period_of(w.to - 1) - period_of(w.from) + 1);
}

Level level_below(std::int64_t v, std::int64_t elite, std::int64_t high, std::int64_t medium) {
  if (v < elite) return Level::elite;
  if (v < high) return Level::high;
  if (v < medium) return Level::medium;
  return Level::low;
}

// Median of positive values, rounded down; reorders `v`.
std::int64_t median(std::vector<std::int64_t>& v) {
  const std::size_t n = v.size();
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (n % 2 == 1) return *mid;
  const std::int64_t upper = *mid;
  const std::int64_t lower = *std::max_element(v.begin(), mid);
  return lower + (upper - lower) / 2;
}

// Distinct values of `period_of` over the deployments.
template <class PeriodOf>
std::size_t distinct(std::span<const Dep> deps, PeriodOf period_of, std::vector<std::int64_t>& scratch) {
  scratch.clear();
  for (const auto& d : deps) scratch.push_back(period_of(d.time));
  std::sort(scratch.begin(), scratch.end());
  return static_cast<std::size_t>(std::unique(scratch.begin(), scratch.end()) - scratch.begin());
}

// Stable counting sort of `items` into `groups` groups: the flat result and
// where each group starts (groups + 1 offsets).
template <class T, class KeyOf>
std::pair<std::vector<T>, std::vector<std::size_t>> group_by(const std::vector<T>& items, std::size_t groups,
                                                             KeyOf key_of) {
  std::vector<std::size_t> offsets(groups + 1, 0);
  for (const auto& it : items) ++offsets[key_of(it) + 1];
  for (std::size_t g = 0; g < groups; ++g) offsets[g + 1] += offsets[g];
  std::vector<T> out(items.size());
  std::vector<std::size_t> next(offsets.begin(), offsets.end() - 1);
  for (const auto& it : items) out[next[key_of(it)]++] = it;
  return {std::move(out), std::move(offsets)};
}

template <class T>
std::span<const T> group(const std::pair<std::vector<T>, std::vector<std::size_t>>& g, std::size_t i) {
  return std::span<const T>(g.first).subspan(g.second[i], g.second[i + 1] - g.second[i]);
}

// Days of `deps` with more than one deployment.
std::size_t busy_days(std::span<const Dep> deps, std::vector<std::int64_t>& scratch) {
  scratch.clear();
  for (const auto& d : deps) scratch.push_back(day_of(d.time));
  std::sort(scratch.begin(), scratch.end());
  std::size_t busy = 0;
  for (std::size_t i = 1; i < scratch.size(); ++i)
    if (scratch[i] == scratch[i - 1] && (i == 1 || scratch[i - 2] != scratch[i])) ++busy;
  return busy;
}

void frequency_level(Figures& f, Window w, std::span<const Dep> deps, Model model, std::vector<std::int64_t>& scratch) {
  if (model == Model::pulse) {
    if (f.deployment_days * 2 > f.days) f.frequency_level = Level::elite;
    else if (distinct(deps, month_of, scratch) * 2 > periods(w, month_of)) f.frequency_level = Level::high;
    else if (distinct(deps, semester_of, scratch) * 2 > periods(w, semester_of)) f.frequency_level = Level::medium;
    else f.frequency_level = Level::low;
    return;
  }
  if (busy_days(deps, scratch) * 2 > f.days) f.frequency_level = Level::elite;
  else if (distinct(deps, week_of, scratch) * 2 > periods(w, week_of)) f.frequency_level = Level::high;
  else if (distinct(deps, month_of, scratch) * 2 > periods(w, month_of)) f.frequency_level = Level::medium;
  else f.frequency_level = Level::low;
}

// Integer comparisons: a band's upper edge belongs to it (15% is Elite for Pulse).
Level failure_level(std::size_t failed, std::size_t deployments, Model model) {
  if (model == Model::pulse) {
    if (failed * 100 <= 15 * deployments) return Level::elite;
    if (failed * 100 <= 30 * deployments) return Level::high;
    return Level::low;
  }
  if (failed * 100 <= 5 * deployments) return Level::elite;
  if (failed * 100 <= 10 * deployments) return Level::high;
  if (failed * 100 <= 15 * deployments) return Level::medium;
  return Level::low;
}

void deployment_figures(Figures& f, Window w, std::span<const Dep> deps, Model model, bool levels,
                        std::vector<std::int64_t>& scratch) {
  f.deployments = deps.size();
  f.days = periods(w, day_of);
  if (deps.empty()) return;
  const std::uint8_t counted = model == Model::pulse ? by_incident : 0xff;
  for (const auto& d : deps) {
    f.failed_deployments += (d.failed & counted) != 0;
    if (model == Model::pulse) continue;
    f.failed_by_incident += (d.failed & by_incident) != 0;
    f.failed_by_rollback += (d.failed & by_rollback) != 0;
    f.failed_by_revert += (d.failed & by_revert) != 0;
    f.failed_by_mark += (d.failed & by_mark) != 0;
    f.rework_deployments += d.rework != 0;
  }
  f.deployment_days = distinct(deps, day_of, scratch);
  const auto n = static_cast<double>(deps.size());
  f.deployments_per_day = n * kDay / static_cast<double>(w.to - w.from);
  f.change_failure_rate = static_cast<double>(f.failed_deployments) / n;
  if (model == Model::dora) f.rework_rate = static_cast<double>(f.rework_deployments) / n;
  if (levels) {
    frequency_level(f, w, deps, model, scratch);
    f.failure_level = failure_level(f.failed_deployments, deps.size(), model);
  }
  if (model == Model::pulse) return;
  scratch.clear();
  for (const auto& d : deps) {
    if (!d.failed) continue;
    if (d.recovered == kNotRecovered) ++f.unrecovered_failures;
    else scratch.push_back(std::max<std::int64_t>(0, d.recovered - d.time));
  }
  f.recovered_failures = scratch.size();
  if (!scratch.empty()) {
    f.failed_recovery_median = median(scratch);
    if (levels) f.failed_recovery_level = level_below(*f.failed_recovery_median, kHour, kDay, 7 * kDay);
  }
}

Figures figures_of(Window w, std::span<const Dep> deps, std::span<const Lead> leads, std::span<const Inc> incs,
                   Model model, bool levels, std::vector<std::int64_t>& scratch) {
  Figures f;
  deployment_figures(f, w, deps, model, levels, scratch);

  scratch.clear();
  for (const auto& l : leads) {
    if (l.bad == 1) ++f.non_positive_lead_times;
    else if (l.bad == 2) ++f.changes_without_time;
    else scratch.push_back(l.lead);
  }
  f.lead_time_changes = scratch.size();
  if (!scratch.empty()) {
    f.lead_time_median = median(scratch);
    if (levels)
      f.lead_time_level = model == Model::pulse ? level_below(*f.lead_time_median, kHour, 7 * kDay, 183 * kDay)
                                                : level_below(*f.lead_time_median, kDay, 7 * kDay, 30 * kDay);
  }
  for (const auto& [phase, median_of] :
       {std::pair{&Phases::coding, &Figures::coding_median}, std::pair{&Phases::review, &Figures::review_median},
        std::pair{&Phases::deploy, &Figures::deploy_median}}) {
    scratch.clear();
    for (const auto& l : leads)
      if (l.bad == 0 && l.phases.*phase != kNoPhase) scratch.push_back(l.phases.*phase);
    if (!scratch.empty()) f.*median_of = median(scratch);
  }

  scratch.clear();
  std::int64_t total = 0;
  for (const auto& i : incs) {
    scratch.push_back(i.duration);
    total += i.duration;
    f.incidents_without_deployment += !i.attributed;
  }
  f.incidents = scratch.size();
  if (!scratch.empty()) {
    f.recovery_mean = total / static_cast<std::int64_t>(scratch.size());
    f.recovery_median = median(scratch);
    if (levels) f.recovery_level = level_below(*f.recovery_median, kHour, kDay, 7 * kDay);
  }
  return f;
}

json::value opt(const std::optional<std::int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt(const std::optional<Level>& v) {
  return v ? json::value(json::string(level_name(*v))) : json::value(nullptr);
}

json::object figures_json(const Figures& f, Model model, bool levels) {
  json::object df{{"deployments", f.deployments},
                  {"days", f.days},
                  {"deployment_days", f.deployment_days},
                  {"per_day", opt(f.deployments_per_day)}};
  json::object lt{{"median_seconds", opt(f.lead_time_median)},
                  {"changes", f.lead_time_changes},
                  {"phases", json::object{{"coding", opt(f.coding_median)},
                                          {"review", opt(f.review_median)},
                                          {"deploy", opt(f.deploy_median)}}}};
  json::object cfr{{"rate", opt(f.change_failure_rate)},
                   {"failed_deployments", f.failed_deployments},
                   {"deployments", f.deployments}};
  json::object o;
  if (model == Model::pulse) {
    json::object ttr{
        {"median_seconds", opt(f.recovery_median)}, {"mean_seconds", opt(f.recovery_mean)}, {"incidents", f.incidents}};
    if (levels) {
      df["level"] = opt(f.frequency_level);
      lt["level"] = opt(f.lead_time_level);
      ttr["level"] = opt(f.recovery_level);
      cfr["level"] = opt(f.failure_level);
    }
    o = json::object{{"deployment_frequency", std::move(df)},
                     {"lead_time", std::move(lt)},
                     {"time_to_recover", std::move(ttr)},
                     {"change_failure_rate", std::move(cfr)}};
  } else {
    cfr["reasons"] = json::object{{"incident", f.failed_by_incident},
                                  {"rollback", f.failed_by_rollback},
                                  {"revert", f.failed_by_revert},
                                  {"mark", f.failed_by_mark}};
    json::object fdrt{{"median_seconds", opt(f.failed_recovery_median)},
                      {"recovered", f.recovered_failures},
                      {"unrecovered", f.unrecovered_failures}};
    json::object rework{
        {"rate", opt(f.rework_rate)}, {"rework_deployments", f.rework_deployments}, {"deployments", f.deployments}};
    if (levels) {
      df["level"] = opt(f.frequency_level);
      lt["level"] = opt(f.lead_time_level);
      fdrt["level"] = opt(f.failed_recovery_level);
      cfr["level"] = opt(f.failure_level);
    }
    o = json::object{{"deployment_frequency", std::move(df)},
                     {"lead_time", std::move(lt)},
                     {"failed_deployment_recovery_time", std::move(fdrt)},
                     {"change_failure_rate", std::move(cfr)},
                     {"deployment_rework_rate", std::move(rework)}};
  }
  o["data_quality"] = json::object{{"non_positive_lead_times", f.non_positive_lead_times},
                                   {"changes_without_time", f.changes_without_time},
                                   {"incidents_without_deployment", f.incidents_without_deployment}};
  return o;
}

}  // namespace

std::optional<Bucket> parse_bucket(std::string_view name) {
  if (name == "day") return Bucket::day;
  if (name == "week") return Bucket::week;
  if (name == "month") return Bucket::month;
  return std::nullopt;
}

std::string_view bucket_name(Bucket b) {
  switch (b) {
    case Bucket::day:
      return "day";
    case Bucket::week:
      return "week";
    case Bucket::month:
      return "month";
  }
  return "day";
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::elite:
      return "elite";
    case Level::high:
      return "high";
    case Level::medium:
      return "medium";
    case Level::low:
      return "low";
  }
  return "low";
}

std::optional<Model> parse_model(std::string_view name) {
  if (name == "pulse") return Model::pulse;
  if (name == "dora") return Model::dora;
  return std::nullopt;
}

std::string_view model_name(Model m) { return m == Model::dora ? "dora" : "pulse"; }

std::uint64_t head_key(std::string_view commit) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : commit) h = (h ^ c) * 1099511628211ULL;
  return h == 0 ? 1 : h;
}

std::uint32_t MetricFacts::system_index(std::string_view name) {
  // Rows often come grouped by system: check the last one first.
  if (last_index_ < systems.size() && systems[last_index_] == name) return last_index_;
  if (const auto it = index_.find(name); it != index_.end()) return last_index_ = it->second;
  const auto i = static_cast<std::uint32_t>(systems.size());
  systems.emplace_back(name);
  index_.emplace(std::string(name), i);
  return last_index_ = i;
}

std::size_t bucket_count(Window w, Bucket b) {
  if (w.to <= w.from) return 0;
  switch (b) {
    case Bucket::day:
      return periods(w, day_of);
    case Bucket::week:
      return static_cast<std::size_t>((bucket_start(w.to - 1, b) - bucket_start(w.from, b)) / (7 * kDay) + 1);
    case Bucket::month:
      return periods(w, month_of);
  }
  return 0;
}

MetricsReport compute_metrics(const MetricFacts& facts, Window window, Bucket bucket, Scope scope) {
  MetricsReport report;
  report.window = window;
  report.bucket = bucket;
  report.model = scope.model;
  report.system = std::move(scope.system);
  report.team = scope.team;
  report.environments = std::move(scope.environments);
  const Model model = report.model;

  auto prepared = detail::classify(facts, window, model, scope.team.has_value());
  const auto& deps = prepared.deps;
  const auto& leads = prepared.leads;
  const auto& incs = prepared.incs;

  // The time series on a second thread while this one does the whole
  // window and each system. Each fact goes to its bucket by binary search
  // over the bucket starts.
  std::vector<Window> buckets;
  for (std::int64_t start = bucket_start(window.from, bucket); start < window.to; start = next_bucket(start, bucket))
    buckets.push_back({std::max(start, window.from), std::min(next_bucket(start, bucket), window.to)});
  std::exception_ptr series_failure;
  std::thread series([&]() noexcept {
    try {
      auto bucket_of = [&](std::int64_t t) {
        const auto it = std::upper_bound(buckets.begin(), buckets.end(), t,
                                         [](std::int64_t v, const Window& b) { return v < b.from; });
        return static_cast<std::size_t>(it - buckets.begin()) - 1;
      };
      const auto bd = group_by(deps, buckets.size(), [&](const Dep& d) { return bucket_of(d.time); });
      const auto bl = group_by(leads, buckets.size(), [&](const Lead& l) { return bucket_of(l.deployed); });
      const auto bi = group_by(incs, buckets.size(), [&](const Inc& i) { return bucket_of(i.created); });
      std::vector<std::int64_t> scratch;
      report.series.reserve(buckets.size());
      for (std::size_t b = 0; b < buckets.size(); ++b)
        report.series.push_back(
            {buckets[b].from, buckets[b].to,
             figures_of(buckets[b], group(bd, b), group(bl, b), group(bi, b), model, false, scratch)});
    } catch (...) {
      series_failure = std::current_exception();
    }
  });

  try {
    std::vector<std::int64_t> scratch;
    report.overall = figures_of(window, deps, leads, incs, model, true, scratch);
    const std::size_t n = facts.systems.size();
    const auto sd = group_by(deps, n, [](const Dep& d) { return d.system; });
    const auto sl = group_by(leads, n, [](const Lead& l) { return l.system; });
    const auto si = group_by(incs, n, [](const Inc& i) { return i.system; });
    for (std::uint32_t s = 0; s < n; ++s) {
      const auto d = group(sd, s);
      const auto l = group(sl, s);
      const auto i = group(si, s);
      if (!d.empty() || !l.empty() || !i.empty())
        report.systems.emplace_back(facts.systems[s], figures_of(window, d, l, i, model, true, scratch));
    }
    std::sort(report.systems.begin(), report.systems.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  } catch (...) {
    series.join();  // a joinable thread must not be destroyed
    throw;
  }
  series.join();
  if (series_failure) std::rethrow_exception(series_failure);
  return report;
}

json::object metrics_json(const MetricsReport& r) {
  json::object o;
  o["window"] = json::object{{"from", format_rfc3339(r.window.from)},
                             {"to", format_rfc3339(r.window.to)},
                             {"days", static_cast<double>(r.window.to - r.window.from) / kDay}};
  o["model"] = model_name(r.model);
  if (r.model == Model::dora) o["edition"] = kDoraEdition;
  o["system"] = r.system ? json::value(json::string(*r.system)) : json::value(nullptr);
  o["team"] = r.team ? json::value(json::string(*r.team)) : json::value(nullptr);
  json::array environments;
  for (const auto& e : r.environments) environments.emplace_back(e);
  o["environments"] = std::move(environments);
  o["overall"] = figures_json(r.overall, r.model, true);
  json::array systems;
  for (const auto& [name, f] : r.systems) {
    auto s = figures_json(f, r.model, true);
    s["system"] = name;
    systems.push_back(std::move(s));
  }
  o["systems"] = std::move(systems);
  json::array points;
  for (const auto& p : r.series) {
    auto s = figures_json(p.figures, r.model, false);
    s["start"] = format_rfc3339(p.start);
    s["end"] = format_rfc3339(p.end);
    points.push_back(std::move(s));
  }
  o["series"] = json::object{{"bucket", bucket_name(r.bucket)}, {"points", std::move(points)}};
  return o;
}

std::string human_duration(std::int64_t s) {
  char buf[64];
  if (s < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  else if (s < kHour)
    std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  else if (s < kDay)
    std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(s / kHour),
                  static_cast<long long>(s % kHour / 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd %02lldh", static_cast<long long>(s / kDay),
                  static_cast<long long>(s % kDay / kHour));
  return buf;
}

namespace {

std::string percent_of(std::optional<double> rate, std::size_t part, std::size_t whole) {
  if (!rate) return "no data";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%% (%zu/%zu)", *rate * 100, part, whole);
  return buf;
}

}  // namespace

std::string metrics_table(const MetricsReport& r) {
  std::ostringstream out;
  const bool dora = r.model == Model::dora;
  auto level = [](const std::optional<Level>& l) { return l ? std::string(level_name(*l)) : std::string(); };
  auto cell = [](const std::string& v, const std::string& l) { return l.empty() ? v : v + " " + l; };
  auto row = [&](const std::string& raw_name, const Figures& f) {
    // Names stored by older versions may hold control bytes: a terminal
    // gets them escaped, never raw.
    const std::string name = printable(raw_name);
    std::string df = "no data", lt = "no data", ttr = "no data";
    if (f.deployments_per_day) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f/day", *f.deployments_per_day);
      df = buf;
    }
    if (f.lead_time_median) lt = human_duration(*f.lead_time_median);
    if (!dora && f.recovery_median)
      ttr = human_duration(*f.recovery_median) + " (mean " + human_duration(*f.recovery_mean) + ")";
    if (dora && f.failed_recovery_median) ttr = human_duration(*f.failed_recovery_median);
    out << std::left << std::setw(20) << (name.size() > 19 ? name.substr(0, 18) + "~" : name) << std::setw(22)
        << cell(df, level(f.frequency_level)) << std::setw(20) << cell(lt, level(f.lead_time_level))
        << std::setw(dora ? 22 : 34) << cell(ttr, level(dora ? f.failed_recovery_level : f.recovery_level));
    if (!dora) {
      out << cell(percent_of(f.change_failure_rate, f.failed_deployments, f.deployments), level(f.failure_level))
          << "\n";
      return;
    }
    out << std::setw(24)
        << cell(percent_of(f.change_failure_rate, f.failed_deployments, f.deployments), level(f.failure_level))
        << percent_of(f.rework_rate, f.rework_deployments, f.deployments) << "\n";
  };
  out << "Window " << format_rfc3339(r.window.from) << " to " << format_rfc3339(r.window.to) << " (UTC)";
  if (r.system) out << ", system " << printable(*r.system);
  if (r.team) out << ", team " << printable(*r.team);
  out << "\nEnvironments: ";
  for (std::size_t i = 0; i < r.environments.size(); ++i) out << (i ? ", " : "") << printable(r.environments[i]);
  out << "\nModel: "
      << (dora ? std::string("DORA's five metrics; levels from the ") + kDoraEdition
               : std::string("Pulse's four metrics"))
      << "\n\n";
  out << std::left << std::setw(20) << "SYSTEM" << std::setw(22) << "DEPLOY FREQUENCY" << std::setw(20) << "LEAD TIME";
  if (dora)
    out << std::setw(22) << "FAILED DEPL. RECOVERY" << std::setw(24) << "CHANGE FAIL RATE"
        << "REWORK RATE\n";
  else
    out << std::setw(34) << "TIME TO RECOVER"
        << "CHANGE FAILURE RATE\n";
  for (const auto& [name, f] : r.systems) row(name, f);
  if (!r.system) row("(all systems)", r.overall);
  const Figures& f = r.overall;
  out << "\n"
      << f.deployments << " deployment(s), " << f.lead_time_changes << " change(s) with a lead time, " << f.incidents
      << " incident(s)\n";
  if (f.coding_median || f.review_median || f.deploy_median) {
    auto phase = [](const std::optional<std::int64_t>& v) { return v ? human_duration(*v) : std::string("no data"); };
    out << "Lead time phases (medians): coding " << phase(f.coding_median) << ", review " << phase(f.review_median)
        << ", deploy " << phase(f.deploy_median) << "\n";
  }
  if (dora && f.failed_deployments)
    out << "Failed deployments: " << f.failed_by_incident << " with an incident, " << f.failed_by_rollback
        << " rolled back, " << f.failed_by_revert << " reverted, " << f.failed_by_mark << " marked; "
        << f.unrecovered_failures << " not recovered yet\n";
  if (f.non_positive_lead_times || f.changes_without_time || f.incidents_without_deployment)
    out << "Data quality: " << f.non_positive_lead_times << " change(s) with a lead time of zero or below, "
        << f.changes_without_time << " shipped change(s) with no known time, " << f.incidents_without_deployment
        << " incident(s) with no earlier deployment\n";
  return out.str();
}

}  // namespace pulse::collector
