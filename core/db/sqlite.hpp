// A thin RAII layer over SQLite: the only file that includes <sqlite3.h> is
// sqlite.cpp. Errors throw std::runtime_error naming the database file and
// the step; callers that must not fail map them to their own answers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace pulse::sql {

class Database;

/// A prepared statement. Movable; finalized on destruction.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::optional<std::int64_t> value);
  Statement& bind_null(int index);
  /// Runs one step: true while a row is available, false when done.
  bool step();
  /// Runs to completion (for statements without rows).
  void run();
  /// Clears bindings' effects so the statement can run again.
  void reset();

  std::string text(int column) const;
  /// Valid until the next step() or reset().
  std::string_view text_view(int column) const;
  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;

 private:
  friend class Database;
  Statement(Database& db, sqlite3_stmt* stmt);
  Database* db_;
  sqlite3_stmt* stmt_;
};

/// One connection. Not thread-safe: guard it, or use one per thread.
class Database {
 public:
  /// Opens or creates `path` (and its parent folders) in WAL mode with
  /// synchronous=FULL: a committed transaction survives kill -9 and power loss.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const std::string& sql);
  Statement prepare(std::string_view sql);
  int changes() const;
  std::int64_t last_insert_rowid() const;
  const std::string& path() const { return path_; }

  /// Applies the migrations not yet applied (PRAGMA user_version counts them),
  /// each in its own transaction. Refuses a database newer than `migrations`.
  void migrate(std::span<const char* const> migrations, std::string_view program);

  [[noreturn]] void fail(std::string_view step) const;
  void set_wal_mode();

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

/// BEGIN IMMEDIATE on construction; rolls back on destruction unless
/// commit() was called. Never throws from the destructor.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace pulse::sql
