#include "core/client/outbox.hpp"

#include "core/client/connection.hpp"
#include "core/util/env.hpp"
#include "core/util/sys.hpp"
#include "core/client/ingestion.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

namespace pulse {

namespace {
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  key             TEXT NOT NULL UNIQUE,
  base_url        TEXT NOT NULL,
  system          TEXT NOT NULL,
  api_key_file    TEXT NOT NULL,
  body            TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  rejected        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE rejected = 0;
)sql",
};

constexpr const char* kColumns =
    "id, key, base_url, system, api_key_file, body, created_at, attempts, next_attempt_at, last_error, rejected";

OutboxEntry read_entry(sql::Statement& s) {
  OutboxEntry e;
  e.id = s.int64(0);
  e.key = s.text(1);
  e.destination = {s.text(2), s.text(3), s.text(4)};
  e.body = s.text(5);
  e.created_at = s.int64(6);
  e.attempts = s.int64(7);
  e.next_attempt_at = s.int64(8);
  e.last_error = s.text(9);
  e.rejected = s.int64(10) != 0;
  return e;
}
}  // namespace

Outbox::Outbox(const std::string& path, std::int64_t capacity) : db_(path), capacity_(capacity) {
  db_.migrate(kMigrations, "pulse");
}

Enqueued Outbox::enqueue(const std::string& key, const Destination& to, const std::string& body, std::int64_t now) {
  return enqueue_all({{key, body}}, to, now).front();
}

std::vector<Enqueued> Outbox::enqueue_all(const std::vector<std::pair<std::string, std::string>>& items,
                                          const Destination& to, std::int64_t now) {
  std::lock_guard lock(mutex_);
  sql::Transaction txn(db_);
  auto count = db_.prepare("SELECT COUNT(*) FROM outbox");
  count.step();
  std::int64_t size = count.int64(0);
  auto insert = db_.prepare(
      "INSERT OR IGNORE INTO outbox (key, base_url, system, api_key_file, body, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  std::vector<Enqueued> out;
  for (const auto& [key, body] : items) {
    if (size >= capacity_) {
      out.push_back(Enqueued::full);
      continue;
    }
    insert.reset();
    insert.bind(1, key)
        .bind(2, to.base_url)
        .bind(3, to.system)
        .bind(4, to.api_key_file)
        .bind(5, body)
        .bind(6, now)
        .run();
    if (db_.changes() > 0) {
      ++size;
      out.push_back(Enqueued::stored);
    } else {
      out.push_back(Enqueued::duplicate);
    }
  }
  txn.commit();
  return out;
}

std::vector<OutboxEntry> Outbox::due(std::int64_t now, std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(std::string("SELECT ") + kColumns +
                       " FROM outbox WHERE rejected = 0 AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2");
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<OutboxEntry> out;
  while (s.step()) out.push_back(read_entry(s));
  return out;
}

std::vector<OutboxEntry> Outbox::list(std::size_t limit) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(std::string("SELECT ") + kColumns + " FROM outbox ORDER BY id LIMIT ?1");
  s.bind(1, static_cast<std::int64_t>(limit));
  std::vector<OutboxEntry> out;
  while (s.step()) out.push_back(read_entry(s));
  return out;
}

void Outbox::delivered(std::int64_t id) {
  std::lock_guard lock(mutex_);
  db_.prepare("DELETE FROM outbox WHERE id = ?1").bind(1, id).run();
}

void Outbox::delivered_all(const std::vector<std::int64_t>& ids) {
  std::lock_guard lock(mutex_);
  sql::Transaction txn(db_);
  auto remove = db_.prepare("DELETE FROM outbox WHERE id = ?1");
  for (const auto id : ids) {
    remove.reset();
    remove.bind(1, id).run();
  }
  txn.commit();
}

void Outbox::retry_later(std::int64_t id, std::int64_t next_attempt_at, const std::string& error) {
  std::lock_guard lock(mutex_);
  db_.prepare("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1")
      .bind(1, id)
      .bind(2, next_attempt_at)
      .bind(3, error)
      .run();
}

void Outbox::reject(std::int64_t id, const std::string& error) {
  std::lock_guard lock(mutex_);
  db_.prepare("UPDATE outbox SET attempts = attempts + 1, rejected = 1, last_error = ?2 WHERE id = ?1")
      .bind(1, id)
      .bind(2, error)
      .run();
}

std::int64_t Outbox::purge(bool everything) {
  std::lock_guard lock(mutex_);
  db_.exec(everything ? "DELETE FROM outbox" : "DELETE FROM outbox WHERE rejected = 1");
  return db_.changes();
}

OutboxStats Outbox::stats() {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(
      "SELECT COALESCE(SUM(rejected = 0 AND NOT patch), 0), COALESCE(SUM(rejected = 1), 0), "
      "MIN(CASE WHEN rejected = 0 THEN created_at END), COALESCE(SUM(rejected = 0 AND patch), 0) "
      "FROM (SELECT rejected, created_at, substr(key, 1, length(?1)) = ?1 AS patch FROM outbox)");
  s.bind(1, kPatchKeyPrefix);
  s.step();
  return {s.int64(0), s.int64(1), s.optional_int64(2), s.int64(3)};
}

std::int64_t Outbox::retarget(const std::string& from_url, const std::string& to_url, const std::string& key_prefix,
                              const std::optional<std::string>& api_key_file, bool set_aside_too) {
  std::lock_guard lock(mutex_);
  auto s = db_.prepare(
      "UPDATE outbox SET base_url = ?1, api_key_file = COALESCE(?4, api_key_file), rejected = 0, attempts = 0, "
      "next_attempt_at = 0, last_error = '' "
      "WHERE (?2 = '' OR base_url = ?2) AND substr(key, 1, length(?3)) = ?3 AND (?5 OR rejected = 0) "
      "AND (base_url != ?1 OR COALESCE(?4, api_key_file) != api_key_file)");
  s.bind(1, to_url).bind(2, from_url).bind(3, key_prefix).bind(5, std::int64_t{set_aside_too});
  if (api_key_file) s.bind(4, *api_key_file);
  else s.bind_null(4);
  s.run();
  return db_.changes();
}

std::string default_outbox_path(const Env& env) {
  if (const auto x = env.non_empty("PULSE_OUTBOX")) return *x;
  return state_dir(env) + "/outbox.db";
}

FileLock::FileLock(const std::string& path) {
  std::error_code ec;
  if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent, ec);
  fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd_ && ::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) fd_.reset();
}

namespace {
std::string read_key(const Destination& d, const Env& env) {
  if (!d.api_key_file.empty()) return read_first_line(d.api_key_file).value_or("");
  return env.non_empty("PULSE_API_KEY").value_or("");
}
}  // namespace

FlushReport flush_outbox(Outbox& outbox, const Env& env, std::int64_t now,
                         const std::function<void(const std::string&)>& log, bool ignore_backoff) {
  FlushReport report;
  FileLock lock(outbox.path() + ".lock");
  if (!lock.held()) {
    report.locked_out = true;
    return report;
  }
  std::map<Destination, std::vector<OutboxEntry>> groups;
  for (auto& e : outbox.due(ignore_backoff ? INT64_MAX : now, 10'000)) groups[e.destination].push_back(std::move(e));
  SystemClock clock;
  for (auto& [dest, entries] : groups) {
    std::string why;
    const auto origin = parse_origin(dest.base_url, why);
    if (!origin) {
      for (const auto& e : entries) outbox.reject(e.id, "base URL " + dest.base_url + ": " + why);
      report.rejected += static_cast<int>(entries.size());
      continue;
    }
    // A flush runs in the background and tries again later: short bounds.
    ServerConnection conn;
    conn.origin = *origin;
    conn.base_url = dest.base_url;
    conn.api_key = read_key(dest, env);
    conn.client.timeouts.total = std::chrono::seconds(20);
    conn.client.tls.ca_file = env.non_empty("PULSE_CA_FILE").value_or("");
    conn.client.proxy = proxy_for(*origin, env, why);
    conn.client.proxy_for_origin = proxies_from(env);  // where a redirect leads
    conn.retry.max_attempts = 2;
    conn.retry.max_total = std::chrono::seconds(10);
    HttpClient client(*origin, conn.client);
    IngestionClient sender(client, clock, ingestion_config(conn, dest.system, "pulse-event-cli", env), nullptr);
    bool unreachable = false;
    int delivered = 0;
    // One entry on its own; a patch-id record counts apart from events.
    const auto send_one = [&](const OutboxEntry& e) {
      const auto r = sender.send_body(e.body);
      if (r.status == Delivery::delivered && e.key.starts_with(kPatchKeyPrefix)) {
        outbox.delivered(e.id);
        ++report.patch_records;
      } else if (r.status == Delivery::delivered) {
        outbox.delivered(e.id);
        ++report.delivered;
        ++delivered;
      } else if (r.status == Delivery::rejected) {
        outbox.reject(e.id, r.reason);
        ++report.rejected;
        if (log) log("set aside " + e.key + ": " + r.reason);
      } else {
        outbox.retry_later(e.id, now + outbox_backoff_seconds(e.attempts), r.reason);
        ++report.failed;
        unreachable = r.http_status == 0;
        if (log) log("could not deliver to " + origin->to_string() + ": " + r.reason);
      }
    };
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      if (unreachable) {  // one dead destination: do not hammer it once per event
        outbox.retry_later(e.id, now + outbox_backoff_seconds(e.attempts),
                           "not tried: destination unreachable in this flush");
        ++report.failed;
        continue;
      }
      if (e.key.starts_with(kPatchKeyPrefix)) {
        sender.learn_extensions();  // asks only when no answer told it yet
        const auto offered = sender.offers("patches");
        if (!offered) {  // no answer at all: try again later
          outbox.retry_later(e.id, now + outbox_backoff_seconds(e.attempts), "not tried: no answer from the server");
          ++report.failed;
          unreachable = true;
          continue;
        }
        if (!*offered) {  // a server without the extension: nothing of it to send
          outbox.delivered(e.id);
          continue;
        }
        send_one(e);
        continue;
      }
      // Events in batches where the server offers them (its first answer
      // tells): a backlog of thousands leaves in seconds, one transaction
      // per batch. A refused batch is sent again event by event, so only
      // the event at fault is set aside.
      std::vector<const std::string*> bodies;
      std::size_t bytes = 0, end = i;
      for (; end < entries.size() && bodies.size() < sender.batch_limit() &&
             !entries[end].key.starts_with(kPatchKeyPrefix) &&
             (bodies.empty() || bytes + entries[end].body.size() + 2 <= kMaxBatchBytes);
           ++end) {
        bodies.push_back(&entries[end].body);
        bytes += entries[end].body.size() + 1;
      }
      if (bodies.size() < 2) {
        send_one(e);
        continue;
      }
      const auto r = sender.send_bodies(bodies);
      if (r.status == Delivery::delivered) {
        std::vector<std::int64_t> ids;
        for (std::size_t k = i; k < end; ++k) ids.push_back(entries[k].id);
        outbox.delivered_all(ids);
        report.delivered += static_cast<int>(ids.size());
        delivered += static_cast<int>(ids.size());
      } else if (r.status == Delivery::rejected) {
        // One by one, so only the events at fault are set aside.
        for (std::size_t k = i; k < end; ++k) {
          if (!unreachable) {
            send_one(entries[k]);
            continue;
          }
          outbox.retry_later(entries[k].id, now + outbox_backoff_seconds(entries[k].attempts),
                             "not tried: destination unreachable in this flush");
          ++report.failed;
        }
      } else {
        for (std::size_t k = i; k < end; ++k)
          outbox.retry_later(entries[k].id, now + outbox_backoff_seconds(entries[k].attempts), r.reason);
        report.failed += static_cast<int>(end - i);
        unreachable = r.http_status == 0;
        if (log) log("could not deliver to " + origin->to_string() + ": " + r.reason);
      }
      i = end - 1;
    }
    if (log && delivered)
      log("delivered " + std::to_string(delivered) + " event(s) to " + origin->to_string() +
          (dest.system.empty() ? "" : " (system " + dest.system + ")"));
  }
  return report;
}

FlushReport flush_outbox_when_free(Outbox& outbox, const Env& env, const std::function<void(const std::string&)>& log,
                                   bool ignore_backoff, std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto r = flush_outbox(outbox, env, unix_now(), log, ignore_backoff);
    if (!r.locked_out || std::chrono::steady_clock::now() >= until) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace pulse
