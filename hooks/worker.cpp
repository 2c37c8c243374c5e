#include "hooks/worker.hpp"
#include "hooks/spool.hpp"

#include "core/cmdline/command.hpp"
#include "core/client/connection.hpp"

#include "core/cmdline/args.hpp"
#include "core/event/event.hpp"
#include "core/git/git_range.hpp"
#include "core/git/git_repo.hpp"
#include "core/client/outbox.hpp"
#include "core/git/system_name.hpp"
#include "core/util/process.hpp"
#include "core/util/sys.hpp"
#include "core/db/sqlite.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"
#include "core/util/url.hpp"

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace pulse::hook {

namespace fs = std::filesystem;

namespace {

constexpr const char* kZero = "0000000000000000000000000000000000000000";
constexpr const char* kMarker = "# pulse-hook-managed";
constexpr std::size_t kMaxCommitsPerRef = 10'000;

const std::string kConfiguration =
    "Configuration (git config, overridden by the environment):\n"
    "  pulse.url / $PULSE_BASE_URL          where events go (default " +
    std::string(kDefaultBaseUrl) +
    ")\n"
    "  pulse.system / $PULSE_SYSTEM         the system (default: the CI's repository slug, else the\n"
    "                                       origin remote's path, owner/name, else the directory's name)\n"
    "  pulse.apiKeyFile / $PULSE_API_KEY_FILE, or $PULSE_API_KEY at delivery time\n"
    "  pulse.enabled                        false turns the hooks off for a repository\n";

// ---- configuration ----------------------------------------------------------

struct Config {
  bool enabled = true;
  Destination destination;
  std::string outbox;
  std::string state;  // hooks.db beside the outbox
  std::string log;    // <git dir>/pulse-hook.log
};

Config load_config(GitRepository& repo, const Env& env) {
  Config c;
  if (auto e = repo.config("pulse.enabled"); e && (*e == "false" || *e == "0" || *e == "no")) c.enabled = false;
  c.destination.base_url = env.non_empty("PULSE_BASE_URL").value_or(repo.config("pulse.url").value_or(kDefaultBaseUrl));
  // The one rule pulse-deploy and backfill use (core/git/system_name.hpp).
  if (auto system = env.non_empty("PULSE_SYSTEM").value_or(repo.config("pulse.system").value_or("")); !system.empty())
    c.destination.system = system;
  else {
    CiInfo ci = detect_ci(env);
    // GitLab's server hooks name the project (a bare repository's directory does not).
    if (ci.repository.empty()) ci.repository = env.non_empty("GL_PROJECT_PATH").value_or("");
    c.destination.system = default_system(ci, repo.config("remote.origin.url").value_or(""),
                                          repo.work_dir().empty() ? repo.git_dir() : repo.work_dir());
  }
  c.destination.api_key_file =
      env.non_empty("PULSE_API_KEY_FILE").value_or(repo.config("pulse.apiKeyFile").value_or(""));
  c.outbox = default_outbox_path(env);
  c.state = (fs::path(c.outbox).parent_path() / "hooks.db").string();
  c.log = repo.git_dir() + "/pulse-hook.log";
  return c;
}

std::string destination_key(const Destination& d) { return d.base_url + "\n" + d.system + "\n" + d.api_key_file; }
void log_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << format_rfc3339(unix_now()) << " pulse-hook[" << ::getpid() << "]: " << line << "\n";
}

// ---- hook state: pushes waiting for confirmation, commits already reported ---

constexpr const char* kStateMigrations[] = {
    R"sql(
CREATE TABLE reported (
  sha         TEXT NOT NULL,
  destination TEXT NOT NULL,
  reported_at INTEGER NOT NULL,
  PRIMARY KEY (sha, destination)
);
)sql",
};

std::unique_ptr<sql::Database> open_state(const std::string& path) {
  auto db = std::make_unique<sql::Database>(path);
  db->migrate(kStateMigrations, "pulse-hook");
  return db;
}

// Enqueues push events for `commits` not reported to this destination yet,
// and remembers them: a commit's first push wins. `fresh` gets those.
int enqueue_pushes(sql::Database& state, Outbox& outbox, const Destination& dest,
                   const std::vector<std::string>& commits, std::int64_t push_time, std::vector<std::string>& fresh) {
  const std::string dkey = destination_key(dest);
  std::vector<std::pair<std::string, std::string>> items;
  fresh.clear();
  auto seen = state.prepare("SELECT 1 FROM reported WHERE sha = ?1 AND destination = ?2");
  for (const auto& sha : commits) {
    seen.reset();
    seen.bind(1, sha).bind(2, dkey);
    if (seen.step()) continue;
    fresh.push_back(sha);
    items.emplace_back("push:" + dest.base_url + ":" + dest.system + ":" + sha,
                       encode_body(Change{"git", sha, push_time, "push"}));
  }
  if (items.empty()) return 0;
  // Outbox first: if we die in between, the commit is reported twice at
  // worst (harmless), never lost.
  const auto results = outbox.enqueue_all(items, dest, push_time);
  sql::Transaction txn(state);
  auto mark = state.prepare("INSERT OR IGNORE INTO reported (sha, destination, reported_at) VALUES (?1, ?2, ?3)");
  int stored = 0;
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    if (results[i] == Enqueued::full) continue;  // not remembered: retried by a later push
    mark.reset();
    mark.bind(1, fresh[i]).bind(2, dkey).bind(3, push_time).run();
    ++stored;
  }
  txn.commit();
  return stored;
}

// The remote's default branch as its remote-tracking ref ("refs/remotes/origin/main"), if known.
std::optional<std::string> default_branch(const GitCommand& git, const std::string& remote) {
  const std::string head = git.out({"symbolic-ref", "-q", "refs/remotes/" + remote + "/HEAD"});
  if (!head.empty()) return head;
  for (const char* name : {"main", "master"})
    if (git.ok({"rev-parse", "-q", "--verify", "refs/remotes/" + remote + "/" + name}))
      return "refs/remotes/" + remote + "/" + name;
  return std::nullopt;
}

// Extension "patches" (entries the flush sends only to a collector that
// offers it): each fresh commit's patch-id and author time; for a branch
// other than the remote's default, its tip also carries the patch-id of the
// branch's whole diff from where it left the default branch, and the
// commits that diff covers. That is what a squash or rebase merge made on
// the forge matches. Best effort: what git cannot tell is left out.
std::vector<std::pair<std::string, std::string>> patch_entries(const SpoolRecord& rec, const RefUpdate& u,
                                                               const std::vector<std::string>& fresh,
                                                               const Destination& dest, std::int64_t push_time,
                                                               const std::string& log) {
  std::vector<std::pair<std::string, std::string>> items;
  if (fresh.empty()) return items;
  const GitCommand git(rec.git_dir);
  std::string why;
  auto authored = author_times(git, fresh);
  std::vector<CommitPatch> ids;
  if (!patch_ids(git, fresh, rec.remote, ids, why)) log_line(log, "patch-ids left out: " + why);
  std::unordered_map<std::string, std::string> patch_of;
  for (auto& p : ids) patch_of[p.sha] = std::move(p.patch_id);
  const std::string prefix = std::string(kPatchKeyPrefix) + dest.base_url + ":" + dest.system + ":";
  Change tip;
  for (const auto& sha : fresh) {
    Change c{"git", sha, push_time, "push"};
    c.author_time = authored.contains(sha) ? authored[sha] : 0;
    c.patch_id = patch_of.contains(sha) ? patch_of[sha] : "";
    if (sha == u.local_sha) tip = c;
    else items.emplace_back(prefix + sha, encode_body(c));
  }
  if (tip.change_id.empty()) return items;
  // The branch's whole diff, unless this is the default branch itself.
  const auto main = default_branch(git, rec.remote);
  const std::string branch = "refs/remotes/" + rec.remote + "/" + u.remote_ref.substr(11);
  if (main && *main != branch) {
    const std::string base = git.out({"merge-base", u.local_sha, *main});
    if (is_full_sha(base) && base != u.local_sha) {
      const auto covered = git.run({"rev-list", "--max-count=1001", u.local_sha, "^" + base});
      std::vector<std::string> commits;
      std::istringstream in(covered.out);
      for (std::string l; std::getline(in, l);)
        if (is_full_sha(l)) commits.push_back(l);
      const std::string pid = diff_patch_id(git, base, u.local_sha);
      if (covered.exit_code == 0 && !commits.empty() && commits.size() <= 1000 && !pid.empty()) {
        tip.branch_patch_id = pid;
        tip.branch_commits = std::move(commits);
      }
    }
  }
  items.emplace_back(prefix + tip.change_id + (tip.branch_patch_id.empty() ? "" : ":" + tip.branch_patch_id),
                     encode_body(tip));
  return items;
}

void warn_if_full(Outbox& outbox, const std::string& log) {
  const auto s = outbox.stats();
  if (s.pending >= Outbox::kDefaultCapacity)
    log_line(log, "outbox full (" + std::to_string(s.pending) +
                      " events): new events are dropped until it drains; "
                      "run `pulse-event-cli outbox status`");
}

// Delivers the outbox; if another flusher holds the lock, waits for it
// (bounded) and flushes again, so events enqueued meanwhile are not stranded.
void flush_now(const std::string& outbox_path, const Env& env, const std::string& log) {
  Outbox outbox(outbox_path);
  // A push is a rare, natural moment to retry everything left over.
  const auto r = flush_outbox_when_free(
      outbox, env, [&log](const std::string& l) { log_line(log, l); }, true);
  if (!r.locked_out && (r.delivered || r.failed || r.rejected))
    log_line(log, "flush: " + std::to_string(r.delivered) + " delivered, " + std::to_string(r.failed) + " to retry, " +
                      std::to_string(r.rejected) + " set aside");
}

// ---- confirmation (pulse-hook-worker, after git push exits) -----------------------

SpoolRecord read_spool(const std::string& path) {
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  return parse_spool(text);
}

// Confirms one recorded push: the commits it shipped, if the remote-tracking
// ref now holds them; enqueued with `push_time`. Returns commits enqueued.
int confirm_record(const SpoolRecord& rec, std::int64_t push_time, const Env& env) {
  std::string why;
  auto repo = GitRepository::open(rec.git_dir, why);
  if (!repo) return 0;
  const Config cfg = load_config(*repo, env);
  if (!cfg.enabled) return 0;
  const bool named =
      !rec.remote.empty() && rec.remote != rec.url && repo->config("remote." + rec.remote + ".url").has_value();
  if (!named) {
    log_line(cfg.log, "push to " + rec.url.substr(0, 200) + " (no named remote): cannot be confirmed, not recorded");
    return 0;
  }
  const auto fetch = repo->config("remote." + rec.remote + ".fetch").value_or("");
  const std::string standard = "+refs/heads/*:refs/remotes/" + rec.remote + "/*";
  auto state = open_state(cfg.state);
  Outbox outbox(cfg.outbox);
  int enqueued = 0;
  for (const auto& u : rec.updates) {
    if (u.local_sha == kZero) continue;  // a deletion ships nothing
    if (!u.remote_ref.starts_with("refs/heads/")) {
      log_line(cfg.log, "push of " + u.remote_ref + ": only branches are confirmed (tags ship commits already pushed)");
      continue;
    }
    if (fetch != standard && fetch != standard.substr(1)) {
      log_line(cfg.log, "remote " + rec.remote + " has a non-standard fetch refspec: cannot confirm, not recorded");
      continue;
    }
    const std::string tracking = "refs/remotes/" + rec.remote + "/" + u.remote_ref.substr(11);
    const auto tip = repo->ref_target(tracking);
    if (!tip || !repo->is_ancestor(u.local_sha, *tip)) {
      log_line(cfg.log, "push of " + u.local_sha.substr(0, 12) + " to " + tracking +
                            " not confirmed (rejected or failed): not reported");
      continue;
    }
    // New to the remote: <local> --not <what the remote had before the push>.
    std::vector<std::string> commits;
    if (!repo->rev_list({u.local_sha}, rec.tips, {}, kMaxCommitsPerRef, commits, why)) {
      // libgit2 1.5.1 cannot walk shallow clones: ask git.
      std::vector<std::string> argv = {"git", "--git-dir", rec.git_dir, "rev-list", "--max-count=10000", u.local_sha};
      for (const auto& t : rec.tips) argv.push_back("^" + t);
      const auto r = run_command(argv);
      if (r.exit_code != 0) {
        log_line(cfg.log, "list commits of " + u.local_ref + ": " + why);
        continue;
      }
      commits.clear();
      std::istringstream lines(r.out);
      for (std::string l; std::getline(lines, l);)
        if (!l.empty()) commits.push_back(l);
    }
    std::vector<std::string> fresh;
    enqueued += enqueue_pushes(*state, outbox, cfg.destination, commits, push_time, fresh);
    if (const auto patches = patch_entries(rec, u, fresh, cfg.destination, push_time, cfg.log); !patches.empty())
      outbox.enqueue_all(patches, cfg.destination, push_time);
  }
  warn_if_full(outbox, cfg.log);
  return enqueued;
}

void confirm(const std::string& spool_path, std::int64_t push_time, const Env& env) {
  // Bookkeeping after the push: it yields the cores to whatever the
  // developer does next (the git processes it starts inherit this).
  errno = 0;
  (void)::nice(10);
  const SpoolRecord rec = read_spool(spool_path);
  std::string log = rec.git_dir.empty() ? "" : rec.git_dir + "/pulse-hook.log";
  try {
    if (rec.complete) confirm_record(rec, push_time, env);
    std::error_code ec;
    fs::remove(spool_path, ec);
    // Records whose confirmation never ran (killed, machine restarted): their
    // push is over; the best known time is when they were recorded.
    const auto dir = fs::path(spool_path).parent_path();
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".push") continue;
      const SpoolRecord old = read_spool(entry.path().string());
      if (old.complete && old.push_pid > 0 && !wait_for_exit(old.push_pid, std::chrono::milliseconds(0))) continue;
      if (old.complete && unix_now() - old.recorded_at < 5) continue;  // a push that just started
      if (old.complete) confirm_record(old, old.recorded_at, env);
      fs::remove(entry.path(), ec);
    }
  } catch (const std::exception& e) {
    if (!log.empty()) log_line(log, std::string("confirm: ") + e.what());
    return;
  }
  if (log.empty()) return;
  flush_now(default_outbox_path(env), env, log);
}

// ---- post-receive (server side) -------------------------------------------------------

void post_receive(const std::string& input, const Env& env) {
  const auto receive_time = unix_now();
  std::string why;
  auto repo = GitRepository::open(".", why);
  if (!repo) return;
  const Config cfg = load_config(*repo, env);
  if (!cfg.enabled) return;
  try {
    std::vector<std::string> news, olds;
    std::set<std::string> updated;
    for (const auto& line : parse_updates(input)) {  // "<old> <new> <ref>": same shape, other names
      const std::string& old_sha = line.local_ref;
      const std::string& new_sha = line.local_sha;
      const std::string& ref = line.remote_ref;
      updated.insert(ref);
      if (new_sha != kZero) news.push_back(new_sha);
      if (old_sha != kZero) olds.push_back(old_sha);
    }
    if (news.empty()) return;
    // New commits: reachable from the new tips, not from the old tips nor
    // from any ref this push did not touch.
    std::vector<std::string> exclude = olds;
    for (const auto& ref : repo->ref_names())
      if (!updated.count(ref))
        if (auto t = repo->ref_target(ref)) exclude.push_back(*t);
    std::vector<std::string> commits;
    if (!repo->rev_list(news, exclude, {}, 100'000, commits, why)) {
      log_line(cfg.log, "post-receive: " + why);
      return;
    }
    if (commits.empty()) return;
    auto state = open_state(cfg.state);
    Outbox outbox(cfg.outbox);
    std::vector<std::string> fresh;
    enqueue_pushes(*state, outbox, cfg.destination, commits, receive_time, fresh);
    warn_if_full(outbox, cfg.log);
    spawn_detached({self_executable(), "flush"}, "", cfg.log);
  } catch (const std::exception& e) {
    log_line(cfg.log, std::string("post-receive: ") + e.what());
  }
}

// The input lines are "<old> <new> <ref>": reuse the 4-field parser by
// padding a 4th field.
std::string pad_post_receive(const std::string& input) {
  std::istringstream in(input);
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out += line + " -\n";
  return out;
}

// ---- install / uninstall / status -------------------------------------------------

std::string hooks_dir(std::string& why) {
  // Relative to here (--path-format=absolute needs git 2.31; Debian 11 has 2.30).
  const auto r = run_command({"git", "rev-parse", "--git-path", "hooks"});
  if (r.exit_code != 0) {
    why = "not in a git repository (git rev-parse: " + r.err.substr(0, r.err.find('\n')) + ")";
    return "";
  }
  std::string dir = r.out;
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  std::error_code ec;
  return fs::absolute(dir, ec).lexically_normal().string();
}

// The hook is a symlink to the lean pulse-hook beside this worker: git
// starts it directly, with no shell in between.
// Beside this worker, or in ../../bin when it lives in /usr/libexec/pulse
// (the Debian package).
std::string lean_exe() {
  const auto here = fs::path(self_executable()).parent_path();
  std::error_code ec;
  if (fs::exists(here / "pulse-hook", ec)) return (here / "pulse-hook").string();
  return (here / ".." / ".." / "bin" / "pulse-hook").lexically_normal().string();
}

bool is_ours(const fs::path& p) {
  std::error_code ec;
  if (fs::is_symlink(p, ec)) return fs::read_symlink(p, ec).filename() == "pulse-hook";
  std::ifstream in(p);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  return content.find(kMarker) != std::string::npos;
}

Outcome install(const ParsedArgs& a, std::ostream& out, bool remove) {
  std::string why;
  std::string dir = a.get_or("hooks-dir", "");
  if (dir.empty()) dir = hooks_dir(why);
  if (dir.empty()) return usage_error(why);
  const std::string hook = a.flag("server") ? "post-receive" : "pre-push";
  const fs::path path = fs::path(dir) / hook, orig = fs::path(dir) / (hook + ".pulse-orig");
  std::error_code ec;
  if (remove) {
    if ((!fs::exists(path) && !fs::is_symlink(path, ec)) || !is_ours(path)) {
      out << "pulse-hook: no pulse hook at " << path.string() << ": nothing to do\n";
      return {};
    }
    if (!fs::remove(path, ec) || ec) return {kExitFailure, "cannot remove " + path.string() + ": " + ec.message()};
    if (fs::exists(orig)) {
      fs::rename(orig, path, ec);
      if (ec) return {kExitFailure, "cannot restore your hook " + orig.string() + ": " + ec.message()};
      out << "pulse-hook: removed; restored your " << hook << " hook at " << path.string() << "\n";
    } else {
      out << "pulse-hook: removed " << path.string() << "\n";
    }
    return {};
  }
  fs::create_directories(dir, ec);
  if (fs::is_symlink(path, ec) && is_ours(path)) {
    out << "pulse-hook: already installed at " << path.string() << "\n";
    return {};
  }
  if (fs::exists(path) || fs::is_symlink(path, ec)) {
    if (fs::exists(orig))
      return {kExitFailure, "both " + path.string() + " and " + orig.string() + " exist; move one away first"};
    fs::rename(path, orig, ec);
    if (ec) return {kExitFailure, "cannot keep your hook (" + ec.message() + ")"};
    out << "pulse-hook: your existing " << hook << " hook is kept as " << orig.filename().string()
        << " and still runs first\n";
  }
  fs::create_symlink(lean_exe(), path, ec);
  if (ec) {
    const std::string message = "cannot create " + path.string() + ": " + ec.message();
    if (fs::exists(orig)) fs::rename(orig, path, ec);
    return {kExitFailure, message};
  }
  out << "pulse-hook: installed " << path.string() << " (-> " << lean_exe() << ")\n";
  return {};
}

Outcome status(const Env& env, std::ostream& out) {
  std::string why;
  const std::string dir = hooks_dir(why);
  if (dir.empty()) return usage_error(why);
  for (const char* h : {"pre-push", "post-receive"}) {
    const fs::path p = fs::path(dir) / h;
    out << h << ": "
        << (!fs::exists(p) && !fs::is_symlink(p) ? "not installed"
            : is_ours(p)
                ? (fs::exists(p) ? "installed" : "installed, but " + fs::read_symlink(p).string() + " is missing")
                : "a hook of yours (pulse-hook not installed)")
        << (fs::exists(fs::path(dir) / (std::string(h) + ".pulse-orig")) ? ", chaining your original hook" : "")
        << "\n";
  }
  out << "hooks directory: " << dir << "\n";
  if (auto repo = GitRepository::open(".", why)) {
    const Config cfg = load_config(*repo, env);
    out << "enabled: " << (cfg.enabled ? "yes" : "no (pulse.enabled=false)") << "\n"
        << "destination: " << cfg.destination.base_url << " (system " << cfg.destination.system << ")\n"
        << "API key: "
        << (cfg.destination.api_key_file.empty() ? "$PULSE_API_KEY at delivery time"
                                                 : "from " + cfg.destination.api_key_file)
        << "\n";
    try {
      Outbox outbox(cfg.outbox);
      const auto s = outbox.stats();
      out << "outbox: " << cfg.outbox << ": " << s.pending << " waiting, " << s.rejected << " set aside\n";
    } catch (const std::exception& e) {
      out << "outbox: " << e.what() << "\n";
    }
    out << "log: " << cfg.log << "\n";
  }
  return {};
}

const std::vector<FlagSpec> kConfirmFlags = {
    {"spool", "FILE", "the push's record"},
    {"push-time", "UNIX", "when git push exited"},
};

const std::vector<FlagSpec> kInstallFlags = {
    {"server", "", "install the server-side post-receive hook instead of pre-push"},
    {"hooks-dir", "DIR", "install into DIR (e.g. a template directory) instead of the repository's hooks"},
};

}  // namespace

namespace {

// What a command's handler reads and writes.
struct Io {
  const Env& env;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// Hook modes never fail and never write to the terminal of the push.
Outcome quietly(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception&) {
    // What the worker can log, it logs (flush.log, the outbox's last
    // error); the push has already succeeded, so nothing is left to say.
  }
  return {};
}

// The commands people run in a repository.
std::vector<CommandSpec> repository_commands(const Io& io) {
  return {
      {.name = "install",
       .summary = "add the hook to this repository (chains existing hooks)",
       .description = "Installs pulse-hook as this repository's pre-push hook (or, with --server, post-receive),\n"
                      "keeping an existing hook, which runs first.",
       .flags = kInstallFlags,
       .run = [](const Invocation& inv) { return install(inv.args, inv.out, false); }},
      {.name = "uninstall",
       .summary = "remove it, restoring what was there",
       .description = "Removes the hook pulse-hook installed and restores the hook that was there before.",
       .flags = kInstallFlags,
       .run = [](const Invocation& inv) { return install(inv.args, inv.out, true); }},
      {.name = "status",
       .summary = "what is installed, configured and waiting",
       .run = [&io](const Invocation&) { return status(io.env, io.out); }},
  };
}

// The commands git (through the installed symlinks) and pulse-hook itself run.
std::vector<CommandSpec> git_commands(const Io& io) {
  constexpr std::string_view kByGit = "Run by git (the installed hooks are symlinks to pulse-hook)";
  const auto post_receive_step = [&io](const Invocation&) {
    return quietly([&io] {
      std::string input((std::istreambuf_iterator<char>(io.in)), {});
      post_receive(pad_post_receive(input), io.env);
    });
  };
  const auto flush_step = [&io](const Invocation&) {
    return quietly([&io] {
      const std::string outbox = default_outbox_path(io.env);
      flush_now(outbox, io.env, (fs::path(outbox).parent_path() / "flush.log").string());
    });
  };
  const auto confirm_step = [&io](const Invocation& inv) -> Outcome {
    const auto spool = inv.args.get("spool");
    unsigned long push_time = 0;
    if (!spool || !parse_uint(inv.args.get_or("push-time", ""), 1UL << 40, push_time))
      return usage_error("give --spool FILE and --push-time UNIX");
    return quietly([&] { confirm(*spool, static_cast<std::int64_t>(push_time), io.env); });
  };
  return {
      {.name = "pre-push",
       .operands = "REMOTE URL < ref lines",
       .summary = "record the push; confirm it after git push exits",
       .description = "Records the push (pulse-hook itself does this, at no cost to the push); with --from-env, from\n"
                      "the pre-commit framework's variables.",
       .flags = {{"from-env", "", "read the push from the pre-commit framework's variables"}},
       .section = kByGit,
       .run =
           [](const Invocation& inv) {
             inv.err << "pulse-hook-worker: pre-push is handled by pulse-hook\n";
             return Outcome{};
           }},
      {.name = "post-receive",
       .operands = "< ref lines",
       .summary = "server side: report commits this push made reachable",
       .section = kByGit,
       .run = post_receive_step},
      {.name = "flush", .summary = "deliver what the outbox holds", .section = kByGit, .run = flush_step},
      {.name = "confirm",
       .summary = "after a push: confirm what pre-push recorded (started by pulse-hook)",
       .flags = kConfirmFlags,
       .section = kByGit,
       .run = confirm_step},
  };
}

}  // namespace

int run(const std::vector<std::string>& args, const Env& env, std::istream& in, std::ostream& out, std::ostream& err) {
  const Io io{env, in, out, err};
  ProgramSpec program{"pulse-hook", "record when commits are really pushed (for DORA lead time)", kConfiguration,
                      repository_commands(io)};
  for (auto& c : git_commands(io)) program.commands.push_back(std::move(c));
  return run_program(program, args, env, out, err);
}

}  // namespace pulse::hook
