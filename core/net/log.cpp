#include "core/net/log.hpp"

#include "core/event/event.hpp"  // append_json_string
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <cstdio>
#include <random>
#include <utility>

namespace pulse {

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn" || s == "warning") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view s) {
  if (s == "text") return LogFormat::text;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

std::string_view log_level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

Logger::Logger(std::ostream& out, std::string program, LogLevel level, LogFormat format,
               std::function<std::int64_t()> now_ms)
    : out_(out), program_(std::move(program)), level_(level), format_(format), now_ms_(std::move(now_ms)) {
  if (!now_ms_)
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
}

namespace {

// 2026-12-02T03:40:01.123Z
std::string timestamp(std::int64_t ms) {
  std::string t = format_rfc3339(ms / 1000);  // ...Z
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms % 1000));
  t.insert(t.size() - 1, frac);
  return t;
}

// logfmt: bare when it can be, else quoted with \" and \\ escaped.
void append_value(std::string& out, std::string_view v) {
  const bool bare = !v.empty() && v.find_first_of(" \"=\\") == std::string_view::npos;
  if (bare) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

void Logger::always(std::string_view message) { format(LogLevel::info, message, {}); }

void Logger::write(LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
  if (enabled(level)) format(level, message, fields);
}

void Logger::format(LogLevel level, std::string_view message, const std::vector<LogField>& fields) {
  std::string line;
  line.reserve(160);
  const std::string when = timestamp(now_ms_());
  if (format_ == LogFormat::json) {
    line = "{\"time\":\"" + when + "\",\"level\":\"" + std::string(log_level_name(level)) + "\",\"program\":";
    append_json_string(line, program_);
    line += ",\"msg\":";
    append_json_string(line, printable(message));
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      append_json_string(line, printable(f.value));
    }
    line += "}\n";
  } else {
    line = when;
    line += ' ';
    line += log_level_name(level);
    line += ' ';
    line += program_;
    line += ": ";
    line += printable(message);
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      append_value(line, printable(f.value));
    }
    line += '\n';
  }
  std::lock_guard lock(mutex_);
  if (buffering_ && level <= LogLevel::info) {
    pending_ += line;
    if (pending_.size() >= 65536) cv_.notify_one();
    return;
  }
  out_ << std::exchange(pending_, {}) << line << std::flush;
}

Logger::~Logger() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  flush();
}

void Logger::buffer_info_lines() {
  std::lock_guard lock(mutex_);
  if (buffering_) return;
  buffering_ = true;
  writer_ = std::thread([this] {
    std::unique_lock held(mutex_);
    while (!stopping_) {
      cv_.wait_for(held, std::chrono::milliseconds(100), [&] { return stopping_ || pending_.size() >= 65536; });
      // Under the lock, so that a warning written at once never overtakes
      // lines buffered before it: one write per batch, not per line.
      if (!pending_.empty()) out_ << std::exchange(pending_, {}) << std::flush;
    }
  });
}

void Logger::flush() {
  std::lock_guard lock(mutex_);
  if (!pending_.empty()) out_ << std::exchange(pending_, {}) << std::flush;
}

std::function<void(const std::string&)> Logger::sink(LogLevel level) {
  return [this, level](const std::string& line) { write(level, line); };
}

std::string new_error_id() {
  static std::atomic<std::uint32_t> counter{static_cast<std::uint32_t>(std::random_device{}())};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", counter.fetch_add(0x9E3779B9u));
  return buf;
}

bool RateLimit::allow(std::size_t& suppressed) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (now - window_start_ >= period_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++held_;
    return false;
  }
  ++in_window_;
  suppressed = std::exchange(held_, 0);
  return true;
}

}  // namespace pulse
