// Server logs: one line per record, with time, level and the program's
// name, as text (`TIME LEVEL PROGRAM: message key=value ...`) or as one
// JSON object per line, at a minimum level. Lines are written whole, so
// concurrent writers never interleave.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pulse {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { text, json };

/// "debug", "info", "warn" (or "warning"), "error"; nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view s);
/// "text" or "json".
std::optional<LogFormat> parse_log_format(std::string_view s);
std::string_view log_level_name(LogLevel l);

struct LogField {
  std::string_view key;
  std::string value;
};

class Logger {
 public:
  /// `out` is borrowed. `now_ms` (Unix milliseconds) is for tests; empty: the clock.
  Logger(std::ostream& out, std::string program, LogLevel level = LogLevel::info, LogFormat format = LogFormat::text,
         std::function<std::int64_t()> now_ms = {});
  ~Logger();
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  /// Info and debug lines (one per request, at thousands a second) are
  /// then written by a thread of their own, in one write every 100 ms or
  /// 64 KiB; warnings and errors still go out at once, after what waits,
  /// so the order holds. Call before logging from several threads.
  void buffer_info_lines();
  /// Writes what waits. Thread-safe.
  void flush();

  bool enabled(LogLevel l) const { return l >= level_.load(std::memory_order_relaxed); }
  /// Thread-safe (a reload may change it).
  void set_level(LogLevel l) { level_.store(l, std::memory_order_relaxed); }
  /// Thread-safe. Text that is not clean (control characters, bad UTF-8)
  /// is escaped, so a log line never carries a terminal escape.
  void write(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) {
    write(level, message, std::vector<LogField>(fields));
  }
  void write(LogLevel level, std::string_view message, const std::vector<LogField>& fields);
  void info(std::string_view message) { write(LogLevel::info, message); }
  void warn(std::string_view message) { write(LogLevel::warn, message); }
  void error(std::string_view message) { write(LogLevel::error, message); }
  /// An info line shown at every level: start-up ("listening on ...") and stop.
  void always(std::string_view message);

  /// For components that report one line of text: each at `level`.
  std::function<void(const std::string&)> sink(LogLevel level);

 private:
  void format(LogLevel level, std::string_view message, const std::vector<LogField>& fields);

  std::ostream& out_;
  std::string program_;
  std::atomic<LogLevel> level_;
  LogFormat format_;
  std::function<std::int64_t()> now_ms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string pending_;  ///< buffered lines not yet written (under mutex_)
  bool buffering_ = false, stopping_ = false;
  std::thread writer_;
};

/// A short random id ("3f9a0c12") naming one internal error in both the
/// answer a client sees and the log line that has the details.
std::string new_error_id();

/// Lets `burst` events through per `period` and counts the ones it holds
/// back, so a flood (failed logins, say) cannot fill the log. Thread-safe.
class RateLimit {
 public:
  RateLimit(std::size_t burst, std::chrono::steady_clock::duration period) : burst_(burst), period_(period) {}
  /// True to let this one through; `suppressed` then says how many were
  /// held back since the last one let through.
  bool allow(std::size_t& suppressed);

 private:
  std::size_t burst_;
  std::chrono::steady_clock::duration period_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point window_start_{};
  std::size_t in_window_ = 0;
  std::size_t held_ = 0;
};

}  // namespace pulse
