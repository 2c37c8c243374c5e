#include "core/net/server_telemetry.hpp"

#include "core/util/text.hpp"

#include <cstdio>

namespace pulse {

ServerTelemetry::ServerTelemetry(telemetry::Registry& registry, Logger& log,
                                 std::function<std::string_view(std::string_view)> route_of)
    : registry_(registry),
      log_(log),
      route_of_(std::move(route_of)),
      requests_(registry.counter("pulse_http_requests_total", "HTTP requests answered, by route, method and status",
                                 {"route", "method", "status"})),
      latency_(registry.histogram("pulse_http_request_duration_seconds",
                                  "Time from a request's headers read to its answer sent", telemetry::latency_bounds(),
                                  {"route"})) {}

void ServerTelemetry::record(const RequestRecord& r) {
  const std::string route(r.method == "-" ? std::string_view("-") : route_of_(r.path));
  const std::string method(r.method == "GET" || r.method == "POST" || r.method == "HEAD" || r.method == "-"
                               ? r.method
                               : std::string_view("other"));
  requests_.with({route, method, std::to_string(r.status)}).inc();
  if (r.method != "-") latency_.with({route}).observe(r.seconds);

  const bool refused = r.status == 401 || r.status == 403;
  const LogLevel level = refused ? LogLevel::warn : LogLevel::info;
  if (!log_.enabled(level)) return;
  std::size_t suppressed = 0;
  if (refused && !refusals_.allow(suppressed)) return;
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", r.seconds * 1000);
  // The path only: a query may hold a key. Long paths are cut.
  const std::string path(r.path.substr(0, 200));
  std::vector<LogField> fields = {
      {"method", std::string(r.method)},  {"path", path}, {"status", std::to_string(r.status)},
      {"bytes", std::to_string(r.bytes)}, {"ms", ms},     {"remote", std::string(r.remote)}};
  if (suppressed) fields.push_back({"refusals_not_logged", std::to_string(suppressed)});
  log_.write(level, "request", fields);
}

std::vector<FlagSpec> logging_flags() {
  return {
      {"log-level", "LEVEL", "debug, info (one line per request), warn or error", false, "PULSE_LOG_LEVEL", "info"},
      {"log-format", "FORMAT", "text or json (one object per line)", false, "PULSE_LOG_FORMAT", "text"},
  };
}

bool read_logging(const ParsedArgs& a, LogLevel& level, LogFormat& format, std::string& why) {
  const auto l = parse_log_level(a.get_or("log-level", "info"));
  const auto f = parse_log_format(a.get_or("log-format", "text"));
  if (!l) why = "--log-level: must be debug, info, warn or error";
  else if (!f) why = "--log-format: must be text or json";
  if (!l || !f) return false;
  level = *l;
  format = *f;
  return true;
}

bool read_listen_settings(const ParsedArgs& a, ListenSettings& s, std::string& why) {
  if (!parse_uint(a.get_or("port", ""), 65535, s.port)) {
    why = "--port: not a port number (0-65535)";
    return false;
  }
  if (!parse_uint(a.get_or("threads", ""), 64, s.threads) || s.threads == 0) {
    why = "--threads: must be between 1 and 64";
    return false;
  }
  if (!parse_uint(a.get_or("max-connections", ""), 1'000'000, s.max_connections) || s.max_connections == 0) {
    why = "--max-connections: must be between 1 and 1000000";
    return false;
  }
  if (!parse_uint(a.get_or("timeout", ""), 3600, s.timeout) || s.timeout == 0) {
    why = "--timeout: must be between 1 and 3600 seconds";
    return false;
  }
  if (const auto idle = a.get("idle-timeout");
      idle && (!parse_uint(*idle, 3600, s.idle_timeout) || s.idle_timeout == 0)) {
    why = "--idle-timeout: must be between 1 and 3600 seconds";
    return false;
  }
  s.bind = a.get_or("bind", "127.0.0.1");
  s.tls_cert = a.get_or("tls-cert", "");
  s.tls_key = a.get_or("tls-key", "");
  s.public_hosts = a.all("public-host");
  return read_logging(a, s.log_level, s.log_format, why);
}

ServerOptions listen_options(const ListenSettings& s) {
  ServerOptions opt;
  opt.bind = s.bind;
  opt.port = static_cast<std::uint16_t>(s.port);
  opt.tls_cert = s.tls_cert;
  opt.tls_key = s.tls_key;
  opt.read_timeout = opt.write_timeout = std::chrono::milliseconds(s.timeout * 1000);
  opt.idle_timeout = std::chrono::milliseconds(s.idle_timeout * 1000);
  opt.max_connections = s.max_connections;
  return opt;
}

void note_restarts(const ListenSettings& now, const ListenSettings& next, RestartNotes& notes) {
  notes.note(now.bind != next.bind, "bind");
  notes.note(now.port != next.port, "port");
  notes.note(now.tls_cert != next.tls_cert || now.tls_key != next.tls_key, "tls-cert/tls-key");
  notes.note(now.threads != next.threads, "threads");
  notes.note(now.max_connections != next.max_connections, "max-connections");
  notes.note(now.timeout != next.timeout || now.idle_timeout != next.idle_timeout, "timeout/idle-timeout");
  notes.note(now.public_hosts != next.public_hosts, "public-host");
  notes.note(now.log_format != next.log_format, "log-format");
}

void ServerTelemetry::watch(const HttpServer& server) {
  auto& open = registry_.gauge("pulse_http_connections_open", "Connections open now");
  auto& evicted =
      registry_.counter("pulse_http_connections_evicted_total", "Idle connections closed to make room for new ones");
  // Counter families hold an increment-only value: keep the last seen total.
  auto& evicted_series = evicted.with({});
  registry_.on_scrape([&server, &open, &evicted_series, last = std::make_shared<std::atomic<std::uint64_t>>(0)] {
    open.with({}).set(static_cast<double>(server.open_connections()));
    const auto now = server.evicted_connections();
    evicted_series.inc(static_cast<double>(now - last->exchange(now)));
  });
}

}  // namespace pulse
