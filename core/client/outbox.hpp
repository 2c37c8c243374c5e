// The durable outbox: events waiting for delivery, in one SQLite database
// per user. An event is in it once enqueue() returned and leaves it only
// after a 2xx; a 4xx sets it aside with the reason. One flusher at a time
// (an advisory file lock beside the database).
#pragma once

#include "core/util/fd.hpp"
#include "core/db/sqlite.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace pulse {

class Env;

/// Where events go: enough to deliver them later, without the key itself
/// (it is read at delivery time from `api_key_file` or $PULSE_API_KEY).
struct Destination {
  std::string base_url;
  std::string system;
  std::string api_key_file;
  bool operator<(const Destination& o) const {
    return std::tie(base_url, system, api_key_file) < std::tie(o.base_url, o.system, o.api_key_file);
  }
};

/// Keys of entries that carry the "patches" extension (a change's patch-ids
/// and author time): delivered only to a collector that offers it, dropped
/// for any other server (the plain push event went in its own entry).
inline constexpr std::string_view kPatchKeyPrefix = "patch:";

struct OutboxEntry {
  std::int64_t id = 0;
  std::string key;  ///< idempotency key: enqueuing the same key twice stores it once
  Destination destination;
  std::string body;  ///< the wire body
  std::int64_t created_at = 0;
  std::int64_t attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
  bool rejected = false;
};

enum class Enqueued { stored, duplicate, full };

struct OutboxStats {
  std::int64_t pending = 0;
  std::int64_t rejected = 0;
  std::optional<std::int64_t> oldest;  ///< created_at of the oldest pending event
  std::int64_t patch_records = 0;      ///< waiting patch-id records (kPatchKeyPrefix), not counted in `pending`
};

class Outbox {
 public:
  static constexpr std::int64_t kDefaultCapacity = 100'000;

  /// Opens or creates the outbox database; throws std::runtime_error.
  explicit Outbox(const std::string& path, std::int64_t capacity = kDefaultCapacity);

  /// Durable when it returns (committed with synchronous=FULL).
  Enqueued enqueue(const std::string& key, const Destination& to, const std::string& body, std::int64_t now);
  /// Several events in one transaction.
  std::vector<Enqueued> enqueue_all(const std::vector<std::pair<std::string, std::string>>& key_and_body,
                                    const Destination& to, std::int64_t now);

  std::vector<OutboxEntry> due(std::int64_t now, std::size_t limit);
  std::vector<OutboxEntry> list(std::size_t limit);
  void delivered(std::int64_t id);
  /// Several delivered events, in one transaction.
  void delivered_all(const std::vector<std::int64_t>& ids);
  void retry_later(std::int64_t id, std::int64_t next_attempt_at, const std::string& error);
  void reject(std::int64_t id, const std::string& error);
  /// Removes set-aside events (all events with `everything`); returns how many.
  std::int64_t purge(bool everything);
  OutboxStats stats();
  /// Sends waiting events, and set-aside ones with `set_aside_too` (tried
  /// again then), to `to_url` instead: those queued for `from_url`, or all
  /// with it empty; only those whose key starts with `key_prefix`, when
  /// given. With `api_key_file`, the key is read from there from now on.
  /// Returns how many moved.
  std::int64_t retarget(const std::string& from_url, const std::string& to_url, const std::string& key_prefix = "",
                        const std::optional<std::string>& api_key_file = std::nullopt, bool set_aside_too = true);
  const std::string& path() const { return db_.path(); }

 private:
  std::mutex mutex_;
  sql::Database db_;
  std::int64_t capacity_;
};

/// $PULSE_OUTBOX, else outbox.db in the state directory (state_dir: $XDG_STATE_HOME/pulse,
/// ~/.local/state/pulse).
std::string default_outbox_path(const Env& env);

/// An exclusive, non-blocking advisory lock on `path` (created if needed),
/// released on destruction or process death.
class FileLock {
 public:
  explicit FileLock(const std::string& path);
  bool held() const { return static_cast<bool>(fd_); }

 private:
  Fd fd_;  // closing it releases the lock
};

struct FlushReport {
  int delivered = 0;      ///< events
  int patch_records = 0;  ///< patch-id records delivered (kPatchKeyPrefix), not counted as events
  int rejected = 0;
  int failed = 0;           ///< left for a later flush
  bool locked_out = false;  ///< another flusher is at work
};

/// Delivers every due event (every waiting one with `ignore_backoff`), one
/// connection per destination. Takes the flusher lock (`<outbox>.lock`);
/// returns locked_out if another flusher holds it. Failed events are
/// retried later with backoff (30 s doubling, capped at 1 h).
FlushReport flush_outbox(Outbox& outbox, const Env& env, std::int64_t now,
                         const std::function<void(const std::string&)>& log, bool ignore_backoff = false);

/// flush_outbox now, and while another flusher holds the lock, waits for it
/// (looking every 500 ms, at most `wait`) and flushes again, so that events
/// queued meanwhile are not stranded; locked_out only when the wait ran out.
FlushReport flush_outbox_when_free(Outbox& outbox, const Env& env, const std::function<void(const std::string&)>& log,
                                   bool ignore_backoff, std::chrono::milliseconds wait = std::chrono::seconds(30));

}  // namespace pulse
