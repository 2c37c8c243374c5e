// DORA metrics, computed from the facts a store gives for a window, in two
// models: Pulse's four (the default) and DORA's current five.
//
// Rules (each has a test in tests/collector/test_metrics.cpp):
// - All times are UTC Unix seconds; a window is [from, to).
// - Environments: metrics count the deployments and incidents of the
//   query's environments only, by default the production ones
//   (kDefaultProductionEnvironments, configurable on the collector); events
//   naming no environment are production's.
// - Deployments of one system and environment are ordered by time, then by
//   arrival. An incident belongs to the last deployment of its system and
//   environment strictly before its creation time.
// - Evidence is looked at up to the window's end only (incidents created,
//   deployments made before it), so a closed window's figures do not move.
// - Medians of an even count are the mean of the two middle values; medians
//   and means are rounded down to the second.
// - No deployments: deployment frequency, change failure and rework rates
//   are "no data" (null), never 0; no shipped changes or no incidents (no
//   recovered failures) likewise.
//
// The Pulse model:
// - Deployment frequency: deployments in the window per day. Its level looks
//   at UTC calendar days, months and half-years that overlap the window:
//   Elite if more than half of the days had a deployment, High if more than
//   half of the months, Medium if more than half of the half-years, else Low.
// - Lead time: for each change whose FIRST deployment (of its system, to any
//   of the query's environments) falls in the window, that deployment's time
//   minus the change's time, which is its first push time where known, else
//   its commit time. Changes never deployed are not counted. Lead times of
//   zero or below are left out and counted in data quality, as are shipped
//   changes with no known time. Reported as the median. Elite < 1 hour,
//   High < 1 week, Medium < 183 days, else Low.
// - Lead time phases, for the changes counted in lead time: coding = first
//   push - earliest author time; review = merged - first push; deploy =
//   deployment - merged, or - first push when that is later (a commit
//   pushed to the default branch after it was made). "Merged" is when the
//   commit reached the deployed line: the committer time of the oldest
//   first-parent commit holding it (its merge commit; itself for direct
//   pushes, fast-forwards, squash and rebase merges), as the deploy step
//   reports it. A phase needs its two times (no push time: no coding or
//   review; no merge time: no review or deploy) and is at least 0. Each is
//   reported as the median over the changes that have it, so the three need
//   not add up to the lead time's median.
// - Time to recover: resolved - created of the incidents created in the
//   window; median (its level) and mean. Elite < 1 hour, High < 1 day,
//   Medium < 1 week, else Low.
// - Change failure rate: the window's deployments followed by at least one
//   incident / the window's deployments. An incident with no earlier
//   deployment counts for time to recover only. Elite <= 15%, High <= 30%,
//   else Low.
//
// The DORA model (dora.dev's five metrics; levels from the DORA 2023 report,
// in the gap-free bands Apache DevLake uses: kDoraEdition):
// - Deployment frequency and lead time counted as in the Pulse model.
//   Frequency: Elite ("on demand") if more than half of the days had more
//   than one deployment, High (daily to weekly) if more than half of the
//   ISO weeks (Monday to Sunday, UTC) had one, Medium (weekly to monthly)
//   if more than half of the months did, else Low. Lead time: Elite < 1
//   day, High < 1 week, Medium < 30 days, else Low.
// - A deployment FAILED when
//   (incident) an incident is attributed to it;
//   (rollback) a later deployment of its system and environment rolled it
//     back: that deployment's head commit had been deployed there before
//     (so it is an ancestor of an earlier head: the collector knows it from
//     the changes earlier deployments shipped, never from the repository),
//     differs from the previous deployment's head, and the deployment here
//     shipped changes after the last deployment of that head (or after that
//     head's first deployment, which is itself included, when no deployment
//     had it as head); a deployment listing its own head among its changes
//     is a forward one;
//   (revert) a later deployment ships a commit reverting one of the changes
//     this one deployed first ("This reverts commit <sha>", found by the
//     deploy step);
//   (mark) it was reported with status failed or rolled-back, or a later
//     deployment says it fixes this one (`fixes`).
// - Change fail rate = failed deployments / deployments. Elite <= 5%, High
//   <= 10%, Medium <= 15%, else Low.
// - Failed deployment recovery time: for each failed deployment of the
//   window, from its time to the earliest recovery: its incidents resolved
//   (the last of them), the deployment that rolled it back, that shipped the
//   revert, or that says it fixes it, and for a deployment marked failed or
//   rolled-back, the next deployment of its system and environment. Failed
//   deployments with no recovery yet are counted apart (unrecovered). The
//   median; Elite < 1 hour, High < 1 day, Medium < 1 week, else Low.
// - Deployment rework rate = the window's deployments that were unplanned
//   fixes / the window's deployments: rollbacks, deployments that say they
//   fix another, that ship a revert of a change deployed there before, or
//   that were made while an incident attributed to an earlier deployment of
//   their system and environment was open. No level: DORA publishes no
//   bands for it.
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

/// How figures are counted: Pulse's four metrics or DORA's five (above).
enum class Model { pulse, dora };
std::optional<Model> parse_model(std::string_view name);  ///< "pulse" or "dora"
std::string_view model_name(Model m);

/// The benchmark the DORA model's levels come from, named in every answer.
inline constexpr const char* kDoraEdition = "DORA 2023 report (gap-free bands, as Apache DevLake)";

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
/// and incidents of these environments (never empty); and how it counts.
struct Scope {
  std::optional<std::string> system;
  std::vector<std::string> environments;
  Model model = Model::pulse;
  /// Also read what names each deployment and incident (for explanations);
  /// implies the DORA model's facts whatever the model.
  bool identifiers = false;
  /// And each shipped change's id and time source (lead time's explanation).
  bool change_identifiers = false;
  /// One team's figures: its deployments, the changes they shipped first,
  /// the incidents attributed to them (deployments name their teams).
  std::optional<std::string> team = std::nullopt;
  /// Each of `environments` on its own: a change counts at its first
  /// deployment to each of them (not once, at the first to any), so the
  /// facts split by environment give each environment's own figures (the
  /// Prometheus exporter's one pass).
  bool each_environment = false;
};

/// A team filter's value: at most 256 bytes of text without control
/// characters ("" for none). On failure `why` names the parameter.
bool valid_team(std::string_view team, std::string& why);

/// A query's scope from its parameters: `system` ("" for all; at most 256
/// bytes), `environment` (a list as parse_environment_list reads it;
/// absent or empty: `production`, the collector's production set), `model`
/// ("pulse" or "dora") and `team` ("" for all; see valid_team).
/// On failure `why` names the parameter ("environment: ...").
std::optional<Scope> parse_scope(std::string_view system, std::optional<std::string_view> environment,
                                 const std::vector<std::string>& production, std::string_view model,
                                 std::string_view team, std::string& why);

/// What a store returns for a window: events of the window, systems by
/// index, environments by their index in the scope's list.
struct MetricFacts {
  /// Deployment marks (the deployment event's status).
  enum Mark : std::uint8_t { no_mark = 0, marked_failed = 1, marked_rolled_back = 2 };
  struct Deployment {
    std::uint32_t system;
    std::uint32_t environment;
    std::int64_t time;
    // The DORA model's facts (a store fills them for Model::dora only):
    std::int64_t seq = 0;                    ///< arrival order, unique
    std::uint64_t head = 0;                  ///< a hash of its head commit; 0: none recorded
    std::int64_t head_first = kUnknownTime;  ///< when its head commit was first deployed here
    std::int64_t fixes_seq = 0;              ///< the deployment it says it fixes, if stored (seq); 0: none
    std::uint32_t changes = 0;               ///< how many changes it shipped
    std::uint8_t mark = no_mark;
    bool fix = false;  ///< it says it fixes another (even one not stored)
    bool team = true;  ///< one of the scope's team's (true without a team filter)
  };
  /// A deployment shipping a revert of a change (DORA model).
  struct Revert {
    std::uint32_t system;
    std::uint32_t environment;
    std::int64_t seq;             ///< the deployment shipping the revert
    std::int64_t reverted_first;  ///< when the reverted change was first deployed here, else kUnknownTime
  };
  struct Shipped {  ///< a change whose first deployment (in the scope's environments) is in the window
    std::uint32_t system;
    std::int64_t deployed;                 ///< time of its first deployment
    std::int64_t change_time;              ///< push time, else commit time, else kUnknownTime
    std::uint32_t environment = 0;         ///< of that first deployment
    std::int64_t authored = kUnknownTime;  ///< earliest author time (extension "patches")
    std::int64_t merged = kUnknownTime;    ///< when it reached the deployed line (extension "patches")
    std::uint8_t source =
        0;  ///< change_time's source (change_deployments.pushed): 0 commit, 1 push, 2 squash, 3 rebase
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
  std::vector<Incident> incidents;      ///< created in the window (DORA model: also those open at its start)
  std::vector<Revert> reverts;          ///< DORA model: reverts shipped in the window
  /// DORA model: per system and environment with deployments, the time of
  /// its first deployment (so an incident older than the window is known to
  /// be attributed).
  struct First {
    std::uint32_t system;
    std::uint32_t environment;
    std::int64_t time;
  };
  std::vector<First> firsts;
  /// With Scope::identifiers: the names of the deployments and incidents
  /// above, index for index; with Scope::change_identifiers, the shipped
  /// changes' ids.
  std::vector<std::string> deployment_ids, incident_ids, shipped_ids;

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
using SystemReader = std::function<void(
    std::size_t worker, const std::vector<std::pair<std::uint32_t, std::string>>& systems, MetricFacts& out)>;
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
  /// Medians of the lead times' phases (coding, review, deploy), each over
  /// the changes counted above whose phase is known.
  std::optional<std::int64_t> coding_median, review_median, deploy_median;
  // Time to recover
  std::size_t incidents = 0;
  std::optional<std::int64_t> recovery_median;
  std::optional<std::int64_t> recovery_mean;
  std::optional<Level> recovery_level;
  // Change failure rate
  std::size_t failed_deployments = 0;
  std::optional<double> change_failure_rate;
  std::optional<Level> failure_level;
  // DORA model: why deployments failed (one deployment may have several
  // reasons), their recovery, and rework
  std::size_t failed_by_incident = 0, failed_by_rollback = 0, failed_by_revert = 0, failed_by_mark = 0;
  std::size_t recovered_failures = 0, unrecovered_failures = 0;
  std::optional<std::int64_t> failed_recovery_median;
  std::optional<Level> failed_recovery_level;
  std::size_t rework_deployments = 0;
  std::optional<double> rework_rate;
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
  Model model = Model::pulse;
  std::optional<std::string> system;      ///< the filter, if any
  std::optional<std::string> team;        ///< likewise
  std::vector<std::string> environments;  ///< what was counted
  Figures overall;
  std::vector<std::pair<std::string, Figures>> systems;  ///< by name
  std::vector<SeriesPoint> series;                       ///< overall, per bucket
};

/// The default window: the last 90 days.
inline constexpr std::int64_t kDefaultWindowDays = 90;
/// The longest window: fifty years.
inline constexpr std::int64_t kMaxWindowDays = 50 * 366;

/// Parses a metrics query's window. `from` and `to` are RFC 3339 times,
/// dates (YYYY-MM-DD, UTC; a date as `to` includes that day) or empty:
/// `to` defaults to `now`, `from` to 90 days before `to`. Fails (nullopt,
/// `why` naming the parameter) on bad syntax, from >= to, or more than
/// kMaxWindowDays (fifty years: git.git's history is 21).
std::optional<Window> parse_window(std::string_view from, std::string_view to, std::int64_t now, std::string& why);

/// Most buckets a report may hold (ten years by day, seventy by week).
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

/// A 64-bit hash of a commit id, never 0 (MetricFacts::Deployment::head).
std::uint64_t head_key(std::string_view commit);

/// GET /v1/metrics's body. Durations are whole seconds; "no data" is null.
boost::json::object metrics_json(const MetricsReport& report);

/// `pulse-collector metrics`'s table.
std::string metrics_table(const MetricsReport& report);

/// "3d 4h", "2h 05m", "42s": a duration for people.
std::string human_duration(std::int64_t seconds);

}  // namespace pulse::collector
