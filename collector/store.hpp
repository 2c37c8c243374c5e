// Where the collector keeps events. Events are upserted by
// (type, system, environment, identifier), so a re-sent event is stored
// once; deployments and incidents have an environment ("production" when
// they name none), changes ''.
#pragma once

#include "core/event/event.hpp"
#include "collector/metrics.hpp"

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// change_deployments.pushed says where a change's time came from: 0 its
// commit, 1 its push, 2 the pushes of the branch it squashes, 3 the push of
// the commit it rebases (a patch-id match): this SQL over change_facts' row
// (`f`: its alias and a dot, or empty). Both stores' statements are string
// literals, hence a macro.
#define PULSE_TIME_SOURCE(f)                                                            \
  "CASE WHEN " f "push_time IS NULL THEN 0 WHEN " f "matched = 'squash' THEN 2 WHEN " f \
  "matched = 'rebase' "                                                                 \
  "THEN 3 ELSE 1 END"

namespace pulse::collector {

/// An event as stored. For a change, `time_created` is its commit time and
/// `time_pushed` its first push time; either may be unknown.
struct StoredEvent {
  std::string type;  ///< change | deployment | incident
  std::string system;
  std::string id;
  std::string source;
  std::optional<std::int64_t> time_created;
  std::optional<std::int64_t> time_pushed;
  std::optional<std::int64_t> time_resolved;
  std::vector<std::string> changes;  ///< deployments
  std::vector<std::string> teams;    ///< deployments
  std::int64_t received_at = 0;
  std::string head_commit;  ///< deployments, extension
  std::string run_url;      ///< deployments, extension: the CI run that deployed it
  std::string environment;  ///< deployments and incidents (extension; "production" when they named none)
  std::int64_t seq = 0;     ///< storage order (row id): what a listing's cursor names
};

struct PutResult;
/// Called once a put is durable (failure null) or has failed.
using PutDone = std::function<void(PutResult, std::exception_ptr)>;

struct EventQuery {
  std::string type;                       ///< empty: all types
  std::optional<std::string> system;      ///< nullopt: all systems
  std::vector<std::string> environments;  ///< empty: all; else events filed under one of these
  std::optional<std::string> team;        ///< only deployments naming this team
  std::optional<std::int64_t> since;      ///< event time (created, else pushed) at or after
  std::optional<std::int64_t> until;      ///< event time before
  std::optional<std::int64_t> before;     ///< only events stored before the one with this seq (the next page)
  std::size_t limit = 1000;
};

/// Most events one listing returns: a page of GET /v1/events, or
/// `pulse-collector events --limit` (--all pages through everything).
inline constexpr std::size_t kMaxEventPage = 100'000;

/// A parameter's value by name, nullopt when not given.
using ParamLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The one reader of an event query, for GET /v1/events and `pulse-collector
/// events`: type (change, deployment or incident), system, environment (a
/// list), team, since and until (RFC 3339 or Unix seconds), limit (1 to
/// kMaxEventPage; absent: the query's default). An empty value is no
/// filter. On failure `why` names the parameter ("limit: must be ...").
std::optional<EventQuery> parse_event_query(const ParamLookup& value, std::string& why);

struct PutResult {
  std::size_t stored = 0;      ///< new events, or changes that gained a time
  std::size_t duplicates = 0;  ///< already known, nothing changed
};

/// Thread-safe. Every put is durable when it returns (committed and synced).
/// Most teams GET /v1/teams lists.
inline constexpr std::size_t kMaxTeams = 1000;

/// Reads never wait for writes.
class Store {
 public:
  virtual ~Store() = default;
  /// Stores `events` for `system` in one transaction: all or nothing.
  /// Throws std::runtime_error on storage failure.
  virtual PutResult put(const std::vector<Event>& events, const std::string& system, std::int64_t now) = 0;
  /// Whether put_async works without blocking the caller (SQLite: a
  /// committer thread groups concurrent puts into one transaction).
  virtual bool async_puts() const { return false; }
  /// Like put(), but returns at once; `done` runs on another thread.
  virtual void put_async(std::vector<Event> events, std::string system, std::int64_t now, PutDone done) {
    try {
      done(put(events, system, now), nullptr);
    } catch (...) {
      done({}, std::current_exception());
    }
  }
  /// Newest first.
  virtual std::vector<StoredEvent> list(const EventQuery& query) = 0;
  /// The latest deployment of `system` in `environment` that recorded its head commit.
  virtual std::optional<StoredEvent> latest_deployment(const std::string& system, const std::string& environment) = 0;
  /// What compute_metrics needs for `window` and `scope`: its deployments
  /// (plus the last one before it per system and environment), the changes
  /// first deployed in it with their times, and the incidents created in it;
  /// for Model::dora also each deployment's head, marks and change count,
  /// the reverts shipped, the incidents open at the window's start and the
  /// time of each system and environment's first deployment.
  virtual MetricFacts metric_facts(Window window, const Scope& scope) = 0;
  /// Every environment deployments and incidents were filed under, by
  /// system: (system, environment), sorted.
  virtual std::vector<std::pair<std::string, std::string>> environments() = 0;
  /// The teams deployments named, sorted (at most kMaxTeams).
  virtual std::vector<std::string> teams() = 0;

  /// Problems found in the database, none if it is sound. Quick: SQLite's
  /// quick_check (seconds on a big file), the schema's tables on
  /// PostgreSQL; thorough: SQLite's full integrity_check (indexes too).
  virtual std::vector<std::string> check(bool thorough) = 0;

  /// Why a write would fail now, as far as the store can tell without
  /// writing (SQLite: too little free space on the database's file system);
  /// nullopt when it sees none. For /readyz.
  virtual std::optional<std::string> write_problem() { return std::nullopt; }

  /// Told after each transaction of puts: how many requests and events it
  /// held and how long it took. Set before the first put; runs on the
  /// committing thread.
  using CommitObserver = std::function<void(std::size_t requests, std::size_t events, double seconds)>;
  void observe_commits(CommitObserver observer) { commit_observer_ = std::move(observer); }

 protected:
  void committed(std::size_t requests, std::size_t events, std::chrono::steady_clock::time_point started) const {
    if (commit_observer_)
      commit_observer_(requests, events,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

 private:
  CommitObserver commit_observer_;
};

/// Opens (creating if needed, with parent directories) an SQLite database and
/// applies pending migrations. Throws std::runtime_error naming the file.
std::unique_ptr<Store> open_sqlite_store(const std::string& path);

/// Connects to PostgreSQL (a libpq URI, "postgresql://user@host/db?...")
/// with a pool of `connections` and applies pending migrations (one collector
/// at a time). Throws std::runtime_error with the cause; never with the
/// password.
std::unique_ptr<Store> open_postgres_store(const std::string& uri, std::size_t connections = 8);

/// True for "postgresql://..." and "postgres://...".
bool is_postgres_uri(std::string_view db);

/// open_postgres_store for a PostgreSQL URI, else open_sqlite_store.
std::unique_ptr<Store> open_store(const std::string& db, std::size_t connections = 8);

// For the store implementations: how both keep a deployment's teams and
// pass lists of names to SQL (a JSON array of strings), and an event's
// environment.
std::string string_array_json(const std::vector<std::string>& items);
std::vector<std::string> parse_string_array(std::string_view json);
/// Whether a deployment's head commit is among the changes it ships.
bool head_shipped(const Deployment& d);
/// A deployment's status as MetricFacts keeps it.
MetricFacts::Mark deployment_mark(std::string_view status);
/// The environment an event is filed under: a deployment's or incident's
/// own, else "production"; '' for changes.
std::string_view stored_environment(const Event& e);

/// Where `name` is in the scope's environments, if it is.
std::optional<std::uint32_t> scope_index(const Scope& scope, std::string_view name);

/// The names of `present` (indexes into the scope's environments) but
/// `except`, as a JSON array: the other environments a change's first
/// deployment is looked for in.
std::string other_environments(const Scope& scope, const std::vector<std::uint32_t>& present, std::uint32_t except);

/// `db` for messages: a URI without its password.
std::string describe_db(const std::string& db);

}  // namespace pulse::collector
