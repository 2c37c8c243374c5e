#include "deploy.hpp"

#include "command.hpp"
#include "connection.hpp"

#include "args.hpp"
#include "ci.hpp"
#include "system_name.hpp"
#include "event.hpp"
#include "git_range.hpp"
#include "http_client.hpp"
#include "ingestion.hpp"
#include "text.hpp"
#include "timeutil.hpp"
#include "url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace pulse::deploy {

namespace {

const std::vector<FlagSpec> kFlags = [] {
  std::vector<FlagSpec> own = {
      {"system", "NAME",
       "the system deployed (default: git config pulse.system, else the CI's repository slug, else the origin remote's path, else the directory's name)",
       false, "PULSE_SYSTEM"},
      {"environment", "NAME", "deployment environment (default: the CI's, else production)", false,
       "PULSE_ENVIRONMENT"},
      {"identifier", "ID", "deployment id (default: the tag at the commit, else the CI run id, else the SHA)", false,
       "PULSE_IDENTIFIER"},
      {"timestamp", "UNIX", "deployment time (default: now)", false, "PULSE_TIMESTAMP"},
      {"sha", "SHA", "the deployed commit (default: the CI's, else HEAD)", false, "PULSE_SHA"},
      {"previous-deployment-ref", "REF", "the previous deployment's commit or tag (default: found automatically)",
       false, "PULSE_PREVIOUS_DEPLOYMENT_REF"},
      {"before", "SHA", "the push's previous tip (default: the CI's)", false, "PULSE_BEFORE"},
      {"ref", "REF", "the branch or tag built (default: the CI's)", false, "PULSE_REF"},
      {"repository", "NAME", "owner/name of the repository (default: the CI's)", false, "PULSE_REPOSITORY"},
      {"run-id", "ID", "the CI run's id (default: the CI's)", false, "PULSE_RUN_ID"},
      {"run-url", "URL", "the CI run's page (default: the CI's)", false, "PULSE_RUN_URL"},
      {"tag-pattern", "REGEX", "tags that mark deployments", false, "PULSE_TAG_PATTERN",
       "^v?[0-9]+\\.[0-9]+\\.[0-9]+$"},
      {"path", "PATH", "only commits touching PATH (repeatable; monorepos)", true},
      {"teams", "A,B", "teams responsible, comma-separated", false, "PULSE_TEAMS"},
      {"status", "STATUS",
       "failed or rolled-back: this deployment failed (DORA model; with --identifier of an earlier "
       "deployment, marks that one)",
       false, "PULSE_DEPLOY_STATUS"},
      {"fixes", "ID", "this deployment fixes the earlier deployment ID (same system and environment): rework", false,
       "PULSE_FIXES"},
      {"directory", "DIR", "the git repository (default: the CI workspace, else .)", false, "PULSE_DIRECTORY"},
      {"max-deepen", "N", "rounds of git fetch --deepen on a shallow clone before --unshallow", false,
       "PULSE_MAX_DEEPEN", "6"},
      {"dotenv", "FILE", "write PULSE_DEPLOYMENT_ID, PULSE_CHANGES, PULSE_PREVIOUS_REF to FILE (GitLab dotenv report)",
       false, "PULSE_DOTENV"},
      {"strict", "", "fail the step when delivery fails after retries (default: warn and succeed)", false,
       "PULSE_STRICT"},
      {"dry-run", "", "print what was found and the commits, send nothing", false, "PULSE_DRY_RUN"},
  };
  const auto connection = connection_flags();
  own.insert(own.begin(), connection.begin(), connection.end());
  return own;
}();

constexpr std::string_view kDescription =
    "Reports a deployment of the commit being built, with exactly the commits it shipped since the\n"
    "previous deployment of the same system and environment. The previous deployment is, in order:\n"
    "--previous-deployment-ref; the collector's record of the last deployment; the latest earlier tag\n"
    "matching --tag-pattern; the CI's \"before\" commit. With none, this is the first deployment and\n"
    "it ships only the deployed commit. Shallow clones are deepened as needed.";

struct Found {
  std::string sha;
  std::string source;  ///< where it came from, for people
};

// Asks our collector for the last deployment's head commit. A server that
// does not advertise the extension (e.g. hosted Pulse) is not asked.
std::optional<std::string> collector_previous(const Origin& origin, const ClientOptions& options,
                                              const std::string& key, const std::string& system,
                                              const std::string& environment, bool& extension) {
  HttpClient client(origin, options);
  HttpRequest req;
  req.method = "GET";
  req.target = "/v1/deployments/latest?system=" + form_escape(system) + "&environment=" + form_escape(environment);
  if (!key.empty()) req.headers.push_back({"Authorization", "Bearer " + key});
  const auto r = client.send(req);
  const auto* res = std::get_if<HttpResponse>(&r);
  if (!res) return std::nullopt;
  extension = res->header("Pulse-Extensions").value_or("").find("deployments") != std::string::npos;
  if (!extension || res->status != 200) return std::nullopt;
  boost::system::error_code ec;
  const auto v = boost::json::parse(res->body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* head = v.as_object().if_contains("head_commit");
  if (!head || !head->is_string() || head->as_string().empty()) return std::nullopt;
  return std::string(head->as_string());
}

// The commits a deployment of `head` ships after `previous`, and the
// commits they revert.
struct Shipped {
  std::vector<RangeCommit> commits;
  std::vector<std::string> reverted;
  std::string how;      ///< how the range was made exact
  std::string note;     ///< for people: a first deployment, a rollback, rewritten history
  bool warn = false;    ///< the note is a warning
  std::string failure;  ///< the range cannot be known (a delivery-like failure)
  std::string error;    ///< git failed listing it (a usage error)
};

Shipped find_shipped(const GitCommand& git, const std::optional<Found>& previous, const std::string& head,
                     const DeepenOptions& deepen, const std::vector<std::string>& paths, std::ostream& err) {
  Shipped s;
  std::string why;
  auto log = [&err](const std::string& l) { err << "pulse-deploy: " << l << "\n"; };
  auto head_only = [&] {
    if (make_range_exact(git, "", head, deepen, {}).exact && list_range(git, "", head, paths, s.commits, why)) {
      find_reverted(git, "", head, paths, s.reverted, why);
      return;
    }
    s.commits.assign({RangeCommit{head, std::atoll(git.out({"show", "-s", "--format=%ct", head}).c_str())}});
  };
  if (!previous) {
    s.note = "no previous deployment found: the first deployment ships only " + head.substr(0, 12);
    head_only();
    return s;
  }
  const auto exact = make_range_exact(git, previous->sha, head, deepen, log);
  s.how = exact.how;
  if (!exact.exact) {
    s.failure = exact.how;
    return s;
  }
  if (resolve_commit(git, previous->sha) && git.ok({"merge-base", "--is-ancestor", previous->sha, head})) {
    if (!list_range(git, previous->sha, head, paths, s.commits, why) ||
        !find_reverted(git, previous->sha, head, paths, s.reverted, why))
      s.error = "list commits: " + why;
    return s;
  }
  if (resolve_commit(git, previous->sha) && git.ok({"merge-base", "--is-ancestor", head, previous->sha})) {
    s.note = "rollback: " + head.substr(0, 12) + " is an ancestor of the previous deployment " +
             previous->sha.substr(0, 12) + " (from " + previous->source + "): it ships no new changes";
    return s;
  }
  s.note = "previous deployment " + previous->sha + " (from " + previous->source + ") is not an ancestor of " + head +
           ": history was rewritten (squash or force push); reporting " + head.substr(0, 12) + " only";
  s.warn = true;
  head_only();
  return s;
}

void append_file(const std::string& path, const std::string& text) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::app);
  out << text;
}

}  // namespace

namespace {

int deploy_step(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  std::string why;
  const auto a = parse_args(args, kFlags, env, why);
  if (!a || !a->positionals().empty()) {
    err << "pulse-deploy: " << (a ? "unexpected argument \"" + a->positionals()[0] + "\"" : why)
        << "\nRun 'pulse-deploy --help' for usage.\n";
    return kExitUsage;
  }
  CiInfo ci = detect_ci(env);
  if (a) {  // every value the CI gives can be overridden
    ci.ref = a->get_or("ref", ci.ref);
    ci.repository = a->get_or("repository", ci.repository);
    ci.run_id = a->get_or("run-id", ci.run_id);
    ci.run_url = a->get_or("run-url", ci.run_url);
  }
  const bool github = ci.provider == "github-actions";
  auto fail = [&](int code, const std::string& message) {
    err << "pulse-deploy: " << message << "\n";
    if (github) out << "::error title=pulse-deploy::" << message << "\n";
    return code;
  };

  // --- inputs ---
  const auto connection = read_connection(*a, env, why);
  if (!connection) return fail(kExitUsage, why);
  const std::string& key = connection->api_key;
  if (github && !key.empty()) out << "::add-mask::" << key << "\n";
  const Origin* origin = &connection->origin;
  const ClientOptions& options = connection->client;

  std::string dir = a->get_or("directory", "");
  if (dir.empty()) dir = env.non_empty("GITHUB_WORKSPACE").value_or(env.non_empty("CI_PROJECT_DIR").value_or("."));
  // In CI, a workspace checked out by another user (a container job) trips
  // git's ownership check: trusted for our own git commands only. Outside
  // CI, git's check stands.
  const auto opened = open_repository(dir, !ci.provider.empty(), why);
  if (!opened) return fail(kExitUsage, why);
  const GitCommand& git = *opened;

  const std::string head_rev = a->get_or("sha", ci.sha.empty() ? "HEAD" : ci.sha);
  const std::string head = resolve_commit(git, head_rev).value_or("");
  if (head.empty()) return fail(kExitUsage, "the deployed commit \"" + head_rev + "\" is not in this clone");
  std::int64_t timestamp = unix_now();
  if (auto t = a->get("timestamp")) {
    const auto parsed = parse_unix_timestamp(*t, why);
    if (!parsed) return fail(kExitUsage, "--timestamp \"" + t->substr(0, 40) + "\" " + why);
    timestamp = *parsed;
  }
  const std::string pattern = a->get_or("tag-pattern", "");
  std::string system = a->get_or("system", "");
  if (system.empty()) system = repository_system(git, ci);
  const std::string environment = a->get_or("environment", ci.environment.empty() ? "production" : ci.environment);

  // Tags matching the pattern: the one at the deployed commit names the
  // deployment; the latest in its history may be the previous deployment.
  const auto tags = list_tags(git, "", pattern, why);
  if (!tags) return fail(kExitUsage, why);
  std::string head_tag;
  for (const auto& t : *tags)
    if (t.commit == head && (head_tag.empty() || t.tag_time > 0)) head_tag = t.name;
  const std::string identifier = a->get_or("identifier", !head_tag.empty()    ? head_tag
                                                         : !ci.run_id.empty() ? ci.run_id
                                                                              : head);
  const std::string status = a->get_or("status", "");
  if (!status.empty() && status != "failed" && status != "rolled-back")
    return fail(kExitUsage, "--status must be failed or rolled-back");
  const std::string fixes = a->get_or("fixes", "");
  if (!fixes.empty() && fixes == identifier) return fail(kExitUsage, "--fixes names this deployment itself");

  // --- the previous deployment, in the documented order ---
  std::optional<Found> previous;
  bool extension = false;
  DeepenOptions deepen;
  {
    unsigned long rounds = 0;
    if (!parse_uint(a->get_or("max-deepen", "6"), 100, rounds))
      return fail(kExitUsage, "--max-deepen must be a number of rounds from 0 to 100");
    deepen.max_rounds = static_cast<int>(rounds);
  }
  if (auto ref = a->get("previous-deployment-ref")) {
    const std::string sha =
        resolve_previous(
            git, *ref, deepen, [&err](const std::string& l) { err << "pulse-deploy: " << l << "\n"; }, why)
            .value_or("");
    if (sha.empty())
      return fail(kExitUsage, "--previous-deployment-ref \"" + *ref + "\" is not a known commit, tag or branch" +
                                  (why.empty() ? "" : " (" + why + ")"));
    previous = Found{sha, "--previous-deployment-ref " + *ref};
  }
  if (!previous)
    if (auto sha = collector_previous(*origin, options, key, system, environment, extension))
      previous = Found{*sha, "the collector's last " + environment + " deployment of " + system};
  if (!previous)
    if (const auto best = latest_tag_in_history(git, *tags, head)) previous = Found{best->commit, "tag " + best->name};
  if (!previous && !a->get_or("before", ci.before_sha).empty())
    previous = Found{a->get_or("before", ci.before_sha), "the CI's before commit"};

  // --- the commits shipped ---
  const auto paths = a->all("path");
  const Shipped shipped = find_shipped(git, previous, head, deepen, paths, err);
  if (!shipped.failure.empty()) {  // like a delivery failure: a wrong range is never reported
    const std::string message = "deployment not reported: cannot list the commits it shipped: " + shipped.failure;
    if (a->flag("strict")) return fail(kExitDelivery, message);
    err << "pulse-deploy: warning: " << message << " (not failing the step; --strict would)\n";
    if (github) out << "::warning title=pulse-deploy::" << message << "\n";
    return kExitOk;
  }
  if (!shipped.error.empty()) return fail(kExitUsage, shipped.error);
  const auto& commits = shipped.commits;
  const std::string& how = shipped.how;
  const std::string& note = shipped.note;
  if (!note.empty()) {
    err << "pulse-deploy: " << (shipped.warn ? "warning: " : "") << note << "\n";
    if (github && shipped.warn) out << "::warning title=pulse-deploy::" << note << "\n";
  }

  Deployment d{"git", identifier, timestamp, {}, split_list(a->get_or("teams", "")), {}, {}, {}, {}, {}, {}};
  std::vector<Event> events;
  for (const auto& commit : commits) {
    d.changes.push_back(commit.sha);
    events.push_back(Change{"git", commit.sha, commit.commit_time, "commit"});
  }
  const std::string prev_text = previous ? previous->sha : "";
  err << "pulse-deploy: " << (ci.provider.empty() ? "no CI detected" : ci.provider) << "; deploying "
      << head.substr(0, 12) << " as " << identifier << " (system " << system << ", environment " << environment
      << "); previous: " << (previous ? previous->sha.substr(0, 12) + " from " + previous->source : "none") << "; "
      << commits.size() << " change(s)\n";
  for (const auto& sha : shipped.reverted) err << "pulse-deploy: ships a revert of " << sha.substr(0, 12) << "\n";
  if (a->flag("dry-run")) {
    if (!how.empty()) err << "pulse-deploy: range: " << how << "\n";
    for (const auto& commit : commits) out << commit.sha << " " << format_rfc3339(commit.commit_time) << "\n";
    return kExitOk;
  }
  // Typed in a developer's checkout, it would report a production
  // deployment of whatever is checked out: outside CI, say which one.
  if (ci.provider.empty() && !a->has("identifier") && !a->has("sha"))
    return fail(kExitUsage,
                "no CI detected: not reporting a deployment of this checkout without --identifier ID "
                "(or --sha SHA); `pulse-deploy --dry-run` shows what would be sent");

  // --- send: changes, then the deployment, over one connection ---
  if (extension) {  // our collector: record where this deployment ends, for the next one
    d.head_commit = head;
    d.environment = environment;
    if (ci.run_url.starts_with("https://") || ci.run_url.starts_with("http://")) d.run_url = ci.run_url;
    d.status = status;
    d.fixes = fixes;
    d.reverts = shipped.reverted;
  } else if (!status.empty() || !fixes.empty()) {
    err << "pulse-deploy: warning: " << origin->to_string() << " does not take deployment marks (a Pulse collector "
        << "extension): --status and --fixes are not sent\n";
  }
  events.push_back(std::move(d));
  HttpClient client(*origin, options);
  SystemClock clock;
  IngestionConfig ic;
  ic.api_key = key;
  ic.system = system;
  ic.environment = ci.provider.empty() ? "_unknown_" : ci.provider;
  ic.user_agent = "pulse-deploy/" PULSE_VERSION;
  ic.retry.max_attempts = connection->max_attempts;
  ic.retry.max_total = std::max(std::chrono::milliseconds(60'000), options.timeouts.total);
  IngestionClient sender(client, clock, ic, [&err](const std::string& l) { err << "pulse-deploy: " << l << "\n"; });
  const auto r = sender.send_all(events);
  if (r.status == Delivery::rejected) return fail(kExitRejected, r.reason);
  if (r.status == Delivery::misconfigured) return fail(kExitUsage, r.reason);  // TLS setup: always fails the step
  if (r.status == Delivery::failed) {
    const std::string message = "deployment not reported: " + r.reason;
    if (a->flag("strict")) return fail(kExitDelivery, message);
    err << "pulse-deploy: warning: " << message << " (not failing the step; --strict would)\n";
    if (github) out << "::warning title=pulse-deploy::" << message << "\n";
    return kExitOk;
  }

  // --- outputs ---
  err << "pulse-deploy: reported deployment " << identifier << " with " << commits.size() << " change(s) to "
      << origin->to_string() << "\n";
  const std::string n = std::to_string(commits.size());
  append_file(env.non_empty("GITHUB_OUTPUT").value_or(""),
              "deployment-id=" + identifier + "\nchanges=" + n + "\nprevious-ref=" + prev_text + "\n");
  append_file(env.non_empty("GITHUB_STEP_SUMMARY").value_or(""),
              "### Deployment reported to Pulse\n\n| | |\n|---|---|\n| deployment | `" + identifier +
                  "` |\n| commit | `" + head + "` |\n" + (ci.ref.empty() ? "" : "| ref | " + ci.ref + " |\n") +
                  (ci.run_url.empty() ? "" : "| run | " + ci.run_url + " |\n") + "| system | " + system +
                  " |\n| environment | " + environment + " |\n| changes | " + n + " |\n| previous | " +
                  (previous ? "`" + previous->sha + "` (" + previous->source + ")" : "none") + " |\n" +
                  (note.empty() ? "" : "\n> " + note + "\n"));
  if (auto f = a->get("dotenv"))
    append_file(
        *f, "PULSE_DEPLOYMENT_ID=" + identifier + "\nPULSE_CHANGES=" + n + "\nPULSE_PREVIOUS_REF=" + prev_text + "\n");
  return kExitOk;
}

}  // namespace

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  const ProgramSpec program{
      "pulse-deploy",
      "report a deployment from CI, with the commits it shipped",
      "",
      {{"", "", "report the deployment of the commit being built", kDescription, kFlags, {}, {}, [&](const auto& rest) {
          return deploy_step(rest, env, out, err);
        }}}};
  return run_program(program, args, out, err);
}

}  // namespace pulse::deploy
