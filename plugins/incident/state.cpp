#include "plugins/incident/state.hpp"

#include <string_view>

namespace pulse::incident {

namespace {
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE incidents (
  identifier      TEXT PRIMARY KEY,
  source          TEXT NOT NULL,
  key             TEXT NOT NULL,
  system          TEXT NOT NULL,
  created         INTEGER NOT NULL,
  resolved        INTEGER,
  received_at     INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  reported_at     INTEGER,
  report_attempts INTEGER NOT NULL DEFAULT 0,
  next_report_at  INTEGER NOT NULL DEFAULT 0,
  report_error    TEXT NOT NULL DEFAULT '',
  rejected        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_open ON incidents (source, key) WHERE resolved IS NULL;
CREATE INDEX incidents_due ON incidents (next_report_at)
  WHERE resolved IS NOT NULL AND reported_at IS NULL AND rejected = 0;
CREATE TABLE deliveries (
  source      TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (source, delivery_id)
);
)sql",
    // 2: the environment an incident happened in ("": the collector's default).
    "ALTER TABLE incidents ADD COLUMN environment TEXT NOT NULL DEFAULT ''",
};

constexpr const char* kColumns =
    "identifier, source, system, created, resolved, reported_at, report_attempts, report_error, rejected, environment";
// Resolved and not yet handed to the outbox (the incidents_due index's predicate).
constexpr std::string_view kWaitingToReport = "resolved IS NOT NULL AND reported_at IS NULL AND rejected = 0";
}  // namespace

State::State(const std::string& path) : db_(path) { db_.migrate(kMigrations, "pulse-incident"); }

StoredIncident State::row(sql::Statement& s) {
  StoredIncident i;
  i.identifier = s.text(0);
  i.source = s.text(1);
  i.system = s.text(2);
  i.created = s.int64(3);
  i.resolved = s.optional_int64(4);
  i.reported_at = s.optional_int64(5);
  i.attempts = s.int64(6);
  i.report_error = s.text(7);
  i.rejected = s.int64(8) != 0;
  i.environment = s.text(9);
  return i;
}

namespace {

// The statements one notification's observations run, in its transaction.
class Episodes {
 public:
  Episodes(sql::Database& db, const SourceSpec& source, std::int64_t now)
      : source_(source),
        now_(now),
        find_open_(db.prepare(
            "SELECT identifier, created FROM incidents WHERE source = ?1 AND key = ?2 AND resolved IS NULL")),
        exists_(db.prepare("SELECT 1 FROM incidents WHERE identifier = ?1")),
        insert_(db.prepare("INSERT INTO incidents (identifier, source, key, system, created, resolved, received_at, "
                           "updated_at, environment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)")),
        resolve_(db.prepare("UPDATE incidents SET resolved = ?2, updated_at = ?3 WHERE identifier = ?1")) {}

  // The open episode of a key: its identifier and start.
  std::optional<std::pair<std::string, std::int64_t>> open(const std::string& key) {
    find_open_.reset();
    find_open_.bind(1, source_.name).bind(2, key);
    std::optional<std::pair<std::string, std::int64_t>> out;
    if (find_open_.step()) out.emplace(find_open_.text(0), find_open_.int64(1));
    find_open_.reset();
    return out;
  }
  bool known(const std::string& identifier) {
    exists_.reset();
    exists_.bind(1, identifier);
    const bool found = exists_.step();
    exists_.reset();
    return found;
  }
  void close(const std::string& identifier, std::int64_t at) {
    resolve_.reset();
    resolve_.bind(1, identifier).bind(2, at).bind(3, now_).run();
  }
  void add(const std::string& identifier, const Observation& o) {
    insert_.reset();
    insert_.bind(1, identifier).bind(2, source_.name).bind(3, o.key).bind(4, o.system).bind(5, o.created);
    if (o.resolved) insert_.bind(6, *o.resolved);
    else insert_.bind_null(6);
    insert_.bind(7, now_).bind(8, o.environment).run();
  }

 private:
  const SourceSpec& source_;
  std::int64_t now_;
  sql::Statement find_open_, exists_, insert_, resolve_;
};

// One observation against what is stored: opens, resolves, or changes
// nothing, counted in `result`.
void apply_one(Episodes& episodes, const SourceSpec& source, const Observation& o, ApplyResult& result) {
  auto open = episodes.open(o.key);
  const std::string id = incident_identifier(source, o);
  // Where a key repeats across episodes (Alertmanager, Grafana), the start
  // tells them apart: a notification for another start than the open
  // episode's is not about it.
  const bool same_episode = open && (!source.episodes || open->first == id);
  if (o.filtered && !(same_episode && o.status == Status::resolved)) {
    ++result.ignored;  // left out by the route's matchers: opens and closes nothing
    return;
  }
  if (open && !same_episode && o.created < open->second) {
    // About an earlier episode: a late or repeated notification.
    if (episodes.known(id) || o.status == Status::firing) {
      result.notes.push_back("ignored a stale " + std::string(o.status == Status::firing ? "firing" : "resolved") +
                             " notification for " + id + " (episode " + open->first + " is open)");
      ++result.unchanged;
      return;
    }
    episodes.add(id, o);  // an earlier episode whose firing was never seen, complete
    ++result.resolved;
    return;
  }
  if (open && !same_episode) {
    // A newer episode began: the open one had ended by then.
    episodes.close(open->first, std::max(o.created, open->second));
    result.notes.push_back("closed " + open->first + " at the start of the newer episode " + id +
                           " (its resolved notification never came)");
    ++result.resolved;
    open.reset();
  }
  if (o.status == Status::firing) {
    if (open || episodes.known(id)) {  // a repeat, or a late firing of an episode already resolved: never reopen
      ++result.unchanged;
      return;
    }
    episodes.add(id, o);
    ++result.opened;
    return;
  }
  if (open) {  // resolved
    episodes.close(open->first, std::max(*o.resolved, open->second));
    ++result.resolved;
  } else if (episodes.known(id)) {  // already resolved: a duplicate
    result.notes.push_back("ignored a repeated resolved notification for " + id);
    ++result.unchanged;
  } else {  // the firing was never seen: the payload carries the start, so the incident is complete
    episodes.add(id, o);
    ++result.resolved;
  }
}

}  // namespace

ApplyResult State::apply(const SourceSpec& source, const std::vector<Observation>& observations,
                         const std::string& delivery_id, std::int64_t now) {
  std::lock_guard lock(mutex_);
  ApplyResult result;
  sql::Transaction txn(db_);
  if (!delivery_id.empty()) {
    db_.prepare("INSERT OR IGNORE INTO deliveries (source, delivery_id, received_at) VALUES (?1, ?2, ?3)")
        .bind(1, source.name)
        .bind(2, delivery_id)
        .bind(3, now)
        .run();
    if (db_.changes() == 0) {
      result.duplicate_delivery = true;
      result.unchanged = static_cast<int>(observations.size());
      return result;  // rolled back: nothing to keep
    }
  }
  Episodes episodes(db_, source, now);
  for (const auto& o : observations) apply_one(episodes, source, o, result);
  if (result.opened || result.resolved || !delivery_id.empty()) txn.commit();
  for (auto& n : result.notes) n = std::string(source.name) + ": " + n;
  return result;
}

std::vector<StoredIncident> State::due_reports(std::int64_t now, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM incidents WHERE " + std::string(kWaitingToReport) +
                       " AND next_report_at <= ?1 ORDER BY next_report_at, resolved LIMIT ?2");
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<StoredIncident> out;
  while (s.step()) out.push_back(row(s));
  return out;
}

void State::mark_reported_all(const std::vector<std::string>& identifiers, std::int64_t now) {
  std::lock_guard lock(mutex_);
  sql::Transaction txn(db_);
  auto update = db_.prepare(
      "UPDATE incidents SET reported_at = ?2, report_attempts = report_attempts + 1, report_error = '' "
      "WHERE identifier = ?1");
  for (const auto& id : identifiers) {
    update.reset();
    update.bind(1, id).bind(2, now).run();
  }
  txn.commit();
}

void State::mark_retry(const std::string& identifier, std::int64_t next_attempt, const std::string& error) {
  std::lock_guard lock(mutex_);
  db_.prepare(
         "UPDATE incidents SET next_report_at = ?2, report_attempts = report_attempts + 1, report_error = ?3 "
         "WHERE identifier = ?1")
      .bind(1, identifier)
      .bind(2, next_attempt)
      .bind(3, error)
      .run();
}

std::int64_t State::open_count() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT COUNT(*) FROM incidents WHERE resolved IS NULL");
  s.step();
  return s.int64(0);
}

std::int64_t State::waiting_count() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare("SELECT COUNT(*) FROM incidents WHERE " + std::string(kWaitingToReport));
  s.step();
  return s.int64(0);
}

std::vector<StoredIncident> State::list(std::size_t recent) {
  std::lock_guard lock(mutex_);
  std::vector<StoredIncident> out;
  auto open =
      db_.prepare(std::string("SELECT ") + kColumns + " FROM incidents WHERE resolved IS NULL ORDER BY created DESC");
  while (open.step()) out.push_back(row(open));
  auto done =
      db_.prepare(std::string("SELECT ") + kColumns +
                  " FROM incidents WHERE resolved IS NOT NULL ORDER BY updated_at DESC, resolved DESC LIMIT ?1");
  done.bind(1, static_cast<std::int64_t>(recent));
  while (done.step()) out.push_back(row(done));
  return out;
}

}  // namespace pulse::incident
