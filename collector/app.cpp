#include "collector/app.hpp"

#include "core/cmdline/command.hpp"

#include "core/cmdline/args.hpp"
#include "core/cmdline/config_file.hpp"
#include "collector/explain.hpp"
#include "collector/exporter.hpp"
#include "core/net/http_server.hpp"
#include "collector/api.hpp"
#include "core/client/ingestion.hpp"
#include "core/net/log.hpp"
#include "core/net/server_telemetry.hpp"
#include "collector/store.hpp"
#include "core/util/text.hpp"
#include "core/util/url.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>

namespace pulse::collector {

namespace {

const std::vector<FlagSpec> kServeOwnFlags = {
    {"bind", "ADDR", "address to listen on; anything but loopback needs an API key", false, "PULSE_COLLECTOR_BIND",
     "127.0.0.1"},
    {"port", "PORT", "port to listen on (0: any free port)", false, "PULSE_COLLECTOR_PORT", "8765"},
    {"db", "DB", "SQLite database file (default $XDG_DATA_HOME/pulse/collector.db) or postgresql:// URI", false,
     "PULSE_COLLECTOR_DB"},
    {.name = "api-key",
     .value_name = "KEY",
     .help = "accept this API key (repeatable; prefer --api-key-file: argv is visible in ps)",
     .repeatable = true,
     .secret = true},
    {"api-key-file", "FILE", "accept the API keys in FILE, one per line", false, "PULSE_COLLECTOR_API_KEY_FILE"},
    // The forges' push webhooks: one flag per row of forges(), each route off without its file.
    {"github-webhook-secret-file", "FILE",
     "turn on POST /v1/ingestion/github: the GitHub webhook's secret(s) in FILE, one per line", false,
     "PULSE_COLLECTOR_GITHUB_WEBHOOK_SECRET_FILE"},
    {"gitlab-webhook-token-file", "FILE",
     "turn on POST /v1/ingestion/gitlab: the GitLab webhook's secret token(s) in FILE, one per line", false,
     "PULSE_COLLECTOR_GITLAB_WEBHOOK_TOKEN_FILE"},
    {"gitea-webhook-secret-file", "FILE",
     "turn on POST /v1/ingestion/gitea: the Gitea or Forgejo webhook's secret(s) in FILE, one per line", false,
     "PULSE_COLLECTOR_GITEA_WEBHOOK_SECRET_FILE"},
    {"bitbucket-webhook-secret-file", "FILE",
     "turn on POST /v1/ingestion/bitbucket: the Bitbucket webhook's secret(s) in FILE, one per line", false,
     "PULSE_COLLECTOR_BITBUCKET_WEBHOOK_SECRET_FILE"},
    {"tls-cert", "FILE", "PEM certificate chain: serve HTTPS", false, "PULSE_COLLECTOR_TLS_CERT"},
    {"tls-key", "FILE", "PEM private key for --tls-cert", false, "PULSE_COLLECTOR_TLS_KEY"},
    {"threads", "N", "request handler threads (also the most PostgreSQL connections)", false, "PULSE_COLLECTOR_THREADS",
     "16"},
    {"timeout", "SECONDS",
     "to receive a request's headers, or send one response (a body may take 10 s plus 1 s per 32 KiB)", false,
     "PULSE_COLLECTOR_TIMEOUT", "30"},
    {"idle-timeout", "SECONDS", "before closing an idle kept-alive connection", false, "PULSE_COLLECTOR_IDLE_TIMEOUT",
     "60"},
    {"max-connections", "N",
     "connections held at once (when full, the longest-idle one, else the longest body-reading one, is closed for a new one)",
     false, "PULSE_COLLECTOR_MAX_CONNECTIONS", "16384"},
    {"public-host", "NAME", "a host name that also names this server without keys (a reverse proxy's; repeatable)",
     true},
    {"production-environments", "LIST", "the environments metrics count unless a query names others (comma-separated)",
     false, "PULSE_PRODUCTION_ENVIRONMENTS", kDefaultProductionEnvironments},
    {"config", "FILE", "read flags from this TOML file (flags and variables win over it)", false,
     "PULSE_COLLECTOR_CONFIG"},
};
const std::vector<FlagSpec> kServeFlags = [] {
  auto f = kServeOwnFlags;
  const auto logging = logging_flags();
  f.insert(f.end() - 1, logging.begin(), logging.end());
  return f;
}();

const std::vector<FlagSpec> kEventsFlags = {
    {"db", "DB", "SQLite database file (default $XDG_DATA_HOME/pulse/collector.db) or postgresql:// URI", false,
     "PULSE_COLLECTOR_DB"},
    {"type", "TYPE", "only change, deployment or incident events"},
    {"system", "NAME", "only events of this system"},
    {"environment", "LIST", "only events filed under these environments (comma-separated)"},
    {"team", "NAME", "only deployments naming this team and the incidents attributed to them"},
    {"since", "TIME", "only events at or after TIME (RFC 3339 or Unix seconds)"},
    {"limit", "N", "at most N events (up to 100000), newest first", false, {}, "50"},
    {"all", "", "every event (instead of --limit), newest first"},
    {"format", "FORMAT", "table or json", false, {}, "table"},
};

const std::vector<FlagSpec> kMetricsFlags = {
    {"db", "DB", "SQLite database file (default $XDG_DATA_HOME/pulse/collector.db) or postgresql:// URI", false,
     "PULSE_COLLECTOR_DB"},
    {"system", "NAME", "only this system (default: each system and all together)"},
    {"environment", "LIST", "count these environments (comma-separated; default: --production-environments)"},
    {"team", "NAME", "only this team's deployments, the changes they shipped and the incidents attributed to them"},
    {"production-environments", "LIST", "the environments counted without --environment (as serve's)", false,
     "PULSE_PRODUCTION_ENVIRONMENTS", kDefaultProductionEnvironments},
    {"from", "TIME", "window start: RFC 3339 time or YYYY-MM-DD (default: 90 days before --to)"},
    {"to", "TIME", "window end, exclusive: RFC 3339 time, or YYYY-MM-DD to include that day (default: now)"},
    {"bucket", "SIZE", "time series buckets for --format json: day, week or month", false, {}, "week"},
    {"model",
     "MODEL",
     "pulse (four metrics) or dora (DORA's five, with rollbacks, reverts and rework)",
     false,
     {},
     "pulse"},
    {"explain", "METRIC",
     "list the records behind one figure (deployment_frequency, lead_time, time_to_recover, "
     "change_failure_rate, failed_deployment_recovery_time, deployment_rework_rate)"},
    {"offset", "N", "with --explain: start at record N (a page's \"next\")", false, {}, "0"},
    {"limit", "N", "with --explain: at most N records", false, {}, "100"},
    {"format", "FORMAT", "table or json", false, {}, "table"},
};

const std::vector<FlagSpec> kCheckFlags = {
    {"db", "DB", "SQLite database file (default $XDG_DATA_HOME/pulse/collector.db) or postgresql:// URI", false,
     "PULSE_COLLECTOR_DB"},
    {"quick", "", "SQLite's quick_check (what serve runs at start) instead of the full integrity_check"},
};

// Everything `serve` is told, from flags, environment and config file.
struct ServeSettings : ListenSettings {
  std::string db;
  std::vector<std::string> api_keys, production_environments;
  ForgeSecrets forge_secrets;
};

std::optional<ServeSettings> read_serve_settings(const ParsedArgs& a, const Env& env, std::string& why) {
  ServeSettings s;
  if (!read_listen_settings(a, s, why)) return std::nullopt;
  s.api_keys = a.all("api-key");
  if (const auto file = a.get("api-key-file")) {
    const auto keys = read_config_lines(*file);
    if (!keys) {
      why = "--api-key-file: cannot read " + *file;
      return std::nullopt;
    }
    s.api_keys.insert(s.api_keys.end(), keys->begin(), keys->end());
  }
  if (const auto keys = env.non_empty("PULSE_COLLECTOR_API_KEYS"))
    for (auto& k : split_list(*keys)) s.api_keys.push_back(std::move(k));
  if (s.api_keys.empty() && !is_loopback_host(s.bind)) {
    why = "refusing to listen on " + s.bind +
          " without an API key: give --api-key-file, --api-key or PULSE_COLLECTOR_API_KEYS (or bind to 127.0.0.1)";
    return std::nullopt;
  }
  for (const auto& forge : forges()) {
    const auto file = a.get(forge.secret_flag);
    if (!file) continue;
    auto secrets = read_config_lines(*file);
    if (!secrets) {
      why = "--" + std::string(forge.secret_flag) + ": cannot read " + *file;
      return std::nullopt;
    }
    s.forge_secrets[static_cast<std::size_t>(forge.forge)] = std::move(*secrets);
  }
  auto production = parse_environment_list(a.get_or("production-environments", ""), why);
  if (!production) {
    why = "--production-environments: " + why;
    return std::nullopt;
  }
  s.production_environments = std::move(*production);
  s.db = a.get_or("db", default_db_path(env));
  return s;
}

// What a reload cannot change, by flag name.
std::string needs_restart(const ServeSettings& now, const ServeSettings& next) {
  RestartNotes notes;
  note_restarts(now, next, notes);
  notes.note(now.db != next.db, "db");
  notes.note(now.production_environments != next.production_environments, "production-environments");
  notes.note(now.api_keys.empty() != next.api_keys.empty(), "api keys on or off");
  return notes.text();
}

// SIGHUP: the keys and the log level change in place; the rest is named.
void reload(const std::vector<std::string>& args, const Env& env, ServeSettings& current, Api& api, Logger& log) {
  std::string why;
  const auto parsed = parse_args_with_config(args, kServeFlags, env, why);
  const auto next = parsed ? read_serve_settings(*parsed, env, why) : std::nullopt;
  if (!next) {
    log.error("reload failed, keeping the running configuration: " + why);
    return;
  }
  const std::string restart = needs_restart(current, *next);
  // Keys are swapped; turning them on or off changes what listens where
  // (open access is for loopback only): that takes a restart.
  if (!next->api_keys.empty() && !current.api_keys.empty()) {
    api.set_api_keys(next->api_keys);
    current.api_keys = next->api_keys;
  }
  // A forge's secrets are swapped too; an emptied file keeps the running
  // ones (as for keys and pulse-incident's tokens): the route stays on.
  ForgeSecrets secrets = next->forge_secrets;
  for (const auto& forge : forges()) {
    auto& mine = secrets[static_cast<std::size_t>(forge.forge)];
    const auto& running = current.forge_secrets[static_cast<std::size_t>(forge.forge)];
    if (mine.empty() && !running.empty()) {
      log.warn("reload: --" + std::string(forge.secret_flag) +
               " gives no secret: keeping the running ones (restart without the flag to turn the webhook off)");
      mine = running;
    }
  }
  api.set_forge_secrets(secrets);
  current.forge_secrets = std::move(secrets);
  log.set_level(next->log_level);
  current.log_level = next->log_level;
  log.info("reloaded: " + std::to_string(current.api_keys.size()) + " API key(s), log level " +
           std::string(log_level_name(current.log_level)));
  if (!restart.empty()) log.warn("reload: changed but needs a restart to apply: " + restart);
}

ServerOptions server_options(const ServeSettings& s, Api& handler, Logger& log, ServerTelemetry& telemetry) {
  ServerOptions opt = listen_options(s);
  // Two I/O threads; handlers (which wait for commits) on their own threads.
  opt.threads = 2;
  opt.handler_threads = static_cast<int>(s.threads);
  // Ingestion into SQLite answers from the committer thread, without
  // holding a handler thread.
  opt.async_handler = [&handler](const ServerRequest& r, const Respond& respond) {
    return handler.handle_async(r, respond);
  };
  opt.watch_close = [](const ServerRequest& r) { return Api::may_queue(r.target); };
  // A wrong key is answered before the body is read: no stranger holds a
  // connection or memory for a body.
  opt.before_body = [&handler](const ServerRequest& head) { return handler.before_body(head); };
  // Tells our own clients which extensions this server offers.
  opt.extra_headers.push_back({"Pulse-Extensions", "batch, deployments, patches"});
  // A deployment may list 100,000 changes (40-character SHAs: 4.3 MB).
  opt.body_limit = 8 << 20;
  opt.log = log.sink(LogLevel::warn);
  opt.on_request = [&telemetry](const RequestRecord& r) { telemetry.record(r); };
  return opt;
}

// A damaged SQLite file is refused before it takes writes.
std::unique_ptr<Store> open_checked_store(const ServeSettings& s, std::string& why) {
  try {
    auto store = open_store(s.db, s.threads);
    if (const auto problems = store->check(false); !problems.empty()) {
      why = "database " + describe_db(s.db) + " is damaged (" + problems.front() +
            "): restore it from a backup; `pulse-collector check --db " + describe_db(s.db) + "` lists the problems";
      return nullptr;
    }
    return store;
  } catch (const std::exception& e) {
    why = e.what();
    return nullptr;
  }
}

Outcome serve(const Invocation& inv) {
  const Env& env = inv.env;
  std::ostream& err = inv.err;
  const auto& args = inv.words;
  std::string why;
  auto settings = read_serve_settings(inv.args, env, why);
  if (!settings) return usage_error(why);
  // Declared before the store, so that they outlive its committer thread,
  // which logs and counts until the store is gone.
  Logger log(err, "pulse-collector", settings->log_level, settings->log_format);
  telemetry::Registry registry;
  const auto store = open_checked_store(*settings, why);
  if (!store) return {kExitFailure, why};
  log.buffer_info_lines();
  Exporter exporter(registry, *store, [] { return unix_now(); });
  ApiConfig api;
  api.api_keys = settings->api_keys;
  api.open_access = settings->api_keys.empty();
  api.browser_guard.public_hosts = settings->public_hosts;
  api.log = log.sink(LogLevel::error);
  api.exporter = &exporter;
  api.registry = &registry;
  api.metrics_threads = 2;
  api.production_environments = settings->production_environments;
  api.forge_secrets = settings->forge_secrets;
  Api handler(*store, api, [] { return unix_now(); });
  ServerTelemetry telemetry(registry, log, route_label);
  try {
    HttpServer server(server_options(*settings, handler, log, telemetry),
                      [&handler](const ServerRequest& r) { return handler.handle(r); });
    telemetry.watch(server);
    server.handle_signals([&] { reload(args, env, *settings, handler, log); });
    const std::string host =
        settings->bind.find(':') != std::string::npos ? "[" + settings->bind + "]" : settings->bind;
    log.always("pulse-collector " PULSE_VERSION " listening on " + std::string(server.tls() ? "https" : "http") +
               "://" + host + ":" + std::to_string(server.port()) + " (database " + describe_db(settings->db) + ")");
    if (api.open_access) log.warn("no API key configured: accepting any key, because it listens on loopback only");
    // Where each forge's webhook points (the key is the reader's own).
    const std::string base =
        std::string(server.tls() ? "https" : "http") + "://" + host + ":" + std::to_string(server.port());
    for (const auto& forge : forges())
      if (!settings->forge_secrets[static_cast<std::size_t>(forge.forge)].empty())
        log.always(std::string(forge.title) + " push webhook: " + base + std::string(forge.path) +
                   (api.open_access ? "" : "?api_key=<an API key>") + " (content type application/json)");
    server.run();
    handler.stop();
  } catch (const ServerConfigError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  log.always("stopped");
  return {};
}

// Listing commands never create a database.
std::unique_ptr<Store> open_existing(const std::string& db, std::size_t connections) {
  if (!is_postgres_uri(db))
    if (std::error_code ec; !std::filesystem::exists(db, ec))
      throw std::runtime_error("no database at " + db + " (start `pulse-collector serve` first, or give --db)");
  return open_store(db, connections);
}

// What `metrics` was asked: the window, the scope, the output format.
struct MetricsRequest {
  MetricsQuery query;
  Scope scope;
  std::string format;
};

// The metrics flags read and checked; `why` names the flag that is wrong.
std::optional<MetricsRequest> read_metrics_request(const ParsedArgs& a, std::string& why) {
  auto query =
      parse_metrics_query(a.get_or("from", ""), a.get_or("to", ""), a.get_or("bucket", "week"), unix_now(), why);
  if (!query) {
    why = "--" + why;
    return std::nullopt;
  }
  std::string format = a.get_or("format", "table");
  if (format != "table" && format != "json") {
    why = "--format: must be table or json";
    return std::nullopt;
  }
  const auto production = parse_environment_list(a.get_or("production-environments", ""), why);
  if (!production) {
    why = "--production-environments: " + why;
    return std::nullopt;
  }
  const auto environment = a.get("environment");
  auto scope =
      parse_scope(a.get_or("system", ""), environment ? std::optional<std::string_view>(*environment) : std::nullopt,
                  *production, a.get_or("model", "pulse"), a.get_or("team", ""), why);
  if (!scope) {
    why = "--" + why;
    return std::nullopt;
  }
  return MetricsRequest{std::move(*query), std::move(*scope), std::move(format)};
}

// metrics --explain NAME: one page of the facts behind one metric.
Outcome explain_metric(const ParsedArgs& a, const std::string& name, MetricsRequest& r, const std::string& db_path,
                       std::ostream& out) {
  std::string why;
  const auto metric = parse_explained(name, r.scope.model, why);
  unsigned long offset = 0, limit = 0;
  if (!metric) return usage_error("--explain: " + why.substr(why.find(':') + 2));
  if (!parse_uint(a.get_or("offset", "0"), 1UL << 40, offset) ||
      !parse_uint(a.get_or("limit", "100"), kMaxExplainPage, limit) || limit == 0)
    return usage_error("--offset and --limit need numbers (--limit 1 to " + std::to_string(kMaxExplainPage) + ")");
  name_facts(r.scope, *metric);
  boost::json::object page;
  try {
    const auto window = r.query.window;
    page = explain(open_existing(db_path, 1)->metric_facts(window, r.scope), window, r.scope, *metric, offset, limit);
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  out << (r.format == "json" ? boost::json::serialize(page) + "\n" : explain_table(page));
  return {};
}

Outcome metrics(const Invocation& inv) {
  const ParsedArgs& a = inv.args;
  std::string why;
  auto request = read_metrics_request(a, why);
  if (!request) return usage_error(why);
  const std::string db_path = a.get_or("db", default_db_path(inv.env));
  if (const auto name = a.get("explain")) return explain_metric(a, *name, *request, db_path, inv.out);
  MetricsReport report;
  try {
    const auto facts = open_existing(db_path, 1)->metric_facts(request->query.window, request->scope);
    report = compute_metrics(facts, request->query.window, request->query.bucket, std::move(request->scope));
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  if (request->format == "json") inv.out << boost::json::serialize(metrics_json(report)) << "\n";
  else inv.out << metrics_table(report);
  return {};
}

Outcome check(const Invocation& inv) {
  const std::string db_path = inv.args.get_or("db", default_db_path(inv.env));
  std::vector<std::string> problems;
  try {
    problems = open_existing(db_path, 1)->check(!inv.args.flag("quick"));
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  if (problems.empty()) {
    inv.out << describe_db(db_path) << ": ok\n";
    return {};
  }
  for (const auto& p : problems) inv.out << describe_db(db_path) << ": " << printable(p) << "\n";
  return {kExitFailure, std::to_string(problems.size()) +
                            " problem(s) found: restore the database from a backup (or, for SQLite, try `sqlite3 "
                            "FILE .recover`)"};
}

std::string time_or_dash(const std::optional<std::int64_t>& t) { return t ? format_rfc3339(*t) : "-"; }

// The events `q` selects; with `all`, every one, page by page (as GET
// /v1/events' cursor pages).
std::vector<StoredEvent> list_events(Store& store, EventQuery q, bool all) {
  if (!all) return store.list(q);
  std::vector<StoredEvent> out;
  q.limit = 10'000;
  for (;;) {
    auto page = store.list(q);
    if (page.empty()) return out;
    q.before = page.back().seq;
    out.insert(out.end(), std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()));
  }
}

// A table, columns as wide as their widest value (within bounds), like
// `column -t`. Stored before input was checked, text may hold terminal
// escapes: shown escaped.
void print_events_table(const std::vector<StoredEvent>& list, std::ostream& out) {
  auto cut = [](const std::string& raw, std::size_t n) {
    const std::string s = printable(raw);
    return s.size() <= n ? s : s.substr(0, n - 1) + "~";
  };
  std::size_t system_w = 6, env_w = 11, id_w = 2;
  for (const auto& e : list) {
    system_w = std::max(system_w, std::min<std::size_t>(printable(e.system).size(), 24));
    env_w = std::max(env_w, std::min<std::size_t>(printable(e.environment).size(), 16));
    id_w = std::max(id_w, std::min<std::size_t>(printable(e.id).size(), 40));
  }
  system_w += 2;
  env_w += 2;
  id_w += 2;
  out << std::left << std::setw(12) << "TYPE" << std::setw(static_cast<int>(system_w)) << "SYSTEM"
      << std::setw(static_cast<int>(env_w)) << "ENVIRONMENT" << std::setw(static_cast<int>(id_w)) << "ID"
      << std::setw(22) << "TIME" << std::setw(22) << "PUSHED" << std::setw(22) << "RESOLVED" << std::setw(9)
      << "CHANGES"
      << "SOURCE\n";
  for (const auto& e : list) {
    out << std::left << std::setw(12) << e.type << std::setw(static_cast<int>(system_w))
        << cut(e.system.empty() ? "-" : e.system, system_w - 2) << std::setw(static_cast<int>(env_w))
        << cut(e.environment.empty() ? "-" : e.environment, env_w - 2) << std::setw(static_cast<int>(id_w))
        << cut(e.id, id_w - 2) << std::setw(22) << time_or_dash(e.time_created) << std::setw(22)
        << time_or_dash(e.time_pushed) << std::setw(22) << time_or_dash(e.time_resolved) << std::setw(9)
        << (e.type == "deployment" ? std::to_string(e.changes.size()) : "-") << printable(e.source) << "\n";
  }
  out << list.size() << " event(s), newest first\n";
}

Outcome events(const Invocation& inv) {
  const ParsedArgs& a = inv.args;
  std::ostream& out = inv.out;
  std::string why;
  const std::string format = a.get_or("format", "table");
  if (format != "table" && format != "json") return usage_error("--format: must be table or json");
  const auto query = parse_event_query([&a](std::string_view name) { return a.get(name); }, why);
  if (!query) return usage_error("--" + why);
  const EventQuery& q = *query;
  const std::string db_path = a.get_or("db", default_db_path(inv.env));
  std::vector<StoredEvent> list;
  try {
    list = list_events(*open_existing(db_path, 1), q, a.flag("all"));
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
  if (format == "json") {
    boost::json::array all;
    for (const auto& e : list) all.push_back(event_json(e));
    out << boost::json::serialize(all) << "\n";
  } else if (list.empty()) {
    out << "no events" << (q.type.empty() ? "" : " of type " + q.type) << " in " << describe_db(db_path) << "\n";
  } else {
    print_events_table(list, out);
  }
  return {};
}

}  // namespace

std::string default_db_path(const Env& env) {
  if (const auto xdg = env.non_empty("XDG_DATA_HOME")) return *xdg + "/pulse/collector.db";
  if (const auto home = env.non_empty("HOME")) return *home + "/.local/share/pulse/collector.db";
  return "pulse-collector.db";
}

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  const ProgramSpec program{
      "pulse-collector",
      "a Pulse-compatible ingestion server for DORA events",
      "",
      {
          {.name = "serve",
           .summary = "receive events over HTTP(S) and store them",
           .description =
               "Receives events on POST /v1/ingestion/cli (the Go pulse-event-cli's API) and stores them.\n"
               "Also: GET /v1/metrics, GET /v1/events, GET /healthz, GET /readyz, GET /metrics (Prometheus),\n"
               "and the dashboard at /. SIGHUP re-reads the API keys, the config file and the log level.",
           .flags = kServeFlags,
           .notes = "API keys also come from $PULSE_COLLECTOR_API_KEYS (comma-separated).\n",
           .parse = parse_args_with_config,
           .run = serve},
          {.name = "events",
           .summary = "list stored events",
           .description = "Lists stored events, newest first.",
           .flags = kEventsFlags,
           .run = events},
          {.name = "metrics",
           .summary = "show the DORA metrics (Pulse's four, or DORA's five with --model dora)",
           .description =
               "Shows deployment frequency, lead time for changes, time to recover and change failure rate,\n"
               "with their levels (elite, high, medium, low), per system and for all systems; --model dora\n"
               "shows DORA's five current metrics; --explain METRIC lists the records behind one figure.\n"
               "All times are UTC; \"no data\" means the window has nothing to measure.",
           .flags = kMetricsFlags,
           .run = metrics},
          {.name = "check",
           .summary = "check the database for damage",
           .description =
               "Checks the database: SQLite's integrity_check (every page and index), or on PostgreSQL that\n"
               "every table answers and every index is valid. Exit 0 when sound, 1 when not.",
           .flags = kCheckFlags,
           .run = check},
      }};
  return run_program(program, args, env, out, err);
}

}  // namespace pulse::collector
