#include "plugins/incident/app.hpp"

#include "core/cmdline/command.hpp"
#include "core/client/connection.hpp"

#include "core/cmdline/args.hpp"
#include "core/net/browser_guard.hpp"
#include "core/cmdline/config_file.hpp"
#include "core/net/log.hpp"
#include "core/net/server_telemetry.hpp"
#include "core/net/telemetry.hpp"
#include "core/event/event.hpp"
#include "core/client/outbox.hpp"
#include "plugins/incident/receiver.hpp"
#include "plugins/incident/reporter.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace pulse::incident {

namespace {

bool secret_source(std::string_view s) { return s == "pagerduty" || s == "grafana"; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Flag tables hold string_views: the generated names live here.
std::deque<std::string>& names() {
  static std::deque<std::string> storage;
  return storage;
}
std::string_view keep(std::string s) { return names().emplace_back(std::move(s)); }

std::vector<FlagSpec> route_flags() {
  std::vector<FlagSpec> f;
  for (auto name : source_names()) {
    const std::string n(name), env = "PULSE_INCIDENT_" + upper(name);
    f.push_back({keep(n + "-system"), "NAME", keep("DORA system of /" + n + " incidents (default --system)"), false,
                 keep(env + "_SYSTEM")});
    f.push_back({keep(n + "-system-label"), "LABEL",
                 keep("label naming the system of a /" + n + " alert (default --system-label)"), false,
                 keep(env + "_SYSTEM_LABEL")});
    f.push_back({keep(n + "-environment"), "NAME", keep("environment of /" + n + " incidents (default --environment)"),
                 false, keep(env + "_ENVIRONMENT")});
    f.push_back({keep(n + "-environment-label"), "LABEL",
                 keep("label naming the environment of a /" + n + " alert (default --environment-label)"), false,
                 keep(env + "_ENVIRONMENT_LABEL")});
    f.push_back(
        {keep(n + "-match"), "MATCHER", keep("also required of /" + n + " alerts (like --match; repeatable)"), true});
    f.push_back(
        {keep(n + "-token-file"), "FILE",
         keep("accepted bearer token(s) or user:password for /" + n + ", one per line (or $" + env + "_TOKEN)")});
    if (secret_source(name))
      f.push_back(
          {keep(n + "-secret-file"), "FILE",
           keep("signing secret(s) for /" + n + ", one per line, several during rotation (or $" + env + "_SECRET)")});
  }
  f.push_back({"grafana-timestamp-window", "SECONDS",
               "accept a signed X-Grafana-Alerting-Timestamp this far from the clock, either way", false,
               "PULSE_INCIDENT_GRAFANA_TIMESTAMP_WINDOW", "300"});
  f.push_back(
      {"generic-mapping", "FILE", "JSON mapping for /generic (see README)", false, "PULSE_INCIDENT_GENERIC_MAPPING"});
  f.push_back({"system", "NAME", "default DORA system for every route", false, "PULSE_SYSTEM"});
  f.push_back({"system-label", "LABEL", "take an alert's system from this label (e.g. service) when it has it", false,
               "PULSE_INCIDENT_SYSTEM_LABEL"});
  f.push_back({"environment", "NAME", "environment of incidents (default: the collector's, production)", false,
               "PULSE_INCIDENT_ENVIRONMENT"});
  f.push_back({"environment-label", "LABEL", "take an alert's environment from this label (e.g. env) when it has it",
               false, "PULSE_INCIDENT_ENVIRONMENT_LABEL"});
  f.push_back({"match", "MATCHER",
               "count only alerts whose labels match, e.g. severity=critical|page or "
               "severity!=info (repeatable: all must hold)",
               true});
  f.push_back(
      {"db", "PATH", "state database (default $XDG_STATE_HOME/pulse/incidents.db)", false, "PULSE_INCIDENT_DB"});
  // The clients' connection flags, but for the key: resolved incidents go
  // through the outbox, which never stores a key, so it is read at each
  // delivery from a file or $PULSE_API_KEY; and for the attempts: the
  // outbox retries until delivered.
  // And for the timeout: serve has a --timeout of its own (for the requests
  // it receives), so the reports' is --report-timeout.
  for (const auto& c : connection_flags("where resolved incidents are reported")) {
    if (c.name == "api-key" || c.name == "max-attempts") continue;
    f.push_back(c);
    if (c.name == "api-key-file") f.back().help = "API key for --base-url, read at each delivery (or $PULSE_API_KEY)";
    if (c.name == "timeout")
      f.back() = {.name = "report-timeout",
                  .value_name = "SECONDS",
                  .help = "bound on each report to --base-url, all steps together",
                  .env = "PULSE_INCIDENT_REPORT_TIMEOUT",
                  .default_value = "20"};
  }
  return f;
}

std::vector<FlagSpec> serve_flags() {
  auto f = route_flags();
  const std::vector<FlagSpec> own = {
      {"bind", "ADDR", "address to listen on; anything but loopback needs credentials on every route", false,
       "PULSE_INCIDENT_BIND", "127.0.0.1"},
      {"port", "PORT", "port to listen on (0: any free port)", false, "PULSE_INCIDENT_PORT", "8766"},
      {"tls-cert", "FILE", "PEM certificate chain: serve HTTPS", false, "PULSE_INCIDENT_TLS_CERT"},
      {"tls-key", "FILE", "PEM private key for --tls-cert", false, "PULSE_INCIDENT_TLS_KEY"},
      {"threads", "N", "worker threads", false, "PULSE_INCIDENT_THREADS", "2"},
      {"max-connections", "N",
       "connections held at once (when full, the longest-idle one, else the longest body-reading one, is closed for a new one)",
       false, "PULSE_INCIDENT_MAX_CONNECTIONS", "16384"},
      {"timeout", "SECONDS",
       "to receive a request's headers or send one answer (a body may take 10 s plus 1 s per 32 KiB)", false,
       "PULSE_INCIDENT_TIMEOUT", "10"},
      {"public-host", "NAME",
       "a host name that also names this server on routes without credentials (a reverse "
       "proxy's; repeatable)",
       true},
      {"metrics-token-file", "FILE", "bearer token(s) for GET /metrics, one per line (without: loopback clients only)",
       false, "PULSE_INCIDENT_METRICS_TOKEN_FILE"},
      {"config", "FILE", "read flags from this TOML file (flags and variables win over it)", false,
       "PULSE_INCIDENT_CONFIG"},
  };
  f.insert(f.begin(), own.begin(), own.end());
  const auto logging = logging_flags();
  f.insert(f.end(), logging.begin(), logging.end());
  return f;
}

std::vector<FlagSpec> report_flags() {
  auto f = route_flags();
  const std::vector<FlagSpec> own = {
      {"source", "NAME", "alertmanager, grafana, pagerduty, opsgenie or generic"},
      {"signature", "SIG", "verify this signature (X-PagerDuty-Signature or X-Grafana-Alerting-Signature value)", false,
       "PULSE_INCIDENT_SIGNATURE"},
      {"timestamp", "TS", "Grafana's timestamp header value, if it signs one", false, "PULSE_INCIDENT_TIMESTAMP"},
      {"authorization", "VALUE",
       "verify this Authorization header value against the route's tokens (prefer the variable)", false,
       "PULSE_INCIDENT_AUTHORIZATION"},
      {"webhook-id", "ID", "PagerDuty's X-Webhook-Id, to ignore redeliveries", false, "PULSE_INCIDENT_WEBHOOK_ID"},
  };
  f.insert(f.begin(), own.begin(), own.end());
  return f;
}

const std::vector<FlagSpec> kListFlags = {
    {"db", "PATH", "state database (default $XDG_STATE_HOME/pulse/incidents.db)", false, "PULSE_INCIDENT_DB"},
    {"recent", "N", "how many resolved incidents to show", false, {}, "20"},
    {"format", "FORMAT", "table or json", false, {}, "table"},
};

struct Setup {
  std::map<std::string, RouteConfig, std::less<>> routes;
  ReporterConfig reporter;
  std::string db;
};

// The routes whose incidents would have no system, comma-separated.
std::string routes_without_system(const Routes& routes) {
  std::string out;
  for (const auto& [name, route] : routes)
    if (route.rules.system.empty() && route.rules.system_label.empty() &&
        !(route.mapping && !route.mapping->system.empty()))
      out += (out.empty() ? "" : ", ") + name;
  return out;
}

// A route's system, environment and label rules: its own flags, else the
// common ones.
bool read_rules(const ParsedArgs& a, const std::string& route, RouteRules& r, std::string& why) {
  auto own_or_common = [&](const std::string& flag) { return a.get_or(route + "-" + flag, a.get_or(flag, "")); };
  r.system = own_or_common("system");
  r.system_label = own_or_common("system-label");
  r.environment = own_or_common("environment");
  r.environment_label = own_or_common("environment-label");
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"system", r.system},
                                    std::pair<const char*, const std::string&>{"environment", r.environment}}) {
    if (!value.empty() && !valid_name(value)) {
      why = "--" + route + "-" + name + " / --" + name + ": must be 1 to 256 bytes of text without control characters";
      return false;
    }
  }
  auto matchers = a.all("match");
  for (auto& m : a.all(route + "-match")) matchers.push_back(std::move(m));
  for (const auto& text : matchers) {
    Matcher m;
    if (!parse_matcher(text, m, why)) {
      why = "--match: " + why;
      return false;
    }
    r.matchers.push_back(std::move(m));
  }
  return true;
}

// Routes, secrets and the reporter's connection, from flags and environment.
bool build_setup(const ParsedArgs& a, const Env& env, Setup& s, std::string& why) {
  for (auto name : source_names()) {
    const std::string n(name), env_name = "PULSE_INCIDENT_" + upper(name);
    RouteConfig rc;
    if (!read_rules(a, n, rc.rules, why)) return false;
    if (auto f = a.get(n + "-token-file")) {
      auto lines = read_config_lines(*f);
      if (!lines) {
        why = "cannot read " + *f;
        return false;
      }
      rc.auth.tokens = std::move(*lines);
    }
    if (auto t = env.non_empty(env_name + "_TOKEN"))
      for (auto& x : split_list(*t)) rc.auth.tokens.push_back(x);
    if (secret_source(name)) {
      if (auto f = a.get(n + "-secret-file")) {
        auto lines = read_config_lines(*f);
        if (!lines) {
          why = "cannot read " + *f;
          return false;
        }
        rc.auth.hmac_secrets = std::move(*lines);
      }
      if (auto t = env.non_empty(env_name + "_SECRET"))
        for (auto& x : split_list(*t)) rc.auth.hmac_secrets.push_back(x);
    }
    if (name == "grafana") {
      unsigned long window = 0;
      if (!parse_uint(a.get_or("grafana-timestamp-window", "300"), 1UL << 40, window)) {
        why = "--grafana-timestamp-window: not a number of seconds";
        return false;
      }
      rc.auth.timestamp_window = static_cast<std::int64_t>(window);
    }
    if (name == "generic") {
      if (auto m = a.get("generic-mapping")) {
        try {
          rc.mapping = load_mapping(*m);
        } catch (const std::exception& e) {
          why = e.what();
          return false;
        }
      }
    }
    s.routes.emplace(n, std::move(rc));
  }
  const auto connection = read_connection(a, env, why, "report-timeout");
  if (!connection) return false;
  s.reporter.origin = connection->origin;
  s.reporter.base_url = connection->base_url;
  s.reporter.api_key_file = connection->api_key_file;
  s.reporter.client = connection->client;
  s.reporter.env = env;
  s.db = a.get_or("db", default_db_path(env));
  // The outbox beside the state: with the default layout, the user's outbox.
  s.reporter.outbox = (std::filesystem::path(s.db).parent_path() / "outbox.db").string();
  return true;
}

struct Log {
  std::ostream& err;
  std::mutex mutex;
  void operator()(const std::string& line) {
    std::lock_guard lock(mutex);
    err << ("pulse-incident: " + line + "\n") << std::flush;
  }
};

// Everything serve is told, from flags, environment and config file.
struct ServeSettings : ListenSettings {
  Setup setup;
  std::vector<std::string> metrics_tokens;
  std::string open_routes;  ///< routes without credentials, for the warning
};

std::optional<ServeSettings> read_serve_settings(const ParsedArgs& parsed, const Env& env, std::string& why) {
  const ParsedArgs* a = &parsed;
  ServeSettings s;
  if (!read_listen_settings(*a, s, why) || !build_setup(*a, env, s.setup, why)) return std::nullopt;
  if (const auto f = a->get("metrics-token-file")) {
    auto lines = read_config_lines(*f);
    if (!lines) {
      why = "--metrics-token-file: cannot read " + *f;
      return std::nullopt;
    }
    s.metrics_tokens = std::move(*lines);
  }
  for (const auto& [name, rc] : s.setup.routes)
    if (!rc.auth.configured() && !(name == "generic" && !rc.mapping))
      s.open_routes += (s.open_routes.empty() ? "/" : ", /") + name;
  if (!s.open_routes.empty() && !is_loopback_host(s.bind)) {
    why = "refusing to listen on " + s.bind + " with unauthenticated routes (" + s.open_routes +
          "): give each a --<source>-token-file or --<source>-secret-file, or bind to 127.0.0.1";
    return std::nullopt;
  }
  return s;
}

std::string needs_restart(const ServeSettings& now, const ServeSettings& next) {
  RestartNotes notes;
  note_restarts(now, next, notes);
  notes.note(now.setup.db != next.setup.db, "db");
  notes.note(now.setup.reporter.base_url != next.setup.reporter.base_url ||
                 now.setup.reporter.api_key_file != next.setup.reporter.api_key_file ||
                 now.setup.reporter.client.tls.ca_file != next.setup.reporter.client.tls.ca_file,
             "base-url/api-key-file/ca-file");
  return notes.text();
}

// What the process's /metrics holds beyond the server's own series.
void export_incident_metrics(telemetry::Registry& registry, Receiver& receiver, State& state, Reporter& reporter) {
  auto& opened = registry.counter("pulse_incidents_opened_total", "Incidents opened, by source", {"source"});
  auto& resolved = registry.counter("pulse_incidents_resolved_total", "Incidents resolved, by source", {"source"});
  auto& unchanged =
      registry.counter("pulse_incident_notifications_unchanged_total",
                       "Alerts in notifications that changed nothing (repeats, stale, duplicates)", {"source"});
  auto& ignored = registry.counter("pulse_incident_alerts_ignored_total",
                                   "Alerts left out by a route's label matchers (--match)", {"source"});
  receiver.observe([&](std::string_view source, const ApplyResult& r) {
    const std::vector<std::string> label{std::string(source)};
    if (r.opened) opened.with(label).inc(r.opened);
    if (r.resolved) resolved.with(label).inc(r.resolved);
    if (r.unchanged) unchanged.with(label).inc(r.unchanged);
    if (r.ignored) ignored.with(label).inc(r.ignored);
  });
  auto& open = registry.gauge("pulse_incidents_open", "Incidents open now");
  auto& waiting =
      registry.gauge("pulse_incident_reports_waiting",
                     "Resolved incidents not yet queued for delivery (then counted in pulse_outbox_pending)");
  auto& pending = registry.gauge("pulse_outbox_pending", "Events waiting in the outbox for delivery");
  auto& aside = registry.gauge("pulse_outbox_rejected", "Events set aside in the outbox (refused with a 4xx)");
  auto& age = registry.gauge("pulse_outbox_oldest_age_seconds", "Age of the oldest waiting event (0: none waits)");
  auto& delivered = registry.gauge("pulse_reports_delivered", "Incident events delivered since start");
  auto& failed = registry.gauge("pulse_report_attempts_failed", "Delivery attempts that failed since start (retried)");
  registry.on_scrape([&] {
    open.with({}).set(static_cast<double>(state.open_count()));
    waiting.with({}).set(static_cast<double>(state.waiting_count()));
    const auto stats = reporter.outbox_stats();
    pending.with({}).set(static_cast<double>(stats.pending));
    aside.with({}).set(static_cast<double>(stats.rejected));
    age.with({}).set(stats.oldest ? static_cast<double>(std::max<std::int64_t>(0, unix_now() - *stats.oldest)) : 0);
    const auto t = reporter.totals();
    delivered.with({}).set(t.delivered);
    failed.with({}).set(t.failed);
  });
}

std::string_view incident_route(std::string_view path) {
  static const std::vector<std::string> known = [] {
    std::vector<std::string> k{"/healthz", "/metrics"};
    for (auto n : source_names()) k.push_back("/" + std::string(n));
    return k;
  }();
  for (const auto& k : known)
    if (path == k) return k;
  return "other";
}

// /metrics: for Prometheus on this host, or anywhere with a metrics token.
// Without tokens, what a web page sends (a foreign Origin, a rebound Host)
// is refused as on the keyless routes.
ServerResponse metrics_response(const ServerRequest& request, const telemetry::Registry& registry,
                                const std::vector<std::string>& tokens, const BrowserGuard& guard) {
  const std::string peer = request.remote.substr(0, request.remote.rfind(':'));
  RouteAuth auth;
  auth.tokens = tokens;
  const HeaderLookup headers = [&request](std::string_view h) { return request.header(h); };
  const bool local = is_loopback_host(peer) && !guard.refuse(request, false);
  if (!(tokens.empty() ? local : authenticate("metrics", auth, headers, "", 0) == AuthResult::ok))
    return {401,
            "application/json",
            json_error("/metrics needs a token from --metrics-token-file"),
            {{"WWW-Authenticate", "Bearer"}}};
  if (request.method != "GET") return {405, "application/json", json_error("method not allowed"), {{"Allow", "GET"}}};
  return {200, telemetry::Registry::kContentType, registry.render(), {}};
}

ServerOptions incident_server_options(const ServeSettings& s, Logger& log, ServerTelemetry& telemetry) {
  ServerOptions opt = listen_options(s);
  opt.threads = static_cast<int>(s.threads);
  opt.log = log.sink(LogLevel::warn);
  opt.on_request = [&telemetry](const RequestRecord& r) { telemetry.record(r); };
  return opt;
}

// Queued incidents follow the configured collector: after a fix of
// --base-url, what waits goes to the new one.
void retarget_outbox(const ReporterConfig& config, Logger& log) {
  // Its own entries only (never the CLI's queued incidents), and those
  // waiting: what a collector set aside stays set aside.
  const auto moved =
      Outbox(config.outbox).retarget("", config.base_url, std::string(kOutboxKeyPrefix), config.api_key_file, false);
  if (moved > 0) log.info(std::to_string(moved) + " queued incident event(s) now go to " + config.origin.to_string());
}

void reload(const std::vector<std::string>& args, const Env& env, ServeSettings& current, Receiver& receiver,
            Logger& log) {
  std::string why;
  const auto parsed = parse_args_with_config(args, serve_flags(), env, why);
  auto next = parsed ? read_serve_settings(*parsed, env, why) : std::nullopt;
  if (!next) {
    log.error("reload failed, keeping the running configuration: " + why);
    return;
  }
  const std::string restart = needs_restart(current, *next);
  // Credentials are swapped; emptied, they would open a route (or /metrics)
  // to anyone on this machine: that takes a restart, as the collector's
  // keys do. The running ones stay, and the log says so.
  for (auto& [name, config] : next->setup.routes) {
    const auto now = current.setup.routes.find(name);
    if (now == current.setup.routes.end() || !now->second.auth.configured() || config.auth.configured()) continue;
    config.auth = now->second.auth;
    log.warn("reload: /" + name + "'s credentials are now empty; keeping the running ones (opening a route to " +
             "anyone takes a restart)");
  }
  if (next->metrics_tokens.empty() && !current.metrics_tokens.empty()) {
    next->metrics_tokens = current.metrics_tokens;
    log.warn("reload: the /metrics tokens are now empty; keeping the running ones (opening /metrics takes a restart)");
  }
  receiver.set_routes(next->setup.routes);
  current.setup.routes = next->setup.routes;
  current.metrics_tokens = next->metrics_tokens;
  log.set_level(next->log_level);
  log.info("reloaded: route credentials, mappings, systems, environments and matchers, metrics tokens, log level " +
           std::string(log_level_name(next->log_level)));
  if (!restart.empty()) log.warn("reload: changed but needs a restart to apply: " + restart);
}

Outcome serve(const Invocation& inv) {
  const Env& env = inv.env;
  std::ostream& err = inv.err;
  const auto& args = inv.words;
  std::string why;
  auto settings = read_serve_settings(inv.args, env, why);
  if (!settings) return usage_error(why);
  Logger log(err, "pulse-incident", settings->log_level, settings->log_format);
  log.buffer_info_lines();
  auto logger = log.sink(LogLevel::info);
  const auto& setup = settings->setup;
  try {
    State state(setup.db);
    retarget_outbox(setup.reporter, log);
    Reporter reporter(state, setup.reporter, logger);
    Receiver receiver(
        state, setup.routes, [&reporter] { reporter.wake(); }, logger, [] { return unix_now(); });
    receiver.set_public_hosts(settings->public_hosts);
    telemetry::Registry registry;
    export_incident_metrics(registry, receiver, state, reporter);
    ServerTelemetry telemetry(registry, log, incident_route);
    const BrowserGuard metrics_guard{settings->public_hosts};
    ServerOptions options = incident_server_options(*settings, log, telemetry);
    // Routes with tokens refuse a wrong one before the body is read.
    options.before_body = [&receiver](const ServerRequest& head) -> std::optional<ServerResponse> {
      if (head.target == "/metrics" || head.target.starts_with("/metrics?")) return std::nullopt;
      return receiver.before_body(head);
    };
    HttpServer server(std::move(options), [&](const ServerRequest& r) {
      if (r.target == "/metrics" || r.target.starts_with("/metrics?"))
        return metrics_response(r, registry, settings->metrics_tokens, metrics_guard);
      return receiver.handle(r);
    });
    telemetry.watch(server);
    server.handle_signals([&] { reload(args, env, *settings, receiver, log); });
    reporter.start();
    log.always(std::string("listening on ") + (server.tls() ? "https" : "http") + "://" +
               (settings->bind.find(':') != std::string::npos ? "[" + settings->bind + "]" : settings->bind) + ":" +
               std::to_string(server.port()) + " (state " + setup.db + "; reporting to " +
               setup.reporter.origin.to_string() + " through " + setup.reporter.outbox + ")");
    if (!settings->open_routes.empty())
      log.warn("no credentials configured for " + settings->open_routes +
               ": accepted because it listens on loopback only");
    if (const auto unnamed = routes_without_system(setup.routes); !unnamed.empty())
      log.warn("no system for " + unnamed +
               ": their incidents are stored under an empty system (matching no "
               "deployment) unless the sender adds ?system=NAME; give --system or --ROUTE-system");
    server.run();
    reporter.stop();
  } catch (const ServerConfigError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  log.always("stopped");
  return {};
}

// Handed to the outbox is not delivered: the incidents whose report still
// waits in the outbox beside the state database `db`, and those whose
// report the collector refused (set aside), with its answer.
struct Outboxed {
  std::unordered_set<std::string> waiting;
  std::unordered_map<std::string, std::string> refused;  ///< identifier -> the collector's answer
};

Outboxed in_outbox(const std::string& db) {
  Outboxed out;
  const auto box = (std::filesystem::path(db).parent_path() / "outbox.db").string();
  if (std::error_code ec; !std::filesystem::exists(box, ec)) return out;
  try {
    Outbox outbox(box);
    for (const auto& e : outbox.list(1'000'000)) {
      if (!e.key.starts_with(kOutboxKeyPrefix)) continue;
      boost::system::error_code ec;
      const auto body = boost::json::parse(e.body, ec);
      const auto* o = ec ? nullptr : body.if_object();
      const auto* id = o ? o->if_contains("incident_id") : nullptr;
      if (!id || !id->is_string()) continue;
      if (e.rejected) out.refused[std::string(id->as_string())] = e.last_error;
      else out.waiting.emplace(id->as_string());
    }
  } catch (const std::exception&) {  // an unreadable outbox: say what the state knows
  }
  return out;
}

std::string incident_state(const StoredIncident& i, const Outboxed& box) {
  if (!i.resolved) return "open";
  if (i.reported_at)
    return box.refused.count(i.identifier) ? "rejected" : box.waiting.count(i.identifier) ? "queued" : "reported";
  if (i.rejected) return "rejected";
  return "pending";
}

// Why a report failed: the state's error, else the collector's refusal.
std::string report_error(const StoredIncident& i, const Outboxed& box) {
  if (!i.report_error.empty()) return i.report_error;
  const auto r = box.refused.find(i.identifier);
  return r == box.refused.end() ? "" : r->second;
}

void print_incidents_json(const std::vector<StoredIncident>& items, const Outboxed& waiting, std::ostream& out) {
  boost::json::array all;
  for (const auto& i : items) {
    boost::json::object o;
    o["identifier"] = i.identifier;
    o["source"] = i.source;
    o["system"] = i.system;
    o["environment"] = i.environment;
    o["created"] = i.created;
    o["resolved"] = i.resolved ? boost::json::value(*i.resolved) : boost::json::value(nullptr);
    o["state"] = incident_state(i, waiting);
    o["error"] = report_error(i, waiting);
    all.push_back(std::move(o));
  }
  out << boost::json::serialize(all) << "\n";
}

void print_incidents_table(const std::vector<StoredIncident>& items, const Outboxed& waiting, std::ostream& out) {
  if (items.empty()) {
    out << "no incidents\n";
    return;
  }
  std::size_t id_w = 10;
  for (const auto& i : items) id_w = std::max(id_w, std::min<std::size_t>(i.identifier.size(), 60));
  out << std::left << std::setw(10) << "STATE" << std::setw(static_cast<int>(id_w + 2)) << "IDENTIFIER" << std::setw(22)
      << "CREATED" << std::setw(22) << "RESOLVED" << std::setw(14) << "ENVIRONMENT"
      << "SYSTEM\n";
  for (const auto& i : items)
    out << std::left << std::setw(10) << incident_state(i, waiting) << std::setw(static_cast<int>(id_w + 2))
        << printable(i.identifier.substr(0, 60)) << std::setw(22) << format_rfc3339(i.created) << std::setw(22)
        << (i.resolved ? format_rfc3339(*i.resolved) : "-") << std::setw(14)
        << (i.environment.empty() ? "-" : printable(i.environment.substr(0, 13)))
        << (i.system.empty() ? "-" : printable(i.system))
        << (report_error(i, waiting).empty() ? "" : "  (" + printable(report_error(i, waiting)) + ")") << "\n";
}

// A report's webhook headers come from its flags; with none, local input is
// trusted (no signature checked).
std::map<std::string, std::string, std::less<>> report_headers(const ParsedArgs& a, const std::string& source) {
  std::map<std::string, std::string, std::less<>> headers;
  if (auto s = a.get("signature"))
    headers[source == "grafana" ? "X-Grafana-Alerting-Signature" : "X-PagerDuty-Signature"] = *s;
  if (auto t = a.get("timestamp")) headers["X-Grafana-Alerting-Timestamp"] = *t;
  if (auto h = a.get("authorization")) headers["Authorization"] = *h;
  if (auto w = a.get("webhook-id")) headers["X-Webhook-Id"] = *w;
  return headers;
}

// The headers' values by name, in any case, as a server's request gives them.
HeaderLookup lookup_in(std::map<std::string, std::string, std::less<>> headers) {
  return [headers = std::move(headers)](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : headers)
      if (lower(k) == lower(name)) return v;
    return std::nullopt;
  };
}

// Reads at most `limit` bytes of the payload; false if there is more.
bool read_payload(std::istream& in, std::size_t limit, std::string& body) {
  body.assign(limit + 1, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(in.gcount()));
  return body.size() <= limit;
}

Outcome report(const Invocation& inv, std::istream& in) {
  const ParsedArgs* a = &inv.args;
  const Env& env = inv.env;
  std::ostream& out = inv.out;
  std::ostream& err = inv.err;
  std::string why;
  const auto source = a->get("source");
  if (!source || !find_source(*source))
    return usage_error("--source must be one of alertmanager, grafana, pagerduty, opsgenie, generic");
  Setup setup;
  if (!build_setup(*a, env, setup, why)) return usage_error(why);
  std::string body;
  if (!read_payload(in, 1 << 20, body)) return {kExitRejected, "payload larger than 1 MiB"};
  const HeaderLookup lookup = lookup_in(report_headers(*a, *source));
  const bool verify = a->has("signature") || a->has("authorization");
  Log log{err, {}};
  auto logger = [&log](const std::string& line) { log(line); };
  try {
    State state(setup.db);
    Receiver receiver(state, setup.routes, nullptr, logger, [] { return unix_now(); });
    const auto route = setup.routes.find(*source);
    if (route != setup.routes.end() && !routes_without_system({*route}).empty())
      err << "pulse-incident report: warning: no system: the incident is stored under an empty system, which "
             "matches no deployment; give --system NAME\n";
    const auto o = receiver.process(*source, body, lookup, verify, a->get_or("system", ""));
    if (o.status != 200) return {kExitRejected, (o.status == 401 ? "not authenticated: " : "rejected: ") + o.message};
    out << "opened " << o.applied.opened << ", resolved " << o.applied.resolved << ", unchanged " << o.applied.unchanged
        << (o.applied.ignored ? ", ignored " + std::to_string(o.applied.ignored) : "")
        << (o.message == "ok" ? "" : " (" + o.message + ")") << "\n";
    Reporter reporter(state, setup.reporter, logger);
    const FlushReport f = reporter.flush(unix_now(), true);
    if (f.rejected > 0)  // set aside: no retry brings it through; `list` shows it rejected, with the answer
      return {kExitRejected, std::to_string(f.rejected) + " event(s) refused by " + setup.reporter.origin.to_string() +
                                 " and set aside in " + setup.reporter.outbox + "; `pulse-incident list` shows why"};
    if (f.failed > 0)
      return {kExitDelivery, std::to_string(f.failed) + " event(s) not delivered yet; they wait in " +
                                 setup.reporter.outbox +
                                 " and are retried by the next report, by serve, or by `pulse-event-cli outbox flush`"};
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  return {};
}

Outcome list(const Invocation& inv) {
  const ParsedArgs* a = &inv.args;
  std::ostream& out = inv.out;
  unsigned long recent = 0;
  if (!parse_uint(a->get_or("recent", ""), 100000, recent)) return usage_error("--recent: not a number");
  const std::string format = a->get_or("format", "table");
  if (format != "table" && format != "json") return usage_error("--format must be table or json");
  std::vector<StoredIncident> items;
  const std::string db = a->get_or("db", default_db_path(inv.env));
  if (std::error_code ec; !std::filesystem::exists(db, ec)) {  // nothing received yet: do not create it
    if (format == "json") out << "[]\n";
    else out << "no incidents (no state at " << db << " yet)\n";
    return {};
  }
  try {
    items = State(db).list(recent);
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  const auto waiting = in_outbox(db);
  if (format == "json") print_incidents_json(items, waiting, out);
  else print_incidents_table(items, waiting, out);
  return {};
}

}  // namespace

std::string default_db_path(const Env& env) {
  if (const auto xdg = env.non_empty("XDG_STATE_HOME")) return *xdg + "/pulse/incidents.db";
  if (const auto home = env.non_empty("HOME")) return *home + "/.local/state/pulse/incidents.db";
  return "pulse-incidents.db";
}

int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err) {
  const ProgramSpec program{
      "pulse-incident",
      "turn alerting callbacks into DORA incidents",
      "Route only customer-impacting alerts here (--match severity=critical|page): every alert that passes\n"
      "becomes an incident.\n",
      {
          {.name = "serve",
           .summary = "receive webhooks on /alertmanager, /grafana, /pagerduty, /opsgenie and /generic",
           .description = "Receives alert webhooks, keeps open incidents, reports resolved ones.",
           .flags = serve_flags(),
           .parse = parse_args_with_config,
           .run = serve},
          {.name = "report",
           .operands = "< payload.json",
           .summary = "the same for one payload on stdin, for tools that run a command",
           .description = "Processes one payload from stdin (trusted unless --signature or --authorization is given),\n"
                          "then delivers what is due.",
           .flags = report_flags(),
           .run = [&in](const Invocation& inv) { return report(inv, in); }},
          {.name = "list",
           .summary = "open and recently resolved incidents",
           .description = "Lists open and recently resolved incidents.",
           .flags = kListFlags,
           .run = list},
      }};
  return run_program(program, args, env, out, err);
}

}  // namespace pulse::incident
