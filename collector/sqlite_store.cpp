// The only file that includes <sqlite3.h>.
#include "store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace pulse::collector {

namespace {

struct DbDeleter { void operator()(sqlite3* p) const { sqlite3_close_v2(p); } };
struct StmtDeleter { void operator()(sqlite3_stmt* p) const { sqlite3_finalize(p); } };
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Migrations, applied in order; PRAGMA user_version records how many ran.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE events (
  id            INTEGER PRIMARY KEY,
  type          TEXT NOT NULL CHECK (type IN ('change', 'deployment', 'incident')),
  system        TEXT NOT NULL,
  identifier    TEXT NOT NULL,
  source        TEXT NOT NULL,
  time_created  INTEGER,
  time_pushed   INTEGER,
  time_resolved INTEGER,
  teams         TEXT NOT NULL DEFAULT '[]',
  received_at   INTEGER NOT NULL,
  UNIQUE (type, system, identifier)
);
CREATE TABLE deployment_changes (
  deployment INTEGER NOT NULL REFERENCES events (id),
  position   INTEGER NOT NULL,
  change_id  TEXT NOT NULL,
  PRIMARY KEY (deployment, position)
);
CREATE INDEX deployment_changes_by_change ON deployment_changes (change_id);
CREATE INDEX events_by_time ON events (type, system, time_created);
)sql",
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : path_(path) {
    std::error_code fs_ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, fs_ec);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) fail("open", rc);
    sqlite3_busy_timeout(db_.get(), 10'000);
    // WAL with synchronous=FULL: a commit is on disk when it returns, so a
    // 2xx survives kill -9 and power loss.
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
    insert_change_commit_ = prepare(
        "INSERT INTO events (type, system, identifier, source, time_created, received_at) "
        "VALUES ('change', ?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, system, identifier) DO UPDATE "
        "SET time_created = excluded.time_created WHERE events.time_created IS NULL");
    insert_change_push_ = prepare(
        "INSERT INTO events (type, system, identifier, source, time_pushed, received_at) "
        "VALUES ('change', ?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, system, identifier) DO UPDATE "
        "SET time_pushed = excluded.time_pushed "
        "WHERE events.time_pushed IS NULL OR excluded.time_pushed < events.time_pushed");
    insert_other_ = prepare(
        "INSERT INTO events (type, system, identifier, source, time_created, time_resolved, teams, received_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (type, system, identifier) DO NOTHING");
    insert_link_ = prepare("INSERT INTO deployment_changes (deployment, position, change_id) VALUES (?1, ?2, ?3)");
  }

  PutResult put(const std::vector<Event>& events, const std::string& system, std::int64_t now) override {
    std::lock_guard lock(mutex_);
    PutResult result;
    exec("BEGIN IMMEDIATE");
    try {
      for (const auto& e : events) {
        if (put_one(e, system, now)) ++result.stored;
        else ++result.duplicates;
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return result;
  }

  std::vector<StoredEvent> list(const EventQuery& q) override {
    std::lock_guard lock(mutex_);
    std::string sql =
        "SELECT id, type, system, identifier, source, time_created, time_pushed, time_resolved, teams, received_at "
        "FROM events WHERE 1=1";
    if (!q.type.empty()) sql += " AND type = ?1";
    if (q.system) sql += " AND system = ?2";
    if (q.since) sql += " AND COALESCE(time_created, time_pushed) >= ?3";
    sql += " ORDER BY id DESC LIMIT ?4";
    auto stmt = prepare(sql.c_str());
    if (!q.type.empty()) bind_text(stmt.get(), 1, q.type);
    if (q.system) bind_text(stmt.get(), 2, *q.system);
    if (q.since) sqlite3_bind_int64(stmt.get(), 3, *q.since);
    sqlite3_bind_int64(stmt.get(), 4, static_cast<sqlite3_int64>(q.limit));
    auto links = prepare("SELECT change_id FROM deployment_changes WHERE deployment = ?1 ORDER BY position");

    std::vector<StoredEvent> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      StoredEvent e;
      const auto row_id = sqlite3_column_int64(stmt.get(), 0);
      e.type = column_text(stmt.get(), 1);
      e.system = column_text(stmt.get(), 2);
      e.id = column_text(stmt.get(), 3);
      e.source = column_text(stmt.get(), 4);
      e.time_created = column_opt(stmt.get(), 5);
      e.time_pushed = column_opt(stmt.get(), 6);
      e.time_resolved = column_opt(stmt.get(), 7);
      if (e.type == "deployment") {
        boost::system::error_code ec;
        const auto teams = boost::json::parse(column_text(stmt.get(), 8), ec);
        if (!ec && teams.is_array())
          for (const auto& t : teams.as_array())
            if (t.is_string()) e.teams.emplace_back(t.as_string());
        sqlite3_reset(links.get());
        sqlite3_bind_int64(links.get(), 1, row_id);
        while (sqlite3_step(links.get()) == SQLITE_ROW) e.changes.push_back(column_text(links.get(), 0));
      }
      e.received_at = sqlite3_column_int64(stmt.get(), 9);
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) fail("list events", rc);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& step, int rc) const {
    const char* msg = db_ ? sqlite3_errmsg(db_.get()) : sqlite3_errstr(rc);
    throw std::runtime_error("database " + path_ + ": " + step + ": " + (msg ? msg : sqlite3_errstr(rc)));
  }

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "failed";
      sqlite3_free(err);
      throw std::runtime_error("database " + path_ + ": " + msg);
    }
  }

  StmtPtr prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    if (rc != SQLITE_OK) fail("prepare", rc);
    return StmtPtr(raw);
  }

  static void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  static std::string column_text(sqlite3_stmt* s, int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
  static std::optional<std::int64_t> column_opt(sqlite3_stmt* s, int i) {
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s, i);
  }

  void migrate() {
    auto version_stmt = prepare("PRAGMA user_version");
    sqlite3_step(version_stmt.get());
    const int version = sqlite3_column_int(version_stmt.get(), 0);
    version_stmt.reset();
    const int latest = static_cast<int>(std::size(kMigrations));
    if (version > latest)
      throw std::runtime_error("database " + path_ + " has schema version " + std::to_string(version) +
                               ", newer than this pulse-collector knows (" + std::to_string(latest) +
                               "): upgrade pulse-collector");
    for (int v = version; v < latest; ++v) {
      exec("BEGIN IMMEDIATE");
      try {
        exec(kMigrations[v]);
        exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str());
        exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }

  // Returns whether anything was stored.
  bool put_one(const Event& e, const std::string& system, std::int64_t now) {
    if (const auto* c = std::get_if<Change>(&e)) {
      sqlite3_stmt* s = c->event_type == "push" ? insert_change_push_.get() : insert_change_commit_.get();
      sqlite3_reset(s);
      bind_text(s, 1, system);
      bind_text(s, 2, c->change_id);
      bind_text(s, 3, c->source);
      sqlite3_bind_int64(s, 4, c->time_created);
      sqlite3_bind_int64(s, 5, now);
      if (const int rc = sqlite3_step(s); rc != SQLITE_DONE) fail("store change", rc);
      return sqlite3_changes(db_.get()) > 0;
    }
    sqlite3_stmt* s = insert_other_.get();
    sqlite3_reset(s);
    bind_text(s, 1, std::string(type_name(e)));
    bind_text(s, 2, system);
    bind_text(s, 3, identifier(e));
    std::string teams = "[]";
    if (const auto* d = std::get_if<Deployment>(&e)) {
      bind_text(s, 4, d->source);
      sqlite3_bind_int64(s, 5, d->time_created);
      sqlite3_bind_null(s, 6);
      teams = "[";
      for (std::size_t i = 0; i < d->teams.size(); ++i) {
        if (i) teams += ',';
        append_json_string(teams, d->teams[i]);
      }
      teams += "]";
    } else {
      const auto& inc = std::get<Incident>(e);
      bind_text(s, 4, inc.source);
      sqlite3_bind_int64(s, 5, inc.time_created);
      sqlite3_bind_int64(s, 6, inc.time_resolved);
    }
    bind_text(s, 7, teams);
    sqlite3_bind_int64(s, 8, now);
    if (const int rc = sqlite3_step(s); rc != SQLITE_DONE) fail("store " + std::string(type_name(e)), rc);
    if (sqlite3_changes(db_.get()) == 0) return false;
    if (const auto* d = std::get_if<Deployment>(&e)) {
      const auto row = sqlite3_last_insert_rowid(db_.get());
      for (std::size_t i = 0; i < d->changes.size(); ++i) {
        sqlite3_stmt* l = insert_link_.get();
        sqlite3_reset(l);
        sqlite3_bind_int64(l, 1, row);
        sqlite3_bind_int64(l, 2, static_cast<sqlite3_int64>(i));
        bind_text(l, 3, d->changes[i]);
        if (const int rc = sqlite3_step(l); rc != SQLITE_DONE) fail("store deployment changes", rc);
      }
    }
    return true;
  }

  std::string path_;
  DbPtr db_;
  std::mutex mutex_;
  StmtPtr insert_change_commit_, insert_change_push_, insert_other_, insert_link_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path) { return std::make_unique<SqliteStore>(path); }

}  // namespace pulse::collector
