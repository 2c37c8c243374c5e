// The four DORA metrics, computed from the facts a store gives for a window.
//
// Rules (each has a test in tests/collector/test_metrics.cpp):
// - All times are UTC Unix seconds; a window is [from, to).
// - Deployment frequency: deployments in the window per day. Its level looks
//   at UTC calendar days, months and half-years that overlap the window:
//   Elite if more than half of the days had a deployment, High if more than
//   half of the months, Medium if more than half of the half-years, else Low.
// - Environments: metrics count the deployments and incidents of the
//   query's environments only, by default the production ones
//   (kDefaultProductionEnvironments, configurable on the collector); events
//   naming no environment are production's.
// - Lead time: for each change whose FIRST deployment (of its system, to any
//   of the query's environments) falls in the window, that deployment's time
//   minus the change's time, which is
//   its first push time where known, else its commit time. Changes never
//   deployed are not counted. Lead times of zero or below are left out and
//   counted in data quality, as are shipped changes with no known time.
//   Reported as the median. Elite < 1 hour, High < 1 week, Medium < 183
//   days, else Low.
// - Time to recover: resolved - created of the incidents created in the
//   window; median (its level) and mean. Elite < 1 hour, High < 1 day,
//   Medium < 1 week, else Low.
// - Change failure rate: the window's deployments followed by at least one
//   incident / the window's deployments. An incident belongs to the last
//   deployment of its system and environment strictly before its creation
//   time; incidents
//   created at or after the window's end are not looked at, so a closed
//   window's figures do not move. An incident with no earlier deployment
//   counts for time to recover only. Elite <= 15%, High <= 30%, else Low.
// - Medians of an even count are the mean of the two middle values; medians
//   and means are rounded down to the second.
// - No deployments: deployment frequency and change failure rate are "no
//   data" (null), never 0; no shipped changes or no incidents likewise.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse::collector {

struct Window {
  std::int64_t from = 0;  ///< inclusive
  std::int64_t to = 0;    ///< exclusive
};

enum class Bucket { day, week, month };
std::optional<Bucket> parse_bucket(std::string_view name);
std::string_view bucket_name(Bucket b);

enum class Level { elite, high, medium, low };
std::string_view level_name(Level l);

/// Unknown change time (no commit or push time known).
inline constexpr std::int64_t kUnknownTime = INT64_MIN;

/// The environments metrics count when a query names none: production
/// ones, like GitLab's production tier. Events that name no environment
/// are filed under "production".
inline constexpr const char* kDefaultProductionEnvironments = "production,prod,live";

/// kDefaultProductionEnvironments as a list.
std::vector<std::string> default_production_environments();

/// Most environments one query may name.
inline constexpr std::size_t kMaxQueryEnvironments = 32;

/// A comma-separated list of environment names ("production,prod"),
/// spaces around names ignored, duplicates dropped, order kept. Fails
/// (nullopt, `why` saying what) on an empty list or name, a name with
/// control characters or over 256 bytes, or more than
/// kMaxQueryEnvironments names.
std::optional<std::vector<std::string>> parse_environment_list(std::string_view text, std::string& why);

/// What a metrics query looks at: one system or all, and the deployments
/// and incidents of these environments (never empty).
struct Scope {
  std::optional<std::string> system;
  std::vector<std::string> environments;
};

/// A query's scope from its parameters: `system` ("" for all; at most 256
/// bytes) and `environment` (a list as parse_environment_list reads it;
/// absent or empty: `production`, the collector's production set). On
/// failure `why` names the parameter ("environment: ...").
std::optional<Scope> parse_scope(std::string_view system, std::optional<std::string_view> environment,
                                 const std::vector<std::string>& production, std::string& why);

/// What a store returns for a window: events of the window, systems by
/// index, environments by their index in the scope's list.
struct MetricFacts {
  struct Deployment {
    std::uint32_t system;
    std::uint32_t environment;
    std::int64_t time;
  };
  struct Shipped {  ///< a change whose first deployment (in the scope's environments) is in the window
    std::uint32_t system;
    std::int64_t deployed;     ///< time of its first deployment
    std::int64_t change_time;  ///< push time, else commit time, else kUnknownTime
  };
  struct Incident {
    std::uint32_t system;
    std::uint32_t environment;
    std::int64_t created;
    std::int64_t resolved;
  };
  std::vector<std::string> systems;
  std::vector<Deployment> deployments;  ///< in the window, plus the last one before it per system and environment
  std::vector<Shipped> shipped;         ///< deployed in the window
  std::vector<Incident> incidents;      ///< created in the window

  /// Index of `name` in `systems`, adding it if new.
  std::uint32_t system_index(std::string_view name);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> index_;
  std::uint32_t last_index_ = 0;
};

/// Fills MetricFacts system by system on up to `workers` threads: `read`
/// gets a worker number, its share of the systems (index into `systems`,
/// name) and the facts to append to; the shares are merged at the end.
/// For each system, a store reads each of the scope's environments that
/// system has; a change's first deployment is its first to any of them.
using SystemReader = std::function<void(std::size_t worker,
                                        const std::vector<std::pair<std::uint32_t, std::string>>& systems,
                                        MetricFacts& out)>;
MetricFacts read_facts_by_system(const std::vector<std::string>& systems, std::size_t workers,
                                 const SystemReader& read);

struct Figures {
  // Deployment frequency
  std::size_t deployments = 0;
  std::size_t days = 0;             ///< UTC days overlapping the window
  std::size_t deployment_days = 0;  ///< of which had a deployment
  std::optional<double> deployments_per_day;
  std::optional<Level> frequency_level;
  // Lead time for changes
  std::size_t lead_time_changes = 0;
  std::optional<std::int64_t> lead_time_median;
  std::optional<Level> lead_time_level;
  // Time to recover
  std::size_t incidents = 0;
  std::optional<std::int64_t> recovery_median;
  std::optional<std::int64_t> recovery_mean;
  std::optional<Level> recovery_level;
  // Change failure rate
  std::size_t failed_deployments = 0;
  std::optional<double> change_failure_rate;
  std::optional<Level> failure_level;
  // Data quality
  std::size_t non_positive_lead_times = 0;
  std::size_t changes_without_time = 0;
  std::size_t incidents_without_deployment = 0;
};

struct SeriesPoint {
  std::int64_t start = 0;  ///< bucket start, clipped to the window
  std::int64_t end = 0;
  Figures figures;  ///< no levels: they are defined over whole windows
};

struct MetricsReport {
  Window window;
  Bucket bucket = Bucket::week;
  std::optional<std::string> system;  ///< the filter, if any
  std::vector<std::string> environments;  ///< what was counted
  Figures overall;
  std::vector<std::pair<std::string, Figures>> systems;  ///< by name
  std::vector<SeriesPoint> series;                       ///< overall, per bucket
};

/// The default window: the last 90 days.
inline constexpr std::int64_t kDefaultWindowDays = 90;

/// Parses a metrics query's window. `from` and `to` are RFC 3339 times,
/// dates (YYYY-MM-DD, UTC; a date as `to` includes that day) or empty:
/// `to` defaults to `now`, `from` to 90 days before `to`. Fails (nullopt,
/// `why` naming the parameter) on bad syntax, from >= to, or more than ten
/// years.
std::optional<Window> parse_window(std::string_view from, std::string_view to, std::int64_t now, std::string& why);

/// Most buckets a report may hold (a window of ten years by day).
inline constexpr std::size_t kMaxBuckets = 3700;

struct MetricsQuery {
  Window window;
  Bucket bucket = Bucket::week;
};

/// The window (see parse_window) and the bucket ("day", "week" or "month")
/// of a metrics query, checked together: at most kMaxBuckets
/// buckets. On failure `why` names the parameter ("bucket: ...").
std::optional<MetricsQuery> parse_metrics_query(std::string_view from, std::string_view to, std::string_view bucket,
                                                std::int64_t now, std::string& why);

/// Number of buckets of `b` that overlap `w`.
std::size_t bucket_count(Window w, Bucket b);

MetricsReport compute_metrics(const MetricFacts& facts, Window window, Bucket bucket, Scope scope);

/// GET /v1/metrics's body. Durations are whole seconds; "no data" is null.
boost::json::object metrics_json(const MetricsReport& report);

/// `pulse-collector metrics`'s table.
std::string metrics_table(const MetricsReport& report);

/// "3d 4h", "2h 05m", "42s": a duration for people.
std::string human_duration(std::int64_t seconds);

}  // namespace pulse::collector
