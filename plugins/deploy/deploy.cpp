#include "plugins/deploy/deploy.hpp"

#include "core/cmdline/command.hpp"
#include "core/client/connection.hpp"

#include "core/cmdline/args.hpp"
#include "core/git/ci.hpp"
#include "core/git/system_name.hpp"
#include "core/event/event.hpp"
#include "core/git/git_range.hpp"
#include "core/net/http_client.hpp"
#include "core/client/ingestion.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <unordered_set>

namespace pulse::deploy {

namespace {

const std::vector<FlagSpec> kFlags = [] {
  std::vector<FlagSpec> own = {
      {"system", "NAME",
       "the system deployed (default: git config pulse.system, else the CI's repository slug, else the origin remote's path, else the directory's name)",
       false, "PULSE_SYSTEM"},
      {"environment", "NAME", "deployment environment (default: the CI's, else production)", false,
       "PULSE_ENVIRONMENT"},
      {"identifier", "ID",
       "deployment id (default: the tag at the commit and the CI job's execution id, TAG+ID; either alone; else the SHA)",
       false, "PULSE_IDENTIFIER"},
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
      {"fetch-filter", "FILTER",
       "what a shallow clone's deepening fetches: auto (commits only; with --path, commits and trees), "
       "none (whole objects), or a git filter spec",
       false, "PULSE_FETCH_FILTER", "auto"},
      {"dotenv", "FILE", "write PULSE_DEPLOYMENT_ID, PULSE_CHANGES, PULSE_PREVIOUS_REF to FILE (GitLab dotenv report)",
       false, "PULSE_DOTENV"},
      {"strict", "", "fail the step when delivery fails after retries (default: warn and succeed)", false,
       "PULSE_STRICT"},
      {"no-patch-ids", "",
       "send no patch-ids (what joins squash and rebase merges to their branches' pushes; each costs a diff)", false,
       "PULSE_NO_PATCH_IDS"},
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

// Patch-ids a deployment carries at most (the newest first-parent commits).
constexpr std::size_t kMaxPatchIds = 10'000;

struct Found {
  std::string sha;
  std::string source;  ///< where it came from, for people
};

// Asks our collector for the last deployment's head commit. A server that
// does not advertise the extension (e.g. hosted Pulse) is not asked.
std::optional<std::string> collector_previous(const Origin& origin, const ClientOptions& options,
                                              const std::string& key, const std::string& system,
                                              const std::string& environment, bool& extension, bool& patches) {
  HttpClient client(origin, options);
  HttpRequest req;
  req.method = "GET";
  req.target = "/v1/deployments/latest?system=" + form_escape(system) + "&environment=" + form_escape(environment);
  if (!key.empty()) req.headers.push_back({"Authorization", "Bearer " + key});
  const auto r = client.send(req);
  const auto* res = std::get_if<HttpResponse>(&r);
  if (!res) return std::nullopt;
  const std::string offered = res->header(kExtensionsHeader).value_or("");
  extension = offers_extension(offered, "deployments");
  patches = offers_extension(offered, "patches");
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

// What the step was told and found before it looks for the range.
struct Inputs {
  std::string head, system, environment, identifier, status, fixes;
  std::int64_t timestamp = 0;
  std::vector<Tag> tags;  ///< those matching --tag-pattern
  DeepenOptions deepen;
};

// The deploy step, in the order it runs: read the inputs, find the previous
// deployment, list the commits shipped, send, write the CI's outputs. Each
// step answers an exit code when the step ends there.
class DeployStep {
 public:
  DeployStep(const ParsedArgs& a, const Env& env, std::ostream& out, std::ostream& err)
      : a_(a), env_(env), out_(out), err_(err), ci_(detect_ci(env)) {
    // Every value the CI gives can be overridden.
    ci_.ref = a.get_or("ref", ci_.ref);
    ci_.repository = a.get_or("repository", ci_.repository);
    if (const auto run = a.get("run-id")) ci_.run_id = ci_.execution_id = *run;
    ci_.run_url = a.get_or("run-url", ci_.run_url);
    github_ = ci_.actions_compatible();
  }

  Outcome run() {
    if (auto stop = connect()) return *stop;
    if (auto stop = read_inputs()) return *stop;
    if (auto stop = find_previous()) return *stop;
    const Shipped shipped = find_shipped(*git_, previous_, in_.head, in_.deepen, a_.all("path"), err_);
    if (!shipped.failure.empty())  // like a delivery failure: a wrong range is never reported
      return not_reported("cannot list the commits it shipped: " + shipped.failure);
    if (!shipped.error.empty()) return fail(kExitUsage, shipped.error);
    if (!shipped.note.empty()) {
      err_ << "pulse-deploy: " << (shipped.warn ? "warning: " : "") << shipped.note << "\n";
      if (github_ && shipped.warn) out_ << "::warning title=pulse-deploy::" << shipped.note << "\n";
    }
    describe(shipped);
    if (a_.flag("dry-run")) {
      if (!shipped.how.empty()) err_ << "pulse-deploy: range: " << shipped.how << "\n";
      for (const auto& commit : shipped.commits)
        out_ << commit.sha << " " << format_rfc3339(commit.commit_time) << "\n";
      return {};
    }
    // Typed in a developer's checkout, it would report a production
    // deployment of whatever is checked out: outside CI, say which one.
    if (ci_.provider.empty() && !a_.has("identifier") && !a_.has("sha"))
      return fail(kExitUsage,
                  "no CI detected: not reporting a deployment of this checkout without --identifier ID "
                  "(or --sha SHA); `pulse-deploy --dry-run` shows what would be sent");
    if (auto stop = send(shipped)) return *stop;
    write_outputs(shipped);
    return {};
  }

 private:
  // The framework prints the message; GitHub also gets it as an annotation.
  Outcome fail(int code, const std::string& message) {
    if (github_) out_ << "::error title=pulse-deploy::" << message << "\n";
    return {code, message};
  }

  // A deployment that could not be reported: a warning, or with --strict a failure.
  Outcome not_reported(const std::string& why) {
    const std::string message = "deployment not reported: " + why;
    if (a_.flag("strict")) return fail(kExitDelivery, message);
    err_ << "pulse-deploy: warning: " << message << " (not failing the step; --strict would)\n";
    if (github_) out_ << "::warning title=pulse-deploy::" << message << "\n";
    return {};
  }

  // Where to send, and the repository.
  std::optional<Outcome> connect() {
    std::string why;
    connection_ = read_connection(a_, env_, why);
    if (!connection_) return fail(kExitUsage, why);
    if (github_ && !connection_->api_key.empty()) out_ << "::add-mask::" << connection_->api_key << "\n";
    std::string dir = a_.get_or("directory", "");
    if (dir.empty()) dir = env_.non_empty("GITHUB_WORKSPACE").value_or(env_.non_empty("CI_PROJECT_DIR").value_or("."));
    // In CI, a workspace checked out by another user (a container job) trips
    // git's ownership check: trusted for our own git commands only, and only
    // when `dir` is the checkout's top level. Outside CI, git's check stands.
    git_ = open_repository(dir, !ci_.provider.empty(), why);
    if (!git_) return fail(kExitUsage, why);
    return std::nullopt;
  }

  // Unique per execution of the CI job, so that a retried job or a re-run
  // of an old pipeline (a rollback) is a deployment of its own: the tag at
  // the deployed commit with the execution ("v1.2+4567"), else the
  // execution ("4567"); outside CI, the tag, else the commit.
  std::string default_identifier(const std::string& head_tag) const {
    const std::string& run = ci_.execution_id;
    if (!head_tag.empty()) return run.empty() ? head_tag : head_tag + "+" + run;
    return run.empty() ? in_.head : run;
  }

  // The deployed commit, its time, system, environment and identifier, and the marks.
  std::optional<Outcome> read_inputs() {
    std::string why;
    const std::string head_rev = a_.get_or("sha", ci_.sha.empty() ? "HEAD" : ci_.sha);
    in_.head = resolve_commit(*git_, head_rev).value_or("");
    if (in_.head.empty()) return fail(kExitUsage, "the deployed commit \"" + head_rev + "\" is not in this clone");
    in_.timestamp = unix_now();
    if (auto t = a_.get("timestamp")) {
      const auto parsed = parse_unix_timestamp(*t, why);
      if (!parsed) return fail(kExitUsage, "--timestamp \"" + t->substr(0, 40) + "\" " + why);
      in_.timestamp = *parsed;
    }
    in_.system = a_.get_or("system", "");
    if (in_.system.empty()) in_.system = repository_system(*git_, ci_);
    in_.environment = a_.get_or("environment", ci_.environment.empty() ? "production" : ci_.environment);
    // Tags matching the pattern: the one at the deployed commit names the
    // deployment; the latest in its history may be the previous deployment.
    auto tags = list_tags(*git_, "", a_.get_or("tag-pattern", ""), why);
    if (!tags) return fail(kExitUsage, why);
    in_.tags = std::move(*tags);
    std::string head_tag;
    for (const auto& t : in_.tags)
      if (t.commit == in_.head && (head_tag.empty() || t.tag_time > 0)) head_tag = t.name;
    in_.identifier = a_.get_or("identifier", default_identifier(head_tag));
    in_.status = a_.get_or("status", "");
    if (!in_.status.empty() && in_.status != "failed" && in_.status != "rolled-back")
      return fail(kExitUsage, "--status must be failed or rolled-back");
    in_.fixes = a_.get_or("fixes", "");
    if (!in_.fixes.empty() && in_.fixes == in_.identifier)
      return fail(kExitUsage, "--fixes names this deployment itself");
    unsigned long rounds = 0;
    if (!parse_uint(a_.get_or("max-deepen", "6"), 100, rounds))
      return fail(kExitUsage, "--max-deepen must be a number of rounds from 0 to 100");
    in_.deepen.max_rounds = static_cast<int>(rounds);
    const std::string filter = a_.get_or("fetch-filter", "auto");
    if (filter.empty() || filter.find_first_of(" \t\n") != std::string::npos || filter.starts_with("-"))
      return fail(kExitUsage, "--fetch-filter must be auto, none, or a git filter spec such as blob:none");
    in_.deepen.filter = filter == "auto" ? filter_for(a_.all("path")) : filter == "none" ? "" : filter;
    return std::nullopt;
  }

  // The previous deployment, in the documented order. The collector is
  // asked even when --previous-deployment-ref names it: its answer says
  // whether it takes the deployment extensions (environment, head, marks).
  std::optional<Outcome> find_previous() {
    std::string why;
    const auto recorded = collector_previous(connection_->origin, connection_->client, connection_->api_key, in_.system,
                                             in_.environment, extension_, patches_);
    if (auto ref = a_.get("previous-deployment-ref")) {
      auto log = [this](const std::string& l) { err_ << "pulse-deploy: " << l << "\n"; };
      const std::string sha = resolve_previous(*git_, *ref, in_.deepen, log, why).value_or("");
      if (sha.empty())
        return fail(kExitUsage, "--previous-deployment-ref \"" + *ref + "\" is not a known commit, tag or branch" +
                                    (why.empty() ? "" : " (" + why + ")"));
      previous_ = Found{sha, "--previous-deployment-ref " + *ref};
      return std::nullopt;
    }
    if (recorded)
      previous_ = Found{*recorded, "the collector's last " + in_.environment + " deployment of " + in_.system};
    else if (const auto best = latest_tag_in_history(*git_, in_.tags, in_.head))
      previous_ = Found{best->commit, "tag " + best->name};
    else if (const auto before = a_.get_or("before", ci_.before_sha); !before.empty())
      previous_ = Found{before, "the CI's before commit"};
    return std::nullopt;
  }

  void describe(const Shipped& shipped) {
    err_ << "pulse-deploy: " << (ci_.provider.empty() ? "no CI detected" : ci_.provider) << "; deploying "
         << in_.head.substr(0, 12) << " as " << in_.identifier << " (system " << in_.system << ", environment "
         << in_.environment
         << "); previous: " << (previous_ ? previous_->sha.substr(0, 12) + " from " + previous_->source : "none")
         << "; " << shipped.commits.size() << " change(s)\n";
    for (const auto& sha : shipped.reverted) err_ << "pulse-deploy: ships a revert of " << sha.substr(0, 12) << "\n";
  }

  // Changes, then the deployment, over one connection.
  std::optional<Outcome> send(const Shipped& shipped) {
    Deployment d{.source = "git",
                 .deploy_id = in_.identifier,
                 .time_created = in_.timestamp,
                 .teams = split_list(a_.get_or("teams", ""))};
    std::vector<Event> events;
    for (const auto& commit : shipped.commits) {
      d.changes.push_back(commit.sha);
      events.push_back(Change{"git", commit.sha, commit.commit_time, "commit"});
    }
    if (patches_) add_patches(shipped, d, events, !a_.flag("no-patch-ids"));
    if (extension_) {  // our collector: record where this deployment ends, for the next one
      d.head_commit = in_.head;
      d.environment = in_.environment;
      if (ci_.run_url.starts_with("https://") || ci_.run_url.starts_with("http://")) d.run_url = ci_.run_url;
      d.status = in_.status;
      d.fixes = in_.fixes;
      d.reverts = shipped.reverted;
    } else if (!in_.status.empty() || !in_.fixes.empty()) {
      err_ << "pulse-deploy: warning: " << connection_->origin.to_string()
           << " does not take deployment marks (a Pulse collector extension): --status and --fixes are not sent\n";
    }
    events.push_back(std::move(d));
    HttpClient client(connection_->origin, connection_->client);
    SystemClock clock;
    IngestionClient sender(client, clock, ingestion_config(*connection_, in_.system, "pulse-deploy", env_),
                           [this](const std::string& l) { err_ << "pulse-deploy: " << l << "\n"; });
    const auto r = sender.send_all(events);
    if (r.status == Delivery::rejected) return fail(kExitRejected, r.reason);
    if (r.status == Delivery::misconfigured) return fail(kExitUsage, r.reason);  // TLS setup: always fails the step
    if (r.status == Delivery::failed) return not_reported(r.reason);
    return std::nullopt;
  }

  // Extension "patches": the shipped commits' author and merge times, and
  // (unless --no-patch-ids) the patch-ids of those on the first-parent line that are not merges, where
  // a squash or rebase merge the forge made can be found by its diff. What
  // git cannot tell is left out with a warning; the deployment goes on.
  void add_patches(const Shipped& shipped, Deployment& d, std::vector<Event>& events, bool with_patch_ids) {
    std::vector<std::string> shas;
    for (const auto& c : shipped.commits) shas.push_back(c.sha);
    auto author_time = author_times(*git_, shas);
    std::string why;
    const bool whole = !previous_ || shipped.commits.size() == 1;
    std::unordered_map<std::string, std::int64_t> merged;
    if (!merge_times(*git_, whole ? "" : previous_->sha, in_.head, merged, why))
      err_ << "pulse-deploy: warning: merge times left out: " << why << "\n";
    for (auto& e : events) {
      auto* c = std::get_if<Change>(&e);
      if (!c) continue;
      if (const auto a = author_time.find(c->change_id); a != author_time.end()) c->author_time = a->second;
      if (const auto m = merged.find(c->change_id); m != merged.end()) c->merged_time = m->second;
    }
    if (!with_patch_ids) return;
    std::vector<std::string> singles;
    if (!first_parent_singles(*git_, whole ? "" : previous_->sha, in_.head, singles, why)) {
      err_ << "pulse-deploy: warning: patch-ids left out: " << why << "\n";
      return;
    }
    const std::unordered_set<std::string> in_range(shas.begin(), shas.end());
    std::erase_if(singles, [&](const std::string& sha) { return !in_range.contains(sha); });
    if (singles.size() > kMaxPatchIds) {
      err_ << "pulse-deploy: warning: " << singles.size()
           << " commits on the first-parent line: patch-ids of the newest " << kMaxPatchIds << " only\n";
      singles.resize(kMaxPatchIds);
    }
    if (!patch_ids(*git_, singles, in_.deepen.remote, d.patches, why))
      err_ << "pulse-deploy: warning: patch-ids left out: " << why << "\n";
  }

  // GitHub's step outputs and summary, GitLab's dotenv report.
  void write_outputs(const Shipped& shipped) {
    const std::string& id = in_.identifier;
    err_ << "pulse-deploy: reported deployment " << id << " with " << shipped.commits.size() << " change(s) to "
         << connection_->origin.to_string() << "\n";
    const std::string n = std::to_string(shipped.commits.size());
    const std::string prev = previous_ ? previous_->sha : "";
    append_file(env_.non_empty("GITHUB_OUTPUT").value_or(""),
                "deployment-id=" + id + "\nchanges=" + n + "\nprevious-ref=" + prev + "\n");
    append_file(env_.non_empty("GITHUB_STEP_SUMMARY").value_or(""),
                "### Deployment reported to Pulse\n\n| | |\n|---|---|\n| deployment | `" + id + "` |\n| commit | `" +
                    in_.head + "` |\n" + (ci_.ref.empty() ? "" : "| ref | " + ci_.ref + " |\n") +
                    (ci_.run_url.empty() ? "" : "| run | " + ci_.run_url + " |\n") + "| system | " + in_.system +
                    " |\n| environment | " + in_.environment + " |\n| changes | " + n + " |\n| previous | " +
                    (previous_ ? "`" + previous_->sha + "` (" + previous_->source + ")" : "none") + " |\n" +
                    (shipped.note.empty() ? "" : "\n> " + shipped.note + "\n"));
    if (auto f = a_.get("dotenv"))
      append_file(*f, "PULSE_DEPLOYMENT_ID=" + id + "\nPULSE_CHANGES=" + n + "\nPULSE_PREVIOUS_REF=" + prev + "\n");
  }

  const ParsedArgs& a_;
  const Env& env_;
  std::ostream& out_;
  std::ostream& err_;
  CiInfo ci_;
  bool github_ = false;
  std::optional<ServerConnection> connection_;
  std::optional<GitCommand> git_;
  Inputs in_;
  std::optional<Found> previous_;
  bool extension_ = false;  ///< the server is our collector (it has the deployment extensions)
  bool patches_ = false;    ///< it joins squash and rebase merges by patch-id (extension "patches")
};

}  // namespace

int run(const std::vector<std::string>& args, const Env& env, std::ostream& out, std::ostream& err) {
  const ProgramSpec program{
      "pulse-deploy",
      "report a deployment from CI, with the commits it shipped",
      "",
      {{.summary = "report the deployment of the commit being built",
        .description = kDescription,
        .flags = kFlags,
        .run = [](const Invocation& inv) { return DeployStep(inv.args, inv.env, inv.out, inv.err).run(); }}}};
  return run_program(program, args, env, out, err);
}

}  // namespace pulse::deploy
