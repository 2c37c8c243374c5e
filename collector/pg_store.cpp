// The PostgreSQL store: the SQLite store's schema and semantics over libpq,
// for several collectors sharing one database. Every put is one transaction
// committed with synchronous_commit on; upserts touch one row each, so
// concurrent collectors neither lose nor duplicate events; deadlocks and
// serialization failures between them are retried.
#include "collector/schema.hpp"
#include "core/db/storage_error.hpp"
#include "collector/store.hpp"

#include <libpq-fe.h>

#include <arpa/inet.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <endian.h>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace pulse::collector {

namespace {

// The schema's steps are schema/postgres/ (schema.hpp); pulse_schema.version
// records how many ran. Databases made before the steps had the SQLite
// store's numbering (pulse_schema.numbering is then NULL) counted their own
// 8 steps, the first of them the shared steps 1 to 3: their count becomes
// the shared one once.
std::size_t shared_step_count(std::int64_t legacy) { return legacy <= 0 ? 0 : static_cast<std::size_t>(legacy + 2); }

// Prepared on every connection: name, text.
constexpr std::pair<const char*, const char*> kStatements[] = {
    // A change in one round trip: the event, then (only if it changed) its
    // facts, then the copies of its time in change_deployments. Answers
    // 1 if the event was stored or gained a time, else 0.
    {"change_commit",
     "WITH e AS (INSERT INTO events (type, system, identifier, source, time_created, received_at) "
     "VALUES ('change', $1, $2, $3, $4, $5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
     "SET time_created = excluded.time_created WHERE events.time_created IS NULL RETURNING id), "
     "f AS (INSERT INTO change_facts (system, change_id, commit_time) SELECT $1, $2, $4 FROM e "
     "ON CONFLICT (system, change_id) DO UPDATE SET commit_time = COALESCE(change_facts.commit_time, "
     "excluded.commit_time) RETURNING system, change_id, COALESCE(push_time, commit_time) AS t, " PULSE_TIME_SOURCE(
         "") " AS p), "
             "u AS (UPDATE change_deployments d SET change_time = f.t, pushed = f.p FROM f WHERE d.system = f.system "
             "AND d.change_id = f.change_id) "
             "SELECT count(*) FROM e"},
    {"change_push",
     "WITH e AS (INSERT INTO events (type, system, identifier, source, time_pushed, received_at) "
     "VALUES ('change', $1, $2, $3, $4, $5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
     "SET time_pushed = excluded.time_pushed "
     "WHERE events.time_pushed IS NULL OR excluded.time_pushed < events.time_pushed RETURNING id), "
     "f AS (INSERT INTO change_facts (system, change_id, push_time) SELECT $1, $2, $4 FROM e "
     "ON CONFLICT (system, change_id) DO UPDATE SET push_time = LEAST(change_facts.push_time, excluded.push_time) "
     "RETURNING system, change_id, COALESCE(push_time, commit_time) AS t, " PULSE_TIME_SOURCE(
         "") " AS p), "
             "u AS (UPDATE change_deployments d SET change_time = f.t, pushed = f.p FROM f WHERE d.system = f.system "
             "AND d.change_id = f.change_id) "
             "SELECT count(*) FROM e"},
    {"change_both",
     "WITH e AS (INSERT INTO events (type, system, identifier, source, time_created, time_pushed, received_at) "
     "VALUES ('change', $1, $2, $3, $4, $6, $5) ON CONFLICT (type, system, environment, identifier) DO UPDATE "
     "SET time_created = COALESCE(events.time_created, excluded.time_created), "
     "time_pushed = LEAST(events.time_pushed, excluded.time_pushed) "
     "WHERE events.time_created IS NULL OR events.time_pushed IS NULL "
     "OR excluded.time_pushed < events.time_pushed RETURNING id), "
     "f AS (INSERT INTO change_facts (system, change_id, commit_time, push_time) SELECT $1, $2, $4, $6 FROM e "
     "ON CONFLICT (system, change_id) DO UPDATE SET commit_time = COALESCE(change_facts.commit_time, "
     "excluded.commit_time), push_time = LEAST(change_facts.push_time, excluded.push_time) "
     "RETURNING system, change_id, COALESCE(push_time, commit_time) AS t, " PULSE_TIME_SOURCE(
         "") " AS p), "
             "u AS (UPDATE change_deployments d SET change_time = f.t, pushed = f.p FROM f WHERE d.system = f.system "
             "AND d.change_id = f.change_id) "
             "SELECT count(*) FROM e"},
    // Extension "patches" (the SQLite store's kFactTimes, kAddPatch, ...).
    {"fact_times",
     "WITH f AS (INSERT INTO change_facts (system, change_id, author_time, merged_time) VALUES ($1, $2, $3, $4) "
     "ON CONFLICT (system, change_id) DO UPDATE SET author_time = LEAST(change_facts.author_time, "
     "excluded.author_time), merged_time = LEAST(change_facts.merged_time, excluded.merged_time) "
     "RETURNING system, change_id, author_time, merged_time) "
     "UPDATE change_deployments d SET author_time = f.author_time, merged_time = f.merged_time FROM f "
     "WHERE d.system = f.system AND d.change_id = f.change_id"},
    {"add_patch",
     "INSERT INTO patches (system, patch_id, change_id, kind) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"},
    {"deployed_with_patch", "SELECT change_id FROM patches WHERE system = $1 AND patch_id = $2 AND kind = 'deployed'"},
    // A deployed commit ($2) takes the earliest push and author times of the other commits with its patch-id ($3).
    {"match_patch",
     "WITH s AS (SELECT MIN(f.push_time) AS pushed, MIN(f.author_time) AS authored, "
     "COUNT(DISTINCT p.change_id) AS n, bool_or(p.kind = 'commit') AS rebase "
     "FROM patches p JOIN change_facts f ON f.system = p.system AND f.change_id = p.change_id "
     "WHERE p.system = $1 AND p.patch_id = $3 AND p.kind <> 'deployed' AND p.change_id <> $2 "
     "AND f.push_time IS NOT NULL), "
     "f AS (INSERT INTO change_facts (system, change_id, push_time, author_time, matched, matched_commits) "
     "SELECT $1, $2, pushed, authored, CASE WHEN rebase THEN 'rebase' ELSE 'squash' END, n FROM s WHERE n > 0 "
     "ON CONFLICT (system, change_id) DO UPDATE SET push_time = LEAST(change_facts.push_time, excluded.push_time), "
     "author_time = LEAST(change_facts.author_time, excluded.author_time), matched = excluded.matched, "
     "matched_commits = excluded.matched_commits "
     "RETURNING system, change_id, COALESCE(push_time, commit_time) AS t, " PULSE_TIME_SOURCE(
         "") " AS p, author_time) "
             "UPDATE change_deployments d SET change_time = f.t, pushed = f.p, author_time = f.author_time FROM f "
             "WHERE d.system = f.system AND d.change_id = f.change_id"},
    {"other",
     "INSERT INTO events (type, system, identifier, source, time_created, time_resolved, teams, received_at, "
     "head_commit, environment, run_url, status, fixes, reverts, change_count, head_shipped) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
     "ON CONFLICT (type, system, environment, identifier) DO NOTHING RETURNING id"},
    // A deployment reported again with a status or the deployment it fixes:
    // what it says now is kept (the rest of the first report stays).
    {"update_marks",
     "UPDATE events SET status = COALESCE($4, status), fixes = COALESCE($5, fixes) "
     "WHERE type = 'deployment' AND system = $1 AND environment = $2 AND identifier = $3 "
     "AND (($4::text IS NOT NULL AND status IS DISTINCT FROM $4) OR ($5::text IS NOT NULL AND fixes IS DISTINCT FROM $5)) "
     "RETURNING id"},
    // The DORA model's facts (text results).
    {"dora_deployments",
     "SELECT time_created, id, head_commit, status, fixes, change_count, reverts, head_shipped, NULL, 1 FROM events "
     "WHERE type = 'deployment' AND system = $1 AND environment = $2 AND time_created >= $3 AND time_created < $4"},
    // With names; with names and a team's deployments marked.
    {"dora_deployments_named",
     "SELECT time_created, id, head_commit, status, fixes, change_count, reverts, head_shipped, identifier, 1 FROM events "
     "WHERE type = 'deployment' AND system = $1 AND environment = $2 AND time_created >= $3 AND time_created < $4"},
    {"dora_deployments_team",
     "SELECT time_created, id, head_commit, status, fixes, change_count, reverts, head_shipped, identifier, "
     "(teams::jsonb ? $5)::int FROM events "
     "WHERE type = 'deployment' AND system = $1 AND environment = $2 AND time_created >= $3 AND time_created < $4"},
    // Lookups for a list of names ($3: a JSON array): first deployments of
    // commits here, ids of deployments.
    {"dora_first_deployed",
     "SELECT change_id, first_deployed FROM change_deployments WHERE system = $1 AND environment = $2 "
     "AND change_id IN (SELECT jsonb_array_elements_text($3::jsonb))"},
    {"dora_fixed",
     "SELECT identifier, id FROM events WHERE type = 'deployment' AND system = $1 AND environment = $2 "
     "AND identifier IN (SELECT jsonb_array_elements_text($3::jsonb))"},
    {"dora_before",
     "SELECT time_created, id, head_commit, change_count, identifier, ($4::text IS NULL OR teams::jsonb ? $4)::int "
     "FROM events WHERE type = 'deployment' AND system = $1 AND environment = $2 AND time_created < $3 "
     "ORDER BY time_created DESC, id DESC LIMIT 1"},
    {"dora_first",
     "SELECT MIN(time_created) FROM events WHERE type = 'deployment' AND system = $1 AND environment = $2"},
    {"dora_incidents",
     "SELECT time_created, COALESCE(time_resolved, time_created), identifier FROM events WHERE type = 'incident' "
     "AND system = $1 AND environment = $2 AND time_created < $4 AND (time_created >= $3 OR time_resolved > $3)"},
    {"facts_environments", "SELECT environment FROM environments WHERE system = $1"},
    {"facts_deployments",
     "SELECT time_created FROM events WHERE type = 'deployment' AND system = $1 AND environment = $2 "
     "AND time_created >= $3 AND time_created < $4 UNION ALL SELECT MAX(time_created) FROM events "
     "WHERE type = 'deployment' AND system = $1 AND environment = $2 AND time_created < $3"},
    {"facts_shipped",
     "SELECT first_deployed, change_time, pushed::bigint, author_time, merged_time FROM change_deployments "
     "WHERE system = $1 AND environment = $2 AND first_deployed >= $3 AND first_deployed < $4"},
    // With several of the scope's environments: a change counts at its
    // first deployment to any of them (ties: the first name in byte order).
    {"facts_shipped_first",
     "SELECT first_deployed, change_time, pushed::bigint, author_time, merged_time FROM change_deployments c "
     "WHERE system = $1 AND environment = $2 AND first_deployed >= $3 AND first_deployed < $4 "
     "AND NOT EXISTS (SELECT 1 FROM change_deployments o WHERE o.system = $1 AND o.change_id = c.change_id "
     "AND o.environment IN (SELECT jsonb_array_elements_text($5::jsonb)) AND (o.first_deployed < c.first_deployed "
     "OR (o.first_deployed = c.first_deployed AND o.environment COLLATE \"C\" < $2)))"},
    // The same with each change's id (text results).
    {"facts_shipped_ids",
     "SELECT c.first_deployed, c.change_time, c.pushed, c.author_time, c.merged_time, c.change_id "
     "FROM change_deployments c "
     "WHERE system = $1 AND environment = $2 AND first_deployed >= $3 AND first_deployed < $4"},
    {"facts_shipped_first_ids",
     "SELECT c.first_deployed, c.change_time, c.pushed, c.author_time, c.merged_time, c.change_id "
     "FROM change_deployments c "
     "WHERE system = $1 AND environment = $2 AND first_deployed >= $3 AND first_deployed < $4 "
     "AND NOT EXISTS (SELECT 1 FROM change_deployments o WHERE o.system = $1 AND o.change_id = c.change_id "
     "AND o.environment IN (SELECT jsonb_array_elements_text($5::jsonb)) AND (o.first_deployed < c.first_deployed "
     "OR (o.first_deployed = c.first_deployed AND o.environment COLLATE \"C\" < $2)))"},
    {"facts_incidents",
     "SELECT time_created, COALESCE(time_resolved, time_created) FROM events "
     "WHERE type = 'incident' AND system = $1 AND environment = $2 AND time_created >= $3 AND time_created < $4"},
    {"add_system", "INSERT INTO systems (name) VALUES ($1) ON CONFLICT DO NOTHING"},
    {"add_environment", "INSERT INTO environments (system, environment) VALUES ($1, $2) ON CONFLICT DO NOTHING"},
    // A deployment's changes ($2: a JSON array) in two statements, however
    // many there are: its links in order, then each commit's first
    // deployment here (each commit once, in one order, so that collectors
    // writing the same commits take their row locks in the same order).
    {"link_all",
     "INSERT INTO deployment_changes (deployment, position, change_id) "
     "SELECT $1, t.n - 1, t.v FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS t(v, n)"},
    {"fact_deployed_all",
     "INSERT INTO change_deployments (system, change_id, environment, first_deployed, change_time, pushed, "
     "author_time, merged_time) "
     "SELECT $1, c.v, $3, $4, COALESCE(f.push_time, f.commit_time), COALESCE(" PULSE_TIME_SOURCE(
         "f.") ", 0), f.author_time, f.merged_time "
               "FROM (SELECT DISTINCT v FROM jsonb_array_elements_text($2::jsonb) AS t(v)) c "
               "LEFT JOIN change_facts f ON f.system = $1 AND f.change_id = c.v ORDER BY c.v COLLATE \"C\" "
               "ON CONFLICT (system, change_id, environment) DO UPDATE "
               "SET first_deployed = LEAST(change_deployments.first_deployed, excluded.first_deployed)"},
};

struct PgError : StorageError {
  PgError(const std::string& what, std::string state) : StorageError(what), sqlstate(std::move(state)) {}
  std::string sqlstate;
  bool retryable() const { return sqlstate == "40001" || sqlstate == "40P01"; }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
  }
  // Text-format integer.
  std::int64_t int64(int row, int col) const { return std::stoll(PQgetvalue(r_, row, col)); }
  std::optional<std::int64_t> optional_int64(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return int64(row, col);
  }
  // Binary-format int8.
  std::int64_t bin_int64(int row, int col) const {
    std::uint64_t v;
    std::memcpy(&v, PQgetvalue(r_, row, col), sizeof v);
    return static_cast<std::int64_t>(be64toh(v));
  }

 private:
  PGresult* r_;
};

using Param = std::optional<std::string>;
using Params = std::vector<Param>;

class Connection {
 public:
  explicit Connection(const std::string& uri) {
    // Our defaults first: the URI's own settings win over them. A dead
    // server or network is noticed within about a minute (keepalives, and
    // the TCP user timeout for unacknowledged writes); queries are bounded
    // by statement_timeout below.
    const char* keys[] = {"connect_timeout",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "dbname",
                          nullptr};
    const char* values[] = {"10", "30", "10", "3", "60000", "pulse-collector", uri.c_str(), nullptr};
    // Owned from the first moment: a throw below (a refused SET) frees it.
    owned_.reset(PQconnectdbParams(keys, values, 1));
    conn_ = owned_.get();
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
      throw StorageError("PostgreSQL: cannot connect: " + first_line(conn_ ? PQerrorMessage(conn_) : "out of memory"));
    // Notices ("relation already exists, skipping") are not for operators.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    exec("SET statement_timeout = '120s'");
    exec("SET synchronous_commit = on");
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void prepare_statements() {
    for (const auto& [name, text] : kStatements) check(PQprepare(conn_, name, text, 0, nullptr), name);
  }

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }

  std::unique_ptr<Result> exec(const std::string& sql, const Params& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return check(
        PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0),
        "query");
  }

  // Several statements, no parameters (migrations).
  void exec_script(const char* sql) { check(PQexec(conn_, sql), "migration"); }

  std::unique_ptr<Result> run(const char* statement, const Params& params, bool binary = false) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return check(PQexecPrepared(conn_, statement, static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                                binary ? 1 : 0),
                 statement);
  }

 private:
  static std::string first_line(std::string s) {
    if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    return s;
  }

  std::unique_ptr<Result> check(PGresult* r, const char* what) {
    auto result = std::make_unique<Result>(r);
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = r ? PQresultErrorMessage(r) : "";
    if (message.empty()) message = PQerrorMessage(conn_);
    throw PgError("PostgreSQL: " + std::string(what) + ": " + first_line(message), state ? state : "");
  }

  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, Finish> owned_;
  PGconn* conn_ = nullptr;  ///< owned_.get(), borrowed by the calls
};

std::string num(std::int64_t v) { return std::to_string(v); }

class PgStore final : public Store {
 public:
  PgStore(const std::string& uri, std::size_t connections) : uri_(uri) {
    auto first = std::make_unique<Connection>(uri);
    migrate(*first);
    first->prepare_statements();
    idle_.push_back(std::move(first));
    total_ = 1;
    max_ = std::max<std::size_t>(connections, 1);
  }

  PutResult put(const std::vector<Event>& events, const std::string& system, std::int64_t now) override {
    return with_retry([&](Connection& c) {
      const auto started = std::chrono::steady_clock::now();
      PutResult result;
      c.exec("BEGIN");
      try {
        c.run("add_system", {system});
        for (const auto& e : events) {
          if (put_one(c, e, system, now)) ++result.stored;
          else ++result.duplicates;
        }
        c.exec("COMMIT");
      } catch (...) {
        rollback(c);
        throw;
      }
      committed(1, events.size(), started);
      return result;
    });
  }

  std::vector<StoredEvent> list(const EventQuery& q) override {
    const auto [text, params] = list_query(q);
    return with_retry([&](Connection& c) {
      c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        const auto r = c.exec(text, params);
        std::vector<StoredEvent> out;
        out.reserve(static_cast<std::size_t>(r->rows()));
        for (int i = 0; i < r->rows(); ++i) out.push_back(stored_event(*r, i));
        attach_changes(c, out);
        c.exec("COMMIT");
        return out;
      } catch (...) {
        rollback(c);
        throw;
      }
    });
  }

  std::optional<StoredEvent> latest_deployment(const std::string& system, const std::string& environment) override {
    return with_retry([&](Connection& c) -> std::optional<StoredEvent> {
      const auto r = c.exec(
          "SELECT identifier, time_created, head_commit, environment FROM events WHERE type = 'deployment' "
          "AND system = $1 AND environment = $2 AND head_commit IS NOT NULL ORDER BY time_created DESC, id DESC LIMIT 1",
          {system, environment});
      if (r->rows() == 0) return std::nullopt;
      StoredEvent e;
      e.type = "deployment";
      e.system = system;
      e.id = r->text(0, 0);
      e.time_created = r->optional_int64(0, 1);
      e.head_commit = r->text(0, 2);
      e.environment = r->text(0, 3);
      return e;
    });
  }

  // System by system on two connections at once, both in one snapshot
  // (exported by the first); binary results: no text to parse.
  // The schema was checked (and migrated) on opening; here every table
  // must still answer, and thoroughly, every index be valid.
  std::vector<std::string> check(bool thorough) override {
    return with_retry([&](Connection& c) {
      std::vector<std::string> problems;
      for (const char* table : {"pulse_schema", "systems", "events", "deployment_changes", "change_facts",
                                "environments", "change_deployments", "patches"}) {
        try {
          c.exec(std::string("SELECT 1 FROM ") + table + " LIMIT 1");
        } catch (const PgError& e) {
          problems.push_back(std::string(table) + ": " + e.what());
        }
      }
      if (thorough) {
        const auto r = c.exec(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname IN "
            "('systems', 'events', 'deployment_changes', 'change_facts', 'environments', 'change_deployments', "
            "'patches') "
            "AND NOT i.indisvalid");
        for (int row = 0; row < r->rows(); ++row)
          problems.push_back("index " + std::string(r->text(row, 0)) + " is invalid");
      }
      return problems;
    });
  }

  std::vector<std::pair<std::string, std::string>> environments() override {
    return with_retry([&](Connection& c) {
      const auto r = c.exec(
          "SELECT system, environment FROM environments ORDER BY system COLLATE \"C\", environment COLLATE \"C\"");
      std::vector<std::pair<std::string, std::string>> out;
      for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->text(i, 0), r->text(i, 1));
      return out;
    });
  }

  std::vector<std::string> teams() override {
    return with_retry([&](Connection& c) {
      const auto r = c.exec(
          "SELECT t FROM (SELECT DISTINCT t FROM events, jsonb_array_elements_text(teams::jsonb) t "
          "WHERE type = 'deployment' AND teams <> '[]') teams ORDER BY t COLLATE \"C\" LIMIT " +
          std::to_string(kMaxTeams));
      std::vector<std::string> out;
      for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->text(i, 0));
      return out;
    });
  }

  MetricFacts metric_facts(Window w, const Scope& scope) override {
    const auto& system = scope.system;
    return with_retry([&](Connection& first) {
      first.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      std::unique_ptr<Connection> second;
      auto finish = [&] {
        rollback(first);
        if (second) {
          rollback(*second);
          if (second->ok()) release(std::move(second));
          else drop();
        }
      };
      try {
        const auto snapshot = std::string(first.exec("SELECT pg_export_snapshot()")->text(0, 0));
        const auto names = system ? first.exec("SELECT name FROM systems WHERE name = $1", {*system})
                                  : first.exec("SELECT name FROM systems");
        std::vector<std::string> systems;
        for (int i = 0; i < names->rows(); ++i) systems.emplace_back(names->text(i, 0));
        if (systems.size() > 1) second = try_acquire();
        if (second) {
          second->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
          second->exec("SET TRANSACTION SNAPSHOT '" + snapshot + "'");
        }
        auto f =
            read_facts_by_system(systems, second ? 2 : 1, [&](std::size_t worker, const auto& share, MetricFacts& out) {
              read_system_facts(worker == 0 ? first : *second, w, scope, share, out);
            });
        finish();
        return f;
      } catch (...) {
        finish();
        throw;
      }
    });
  }

 private:
  // list's SELECT and its parameters: the query's filters, newest first.
  static std::pair<std::string, Params> list_query(const EventQuery& q) {
    std::string text =
        "SELECT id, type, system, identifier, source, time_created, time_pushed, time_resolved, teams, received_at, "
        "environment, run_url "
        "FROM events WHERE true";
    Params params;
    if (!q.type.empty()) {
      params.push_back(q.type);
      text += " AND type = $" + std::to_string(params.size());
    }
    if (q.system) {
      params.push_back(*q.system);
      text += " AND system = $" + std::to_string(params.size());
    }
    if (q.since) {
      params.push_back(num(*q.since));
      text += " AND COALESCE(time_created, time_pushed) >= $" + std::to_string(params.size());
    }
    if (q.until) {
      params.push_back(num(*q.until));
      text += " AND COALESCE(time_created, time_pushed) < $" + std::to_string(params.size());
    }
    if (!q.environments.empty()) {
      params.push_back(string_array_json(q.environments));
      text += " AND environment IN (SELECT jsonb_array_elements_text($" + std::to_string(params.size()) + "::jsonb))";
    }
    if (q.team) {
      params.push_back(*q.team);
      // The team's deployments, and the incidents attributed to them (to
      // the last deployment of their system and environment before them).
      const std::string n = "$" + std::to_string(params.size());
      text += " AND ((type = 'deployment' AND teams::jsonb ? " + n +
              ") OR (type = 'incident' AND (SELECT d.teams::jsonb ? " + n +
              " FROM events d WHERE d.type = 'deployment' AND d.system = events.system "
              "AND d.environment = events.environment AND d.time_created < events.time_created "
              "ORDER BY d.time_created DESC, d.id DESC LIMIT 1)))";
    }
    if (q.before) {
      params.push_back(num(*q.before));
      text += " AND id < $" + std::to_string(params.size());
    }
    params.push_back(num(static_cast<std::int64_t>(q.limit)));
    text += " ORDER BY id DESC LIMIT $" + std::to_string(params.size());
    return {text, params};
  }

  // One row of list_query's SELECT (a deployment's changes come after).
  static StoredEvent stored_event(const Result& r, int i) {
    StoredEvent e;
    e.type = r.text(i, 1);
    e.system = r.text(i, 2);
    e.id = r.text(i, 3);
    e.source = r.text(i, 4);
    e.time_created = r.optional_int64(i, 5);
    e.time_pushed = r.optional_int64(i, 6);
    e.time_resolved = r.optional_int64(i, 7);
    if (e.type == "deployment") e.teams = parse_string_array(r.text(i, 8));
    e.received_at = r.int64(i, 9);
    e.seq = r.int64(i, 0);
    e.environment = r.text(i, 10);
    if (!r.null(i, 11)) e.run_url = r.text(i, 11);
    return e;
  }

  // Every listed deployment's changes, in one query.
  static void attach_changes(Connection& c, std::vector<StoredEvent>& events) {
    std::string ids;
    for (const auto& e : events)
      if (e.type == "deployment") ids += (ids.empty() ? "" : ",") + std::to_string(e.seq);
    if (ids.empty()) return;
    const auto links = c.exec(
        "SELECT deployment, change_id FROM deployment_changes WHERE deployment = ANY($1::bigint[]) "
        "ORDER BY deployment, position",
        {"{" + ids + "}"});
    std::unordered_map<std::int64_t, std::vector<std::string>> by_id;
    for (int i = 0; i < links->rows(); ++i) by_id[links->int64(i, 0)].emplace_back(links->text(i, 1));
    for (auto& e : events)
      if (e.type == "deployment") e.changes = std::move(by_id[e.seq]);
  }

  static void read_system_facts(Connection& c, Window w, const Scope& scope,
                                const std::vector<std::pair<std::uint32_t, std::string>>& share, MetricFacts& f) {
    for (const auto& [index, name] : share) {
      const auto present = c.run("facts_environments", {name});
      std::vector<std::uint32_t> envs;  // the scope's, that this system has
      for (int i = 0; i < present->rows(); ++i)
        if (const auto e = scope_index(scope, present->text(i, 0))) envs.push_back(*e);
      for (const auto env : envs) {
        Params p{name, scope.environments[env], num(w.from), num(w.to)};
        // The window's deployments, then the last one before it (or NULL).
        std::unique_ptr<Result> r;
        if (scope.model == Model::dora || scope.identifiers || scope.team) {
          read_dora_facts(c, index, env, p, scope, f);
        } else {
          r = c.run("facts_deployments", p, true);
          for (int i = 0; i < r->rows(); ++i)
            if (!r->null(i, 0)) f.deployments.push_back({index, env, r->bin_int64(i, 0)});
        }
        const bool first_of_several = envs.size() > 1 && !scope.each_environment;
        if (first_of_several) p.push_back(other_environments(scope, envs, env));
        if (scope.change_identifiers) {
          r = c.run(first_of_several ? "facts_shipped_first_ids" : "facts_shipped_ids", p);
          auto time = [&r](int i, int col) { return r->null(i, col) ? kUnknownTime : r->int64(i, col); };
          for (int i = 0; i < r->rows(); ++i) {
            f.shipped.push_back({index, r->int64(i, 0), time(i, 1), env, time(i, 3), time(i, 4),
                                 static_cast<std::uint8_t>(r->int64(i, 2))});
            f.shipped_ids.emplace_back(r->text(i, 5));
          }
        } else {
          r = c.run(first_of_several ? "facts_shipped_first" : "facts_shipped", p, true);
          f.shipped.reserve(f.shipped.size() + static_cast<std::size_t>(r->rows()));
          auto time = [&r](int i, int col) { return r->null(i, col) ? kUnknownTime : r->bin_int64(i, col); };
          for (int i = 0; i < r->rows(); ++i)
            f.shipped.push_back({index, r->bin_int64(i, 0), time(i, 1), env, time(i, 3), time(i, 4),
                                 static_cast<std::uint8_t>(r->bin_int64(i, 2))});
        }
        p.resize(4);
        if (scope.model == Model::dora || scope.identifiers || scope.team)
          continue;  // it read the incidents open in the window too
        r = c.run("facts_incidents", p, true);
        for (int i = 0; i < r->rows(); ++i) f.incidents.push_back({index, env, r->bin_int64(i, 0), r->bin_int64(i, 1)});
      }
    }
  }

  // The DORA model's facts of one system and environment; `p` is (system,
  // environment, from, to).
  static void read_dora_facts(Connection& c, std::uint32_t index, std::uint32_t env, const Params& p,
                              const Scope& scope, MetricFacts& f) {
    const auto lookups = read_dora_deployments(c, index, env, p, scope, f);
    resolve_dora_lookups(c, p, lookups, f);
    const auto before = c.run("dora_before", {p[0], p[1], p[2], scope.team});
    if (before->rows()) {
      auto& d = add_dora_deployment(f, index, env, scope.identifiers, *before, 0, 4);
      d.changes = static_cast<std::uint32_t>(before->int64(0, 3));
      d.team = before->int64(0, 5) != 0;
    }
    const auto first = c.run("dora_first", {p[0], p[1]});
    if (first->rows() && !first->null(0, 0)) f.firsts.push_back({index, env, first->int64(0, 0)});
    const auto incidents = c.run("dora_incidents", p);
    for (int i = 0; i < incidents->rows(); ++i) {
      f.incidents.push_back({index, env, incidents->int64(i, 0), incidents->int64(i, 1)});
      if (scope.identifiers) f.incident_ids.emplace_back(incidents->text(i, 2));
    }
  }

  // What a DORA read must look up after its deployments, asked for in one
  // round trip per kind: heads not among their own changes (rollbacks,
  // redeploys) and reverted commits, by their first deployment here; fixed
  // deployments, by id. Each (index in f.deployments or f.reverts, name).
  struct DoraLookups {
    std::vector<std::pair<std::size_t, std::string>> heads, fixes, reverted;
  };

  static MetricFacts::Deployment& add_dora_deployment(MetricFacts& f, std::uint32_t index, std::uint32_t env, bool ids,
                                                      const Result& r, int i, int id_column) {
    auto& d = f.deployments.emplace_back(MetricFacts::Deployment{index, env, r.int64(i, 0)});
    d.seq = r.int64(i, 1);
    if (!r.null(i, 2)) d.head = head_key(r.text(i, 2));
    if (ids) f.deployment_ids.emplace_back(r.text(i, id_column));
    return d;
  }

  // The window's deployments; what they name that needs a lookup.
  static DoraLookups read_dora_deployments(Connection& c, std::uint32_t index, std::uint32_t env, const Params& p,
                                           const Scope& scope, MetricFacts& f) {
    Params with_team = p;
    with_team.push_back(scope.team);
    const auto r = scope.team          ? c.run("dora_deployments_team", with_team)
                   : scope.identifiers ? c.run("dora_deployments_named", p)
                                       : c.run("dora_deployments", p);
    DoraLookups wanted;
    for (int i = 0; i < r->rows(); ++i) {
      auto& d = add_dora_deployment(f, index, env, scope.identifiers, *r, i, 8);
      const std::size_t at = f.deployments.size() - 1;
      d.team = r->int64(i, 9) != 0;
      if (!r->null(i, 3)) d.mark = deployment_mark(r->text(i, 3));
      d.changes = static_cast<std::uint32_t>(r->int64(i, 5));
      // A head among its own changes was first deployed by this deployment.
      if (!r->null(i, 2)) {
        if (r->int64(i, 7)) d.head_first = d.time;
        else wanted.heads.emplace_back(at, r->text(i, 2));
      }
      if (!r->null(i, 4)) {
        d.fix = true;
        wanted.fixes.emplace_back(at, r->text(i, 4));
      }
      if (!r->null(i, 6))
        for (auto& sha : parse_string_array(r->text(i, 6))) {
          wanted.reverted.emplace_back(f.reverts.size(), std::move(sha));
          f.reverts.push_back({index, env, d.seq, kUnknownTime});
        }
    }
    return wanted;
  }

  static void resolve_dora_lookups(Connection& c, const Params& p, const DoraLookups& wanted, MetricFacts& f) {
    auto lookup = [&](const char* statement, const std::vector<std::pair<std::size_t, std::string>>& names) {
      std::unordered_map<std::string, std::int64_t> found;
      if (names.empty()) return found;
      std::vector<std::string> list;
      for (const auto& n : names) list.push_back(n.second);
      const auto rows = c.run(statement, {p[0], p[1], string_array_json(list)});
      for (int i = 0; i < rows->rows(); ++i) found.emplace(rows->text(i, 0), rows->int64(i, 1));
      return found;
    };
    const auto first_deployed = lookup("dora_first_deployed", wanted.heads);
    for (const auto& [at, head] : wanted.heads)
      if (const auto it = first_deployed.find(head); it != first_deployed.end())
        f.deployments[at].head_first = it->second;
    const auto reverted_first = lookup("dora_first_deployed", wanted.reverted);
    for (const auto& [at, sha] : wanted.reverted)
      if (const auto it = reverted_first.find(sha); it != reverted_first.end())
        f.reverts[at].reverted_first = it->second;
    const auto fixed = lookup("dora_fixed", wanted.fixes);
    for (const auto& [at, id] : wanted.fixes)
      if (const auto it = fixed.find(id); it != fixed.end()) f.deployments[at].fixes_seq = it->second;
  }

  static void rollback(Connection& c) {
    try {
      if (c.ok()) c.exec("ROLLBACK");
    } catch (...) {
    }
  }

  // Several collectors may start at once: one applies the migrations, the
  // others wait on the advisory lock and then find nothing to do.
  static void migrate(Connection& c) {
    constexpr std::int64_t kLockKey = 0x70756c7365;  // "pulse"
    c.exec("BEGIN");
    try {
      c.exec("SELECT pg_advisory_xact_lock(" + num(kLockKey) + ")");
      c.exec("CREATE TABLE IF NOT EXISTS pulse_schema (version INTEGER NOT NULL)");
      c.exec("ALTER TABLE pulse_schema ADD COLUMN IF NOT EXISTS numbering TEXT");
      const auto r = c.exec(
          "SELECT COALESCE(MAX(version), 0), COALESCE(BOOL_OR(COALESCE(numbering, '') = 'shared'), true) FROM pulse_schema");
      const bool shared = r->text(0, 1) == "t";
      const auto version = shared ? static_cast<std::size_t>(r->int64(0, 0)) : shared_step_count(r->int64(0, 0));
      const auto steps = schema_steps(SchemaDialect::postgres);
      if (version > steps.size())
        throw StorageError("PostgreSQL: the database's schema is version " + std::to_string(version) +
                           ", newer than this pulse-collector knows (" + std::to_string(steps.size()) +
                           "): upgrade pulse-collector");
      for (std::size_t v = version; v < steps.size(); ++v) c.exec_script(steps[v].sql);
      if (version < steps.size() || !shared) {
        c.exec("DELETE FROM pulse_schema");
        c.exec("INSERT INTO pulse_schema (version, numbering) VALUES (" + std::to_string(steps.size()) + ", 'shared')");
      }
      c.exec("COMMIT");
    } catch (...) {
      rollback(c);
      throw;
    }
  }

  bool put_one(Connection& c, const Event& e, const std::string& system, std::int64_t now) {
    if (const auto* ch = std::get_if<Change>(&e)) {
      const bool push = ch->event_type == "push";
      const auto r = !push && ch->time_pushed
                         ? c.run("change_both", {system, ch->change_id, ch->source, num(ch->time_created), num(now),
                                                 num(ch->time_pushed)})
                         : c.run(push ? "change_push" : "change_commit",
                                 {system, ch->change_id, ch->source, num(ch->time_created), num(now)});
      const bool stored = r->int64(0, 0) > 0;
      record_patches(c, *ch, system);  // even when the change was known already
      return stored;
    }
    Params p(16);
    p[0] = std::string(type_name(e));
    p[1] = system;
    p[2] = identifier(e);
    p[7] = num(now);
    p[6] = "[]";
    const std::string environment(stored_environment(e));
    p[9] = environment;
    if (const auto* d = std::get_if<Deployment>(&e)) {
      p[3] = d->source;
      p[4] = num(d->time_created);
      if (!d->head_commit.empty()) p[8] = d->head_commit;
      if (!d->run_url.empty()) p[10] = d->run_url;
      if (!d->status.empty()) p[11] = d->status;
      if (!d->fixes.empty()) p[12] = d->fixes;
      if (!d->reverts.empty()) p[13] = string_array_json(d->reverts);
      p[14] = num(static_cast<std::int64_t>(d->changes.size()));
      p[15] = head_shipped(*d) ? "1" : "0";
      p[6] = string_array_json(d->teams);
    } else {
      const auto& inc = std::get<Incident>(e);
      p[3] = inc.source;
      p[4] = num(inc.time_created);
      p[5] = num(inc.time_resolved);
      p[14] = "0";
      p[15] = "0";
    }
    const auto r = c.run("other", p);
    if (r->rows() == 0) {
      const auto* d = std::get_if<Deployment>(&e);
      if (!d || (d->status.empty() && d->fixes.empty())) return false;
      return c.run("update_marks", {system, environment, d->deploy_id, p[11], p[12]})->rows() > 0;
    }
    c.run("add_environment", {system, environment});
    if (const auto* d = std::get_if<Deployment>(&e)) {
      // Before the changes' times are copied: a squash or rebase takes its sources' times.
      for (const auto& patch : d->patches) {
        c.run("add_patch", {system, patch.patch_id, patch.sha, std::string("deployed")});
        c.run("match_patch", {system, patch.sha, patch.patch_id});
      }
      if (!d->changes.empty()) {
        const std::string changes = string_array_json(d->changes);
        c.run("link_all", {std::string(r->text(0, 0)), changes});
        c.run("fact_deployed_all", {system, changes, environment, num(d->time_created)});
      }
    }
    return true;
  }

  // A change's author and merge times and patch-ids; the deployed commits
  // they match take their times now (a push reported after the deployment).
  void record_patches(Connection& c, const Change& ch, const std::string& system) {
    if (ch.author_time || ch.merged_time)
      c.run("fact_times", {system, ch.change_id, ch.author_time ? Param(num(ch.author_time)) : std::nullopt,
                           ch.merged_time ? Param(num(ch.merged_time)) : std::nullopt});
    auto rematch = [&](const std::string& patch_id) {
      const auto deployed = c.run("deployed_with_patch", {system, patch_id});
      for (int i = 0; i < deployed->rows(); ++i)
        c.run("match_patch", {system, std::string(deployed->text(i, 0)), patch_id});
    };
    if (!ch.patch_id.empty()) {
      c.run("add_patch", {system, ch.patch_id, ch.change_id, std::string("commit")});
      rematch(ch.patch_id);
    }
    if (!ch.branch_patch_id.empty()) {
      for (const auto& sha : ch.branch_commits)
        c.run("add_patch", {system, ch.branch_patch_id, sha, std::string("branch")});
      rematch(ch.branch_patch_id);
    }
  }

  // Runs `f` on a pooled connection; retries deadlocks and serialization
  // failures (other collectors writing the same rows) and a lost connection.
  template <class F>
  auto with_retry(F f) -> decltype(f(std::declval<Connection&>())) {
    for (int attempt = 1;; ++attempt) {
      auto conn = acquire();
      try {
        auto result = f(*conn);
        release(std::move(conn));
        return result;
      } catch (const PgError& e) {
        const bool broken = !conn->ok();
        if (!broken) release(std::move(conn));
        else drop();
        if ((!e.retryable() && !broken) || attempt >= 5) throw;
      } catch (...) {
        if (conn->ok()) release(std::move(conn));
        else drop();
        throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt * attempt));
    }
  }

  std::unique_ptr<Connection> acquire() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !idle_.empty() || total_ < max_; });
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    ++total_;
    lock.unlock();
    try {
      auto c = std::make_unique<Connection>(uri_);
      c->prepare_statements();
      return c;
    } catch (...) {
      drop();
      throw;
    }
  }
  // A connection if one is idle or may be opened now, else nullptr.
  std::unique_ptr<Connection> try_acquire() {
    {
      std::lock_guard lock(mutex_);
      if (idle_.empty() && total_ >= max_) return nullptr;
    }
    return acquire();
  }

  void release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
  }
  void drop() {
    std::lock_guard lock(mutex_);
    --total_;
    cv_.notify_one();
  }

  std::string uri_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t total_ = 0;
  std::size_t max_ = 1;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& uri, std::size_t connections) {
  return std::make_unique<PgStore>(uri, connections);
}

}  // namespace pulse::collector
