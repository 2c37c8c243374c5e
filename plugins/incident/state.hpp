// Incidents kept durably in SQLite: open ones until they resolve, resolved
// ones until they are handed to the outbox. Thread-safe.
#pragma once

#include "plugins/incident/model.hpp"
#include "core/db/sqlite.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pulse::incident {

struct StoredIncident {
  std::string identifier;
  std::string source;
  std::string system;
  std::int64_t created = 0;
  std::optional<std::int64_t> resolved;
  std::optional<std::int64_t> reported_at;  ///< when it was handed to the outbox
  std::int64_t attempts = 0;
  std::string report_error;
  bool rejected = false;
  std::string environment;  ///< "": the collector's default (production)
};

struct ApplyResult {
  int opened = 0;
  int resolved = 0;   ///< became complete (and so due for reporting)
  int unchanged = 0;  ///< repeats, duplicates, late deliveries
  int ignored = 0;    ///< left out by the route's label matchers
  bool duplicate_delivery = false;
  std::vector<std::string> notes;  ///< stale notifications ignored, episodes closed by a newer one: for the log
};

class State {
 public:
  /// Opens or creates the database; throws std::runtime_error naming it.
  explicit State(const std::string& path);

  /// Applies one notification's observations in one transaction, each
  /// opened under its own system and environment. A filtered observation
  /// only resolves an incident already open. A non-empty `delivery_id`
  /// already seen for this source changes nothing.
  ApplyResult apply(const SourceSpec& source, const std::vector<Observation>& observations,
                    const std::string& delivery_id, std::int64_t now);

  /// Resolved incidents not yet reported whose next attempt is due.
  std::vector<StoredIncident> due_reports(std::int64_t now, std::size_t limit);
  /// Marks these incidents reported (queued), in one transaction.
  void mark_reported_all(const std::vector<std::string>& identifiers, std::int64_t now);
  void mark_retry(const std::string& identifier, std::int64_t next_attempt, const std::string& error);

  /// How many incidents are open now.
  std::int64_t open_count();
  /// Resolved incidents not yet handed to the outbox (rejected ones aside).
  std::int64_t waiting_count();

  /// Open incidents, then the `recent` most recently resolved ones.
  std::vector<StoredIncident> list(std::size_t recent);

 private:
  StoredIncident row(sql::Statement& s);

  std::mutex mutex_;
  sql::Database db_;
};

}  // namespace pulse::incident
