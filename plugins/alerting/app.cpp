#include "app.hpp"

#include "args.hpp"
#include "event.hpp"
#include "outbox.hpp"
#include "receiver.hpp"
#include "reporter.hpp"
#include "text.hpp"
#include "timeutil.hpp"
#include "url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <unordered_set>

namespace pulse::incident {

namespace {

constexpr const char* kUsage =
    "pulse-incident: turn alerting callbacks into DORA incidents\n"
    "\n"
    "Usage:\n"
    "  pulse-incident serve [flags]                  receive webhooks on /alertmanager, /grafana, /pagerduty,\n"
    "                                                /opsgenie and /generic\n"
    "  pulse-incident report --source S [flags] < payload.json\n"
    "                                                the same, for tools that run a command\n"
    "  pulse-incident list [flags]                   open and recently resolved incidents\n"
    "  pulse-incident version | help [COMMAND]\n"
    "\n"
    "Run 'pulse-incident COMMAND --help' for a command's flags.\n";

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
    f.push_back({keep(n + "-token-file"), "FILE",
                 keep("accepted bearer token(s) or user:password for /" + n + ", one per line (or $" + env + "_TOKEN)")});
    if (secret_source(name))
      f.push_back({keep(n + "-secret-file"), "FILE",
                   keep("signing secret(s) for /" + n + ", one per line, several during rotation (or $" + env + "_SECRET)")});
  }
  f.push_back({"grafana-timestamp-window", "SECONDS",
               "accept a signed X-Grafana-Alerting-Timestamp this far from the clock, either way", false,
               "PULSE_INCIDENT_GRAFANA_TIMESTAMP_WINDOW", "300"});
  f.push_back({"generic-mapping", "FILE", "JSON mapping for /generic (see README)", false, "PULSE_INCIDENT_GENERIC_MAPPING"});
  f.push_back({"system", "NAME", "default DORA system for every route", false, "PULSE_SYSTEM"});
  f.push_back({"db", "PATH", "state database (default $XDG_STATE_HOME/pulse/incidents.db)", false, "PULSE_INCIDENT_DB"});
  f.push_back({"base-url", "URL", "where resolved incidents are reported", false, "PULSE_BASE_URL", "http://127.0.0.1:8765"});
  f.push_back({"api-key-file", "FILE", "API key for --base-url (or $PULSE_API_KEY)", false, "PULSE_API_KEY_FILE"});
  f.push_back({"ca-file", "FILE", "trust this PEM CA bundle for --base-url", false, "PULSE_CA_FILE"});
  f.push_back({"insecure", "", "do not verify --base-url's TLS certificate (unsafe)", false, "PULSE_INSECURE"});
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
      {"max-connections", "N", "connections held at once (when full, the longest-idle one is closed for a new one)", false, "PULSE_INCIDENT_MAX_CONNECTIONS", "16384"},
      {"timeout", "SECONDS", "to receive one request or send one answer", false, "PULSE_INCIDENT_TIMEOUT", "10"},
      {"public-host", "NAME", "a host name that also names this server on routes without credentials (a reverse "
       "proxy's; repeatable)", true},
  };
  f.insert(f.begin(), own.begin(), own.end());
  return f;
}

std::vector<FlagSpec> report_flags() {
  auto f = route_flags();
  const std::vector<FlagSpec> own = {
      {"source", "NAME", "alertmanager, grafana, pagerduty, opsgenie or generic"},
      {"signature", "SIG", "verify this signature (X-PagerDuty-Signature or X-Grafana-Alerting-Signature value)",
       false, "PULSE_INCIDENT_SIGNATURE"},
      {"timestamp", "TS", "Grafana's timestamp header value, if it signs one", false, "PULSE_INCIDENT_TIMESTAMP"},
      {"authorization", "VALUE", "verify this Authorization header value against the route's tokens (prefer the variable)",
       false, "PULSE_INCIDENT_AUTHORIZATION"},
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

// Routes, secrets and the reporter's connection, from flags and environment.
bool build_setup(const ParsedArgs& a, const Env& env, Setup& s, std::string& why) {
  for (auto name : source_names()) {
    const std::string n(name), env_name = "PULSE_INCIDENT_" + upper(name);
    RouteConfig rc;
    rc.system = a.get_or(n + "-system", a.get_or("system", ""));
    if (auto f = a.get(n + "-token-file")) {
      auto lines = read_config_lines(*f);
      if (!lines) {
        why = "cannot read " + *f;
        return false;
      }
      rc.auth.tokens = std::move(*lines);
    }
    if (auto t = env.non_empty(env_name + "_TOKEN")) for (auto& x : split_list(*t)) rc.auth.tokens.push_back(x);
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
  const auto origin = parse_origin(a.get_or("base-url", "http://127.0.0.1:8765"), why);
  if (!origin) {
    why = "--base-url: " + why;
    return false;
  }
  s.reporter.origin = *origin;
  s.reporter.base_url = a.get_or("base-url", "http://127.0.0.1:8765");
  if (auto f = a.get("api-key-file")) {
    if (!read_first_line(*f)) {
      why = "--api-key-file: cannot read " + *f;
      return false;
    }
    s.reporter.api_key_file = *f;
  }
  s.reporter.client.tls.ca_file = a.get_or("ca-file", "");
  s.reporter.client.tls.insecure = a.flag("insecure");
  s.reporter.client.timeouts.total = std::chrono::seconds(20);
  s.reporter.client.proxy = proxy_for(*origin, env, why);
  if (!why.empty()) return false;
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

int serve(const std::vector<std::string>& args, const Env& env, std::ostream& err) {
  const auto flags = serve_flags();
  std::string why;
  const auto a = parse_args(args, flags, env, why);
  if (!a || !a->positionals().empty()) {
    err << "pulse-incident serve: " << (a ? "unexpected argument \"" + a->positionals()[0] + "\"" : why)
        << "\nRun 'pulse-incident serve --help' for usage.\n";
    return kExitUsage;
  }
  unsigned long port = 0, threads = 0, max_conn = 0, timeout = 0;
  if (!parse_uint(a->get_or("port", ""), 65535, port) || !parse_uint(a->get_or("threads", ""), 64, threads) ||
      threads == 0 || !parse_uint(a->get_or("max-connections", ""), 100000, max_conn) || max_conn == 0 ||
      !parse_uint(a->get_or("timeout", ""), 3600, timeout) || timeout == 0) {
    err << "pulse-incident serve: --port, --threads, --max-connections and --timeout need numbers in range\n";
    return kExitUsage;
  }
  Setup setup;
  if (!build_setup(*a, env, setup, why)) {
    err << "pulse-incident serve: " << why << "\n";
    return kExitUsage;
  }
  const std::string bind = a->get_or("bind", "127.0.0.1");
  std::string open_routes;
  for (const auto& [name, rc] : setup.routes)
    if (!rc.auth.configured() && !(name == "generic" && !rc.mapping)) open_routes += (open_routes.empty() ? "/" : ", /") + name;
  if (!open_routes.empty() && !is_loopback_host(bind)) {
    err << "pulse-incident serve: refusing to listen on " << bind << " with unauthenticated routes (" << open_routes
        << "): give each a --<source>-token-file or --<source>-secret-file, or bind to 127.0.0.1\n";
    return kExitUsage;
  }
  Log log{err, {}};
  auto logger = [&log](const std::string& line) { log(line); };
  try {
    State state(setup.db);
    Reporter reporter(state, setup.reporter, logger);
    Receiver receiver(state, setup.routes, [&reporter] { reporter.wake(); }, logger, [] { return unix_now(); });
    receiver.set_public_hosts(a->all("public-host"));
    ServerOptions opt;
    opt.bind = bind;
    opt.port = static_cast<std::uint16_t>(port);
    opt.tls_cert = a->get_or("tls-cert", "");
    opt.tls_key = a->get_or("tls-key", "");
    opt.threads = static_cast<int>(threads);
    opt.max_connections = max_conn;
    opt.read_timeout = opt.write_timeout = Millis(timeout * 1000);
    opt.idle_timeout = Millis(60'000);
    opt.log = logger;
    HttpServer server(opt, [&receiver](const ServerRequest& r) { return receiver.handle(r); });
    server.handle_signals();
    reporter.start();
    log(std::string("listening on ") + (server.tls() ? "https" : "http") + "://" +
        (bind.find(':') != std::string::npos ? "[" + bind + "]" : bind) + ":" + std::to_string(server.port()) +
        " (state " + setup.db + "; reporting to " + setup.reporter.origin.to_string() + " through " +
        setup.reporter.outbox + ")");
    if (!open_routes.empty()) log("no credentials configured for " + open_routes + ": accepted because it listens on loopback only");
    server.run();
    reporter.stop();
  } catch (const std::exception& e) {
    err << "pulse-incident serve: " << e.what() << "\n";
    return kExitFailure;
  }
  log("stopped");
  return kExitOk;
}

int report(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err) {
  const auto flags = report_flags();
  std::string why;
  const auto a = parse_args(args, flags, env, why);
  if (!a || !a->positionals().empty()) {
    err << "pulse-incident report: " << (a ? "unexpected argument \"" + a->positionals()[0] + "\"" : why)
        << "\nRun 'pulse-incident report --help' for usage.\n";
    return kExitUsage;
  }
  const auto source = a->get("source");
  if (!source || !find_source(*source)) {
    err << "pulse-incident report: --source must be one of alertmanager, grafana, pagerduty, opsgenie, generic\n";
    return kExitUsage;
  }
  Setup setup;
  if (!build_setup(*a, env, setup, why)) {
    err << "pulse-incident report: " << why << "\n";
    return kExitUsage;
  }
  constexpr std::size_t kLimit = 1 << 20;
  std::string body(kLimit + 1, '\0');
  in.read(body.data(), static_cast<std::streamsize>(body.size()));
  body.resize(static_cast<std::size_t>(in.gcount()));
  if (body.size() > kLimit) {
    err << "pulse-incident report: payload larger than 1 MiB\n";
    return kExitRejected;
  }
  // Headers come from flags; with none, local input is trusted.
  std::map<std::string, std::string, std::less<>> headers;
  if (auto s = a->get("signature"))
    headers[*source == "grafana" ? "X-Grafana-Alerting-Signature" : "X-PagerDuty-Signature"] = *s;
  if (auto t = a->get("timestamp")) headers["X-Grafana-Alerting-Timestamp"] = *t;
  if (auto h = a->get("authorization")) headers["Authorization"] = *h;
  if (auto w = a->get("webhook-id")) headers["X-Webhook-Id"] = *w;
  const bool verify = a->has("signature") || a->has("authorization");
  const HeaderLookup lookup = [&headers](std::string_view name) -> std::optional<std::string> {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
          }))
        return v;
    return std::nullopt;
  };
  Log log{err, {}};
  auto logger = [&log](const std::string& line) { log(line); };
  try {
    State state(setup.db);
    Receiver receiver(state, setup.routes, nullptr, logger, [] { return unix_now(); });
    const Outcome o = receiver.process(*source, body, lookup, verify, a->get_or("system", ""));
    if (o.status != 200) {
      err << "pulse-incident report: " << (o.status == 401 ? "not authenticated: " : "rejected: ") << o.message << "\n";
      return kExitRejected;
    }
    out << "opened " << o.applied.opened << ", resolved " << o.applied.resolved << ", unchanged "
        << o.applied.unchanged << (o.message == "ok" ? "" : " (" + o.message + ")") << "\n";
    Reporter reporter(state, setup.reporter, logger);
    const FlushResult f = reporter.flush(unix_now(), true);
    if (f.failed > 0) {
      err << "pulse-incident report: " << f.failed << " event(s) not delivered yet; they wait in " << setup.reporter.outbox
          << " and are retried by the next report, by serve, or by `pulse-event-cli outbox flush`\n";
      return kExitDelivery;
    }
  } catch (const std::exception& e) {
    err << "pulse-incident report: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int list(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  std::string why;
  const auto a = parse_args(args, kListFlags, env, why);
  unsigned long recent = 0;
  if (!a || !parse_uint(a->get_or("recent", ""), 100000, recent)) {
    err << "pulse-incident list: " << (a ? "--recent: not a number" : why) << "\n";
    return kExitUsage;
  }
  const std::string format = a->get_or("format", "table");
  if (format != "table" && format != "json") {
    err << "pulse-incident list: --format must be table or json\n";
    return kExitUsage;
  }
  std::vector<StoredIncident> items;
  const std::string db = a->get_or("db", default_db_path(env));
  if (std::error_code ec; !std::filesystem::exists(db, ec)) {  // nothing received yet: do not create it
    if (format == "json") out << "[]\n";
    else out << "no incidents (no state at " << db << " yet)\n";
    return kExitOk;
  }
  try {
    items = State(db).list(recent);
  } catch (const std::exception& e) {
    err << "pulse-incident list: " << e.what() << "\n";
    return kExitFailure;
  }
  // Handed to the outbox is not delivered: what still waits there is "queued".
  std::unordered_set<std::string> waiting;
  if (const auto box = (std::filesystem::path(db).parent_path() / "outbox.db").string();
      std::filesystem::exists(box)) {
    try {
      Outbox outbox(box);
      for (const auto& e : outbox.list(1'000'000)) {
        if (!e.key.starts_with("incident:") || e.rejected) continue;
        boost::system::error_code ec;
        const auto body = boost::json::parse(e.body, ec);
        if (const auto* o = ec ? nullptr : body.if_object())
          if (const auto* id = o->if_contains("incident_id"); id && id->is_string()) waiting.emplace(id->as_string());
      }
    } catch (const std::exception&) {  // an unreadable outbox: say what the state knows
    }
  }
  auto state_of = [&waiting](const StoredIncident& i) -> std::string {
    if (!i.resolved) return "open";
    if (i.reported_at) return waiting.count(i.identifier) ? "queued" : "reported";
    if (i.rejected) return "rejected";
    return "pending";
  };
  if (format == "json") {
    boost::json::array all;
    for (const auto& i : items) {
      boost::json::object o;
      o["identifier"] = i.identifier;
      o["source"] = i.source;
      o["system"] = i.system;
      o["created"] = i.created;
      o["resolved"] = i.resolved ? boost::json::value(*i.resolved) : boost::json::value(nullptr);
      o["state"] = state_of(i);
      o["error"] = i.report_error;
      all.push_back(std::move(o));
    }
    out << boost::json::serialize(all) << "\n";
    return kExitOk;
  }
  if (items.empty()) {
    out << "no incidents\n";
    return kExitOk;
  }
  std::size_t id_w = 10;
  for (const auto& i : items) id_w = std::max(id_w, std::min<std::size_t>(i.identifier.size(), 60));
  out << std::left << std::setw(10) << "STATE" << std::setw(static_cast<int>(id_w + 2)) << "IDENTIFIER" << std::setw(22)
      << "CREATED" << std::setw(22) << "RESOLVED" << "SYSTEM\n";
  for (const auto& i : items)
    out << std::left << std::setw(10) << state_of(i) << std::setw(static_cast<int>(id_w + 2))
        << printable(i.identifier.substr(0, 60)) << std::setw(22) << format_rfc3339(i.created) << std::setw(22)
        << (i.resolved ? format_rfc3339(*i.resolved) : "-") << (i.system.empty() ? "-" : printable(i.system))
        << (i.report_error.empty() ? "" : "  (" + printable(i.report_error) + ")") << "\n";
  return kExitOk;
}

}  // namespace

std::string default_db_path(const Env& env) {
  if (const auto xdg = env.non_empty("XDG_STATE_HOME")) return *xdg + "/pulse/incidents.db";
  if (const auto home = env.non_empty("HOME")) return *home + "/.local/state/pulse/incidents.db";
  return "pulse-incidents.db";
}

int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  const std::string& cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  auto help = [&out](const std::string& which) {
    if (which == "serve")
      out << "Usage: pulse-incident serve [flags]\n\nReceives alert webhooks, keeps open incidents, reports resolved "
             "ones.\n\n" << flags_help(serve_flags());
    else if (which == "report")
      out << "Usage: pulse-incident report --source S [flags] < payload.json\n\nProcesses one payload from stdin "
             "(trusted unless --signature or --authorization is given),\nthen delivers what is due.\n\n"
          << flags_help(report_flags());
    else if (which == "list")
      out << "Usage: pulse-incident list [flags]\n\n" << flags_help(kListFlags);
    else
      out << kUsage;
    return kExitOk;
  };
  if (cmd == "help" || cmd == "--help" || cmd == "-h") return help(rest.empty() ? "" : rest[0]);
  if (cmd == "version" || cmd == "--version") {
    out << "pulse-incident " PULSE_VERSION "\n";
    return kExitOk;
  }
  if (cmd == "serve" || cmd == "report" || cmd == "list") {
    if (wants_help(rest)) return help(cmd);
    if (cmd == "serve") return serve(rest, env, err);
    if (cmd == "report") return report(rest, env, in, out, err);
    return list(rest, env, out, err);
  }
  err << "pulse-incident: unknown command \"" << cmd << "\"\n\n" << kUsage;
  return kExitUsage;
}

}  // namespace pulse::incident
