// What both servers record about their requests: the Prometheus series
// (requests by route, method and status, latency, open connections) and
// one log line per request, with refusals (401, 403) rate-limited.
#pragma once

#include "core/cmdline/args.hpp"
#include "core/net/http_server.hpp"
#include "core/net/log.hpp"
#include "core/net/telemetry.hpp"

#include <functional>
#include <string_view>

namespace pulse {

class ServerTelemetry {
 public:
  /// `route_of` maps a path to one of a bounded set of route names
  /// ("/v1/events", "other"), so scans of random paths cannot grow the
  /// series without end. Registry and logger are borrowed.
  ServerTelemetry(telemetry::Registry& registry, Logger& log,
                  std::function<std::string_view(std::string_view)> route_of);

  /// Called by the server after every answer (ServerOptions::on_request).
  void record(const RequestRecord& r);
  /// Exports the server's open and evicted connections at each scrape.
  void watch(const HttpServer& server);

 private:
  telemetry::Registry& registry_;
  Logger& log_;
  std::function<std::string_view(std::string_view)> route_of_;
  telemetry::Family<telemetry::Counter>& requests_;
  telemetry::Family<telemetry::Histogram>& latency_;
  RateLimit refusals_{10, std::chrono::seconds(10)};
};

/// The logging flags both servers take: --log-level and --log-format
/// ($PULSE_LOG_LEVEL, $PULSE_LOG_FORMAT).
std::vector<FlagSpec> logging_flags();
/// Reads them; false with `why` naming the flag.
bool read_logging(const ParsedArgs& a, LogLevel& level, LogFormat& format, std::string& why);

/// How a server listens and logs, read from the flag names both servers
/// declare (--bind, --port, --tls-cert, --tls-key, --threads,
/// --max-connections, --timeout, --idle-timeout where declared,
/// --public-host, the logging flags); each binary keeps its own defaults,
/// help and variables.
struct ListenSettings {
  std::string bind, tls_cert, tls_key;
  unsigned long port = 0, threads = 0, max_connections = 0, timeout = 0;
  unsigned long idle_timeout = 60;  ///< for servers without --idle-timeout: the server's own default
  std::vector<std::string> public_hosts;
  LogLevel log_level = LogLevel::info;
  LogFormat log_format = LogFormat::text;
};
/// Reads them; false with `why` naming the flag out of range.
bool read_listen_settings(const ParsedArgs& a, ListenSettings& s, std::string& why);
/// The options they set (the caller adds handlers, limits and telemetry).
ServerOptions listen_options(const ListenSettings& s);

/// The settings a reload found changed that only a restart applies, for
/// the log: `note(changed, "port")`, then `text()` ("port, db").
class RestartNotes {
 public:
  void note(bool changed, std::string_view name) {
    if (changed) text_ += (text_.empty() ? "" : ", ") + std::string(name);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

/// Notes what changed between two ListenSettings that a reload cannot apply.
void note_restarts(const ListenSettings& now, const ListenSettings& next, RestartNotes& notes);

}  // namespace pulse
