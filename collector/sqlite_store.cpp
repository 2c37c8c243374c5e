#include "collector/schema.hpp"
#include "core/db/sqlite.hpp"
#include "core/db/storage_error.hpp"
#include "collector/store.hpp"

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <sys/statvfs.h>

namespace pulse::collector {

namespace {

// The schema's steps (schema/sqlite/), as Database::migrate runs them:
// PRAGMA user_version records how many ran.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> sql = [] {
    std::vector<const char*> out;
    for (const auto& step : schema_steps(SchemaDialect::sqlite)) out.push_back(step.sql);
    return out;
  }();
  return sql;
}

// Upserts that keep change_facts current. Each touches one row, so they are
// safe under concurrent writers too.
constexpr const char* kFactCommit =
    "INSERT INTO change_facts (system, change_id, commit_time) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (system, change_id) DO UPDATE SET commit_time = COALESCE(change_facts.commit_time, excluded.commit_time)";
constexpr const char* kFactPush =
    "INSERT INTO change_facts (system, change_id, push_time) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (system, change_id) DO UPDATE SET push_time = CASE WHEN change_facts.push_time IS NULL "
    "OR excluded.push_time < change_facts.push_time THEN excluded.push_time ELSE change_facts.push_time END";
// A commit time and a push time at once (a forge's push): the first commit time, the earliest push time.
constexpr const char* kFactBoth =
    "INSERT INTO change_facts (system, change_id, commit_time, push_time) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (system, change_id) DO UPDATE SET commit_time = COALESCE(change_facts.commit_time, "
    "excluded.commit_time), push_time = CASE WHEN change_facts.push_time IS NULL "
    "OR excluded.push_time < change_facts.push_time THEN excluded.push_time ELSE change_facts.push_time END";
// Extension "patches": a change's earliest author and merge times; a patch row; the
// earliest push and author times among the other commits with a patch-id
// (a deployed commit's rebase or squash sources); a deployed commit's times
// from them.
constexpr const char* kFactTimes =
    "INSERT INTO change_facts (system, change_id, author_time, merged_time) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (system, change_id) DO UPDATE SET "
    "author_time = MIN(COALESCE(change_facts.author_time, excluded.author_time), "
    "COALESCE(excluded.author_time, change_facts.author_time)), "
    "merged_time = MIN(COALESCE(change_facts.merged_time, excluded.merged_time), "
    "COALESCE(excluded.merged_time, change_facts.merged_time))";
constexpr const char* kAddPatch =
    "INSERT INTO patches (system, patch_id, change_id, kind) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
constexpr const char* kPatchSources =
    "SELECT MIN(f.push_time), MIN(f.author_time), COUNT(DISTINCT p.change_id), MAX(p.kind = 'commit') "
    "FROM patches p JOIN change_facts f ON f.system = p.system AND f.change_id = p.change_id "
    "WHERE p.system = ?1 AND p.patch_id = ?2 AND p.kind <> 'deployed' AND p.change_id <> ?3 "
    "AND f.push_time IS NOT NULL";
constexpr const char* kDeployedWithPatch =
    "SELECT change_id FROM patches WHERE system = ?1 AND patch_id = ?2 AND kind = 'deployed'";
constexpr const char* kFactMatched =
    "INSERT INTO change_facts (system, change_id, push_time, author_time, matched, matched_commits) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (system, change_id) DO UPDATE SET "
    "push_time = CASE WHEN change_facts.push_time IS NULL OR excluded.push_time < change_facts.push_time "
    "THEN excluded.push_time ELSE change_facts.push_time END, "
    "author_time = CASE WHEN change_facts.author_time IS NULL OR excluded.author_time < change_facts.author_time "
    "THEN excluded.author_time ELSE change_facts.author_time END, "
    "matched = excluded.matched, matched_commits = excluded.matched_commits";
// After a change's times changed: its copies in change_deployments.
constexpr const char* kFactTimeCopies =
    "UPDATE change_deployments SET (change_time, pushed, author_time, merged_time) = "
    "(SELECT COALESCE(push_time, commit_time), " PULSE_TIME_SOURCE("") ", author_time, merged_time "
    "FROM change_facts WHERE system = ?1 AND change_id = ?2) "
    "WHERE system = ?1 AND change_id = ?2";
constexpr const char* kFactDeployed =
    "INSERT INTO change_deployments (system, change_id, environment, first_deployed, change_time, pushed, "
    "author_time, merged_time) "
    "SELECT ?1, ?2, ?3, ?4, COALESCE(f.push_time, f.commit_time), COALESCE(" PULSE_TIME_SOURCE("f.") ", 0), "
    "f.author_time, f.merged_time "
    "FROM (SELECT 1) LEFT JOIN change_facts f ON f.system = ?1 AND f.change_id = ?2 WHERE true "
    "ON CONFLICT (system, change_id, environment) DO UPDATE "
    "SET first_deployed = MIN(change_deployments.first_deployed, excluded.first_deployed)";
// A deployment reported again with a status or the deployment it fixes:
// what it says now is kept (the rest of the first report stays).
constexpr const char* kUpdateMarks =
    "UPDATE events SET status = COALESCE(?4, status), fixes = COALESCE(?5, fixes) "
    "WHERE type = 'deployment' AND system = ?1 AND environment = ?2 AND identifier = ?3 "
    "AND ((?4 IS NOT NULL AND status IS NOT ?4) OR (?5 IS NOT NULL AND fixes IS NOT ?5))";
constexpr const char* kAddEnvironment =
    "INSERT INTO environments (system, environment) VALUES (?1, ?2) ON CONFLICT DO NOTHING";

// The DORA model's facts of one system and environment (metric_facts).
class DoraReader {
 public:
  // The deployments' own columns only (the deployments_dora index covers
  // them, names included, unless a team is asked for); the few that need more (a head
  // not among its own changes: a rollback or redeploy; a fix) are looked up
  // one by one.
  DoraReader(sql::Database& db, bool identifiers, bool team)
      : identifiers_(identifiers),
        team_(team),
        deployments_(db.prepare(
            std::string("SELECT time_created, id, head_commit, status, fixes, change_count, reverts, head_shipped") +
            (identifiers ? ", identifier" : ", NULL") +
            (team ? ", EXISTS (SELECT 1 FROM json_each(teams) WHERE value = ?5)" : ", 1") +
            " FROM events WHERE type = 'deployment' AND system = ?1 AND environment = ?2 AND time_created >= ?3 "
            "AND time_created < ?4")),
        before_(db.prepare("SELECT time_created, id, head_commit, change_count, identifier, "
                           "(?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(teams) WHERE value = ?4)) FROM events "
                           "WHERE type = 'deployment' AND system = ?1 AND environment = ?2 AND time_created < ?3 "
                           "ORDER BY time_created DESC, id DESC LIMIT 1")),
        first_(db.prepare("SELECT MIN(time_created) FROM events WHERE type = 'deployment' AND system = ?1 "
                          "AND environment = ?2")),
        first_deployed_(db.prepare("SELECT first_deployed FROM change_deployments WHERE system = ?1 AND change_id = ?2 "
                                   "AND environment = ?3")),
        fixed_(db.prepare("SELECT id FROM events WHERE type = 'deployment' AND system = ?1 AND environment = ?2 "
                          "AND identifier = ?3")),
        incidents_(db.prepare(
            "SELECT time_created, time_resolved, identifier FROM events WHERE type = 'incident' AND system = ?1 "
            "AND environment = ?2 AND time_created < ?4 AND (time_created >= ?3 OR time_resolved > ?3)")) {}

  void read(const std::string& system, std::uint32_t index, std::uint32_t env, const std::string& env_name, Window w,
            const std::optional<std::string>& team, MetricFacts& f) {
    auto& s = deployments_;
    s.reset();
    s.bind(1, system).bind(2, env_name).bind(3, w.from).bind(4, w.to);
    if (team_) s.bind(5, team.value_or(""));
    while (s.step()) {
      auto& d = deployment(f, index, env, s.int64(0), s.int64(1), s, 2);
      d.team = s.int64(9) != 0;
      if (identifiers_) f.deployment_ids.push_back(s.text(8));
      if (!s.is_null(3)) d.mark = deployment_mark(s.text_view(3));
      d.changes = static_cast<std::uint32_t>(s.int64(5));
      // A head among its own changes was first deployed by this deployment.
      if (!s.is_null(2)) d.head_first = s.int64(7) ? d.time : first_deployed(system, s.text_view(2), env_name);
      if (!s.is_null(4)) {
        d.fix = true;
        fixed_.reset();
        fixed_.bind(1, system).bind(2, env_name).bind(3, s.text_view(4));
        if (fixed_.step()) d.fixes_seq = fixed_.int64(0);
      }
      if (!s.is_null(6))
        for (const auto& sha : parse_string_array(s.text_view(6)))
          f.reverts.push_back({index, env, d.seq, first_deployed(system, sha, env_name)});
    }
    before_.reset();
    before_.bind(1, system).bind(2, env_name).bind(3, w.from);
    if (team) before_.bind(4, *team);
    else before_.bind_null(4);
    if (before_.step()) {
      auto& d = deployment(f, index, env, before_.int64(0), before_.int64(1), before_, 2);
      d.changes = static_cast<std::uint32_t>(before_.int64(3));
      d.team = before_.int64(5) != 0;
      if (identifiers_) f.deployment_ids.push_back(before_.text(4));
    }
    first_.reset();
    first_.bind(1, system).bind(2, env_name);
    if (first_.step() && !first_.is_null(0)) f.firsts.push_back({index, env, first_.int64(0)});
    incidents_.reset();
    incidents_.bind(1, system).bind(2, env_name).bind(3, w.from).bind(4, w.to);
    while (incidents_.step()) {
      f.incidents.push_back(
          {index, env, incidents_.int64(0), incidents_.optional_int64(1).value_or(incidents_.int64(0))});
      if (identifiers_) f.incident_ids.push_back(incidents_.text(2));
    }
  }

 private:
  std::int64_t first_deployed(const std::string& system, std::string_view change, const std::string& env_name) {
    first_deployed_.reset();
    first_deployed_.bind(1, system).bind(2, change).bind(3, env_name);
    return first_deployed_.step() ? first_deployed_.int64(0) : kUnknownTime;
  }

  static MetricFacts::Deployment& deployment(MetricFacts& f, std::uint32_t index, std::uint32_t env, std::int64_t time,
                                             std::int64_t seq, sql::Statement& s, int head_column) {
    auto& d = f.deployments.emplace_back(MetricFacts::Deployment{index, env, time});
    d.seq = seq;
    if (!s.is_null(head_column)) d.head = head_key(s.text_view(head_column));
    return d;
  }

  bool identifiers_, team_;
  sql::Statement deployments_, before_, first_, first_deployed_, fixed_, incidents_;
};

// A read transaction on one connection for as long as it lives (a
// snapshot); ended by COMMIT, which cannot lose anything of a read.
class ReadTransaction {
 public:
  explicit ReadTransaction(sql::Database& db) : db_(db) { db_.exec("BEGIN"); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction() {
    try {
      db_.exec("COMMIT");
    } catch (...) {  // a destructor must not throw; the connection rolls back on its next BEGIN
    }
  }

 private:
  sql::Database& db_;
};

// The facts of one system in each of the scope's environments it has
// (metric_facts): deployments and incidents (the Pulse model's, or the
// DORA model's through DoraReader) and the changes first shipped there.
class SystemFactsReader {
 public:
  SystemFactsReader(sql::Database& db, const Scope& scope)
      : scope_(scope),
        present_(db.prepare("SELECT environment FROM environments WHERE system = ?1")),
        deployments_(
            db.prepare("SELECT time_created FROM events WHERE type = 'deployment' AND system = ?1 AND environment = ?2 "
                       "AND time_created >= ?3 AND time_created < ?4")),
        before_(db.prepare(
            "SELECT MAX(time_created) FROM events WHERE type = 'deployment' AND system = ?1 AND environment = ?2 "
            "AND time_created < ?3")),
        shipped_(db.prepare(shipped_select(scope) +
                            "FROM change_deployments c "
                            "WHERE system = ?1 AND environment = ?2 AND first_deployed >= ?3 AND first_deployed < ?4")),
        // With several of the scope's environments: a change counts at its
        // first deployment to any of them (ties: the first name in byte order).
        shipped_first_(db.prepare(
            shipped_select(scope) +
            "FROM change_deployments c "
            "WHERE system = ?1 AND environment = ?2 AND first_deployed >= ?3 AND first_deployed < ?4 "
            "AND NOT EXISTS (SELECT 1 FROM change_deployments o WHERE o.system = ?1 AND o.change_id = c.change_id "
            "AND o.environment IN (SELECT value FROM json_each(?5)) AND (o.first_deployed < c.first_deployed "
            "OR (o.first_deployed = c.first_deployed AND o.environment < ?2)))")),
        incidents_(db.prepare("SELECT time_created, time_resolved FROM events WHERE type = 'incident' AND system = ?1 "
                              "AND environment = ?2 AND time_created >= ?3 AND time_created < ?4")) {
    if (scope.model == Model::dora || scope.identifiers || scope.team)
      dora_.emplace(db, scope.identifiers, scope.team.has_value());
  }

  void read(const std::string& system, std::uint32_t index, Window w, MetricFacts& f) {
    const auto envs = environments_of(system);
    for (const auto env : envs) {
      const std::string& env_name = scope_.environments[env];
      if (dora_) {
        dora_->read(system, index, env, env_name, w, scope_.team, f);  // incidents open in the window too
      } else {
        read_deployments(system, index, env, env_name, w, f);
        read_incidents(system, index, env, env_name, w, f);
      }
      read_shipped(system, index, envs, env, w, f);
    }
  }

 private:
  // A change's times and their source; with identifiers, its id.
  static std::string shipped_select(const Scope& scope) {
    return std::string("SELECT c.first_deployed, c.change_time, c.pushed, c.author_time, c.merged_time") +
           (scope.change_identifiers ? ", c.change_id " : " ");
  }

  // The scope's environments that this system has.
  std::vector<std::uint32_t> environments_of(const std::string& system) {
    present_.reset();
    present_.bind(1, system);
    std::vector<std::uint32_t> envs;
    while (present_.step())
      if (const auto e = scope_index(scope_, present_.text_view(0))) envs.push_back(*e);
    return envs;
  }

  // The window's deployments, and the last one before it.
  void read_deployments(const std::string& system, std::uint32_t index, std::uint32_t env, const std::string& env_name,
                        Window w, MetricFacts& f) {
    deployments_.reset();
    deployments_.bind(1, system).bind(2, env_name).bind(3, w.from).bind(4, w.to);
    while (deployments_.step()) f.deployments.push_back({index, env, deployments_.int64(0)});
    before_.reset();
    before_.bind(1, system).bind(2, env_name).bind(3, w.from);
    if (before_.step() && !before_.is_null(0)) f.deployments.push_back({index, env, before_.int64(0)});
  }

  void read_incidents(const std::string& system, std::uint32_t index, std::uint32_t env, const std::string& env_name,
                      Window w, MetricFacts& f) {
    incidents_.reset();
    incidents_.bind(1, system).bind(2, env_name).bind(3, w.from).bind(4, w.to);
    while (incidents_.step())
      f.incidents.push_back(
          {index, env, incidents_.int64(0), incidents_.optional_int64(1).value_or(incidents_.int64(0))});
  }

  void read_shipped(const std::string& system, std::uint32_t index, const std::vector<std::uint32_t>& envs,
                    std::uint32_t env, Window w, MetricFacts& f) {
    const bool first_of_several = envs.size() > 1 && !scope_.each_environment;
    auto& s = first_of_several ? shipped_first_ : shipped_;
    s.reset();
    s.bind(1, system).bind(2, scope_.environments[env]).bind(3, w.from).bind(4, w.to);
    if (first_of_several) s.bind(5, other_environments(scope_, envs, env));
    while (s.step()) {
      f.shipped.push_back({index, s.int64(0), s.optional_int64(1).value_or(kUnknownTime), env,
                           s.optional_int64(3).value_or(kUnknownTime), s.optional_int64(4).value_or(kUnknownTime),
                           static_cast<std::uint8_t>(s.int64(2))});
      if (scope_.change_identifiers) f.shipped_ids.push_back(s.text(5));
    }
  }

  const Scope& scope_;
  sql::Statement present_, deployments_, before_, shipped_, shipped_first_, incidents_;
  std::optional<DoraReader> dora_;
};

struct PutJob {
  std::vector<Event> events;
  std::string system;
  std::int64_t now;
  PutDone done;
  PutResult result;
  std::exception_ptr failure;  // this job's own failure; the others still commit
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path)
      : db_(path),
        insert_change_commit_(prepared(
            "INSERT INTO events (type, system, identifier, source, time_created, received_at) "
            "VALUES ('change', ?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
            "SET time_created = excluded.time_created WHERE events.time_created IS NULL")),
        insert_change_push_(prepared(
            "INSERT INTO events (type, system, identifier, source, time_pushed, received_at) "
            "VALUES ('change', ?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
            "SET time_pushed = excluded.time_pushed "
            "WHERE events.time_pushed IS NULL OR excluded.time_pushed < events.time_pushed")),
        insert_change_both_(prepared(
            "INSERT INTO events (type, system, identifier, source, time_created, time_pushed, received_at) "
            "VALUES ('change', ?1, ?2, ?3, ?4, ?6, ?5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
            "SET time_created = COALESCE(events.time_created, excluded.time_created), "
            "time_pushed = CASE WHEN events.time_pushed IS NULL OR excluded.time_pushed < events.time_pushed "
            "THEN excluded.time_pushed ELSE events.time_pushed END "
            "WHERE events.time_created IS NULL OR events.time_pushed IS NULL "
            "OR excluded.time_pushed < events.time_pushed")),
        insert_other_(prepared(
            "INSERT INTO events (type, system, identifier, source, time_created, time_resolved, teams, received_at, "
            "head_commit, environment, run_url, status, fixes, reverts, change_count, head_shipped) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
            "ON CONFLICT (type, system, environment, identifier) DO NOTHING")),
        update_marks_(prepared(kUpdateMarks)),
        insert_link_(prepared("INSERT INTO deployment_changes (deployment, position, change_id) VALUES (?1, ?2, ?3)")),
        fact_commit_(prepared(kFactCommit)),
        fact_both_(prepared(kFactBoth)),
        fact_push_(prepared(kFactPush)),
        fact_time_copies_(prepared(kFactTimeCopies)),
        fact_deployed_(prepared(kFactDeployed)),
        fact_times_(prepared(kFactTimes)),
        add_patch_(prepared(kAddPatch)),
        patch_sources_(prepared(kPatchSources)),
        deployed_with_patch_(prepared(kDeployedWithPatch)),
        fact_matched_(prepared(kFactMatched)),
        add_system_(prepared("INSERT INTO systems (name) VALUES (?1) ON CONFLICT DO NOTHING")),
        add_environment_(prepared(kAddEnvironment)),
        savepoint_(prepared("SAVEPOINT job")),
        release_(prepared("RELEASE job")),
        readers_(open_readers(path)),
        checkpoint_db_(path) {
    // The checkpointer thread copies the WAL back into the database file
    // while the committer goes on; the committer checkpoints only when the
    // WAL reaches 64 MiB (16,384 pages), where little is left to copy: its
    // checkpoint, between two of its own commits, is the one that completes,
    // so the next commit starts the WAL over and it never grows past that.
    db_.exec("PRAGMA wal_autocheckpoint=16384");
    committer_ = std::thread([this] { commit_loop(); });
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_one();
    committer_.join();
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpointer_.join();
  }

  // Below 16 MiB free (a few commits' WAL growth), writes are about to
  // fail with "database or disk is full".
  std::optional<std::string> write_problem() override {
    struct statvfs fs {};
    const auto dir = std::filesystem::path(db_.path()).parent_path();
    if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return std::nullopt;
    const auto free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free >= kMinFreeBytes) return std::nullopt;
    return "only " + std::to_string(free / 1024) + " KiB free on the database's file system (" +
           (dir.empty() ? std::string(".") : dir.string()) + ")";
  }
  static constexpr std::uint64_t kMinFreeBytes = 16ull << 20;

  std::vector<std::string> check(bool thorough) override {
    std::lock_guard lock(readers_[0]->mutex);
    std::vector<std::string> problems;
    try {
      auto stmt = readers_[0]->db.prepare(thorough ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)");
      while (stmt.step())
        if (auto line = stmt.text(0); line != "ok") problems.push_back(std::move(line));
    } catch (const StorageError& e) {  // damage bad enough that the check itself cannot read on
      problems.push_back(e.what());
    }
    return problems;
  }

  // System by system, on two read connections at once (each in its own
  // read transaction): every system's figures come from one snapshot.
  MetricFacts metric_facts(Window w, const Scope& scope) override {
    const auto systems = system_names(scope.system);
    return read_facts_by_system(systems, readers_.size(), [&](std::size_t worker, const auto& share, MetricFacts& f) {
      auto& reader = *readers_[worker];
      std::lock_guard lock(reader.mutex);
      ReadTransaction snapshot(reader.db);
      SystemFactsReader facts(reader.db, scope);
      for (const auto& [index, name] : share) facts.read(name, index, w, f);
    });
  }

  // Every system's name, or the one asked for if it exists.
  std::vector<std::string> system_names(const std::optional<std::string>& only) {
    std::lock_guard lock(readers_[0]->mutex);
    auto s = readers_[0]->db.prepare(only ? "SELECT name FROM systems WHERE name = ?1" : "SELECT name FROM systems");
    if (only) s.bind(1, *only);
    std::vector<std::string> names;
    while (s.step()) names.push_back(s.text(0));
    return names;
  }

  std::vector<std::pair<std::string, std::string>> environments() override {
    std::lock_guard lock(readers_[0]->mutex);
    auto s = readers_[0]->db.prepare("SELECT system, environment FROM environments ORDER BY system, environment");
    std::vector<std::pair<std::string, std::string>> out;
    while (s.step()) out.emplace_back(s.text(0), s.text(1));
    return out;
  }

  std::vector<std::string> teams() override {
    std::lock_guard lock(readers_[0]->mutex);
    auto s = readers_[0]->db.prepare(
        "SELECT DISTINCT t.value FROM events, json_each(events.teams) t WHERE events.type = 'deployment' "
        "AND events.teams <> '[]' ORDER BY 1 LIMIT ?1");
    s.bind(1, static_cast<std::int64_t>(kMaxTeams));
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  PutResult put(const std::vector<Event>& events, const std::string& system, std::int64_t now) override {
    std::promise<PutResult> promise;
    auto future = promise.get_future();
    put_async(events, system, now, [&promise](PutResult r, std::exception_ptr failure) {
      if (failure) promise.set_exception(failure);
      else promise.set_value(r);
    });
    return future.get();
  }

  bool async_puts() const override { return true; }

  void put_async(std::vector<Event> events, std::string system, std::int64_t now, PutDone done) override {
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(
          std::make_unique<PutJob>(PutJob{std::move(events), std::move(system), now, std::move(done), {}, nullptr}));
    }
    queue_cv_.notify_one();
  }

  std::vector<StoredEvent> list(const EventQuery& q) override {
    std::lock_guard lock(readers_[0]->mutex);
    auto& reader_ = readers_[0]->db;
    std::string text =
        "SELECT id, type, system, identifier, source, time_created, time_pushed, time_resolved, teams, received_at, "
        "environment, run_url "
        "FROM events WHERE 1=1";
    if (!q.type.empty()) text += " AND type = ?1";
    if (q.system) text += " AND system = ?2";
    if (q.since) text += " AND COALESCE(time_created, time_pushed) >= ?3";
    if (q.until) text += " AND COALESCE(time_created, time_pushed) < ?6";
    if (!q.environments.empty()) text += " AND environment IN (SELECT value FROM json_each(?7))";
    // The team's deployments, and the incidents attributed to them (to the
    // last deployment of their system and environment before them).
    if (q.team)
      text +=
          " AND ((type = 'deployment' AND EXISTS (SELECT 1 FROM json_each(teams) WHERE value = ?8)) "
          "OR (type = 'incident' AND (SELECT EXISTS (SELECT 1 FROM json_each(d.teams) WHERE value = ?8) "
          "FROM events d WHERE d.type = 'deployment' AND d.system = events.system "
          "AND d.environment = events.environment AND d.time_created < events.time_created "
          "ORDER BY d.time_created DESC, d.id DESC LIMIT 1)))";
    if (q.before) text += " AND id < ?5";
    text += " ORDER BY id DESC LIMIT ?4";
    auto stmt = reader_.prepare(text);
    if (!q.type.empty()) stmt.bind(1, q.type);
    if (q.system) stmt.bind(2, *q.system);
    if (q.since) stmt.bind(3, *q.since);
    if (q.before) stmt.bind(5, *q.before);
    if (q.until) stmt.bind(6, *q.until);
    if (!q.environments.empty()) stmt.bind(7, string_array_json(q.environments));
    if (q.team) stmt.bind(8, *q.team);
    stmt.bind(4, static_cast<std::int64_t>(q.limit));
    auto links = reader_.prepare("SELECT change_id FROM deployment_changes WHERE deployment = ?1 ORDER BY position");

    std::vector<StoredEvent> out;
    while (stmt.step()) {
      StoredEvent e;
      e.type = stmt.text(1);
      e.system = stmt.text(2);
      e.id = stmt.text(3);
      e.source = stmt.text(4);
      e.time_created = stmt.optional_int64(5);
      e.time_pushed = stmt.optional_int64(6);
      e.time_resolved = stmt.optional_int64(7);
      if (e.type == "deployment") {
        e.teams = parse_string_array(stmt.text_view(8));
        links.reset();
        links.bind(1, stmt.int64(0));
        while (links.step()) e.changes.push_back(links.text(0));
      }
      e.received_at = stmt.int64(9);
      e.seq = stmt.int64(0);
      e.environment = stmt.text(10);
      if (!stmt.is_null(11)) e.run_url = stmt.text(11);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::optional<StoredEvent> latest_deployment(const std::string& system, const std::string& environment) override {
    std::lock_guard lock(readers_[0]->mutex);
    auto& reader_ = readers_[0]->db;
    auto s = reader_.prepare(
        "SELECT identifier, time_created, head_commit, environment FROM events WHERE type = 'deployment' "
        "AND system = ?1 AND environment = ?2 AND head_commit IS NOT NULL ORDER BY time_created DESC, id DESC LIMIT 1");
    s.bind(1, system).bind(2, environment);
    if (!s.step()) return std::nullopt;
    StoredEvent e;
    e.type = "deployment";
    e.system = system;
    e.id = s.text(0);
    e.time_created = s.optional_int64(1);
    e.head_commit = s.text(2);
    e.environment = s.text(3);
    return e;
  }

 private:
  sql::Statement prepared(std::string_view text) {
    if (!migrated_) {
      db_.migrate(migrations(), "pulse-collector");
      migrated_ = true;
    }
    return db_.prepare(text);
  }

  // Group commit: the committer thread takes the jobs that queued up while
  // it was busy, commits them in one transaction (one fsync), then tells
  // each job's caller. A 2xx therefore still means durable.
  void commit_loop() {
    bool last_was_big = true;
    for (;;) {
      std::vector<std::unique_ptr<PutJob>> jobs;
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        last_was_big = take_group(jobs, last_was_big);
      }
      const auto started = std::chrono::steady_clock::now();
      std::exception_ptr failure;
      try {
        commit(jobs);
      } catch (...) {
        failure = std::current_exception();
      }
      std::size_t events = 0;
      for (const auto& job : jobs) events += job->events.size();
      committed(jobs.size(), events, started);
      {
        std::lock_guard lock(checkpoint_mutex_);
        checkpoint_due_ = true;
      }
      checkpoint_cv_.notify_one();
      for (auto& job : jobs) {
        auto why = failure ? failure : job->failure;
        try {
          job->done(why ? PutResult{} : job->result, why);
        } catch (...) {
          // A caller's callback must not stop the committer.
        }
      }
    }
  }

  // PASSIVE checkpoints (they never wait for readers or the writer) on a
  // connection of their own, at most every 200 ms while commits come in.
  void checkpoint_loop() {
    for (;;) {
      {
        std::unique_lock lock(checkpoint_mutex_);
        checkpoint_cv_.wait(lock, [&] { return checkpoint_stopping_ || checkpoint_due_; });
        if (checkpoint_stopping_) return;
        checkpoint_due_ = false;
      }
      try {
        checkpoint_db_.exec("PRAGMA wal_checkpoint(PASSIVE)");
      } catch (const std::exception&) {
        // Busy or out of space: the WAL keeps everything; the next round tries again.
      }
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return checkpoint_stopping_; });
    }
  }

  // Rows a job writes: its events and the changes its deployments list.
  static std::size_t weight(const PutJob& job) {
    std::size_t rows = job.events.size();
    for (const auto& e : job.events)
      if (const auto* d = std::get_if<Deployment>(&e)) rows += d->changes.size();
    return rows;
  }

  // Bounded work per commit: small jobs (up to kGroupRows rows in all) go
  // together; a big one (a deployment of 99,000 changes) goes alone, and
  // rounds alternate between the two while both wait, so small requests
  // never queue behind more than one big commit and big ones never starve.
  // Under queue_mutex_. Returns whether it took a big job.
  bool take_group(std::vector<std::unique_ptr<PutJob>>& jobs, bool last_was_big) {
    constexpr std::size_t kGroupRows = 5000;
    std::optional<std::size_t> big;
    std::vector<std::size_t> small;
    std::size_t rows = 0;
    for (std::size_t i = 0; i < queue_.size(); ++i) {
      const std::size_t w = weight(*queue_[i]);
      if (w > kGroupRows) {
        if (!big) big = i;
      } else if (rows + w <= kGroupRows) {
        rows += w;
        small.push_back(i);
      }
    }
    const bool take_big = big && (small.empty() || !last_was_big);
    if (take_big) jobs.push_back(std::move(queue_[*big]));
    else
      for (auto i : small) jobs.push_back(std::move(queue_[i]));
    // What was not taken stays queued, in arrival order.
    std::erase_if(queue_, [](const auto& j) { return !j; });
    return take_big;
  }

  // One transaction for every job; each job in a savepoint, so that one bad
  // job fails alone.
  void commit(std::vector<std::unique_ptr<PutJob>>& jobs) {
    sql::Transaction txn(db_);
    new_environments_.clear();
    std::vector<const std::string*> new_systems;
    for (auto& job : jobs) {
      savepoint_.reset();
      savepoint_.run();
      const std::size_t systems_before = new_systems.size(), environments_before = new_environments_.size();
      try {
        if (!known_systems_.contains(job->system)) {
          add_system_.reset();
          add_system_.bind(1, job->system).run();
          new_systems.push_back(&job->system);
        }
        for (const auto& e : job->events) {
          if (put_one(e, job->system, job->now)) ++job->result.stored;
          else ++job->result.duplicates;
        }
        release_.reset();
        release_.run();
      } catch (...) {
        job->failure = std::current_exception();
        job->result = {};
        new_systems.resize(systems_before);  // rolled back: not known after all
        new_environments_.resize(environments_before);
        db_.exec("ROLLBACK TO job");
        db_.exec("RELEASE job");
      }
    }
    txn.commit();
    for (const auto* s : new_systems) known_systems_.insert(*s);
    for (auto& e : new_environments_) known_environments_.insert(std::move(e));
    new_environments_.clear();
  }

  // Returns whether anything was stored.
  bool put_one(const Event& e, const std::string& system, std::int64_t now) {
    if (const auto* c = std::get_if<Change>(&e)) {
      const bool push = c->event_type == "push", both = !push && c->time_pushed;
      auto& s = push ? insert_change_push_ : both ? insert_change_both_ : insert_change_commit_;
      s.reset();
      s.bind(1, system).bind(2, c->change_id).bind(3, c->source).bind(4, c->time_created).bind(5, now);
      if (both) s.bind(6, c->time_pushed);
      s.run();
      const bool stored = db_.changes() != 0;
      if (stored) {
        auto& f = push ? fact_push_ : both ? fact_both_ : fact_commit_;
        f.reset();
        f.bind(1, system).bind(2, c->change_id).bind(3, c->time_created);
        if (both) f.bind(4, c->time_pushed);
        f.run();
      }
      // Author and merge times and patch-ids count even when the change itself was known already.
      if (record_patches(*c, system) || stored) copy_times(system, c->change_id);
      return stored;
    }
    auto& s = insert_other_;
    s.reset();
    s.bind(1, type_name(e)).bind(2, system).bind(3, identifier(e)).bind(8, now);
    std::string teams = "[]";
    const std::string_view environment = stored_environment(e);
    auto text_or_null = [&s](int i, const std::string& v) {
      if (v.empty()) s.bind_null(i);
      else s.bind(i, v);
    };
    const auto* d = std::get_if<Deployment>(&e);
    if (d) {
      s.bind(4, d->source).bind(5, d->time_created).bind_null(6);
      text_or_null(9, d->head_commit);
      text_or_null(11, d->run_url);
      text_or_null(12, d->status);
      text_or_null(13, d->fixes);
      text_or_null(14, d->reverts.empty() ? "" : string_array_json(d->reverts));
      s.bind(15, static_cast<std::int64_t>(d->changes.size()));
      s.bind(16, std::int64_t{head_shipped(*d)});
      teams = string_array_json(d->teams);
    } else {
      const auto& inc = std::get<Incident>(e);
      s.bind(4, inc.source).bind(5, inc.time_created).bind(6, inc.time_resolved).bind_null(9).bind_null(11);
      s.bind_null(12).bind_null(13).bind_null(14).bind(15, std::int64_t{0}).bind(16, std::int64_t{0});
    }
    s.bind(7, teams).bind(10, environment).run();
    if (db_.changes() == 0) {
      if (!d || (d->status.empty() && d->fixes.empty())) return false;
      auto& u = update_marks_;
      u.reset();
      u.bind(1, system).bind(2, environment).bind(3, d->deploy_id);
      if (d->status.empty()) u.bind_null(4);
      else u.bind(4, d->status);
      if (d->fixes.empty()) u.bind_null(5);
      else u.bind(5, d->fixes);
      u.run();
      return db_.changes() > 0;
    }
    if (auto key = std::pair{system, std::string(environment)}; !known_environments_.contains(key)) {
      add_environment_.reset();
      add_environment_.bind(1, system).bind(2, environment).run();
      new_environments_.push_back(std::move(key));
    }
    if (d) {
      const auto row = db_.last_insert_rowid();
      // Before the changes' times are copied: a squash or rebase takes its sources' times.
      for (const auto& p : d->patches) {
        add_patch(system, p.patch_id, p.sha, "deployed");
        match_patch(system, p.sha, p.patch_id);
      }
      for (std::size_t i = 0; i < d->changes.size(); ++i) {
        insert_link_.reset();
        insert_link_.bind(1, row).bind(2, static_cast<std::int64_t>(i)).bind(3, d->changes[i]).run();
        fact_deployed_.reset();
        fact_deployed_.bind(1, system).bind(2, d->changes[i]).bind(3, environment).bind(4, d->time_created).run();
      }
    }
    return true;
  }

  void copy_times(const std::string& system, const std::string& change_id) {
    fact_time_copies_.reset();
    fact_time_copies_.bind(1, system).bind(2, change_id).run();
  }

  void add_patch(const std::string& system, const std::string& patch_id, const std::string& change_id,
                 const char* kind) {
    add_patch_.reset();
    add_patch_.bind(1, system).bind(2, patch_id).bind(3, change_id).bind(4, std::string_view(kind)).run();
  }

  // A change's author and merge times and patch-ids; the deployed commits
  // they match take their times now (a push reported after the deployment).
  // Returns whether the change's own times may have changed.
  bool record_patches(const Change& c, const std::string& system) {
    const bool times = c.author_time || c.merged_time;
    if (times) {
      fact_times_.reset();
      fact_times_.bind(1, system).bind(2, c.change_id);
      if (c.author_time) fact_times_.bind(3, c.author_time);
      else fact_times_.bind_null(3);
      if (c.merged_time) fact_times_.bind(4, c.merged_time);
      else fact_times_.bind_null(4);
      fact_times_.run();
    }
    auto rematch = [&](const std::string& patch_id) {
      std::vector<std::string> deployed;
      deployed_with_patch_.reset();
      deployed_with_patch_.bind(1, system).bind(2, patch_id);
      while (deployed_with_patch_.step()) deployed.push_back(deployed_with_patch_.text(0));
      for (const auto& sha : deployed) match_patch(system, sha, patch_id);
    };
    if (!c.patch_id.empty()) {
      add_patch(system, c.patch_id, c.change_id, "commit");
      rematch(c.patch_id);
    }
    if (!c.branch_patch_id.empty()) {
      for (const auto& sha : c.branch_commits) add_patch(system, c.branch_patch_id, sha, "branch");
      rematch(c.branch_patch_id);
    }
    return times;
  }

  // A deployed commit whose patch-id other pushed commits share (a rebase:
  // one commit's; a squash: a branch's whole diff) takes their earliest push
  // and author times, and remembers how.
  void match_patch(const std::string& system, const std::string& sha, const std::string& patch_id) {
    patch_sources_.reset();
    patch_sources_.bind(1, system).bind(2, patch_id).bind(3, sha);
    if (!patch_sources_.step() || patch_sources_.is_null(0)) return;
    const std::int64_t pushed = patch_sources_.int64(0);
    const auto authored = patch_sources_.optional_int64(1);
    const std::int64_t commits = patch_sources_.int64(2);
    // One commit's own patch-id matched: a rebase (a one-commit branch squashed is the same thing).
    const bool rebase = patch_sources_.int64(3) != 0;
    patch_sources_.reset();
    fact_matched_.reset();
    fact_matched_.bind(1, system).bind(2, sha).bind(3, pushed).bind(4, authored);
    fact_matched_.bind(5, std::string_view(rebase ? "rebase" : "squash")).bind(6, commits).run();
    copy_times(system, sha);
  }

  sql::Database db_;  // written by the committing thread only
  bool migrated_ = false;
  sql::Statement insert_change_commit_, insert_change_push_, insert_change_both_, insert_other_, update_marks_,
      insert_link_;
  sql::Statement fact_commit_, fact_both_, fact_push_, fact_time_copies_, fact_deployed_;
  sql::Statement fact_times_, add_patch_, patch_sources_, deployed_with_patch_, fact_matched_;
  sql::Statement add_system_, add_environment_, savepoint_, release_;
  std::set<std::string> known_systems_;                                // committed to `systems`; committer thread only
  std::set<std::pair<std::string, std::string>> known_environments_;   // likewise, `environments`
  std::vector<std::pair<std::string, std::string>> new_environments_;  // added by the open transaction
  // WAL: reads see the last commit and never block writes. Two, so that
  // metrics read on both cores.
  struct Reader {
    explicit Reader(const std::string& path) : db(path) {}
    sql::Database db;
    std::mutex mutex;
  };
  std::vector<std::unique_ptr<Reader>> readers_;
  static std::vector<std::unique_ptr<Reader>> open_readers(const std::string& path) {
    std::vector<std::unique_ptr<Reader>> out;
    for (int i = 0; i < 2; ++i) out.push_back(std::make_unique<Reader>(path));
    return out;
  }
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::vector<std::unique_ptr<PutJob>> queue_;
  bool stopping_ = false;
  sql::Database checkpoint_db_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false, checkpoint_stopping_ = false;
  std::thread committer_, checkpointer_;  // started by the constructor once everything above exists
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace pulse::collector
