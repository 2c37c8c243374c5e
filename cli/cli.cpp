#include "cli/cli.hpp"

#include "core/cmdline/command.hpp"
#include "core/client/connection.hpp"

#include "core/cmdline/args.hpp"
#include "core/git/ci.hpp"
#include "core/git/system_name.hpp"
#include "core/event/event.hpp"
#include "core/git/git_range.hpp"
#include "core/net/http_client.hpp"
#include "core/client/ingestion.hpp"
#include "core/client/outbox.hpp"
#include "core/util/process.hpp"
#include "core/util/sys.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <unordered_map>
#include <unordered_set>
#include <unistd.h>
#include <thread>

namespace pulse::cli {

namespace {

// Flags every push command takes (the Go CLI's persistent flags, plus ours).
const std::vector<FlagSpec> kConnectionFlags = [] {
  std::vector<FlagSpec> f = connection_flags();
  f.insert(f.begin() + 3, {"system", "NAME", "the system the events belong to (e.g. webapp)", false, "PULSE_SYSTEM"});
  f.push_back({"dry-run", "", "print what would be sent and send nothing", false, "PULSE_DRY_RUN"});
  f.push_back(
      {"queue", "", "put the events in the outbox and return; a background flush delivers them", false, "PULSE_QUEUE"});
  f.push_back({"quiet", "", "print nothing on stdout (the Go CLI's lines: \"Pushing ... event\", \"Found change\")",
               false, "PULSE_QUIET"});
  // The Go CLI's root flag: it reads the file and uses none of its values.
  f.push_back({"config", "FILE",
               "accepted for the Go CLI's command lines; the file is not read (the Go CLI uses none "
               "of its values either)"});
  return f;
}();

std::vector<FlagSpec> with_connection(std::vector<FlagSpec> own) {
  own.insert(own.end(), kConnectionFlags.begin(), kConnectionFlags.end());
  return own;
}

const std::vector<FlagSpec> kChangeFlags = with_connection({
    {"identifier", "ID", "the change's identifier (commit SHA)", false, "PULSE_IDENTIFIER"},
    {"timestamp", "UNIX", "when it happened, Unix seconds (default: now)", false, "PULSE_TIMESTAMP"},
    {"source", "NAME", "where the event comes from", false, "PULSE_SOURCE", "cli"},
    {"event_type", "TYPE", "commit (time = commit time) or push (time = push time)", false, "PULSE_EVENT_TYPE",
     "commit"},
});

const std::vector<FlagSpec> kDeploymentFlags = with_connection({
    {"identifier", "ID", "the deployment's identifier (e.g. a tag)", false, "PULSE_IDENTIFIER"},
    {"timestamp", "UNIX", "when it happened, Unix seconds (default: now)", false, "PULSE_TIMESTAMP"},
    {"source", "NAME", "where the event comes from", false, "PULSE_SOURCE", "cli"},
    {"teams", "A,B", "teams responsible, comma-separated (repeatable; \"a,b\" quotes a comma)", true, "PULSE_TEAMS"},
});

const std::vector<FlagSpec> kIncidentFlags = with_connection({
    {"identifier", "ID", "the incident's identifier", false, "PULSE_IDENTIFIER"},
    {"timestampCreated", "UNIX", "when it started, Unix seconds", false, "PULSE_TIMESTAMP_CREATED"},
    {"timestampResolved", "UNIX", "when it was resolved, Unix seconds", false, "PULSE_TIMESTAMP_RESOLVED"},
    {"source", "NAME", "where the event comes from", false, "PULSE_SOURCE", "cli"},
});

const std::vector<FlagSpec> kGitDeploymentFlags = with_connection({
    {"identifier", "ID", "the deployment's identifier (e.g. a tag)", false, "PULSE_IDENTIFIER"},
    {"timestamp", "UNIX", "when it happened, Unix seconds (default: now)", false, "PULSE_TIMESTAMP"},
    {"previous-deployment-ref", "REF", "the commit or tag deployed last time", false, "PULSE_PREVIOUS_DEPLOYMENT_REF"},
    {"directory", "DIR", "the git repository", false, "PULSE_DIRECTORY", "."},
    {"teams", "A,B", "teams responsible, comma-separated (repeatable; \"a,b\" quotes a comma)", true, "PULSE_TEAMS"},
    {"source", "NAME", "ignored, as by the Go CLI: git deployments always have source \"git\"", false, "PULSE_SOURCE"},
});

constexpr const char* kFooter = "Every flag can also be set as PULSE_<NAME> (e.g. PULSE_API_KEY); flags win.\n";

const std::vector<FlagSpec> kBackfillFlags = with_connection({
    {"directory", "DIR", "the git repository", false, "PULSE_DIRECTORY", "."},
    {"tag-pattern", "REGEX", "tags that were deployments", false, "PULSE_TAG_PATTERN", "^v?[0-9]+\\.[0-9]+\\.[0-9]+$"},
    {"since", "DATE", "only deployments at or after DATE (YYYY-MM-DD, RFC 3339 or Unix seconds)", false, "PULSE_SINCE"},
    {"date", "WHICH", "deployment time: tag (the tagger's date) or commit (the tagged commit's)", false, "PULSE_DATE",
     "tag"},
    {"teams", "A,B", "teams responsible, comma-separated (repeatable; \"a,b\" quotes a comma)", true, "PULSE_TEAMS"},
    {"all", "", "send every tag, also those the collector already has", false, "PULSE_ALL"},
    {"no-patch-ids", "",
     "send no patch-ids (what joins squash and rebase merges to the branch pushes a collector has; each costs a diff)",
     false, "PULSE_NO_PATCH_IDS"},
});

// Patch-ids backfill sends at most (the newest commits').
constexpr std::size_t kMaxPatchIds = 10'000;

// A step that ends early says how (the framework prints it); nullopt: go on.
using Stop = std::optional<Outcome>;

// Rejected: fix the event or key (3); misconfigured: fix the TLS setup (2);
// anything else may pass later (4).
int exit_code_of(Delivery d) {
  return d == Delivery::rejected ? kExitRejected : d == Delivery::misconfigured ? kExitUsage : kExitDelivery;
}

struct Context {
  std::string step;  // "push change", for messages
  const ParsedArgs& args;
  const Env& env;
  std::ostream& out;
  std::ostream& err;
};

Stop required(const Context& c, std::string_view flag, std::string& out) {
  auto v = c.args.get(flag);
  if (!v) return Outcome{kExitUsage, "missing required flag --" + std::string(flag)};
  if (v->empty()) return Outcome{kExitUsage, "--" + std::string(flag) + " must not be empty"};
  out = *v;
  return std::nullopt;
}

// --teams as the Go CLI reads it (pflag's string slice): each --teams adds
// the items of its value, one CSV record; else $PULSE_TEAMS. Empty items,
// which the Pulse API refuses, are left out with a warning.
Stop read_teams(const Context& c, std::vector<std::string>& teams) {
  auto values = c.args.all("teams");
  if (values.empty())
    if (auto v = c.args.get("teams")) values.push_back(std::move(*v));
  std::size_t empty = 0;
  for (const auto& value : values) {
    std::string why;
    auto items = split_csv_record(value, why);
    if (!items) return Outcome{kExitUsage, "--teams \"" + printable(value.substr(0, 80)) + "\": " + why};
    for (auto& item : *items)
      if (item.empty()) ++empty;
      else teams.push_back(std::move(item));
  }
  if (empty) c.err << c.step << ": warning: --teams: " << empty << " empty team name(s) left out\n";
  return std::nullopt;
}

Stop timestamp(const Context& c, std::string_view flag, bool needed, std::int64_t& out) {
  auto v = c.args.get(flag);
  if (!v) {
    if (needed) return Outcome{kExitUsage, "missing required flag --" + std::string(flag)};
    out = unix_now();
    return std::nullopt;
  }
  std::string why;
  const auto t = parse_unix_timestamp(*v, why);
  if (!t) return Outcome{kExitUsage, "--" + std::string(flag) + " \"" + v->substr(0, 40) + "\" " + why};
  out = *t;
  return std::nullopt;
}

// Everything needed to send: validated before any event is built, so that
// bad input never sends anything.
struct Connection {
  ServerConnection server;
  IngestionConfig ingestion;  ///< what goes with the events (its system may be found later: backfill)
  std::string shown_url;      ///< the base URL for messages (no secrets)
};

Stop connection(const Context& c, Connection& conn) {
  std::string why;
  auto read = read_connection(c.args, c.env, why);
  if (!read) return Outcome{kExitUsage, why};
  if (c.args.flag("dry-run") && c.args.flag("queue"))
    return Outcome{kExitUsage, "--dry-run and --queue contradict each other (send nothing, or send later?): give one"};
  // A collector on this machine with no keys configured accepts any key;
  // everything else needs one.
  if (read->api_key.empty() && !is_loopback_host(read->origin.host))
    return Outcome{kExitUsage, "missing required flag --api-key (or $PULSE_API_KEY)"};
  conn.shown_url = read->origin.to_string();
  conn.ingestion = ingestion_config(*read, c.args.get_or("system", ""), "pulse-event-cli", c.env);
  conn.server = std::move(*read);
  return std::nullopt;
}

// --queue: durable in the outbox when this returns; a detached flush delivers.
Stop enqueue(const Context& c, const Connection& conn, const std::vector<Event>& events) {
  if (!c.args.has("api-key-file") && c.args.has("api-key") && !c.env.non_empty("PULSE_API_KEY"))
    return Outcome{kExitUsage,
                   "--queue delivers later, so the key must come from --api-key-file or $PULSE_API_KEY "
                   "(the outbox never stores keys)"};
  const Destination to{conn.server.base_url, conn.ingestion.system, conn.server.api_key_file};
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& e : events) {
    std::string key = std::string(type_name(e)) + ":" + to.base_url + ":" + to.system + ":" + identifier(e);
    if (const auto* ch = std::get_if<Change>(&e)) key += ":" + ch->event_type;
    items.emplace_back(std::move(key), encode_body(e));
  }
  try {
    Outbox outbox(default_outbox_path(c.env));
    const auto results = outbox.enqueue_all(items, to, unix_now());
    std::size_t full = 0;
    for (auto r : results) full += r == Enqueued::full ? 1 : 0;
    if (full)
      return Outcome{kExitDelivery, "outbox " + outbox.path() + " is full: " + std::to_string(full) +
                                        " event(s) not queued; see `pulse-event-cli outbox status`"};
    c.err << c.step << ": queued " << events.size() << " event(s) in " << outbox.path() << "\n";
    spawn_detached({self_executable(), "outbox", "flush", "--quiet"}, "", "");
  } catch (const std::exception& e) {
    return Outcome{kExitInternal, std::string("queue: ") + e.what()};
  }
  return std::nullopt;
}

// "[a b]": a list as Go's %s prints a []string.
std::string go_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) out += (out.size() > 1 ? " " : "") + item;
  return out + "]";
}

// The Go CLI's stdout lines for what is about to be sent, word for word
// (scripts log and count them): one per event, or for a git deployment
// "Found change SHA" per commit and "Deployment ID".
void print_go_lines(std::ostream& out, const std::vector<Event>& events, bool git) {
  for (const auto& e : events) {
    if (git) {
      if (const auto* ch = std::get_if<Change>(&e)) out << "Found change " << ch->change_id << "\n";
      else out << "Deployment " << identifier(e) << "\n";
    } else if (const auto* ch = std::get_if<Change>(&e)) {
      out << "Pushing change event with identifier " << ch->change_id << ", timestamp "
          << format_go_local(ch->time_created) << ", source " << ch->source << " and event type " << ch->event_type
          << "\n";
    } else if (const auto* d = std::get_if<Deployment>(&e)) {
      out << "Pushing deployment event with identifier " << d->deploy_id << ", timestamp "
          << format_go_local(d->time_created) << ", source " << d->source << ", teams " << go_list(d->teams)
          << " and changes " << go_list(d->changes) << "\n";
    } else if (const auto* i = std::get_if<Incident>(&e)) {
      out << "Pushing incident event with identifier " << i->incident_id << ", created timestamp "
          << format_go_local(i->time_created) << ", resolved timestamp " << format_go_local(i->time_resolved)
          << ", source " << i->source << "\n";
    }
  }
  out.flush();
}

Stop deliver(const Context& c, const Connection& conn, const std::vector<Event>& events, bool git = false) {
  if (!c.args.flag("dry-run") && !c.args.flag("quiet")) print_go_lines(c.out, events, git);
  if (c.args.flag("dry-run")) {
    c.err << c.step << ": dry run: would send " << events.size() << " event(s) to " << conn.shown_url
          << (conn.ingestion.system.empty() ? "" : " (system " + conn.ingestion.system + ")") << "\n";
    for (const auto& e : events) c.out << encode_body(e) << "\n";
    return std::nullopt;
  }
  if (c.args.flag("queue")) return enqueue(c, conn, events);
  if (conn.server.client.tls.insecure)
    c.err << c.step << ": warning: --insecure: the server's TLS certificate is not verified\n";
  HttpClient client(conn.server.origin, conn.server.client);
  SystemClock clock;
  const std::string step = c.step;
  std::ostream& err = c.err;
  IngestionClient ingestion(client, clock, conn.ingestion,
                            [&err, &step](const std::string& line) { err << step << ": " << line << "\n"; });
  const DeliveryResult r = events.size() == 1 ? ingestion.send(events[0]) : ingestion.send_all(events);
  if (r.status == Delivery::delivered) return std::nullopt;
  std::string what = r.reason;
  if (events.size() > 1) {
    const auto& e = events[std::min(r.delivered, events.size() - 1)];
    what = std::string(type_name(e)) + " " + identifier(e).substr(0, 64) + ": " + what + " (" +
           std::to_string(r.delivered) + " of " + std::to_string(events.size()) + " events delivered)";
  }
  return Outcome{exit_code_of(r.status), what};
}

Stop push_change(const Context& c) {
  Change e;
  if (auto f = required(c, "identifier", e.change_id)) return f;
  if (auto f = timestamp(c, "timestamp", false, e.time_created)) return f;
  e.source = c.args.get_or("source", "cli");
  e.event_type = c.args.get_or("event_type", "commit");
  if (e.event_type != "commit" && e.event_type != "push")
    return Outcome{kExitUsage,
                   "--event_type must be \"commit\" or \"push\", not \"" + e.event_type.substr(0, 40) + "\""};
  Connection conn;
  if (auto f = connection(c, conn)) return f;
  return deliver(c, conn, {e});
}

Stop push_deployment(const Context& c) {
  Deployment e;
  if (auto f = required(c, "identifier", e.deploy_id)) return f;
  if (auto f = timestamp(c, "timestamp", false, e.time_created)) return f;
  e.source = c.args.get_or("source", "cli");
  if (auto f = read_teams(c, e.teams)) return f;
  e.changes = c.args.positionals();
  if (e.changes.empty())
    return Outcome{kExitUsage, "give at least one commit id (the changes this deployment shipped)"};
  for (const auto& id : e.changes)
    if (id.empty()) return Outcome{kExitUsage, "commit ids must not be empty"};
  Connection conn;
  if (auto f = connection(c, conn)) return f;
  return deliver(c, conn, {e});
}

Stop push_incident(const Context& c) {
  Incident e;
  if (auto f = required(c, "identifier", e.incident_id)) return f;
  if (auto f = timestamp(c, "timestampCreated", true, e.time_created)) return f;
  if (auto f = timestamp(c, "timestampResolved", true, e.time_resolved)) return f;
  if (e.time_resolved < e.time_created)
    return Outcome{kExitUsage, "--timestampResolved (" + format_rfc3339(e.time_resolved) +
                                   ") is before --timestampCreated (" + format_rfc3339(e.time_created) + ")"};
  e.source = c.args.get_or("source", "cli");
  Connection conn;
  if (auto f = connection(c, conn)) return f;
  return deliver(c, conn, {e});
}

Stop push_git_deployment(const Context& c) {
  Deployment d;
  d.source = "git";
  if (auto f = required(c, "identifier", d.deploy_id)) return f;
  if (auto f = timestamp(c, "timestamp", false, d.time_created)) return f;
  std::string previous;
  if (auto f = required(c, "previous-deployment-ref", previous)) return f;
  if (auto f = read_teams(c, d.teams)) return f;
  Connection conn;
  if (auto f = connection(c, conn)) return f;

  std::string why;
  const auto git = open_repository(c.args.get_or("directory", "."), false, why);
  if (!git) return Outcome{kExitUsage, why};
  const auto head = resolve_commit(*git, "HEAD");
  if (!head) return Outcome{kExitUsage, "HEAD of " + git->dir() + " names no commit (an empty repository?)"};
  DeepenOptions deepen;
  deepen.filter = filter_for(c.args.positionals());  // a shallow clone's deepening fetches commits (and trees)
  const auto log = [&c](const std::string& l) { c.err << c.step << ": " << l << "\n"; };
  const auto prev = resolve_previous(*git, previous, deepen, log, why);
  if (!prev)
    return Outcome{kExitUsage, "--previous-deployment-ref \"" + previous + "\" is not a commit, tag or branch of " +
                                   git->dir() + (why.empty() ? "" : " (" + why + ")")};
  const auto exact = make_range_exact(*git, *prev, *head, deepen, log);
  if (!exact.exact) return Outcome{kExitUsage, "list commits " + previous + "..HEAD: " + exact.how};
  if (exact.was_shallow) c.err << c.step << ": " << exact.how << "\n";
  if (!resolve_commit(*git, *prev))
    return Outcome{kExitUsage, "--previous-deployment-ref \"" + previous + "\" is not in the history of " + git->dir()};
  std::vector<RangeCommit> commits;
  if (!list_range(*git, *prev, *head, c.args.positionals(), commits, why))
    return Outcome{kExitUsage, "list commits " + previous + "..HEAD: " + why};

  std::vector<Event> events;
  events.reserve(commits.size() + 1);
  for (const auto& commit : commits) {
    d.changes.push_back(commit.sha);
    events.push_back(Change{"git", commit.sha, commit.commit_time, "commit"});
  }
  events.push_back(std::move(d));
  if (auto f = deliver(c, conn, events, true)) return f;
  if (!c.args.flag("dry-run"))
    c.err << c.step << ": sent " << commits.size() << " change(s) and deployment " << identifier(events.back())
          << " to " << conn.shown_url << "\n";
  return std::nullopt;
}

const std::vector<FlagSpec> kOutboxListFlags = {{"limit", "N", "at most N events", false, {}, "50"}};
const std::vector<FlagSpec> kOutboxPurgeFlags = {{"all", "", "every event, not only the set-aside ones"}};
const std::vector<FlagSpec> kOutboxFlushFlags = {
    {"quiet", "", "print nothing"},
    {"to", "URL", "deliver to this collector instead of the URL each event was queued for (after fixing pulse.url)"},
    {"from", "URL", "with --to: only the events queued for this URL"},
};
constexpr const char* kOutboxNotes =
    "The outbox ($PULSE_OUTBOX, default $XDG_STATE_HOME/pulse/outbox.db) holds events waiting for\n"
    "delivery: from pulse-hook, and from push commands run with --queue. Each event goes to the URL it\n"
    "was queued for; after fixing a wrong pulse.url, `outbox flush --to NEW_URL` sends what waits\n"
    "(set-aside events included) there instead.\n";

Outcome outbox_status(Outbox& outbox, std::ostream& out) {
  const auto s = outbox.stats();
  out << "outbox: " << outbox.path() << "\n" << s.pending << " event(s) waiting, " << s.rejected << " set aside";
  if (s.oldest) out << "; oldest waiting since " << format_rfc3339(*s.oldest);
  out << "\n";
  if (s.patch_records)
    out << s.patch_records << " patch-id record(s) waiting with them (pulse-hook's, for the squash and rebase join)\n";
  if (s.pending >= Outbox::kDefaultCapacity)
    out << "warning: the outbox is full: new events are refused until it drains\n";
  return {};
}

Outcome outbox_list(Outbox& outbox, const ParsedArgs& a, std::ostream& out) {
  unsigned long limit = 50;
  if (!parse_uint(a.get_or("limit", "50"), 1'000'000, limit) || limit == 0)
    return usage_error("--limit: must be between 1 and 1000000");
  const auto entries = outbox.list(limit);
  if (entries.empty()) out << "the outbox is empty\n";
  for (const auto& e : entries)
    out << std::left << std::setw(6) << e.id << std::setw(10) << (e.rejected ? "set-aside" : "waiting")
        << printable(e.destination.base_url) << " "
        << (e.destination.system.empty() ? "-" : printable(e.destination.system)) << " "
        << printable(e.key.substr(0, e.key.find(':'))) << " attempts=" << e.attempts
        << (e.last_error.empty() ? "" : " last error: " + printable(e.last_error)) << "\n";
  return {};
}

// Everything waiting, now (backoff only paces automatic flushes); with
// --to, first sent elsewhere.
Outcome outbox_flush(Outbox& outbox, const ParsedArgs& a, const Env& env, std::ostream& out, std::ostream& err) {
  const bool quiet = a.flag("quiet");
  if (a.has("from") && !a.has("to")) return usage_error("--from needs --to (where those events should go)");
  if (const auto to = a.get("to")) {
    std::string why;
    const auto origin = parse_origin(*to, why);
    if (!origin) return usage_error("--to: " + why);
    const auto moved = outbox.retarget(a.get_or("from", ""), *to);
    if (!quiet) err << "outbox flush: " << moved << " event(s) now go to " << origin->to_string() << "\n";
  }
  const FlushReport r = flush_outbox_when_free(
      outbox, env,
      quiet ? std::function<void(const std::string&)>()
            : [&err](const std::string& line) { err << "pulse-event-cli outbox flush: " << line << "\n"; },
      true);
  if (!quiet) out << r.delivered << " delivered, " << r.failed << " still waiting, " << r.rejected << " set aside\n";
  return {r.failed ? kExitDelivery : kExitOk};
}

Outcome outbox_command(const std::string& sub, const Invocation& inv) {
  const ParsedArgs& a = inv.args;
  try {
    Outbox outbox(default_outbox_path(inv.env));
    if (sub == "status") return outbox_status(outbox, inv.out);
    if (sub == "list") return outbox_list(outbox, a, inv.out);
    if (sub == "flush") return outbox_flush(outbox, a, inv.env, inv.out, inv.err);
    inv.out << "removed " << outbox.purge(a.flag("all")) << " event(s)\n";  // purge
    return {};
  } catch (const std::exception& e) {
    return {kExitFailure, e.what()};
  }
}

std::optional<std::int64_t> parse_date(const std::string& s) {
  if (auto t = parse_rfc3339(s)) return t;
  if (auto t = parse_rfc3339(s + "T00:00:00Z")) return t;
  std::string why;
  return parse_unix_timestamp(s, why);
}

// The deployment ids our collector already stores for this system, so a
// re-run sends only what is new. Any other server: none known.
// Our collector's stored deployment ids for this system, page by page
// (GET /v1/events' cursor); empty from any other server.
std::unordered_set<std::string> stored_deployments(const Connection& conn) {
  std::unordered_set<std::string> ids;
  ClientOptions options = conn.server.client;
  options.max_response_body = 256u << 20;
  HttpClient client(conn.server.origin, options);
  std::string cursor;
  for (int page = 0; page < 10'000; ++page) {
    HttpRequest req;
    req.method = "GET";
    req.target = "/v1/events?type=deployment&limit=1000&system=" + form_escape(conn.ingestion.system) +
                 (cursor.empty() ? "" : "&cursor=" + cursor);
    if (!conn.ingestion.api_key.empty()) req.headers.push_back({"Authorization", "Bearer " + conn.ingestion.api_key});
    const auto r = client.send(req);
    const auto* res = std::get_if<HttpResponse>(&r);
    if (!res || res->status != 200 || !offers_extension(res->header(kExtensionsHeader).value_or(""), "deployments"))
      return ids;
    boost::system::error_code ec;
    const auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_object()) return ids;
    const auto* events = v.as_object().if_contains("events");
    if (!events || !events->is_array()) return ids;
    for (const auto& e : events->as_array())
      if (const auto* o = e.if_object())
        if (const auto* id = o->if_contains("id"); id && id->is_string()) ids.emplace(id->as_string());
    const auto* next = v.as_object().if_contains("next");
    if (!next || !next->is_string()) return ids;
    cursor = std::string(next->as_string());
  }
  return ids;
}

// What backfill sends: each tag after the first (the baseline) as a
// deployment of the commits it shipped first, those commits as changes;
// tags before `since` or already stored (`known`) left out.
struct Replay {
  std::vector<Event> events;
  std::size_t deployments = 0, changes = 0, skipped = 0;
};

Replay replay_of(const std::vector<Tag>& tags, const std::vector<std::vector<RangeCommit>>& shipped,
                 std::optional<std::int64_t> since, const std::unordered_set<std::string>& known,
                 const std::vector<std::string>& teams, bool by_commit) {
  Replay r;
  for (std::size_t i = 1; i < tags.size(); ++i) {
    const auto& tag = tags[i];
    const std::int64_t when = deployment_time(tag, by_commit);
    if (since && when < *since) continue;
    if (known.count(tag.name)) {
      ++r.skipped;
      continue;
    }
    Deployment d{.source = "git", .deploy_id = tag.name, .time_created = when, .teams = teams};
    for (const auto& commit : shipped[i]) {
      d.changes.push_back(commit.sha);
      r.events.push_back(Change{"git", commit.sha, commit.commit_time, "commit"});
    }
    r.changes += shipped[i].size();
    r.events.push_back(std::move(d));
    ++r.deployments;
  }
  return r;
}

// Each deployment's patch-ids of the commits it ships on its tag's
// first-parent line that are not merges (squash and rebase merges a
// collector may join to branch pushes it has), the newest kMaxPatchIds.
void add_patch_ids(const Context& c, const GitCommand& git, const std::unordered_set<std::string>& singles,
                   std::vector<Event>& events) {
  std::vector<std::pair<std::int64_t, std::string>> wanted;  // (commit time, sha)
  for (const auto& e : events)
    if (const auto* change = std::get_if<Change>(&e); change && singles.contains(change->change_id))
      wanted.emplace_back(change->time_created, change->change_id);
  if (wanted.size() > kMaxPatchIds) {
    c.err << "backfill: " << wanted.size() << " commits on the tags' first-parent lines: patch-ids of the newest "
          << kMaxPatchIds << " only\n";
    std::nth_element(wanted.begin(), wanted.begin() + kMaxPatchIds, wanted.end(), std::greater<>());
    wanted.resize(kMaxPatchIds);
  }
  std::vector<std::string> shas;
  for (auto& w : wanted) shas.push_back(std::move(w.second));
  std::vector<CommitPatch> ids;
  std::string why;
  if (!patch_ids(git, shas, "origin", ids, why)) {
    c.err << "backfill: warning: patch-ids left out: " << why << "\n";
    return;
  }
  std::unordered_map<std::string, std::string> id_of;
  for (auto& p : ids) id_of.emplace(std::move(p.sha), std::move(p.patch_id));
  for (auto& e : events)
    if (auto* d = std::get_if<Deployment>(&e))
      for (const auto& sha : d->changes)
        if (const auto it = id_of.find(sha); it != id_of.end()) d->patches.push_back({sha, it->second});
}

// Sends in slices, to show progress and keep memory flat on the server side.
Stop send_in_slices(const Context& c, const Connection& conn, const std::vector<Event>& events, bool progress) {
  HttpClient client(conn.server.origin, conn.server.client);
  SystemClock clock;
  IngestionClient ingestion(client, clock, conn.ingestion,
                            [&c](const std::string& line) { c.err << "backfill: " << line << "\n"; });
  ingestion.learn_extensions();
  const bool patches = ingestion.offers("patches").value_or(false);
  constexpr std::size_t kSlice = 5000;
  for (std::size_t i = 0; i < events.size(); i += kSlice) {
    std::vector<Event> slice(events.begin() + static_cast<std::ptrdiff_t>(i),
                             events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + kSlice)));
    if (!patches)  // author and merge times and patch-ids go only where the extension is offered
      for (auto& e : slice) {
        if (auto* change = std::get_if<Change>(&e)) change->author_time = change->merged_time = 0;
        if (auto* d = std::get_if<Deployment>(&e)) d->patches.clear();
      }
    const auto r = ingestion.send_all(slice);
    if (r.status != Delivery::delivered)
      return Outcome{exit_code_of(r.status), r.reason + " (" + std::to_string(i + r.delivered) + " of " +
                                                 std::to_string(events.size()) +
                                                 " events delivered; re-run to continue: nothing is stored twice)"};
    if (progress)
      c.err << "\rbackfill: sending: " << std::min(events.size(), i + kSlice) << "/" << events.size() << " events"
            << std::flush;
  }
  if (progress) c.err << "\n";
  return std::nullopt;
}

Stop backfill(const Context& c) {
  Connection conn;
  if (auto f = connection(c, conn)) return f;
  const std::string date_mode = c.args.get_or("date", "tag");
  if (date_mode != "tag" && date_mode != "commit") return Outcome{kExitUsage, "--date must be tag or commit"};
  std::optional<std::int64_t> since;
  if (auto s = c.args.get("since")) {
    since = parse_date(*s);
    if (!since)
      return Outcome{kExitUsage,
                     "--since \"" + s->substr(0, 40) + "\" is not a date (YYYY-MM-DD, RFC 3339 or Unix seconds)"};
  }
  std::string why;
  const auto repo = open_repository(c.args.get_or("directory", "."), false, why);
  if (!repo) return Outcome{kExitUsage, why};
  const GitCommand& git = *repo;
  // The system every repository-aware command uses (pulse-deploy, pulse-hook).
  if (conn.ingestion.system.empty()) conn.ingestion.system = repository_system(git, detect_ci(c.env));
  if (is_shallow(git))
    return Outcome{kExitUsage, "backfill reads the whole history, and " + git.dir() +
                                   " is a shallow clone: run git fetch --unshallow --tags first"};
  auto tags = list_tags(git, "", c.args.get_or("tag-pattern", ""), why);
  if (!tags) return Outcome{kExitUsage, why};
  if (tags->empty())
    return Outcome{kExitUsage, "no tag in " + git.dir() + " matches --tag-pattern " + c.args.get_or("tag-pattern", "") +
                                   " (give the pattern your release tags follow, e.g. --tag-pattern '^release-')"};
  const bool by_commit = date_mode == "commit";
  order_tags(*tags, by_commit);
  const bool progress = ::isatty(2) && !c.args.flag("dry-run");

  // Each commit goes to the first tag (in time) that ships it; the first tag
  // is the baseline.
  std::vector<std::vector<RangeCommit>> shipped;
  const bool ok = first_shipped(git, *tags, c.args.positionals(), shipped, why, [&](std::size_t done, std::size_t all) {
    if (progress && (done % 50 == 0 || done == all))
      c.err << "\rbackfill: reading history: " << done << "/" << all << " tags" << std::flush;
  });
  if (progress) c.err << "\n";
  if (!ok) return Outcome{kExitUsage, why};
  std::unordered_set<std::string> known;
  if (!c.args.flag("dry-run") && !c.args.flag("all")) known = stored_deployments(conn);
  std::vector<std::string> teams;
  if (auto f = read_teams(c, teams)) return f;
  Replay replay = replay_of(*tags, shipped, since, known, teams, by_commit);
  // Where the time went, for what is sent: each commit's author time, when
  // it reached its tag's first-parent line, and the patch-ids a squash or
  // rebase merge is found by. Without them the lead times stand as they are.
  if (replay.changes) {
    std::vector<std::string> shas;
    for (const auto& e : replay.events)
      if (const auto* change = std::get_if<Change>(&e)) shas.push_back(change->change_id);
    const auto authored = author_times(git, shas);
    HistoryMerges merges;
    if (!backfill_merge_times(git, *tags, merges, why))
      c.err << "backfill: warning: merge times left out: " << why << "\n";
    for (auto& e : replay.events)
      if (auto* change = std::get_if<Change>(&e)) {
        if (const auto a = authored.find(change->change_id); a != authored.end()) change->author_time = a->second;
        if (const auto m = merges.merged.find(change->change_id); m != merges.merged.end())
          change->merged_time = m->second;
      }
    if (!c.args.flag("no-patch-ids")) add_patch_ids(c, git, merges.singles, replay.events);
  }
  const auto& events = replay.events;
  const std::size_t deployments = replay.deployments, changes = replay.changes;
  if (replay.skipped)
    c.err << "backfill: " << replay.skipped
          << " tag(s) already stored by the collector, not sent again (--all sends them)\n";

  if (c.args.flag("dry-run")) {
    c.err << "backfill: dry run: " << deployments << " deployment(s) and " << changes << " change(s) from "
          << tags->size() << " tag(s) of system " << conn.ingestion.system << "; nothing sent\n";
    for (const auto& e : events) c.out << encode_body(e) << "\n";
    return std::nullopt;
  }
  if (auto f = send_in_slices(c, conn, events, progress)) return f;
  c.err << "backfill: sent " << deployments << " deployment(s) and " << changes << " change(s) of system "
        << conn.ingestion.system << " to " << conn.shown_url << "\n";
  return std::nullopt;
}

using Step = Stop (*)(const Context&);

// A push command or backfill, its words parsed: the step.
Outcome run_step(const Invocation& inv, Step run) {
  const Context c{std::string(inv.prefix.substr(inv.prefix.find(' ') + 1)), inv.args, inv.env, inv.out, inv.err};
  // The Go CLI's one sign of --config: it names the file it read.
  if (const auto config = inv.args.get("config");
      config && !inv.args.flag("quiet") && !inv.args.flag("dry-run") && std::ifstream(*config).good())
    inv.out << "Using config file: " << *config << "\n";
  const Stop stop = run(c);
  return stop ? *stop : Outcome{};
}

}  // namespace

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  // Each command's name, operands and flags are said once: its runner is
  // made from them (it takes operands when the command declares some).
  auto step = [](std::string_view name, std::string_view operands, std::string_view summary,
                 std::string_view description, std::vector<FlagSpec> flags, Step run) {
    return CommandSpec{.name = name,
                       .operands = operands,
                       .summary = summary,
                       .description = description,
                       .flags = std::move(flags),
                       .run = [run](const Invocation& inv) { return run_step(inv, run); }};
  };
  auto outbox = [](std::string_view name, std::string_view summary, std::string_view description,
                   std::vector<FlagSpec> flags) {
    return CommandSpec{.name = name,
                       .summary = summary,
                       .description = description,
                       .flags = std::move(flags),
                       .notes = kOutboxNotes,
                       .section = "The outbox",
                       .run = [sub = std::string(name.substr(name.find(' ') + 1))](const Invocation& inv) {
                         return outbox_command(sub, inv);
                       }};
  };
  ProgramSpec program{
      "pulse-event-cli",
      "report DORA events (changes, deployments, incidents) to Pulse",
      kFooter,
      {
          step("push change", "", "report a change (a commit)",
               "Reports a change (a commit), with its commit or push time.", kChangeFlags, push_change),
          step("push deployment", "COMMIT...", "report a deployment and the commits it shipped",
               "Reports a deployment and the changes (commit SHAs) it shipped.", kDeploymentFlags, push_deployment),
          step("push incident", "", "report an incident", "Reports an incident with its creation and resolution times.",
               kIncidentFlags, push_incident),
          step("push git deployment", "[PATH...]", "report a deployment with the commits git finds for it",
               "Reports every commit in PREVIOUS..HEAD (merges included, like git log; only commits\n"
               "touching PATHs if given) as a change, then the deployment of all of them. Changes\n"
               "carry the committer time (the Go CLI sends the author time).",
               kGitDeploymentFlags, push_git_deployment),
          step("backfill", "[PATH...]", "replay a repository's tagged history as deployments",
               "Replays history: each tag matching --tag-pattern is a deployment (oldest first, by date), and\n"
               "its changes are the commits it shipped first: reachable from it and from no earlier such tag\n"
               "(with PATHs, only commits touching them, as git log -- PATHS; the first tag only marks where\n"
               "history starts). Changes carry the committer time. A re-run skips the tags our collector\n"
               "already stores (--all sends them again; any server stores each event once). Without --system,\n"
               "the system is the one pulse-deploy and pulse-hook use: git config pulse.system, else the CI's\n"
               "repository slug, else the origin remote's path (owner/name), else the directory's name.",
               kBackfillFlags, backfill),
          outbox("outbox status", "how many events wait for delivery", "Shows how many events wait, and since when.",
                 {}),
          outbox("outbox list", "the events waiting", "Lists the events waiting, oldest first.", kOutboxListFlags),
          outbox("outbox flush", "deliver what waits, now", "Delivers every waiting event now.", kOutboxFlushFlags),
          outbox("outbox purge", "remove the set-aside events (--all: every event)",
                 "Removes the events the server refused (set aside), or with --all every event.", kOutboxPurgeFlags),
      }};
  return run_program(program, args, env, out, err);
}

}  // namespace pulse::cli
