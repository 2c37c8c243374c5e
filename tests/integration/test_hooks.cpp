// pulse-hook in real repositories with a local bare remote, real pushes and
// a real collector.
#include "cli_helpers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <signal.h>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

namespace {

std::string hook_bin() { return fs::path(cli_bin()).parent_path().parent_path().string() + "/hooks/pulse-hook"; }

struct Pushed {
  std::string sha;
  std::int64_t time;
};

// A developer's clone of a bare remote, with its own state dir and HOME.
struct HookFixture {
  TempDir root;
  std::string remote = root.str("remote.git");
  std::string work = root.str("work");
  EnvOverrides env;
  std::unique_ptr<CollectorProcess> collector = std::make_unique<CollectorProcess>();

  HookFixture() {
    fs::create_directories(root.path / "home");
    env = {{"HOME", root.str("home")},
           {"XDG_STATE_HOME", root.str("state")},
           {"GIT_CONFIG_NOSYSTEM", "1"},
           {"GIT_AUTHOR_NAME", "T"},
           {"GIT_AUTHOR_EMAIL", "t@example.com"},
           {"GIT_COMMITTER_NAME", "T"},
           {"GIT_COMMITTER_EMAIL", "t@example.com"}};
    run({"git", "init", "-q", "--bare", "-b", "main", remote}, root.str());
    run({"git", "clone", "-q", remote, work}, root.str());
    git({"config", "pulse.url", collector->url()});
    git({"config", "pulse.system", "app"});
  }

  std::string run(const std::vector<std::string>& argv, const std::string& cwd, int want = 0) {
    const auto r = run_process(argv, env, cwd);
    if (want >= 0 && r.exit_code != want)
      throw std::runtime_error(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " exited " +
                               std::to_string(r.exit_code) + ": " + r.err);
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::string git(const std::vector<std::string>& args, const std::string& cwd = "", int want = 0) {
    std::vector<std::string> argv = {"git"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, cwd.empty() ? work : cwd, want);
  }
  std::string hook(const std::vector<std::string>& args, const std::string& cwd = "") {
    std::vector<std::string> argv = {hook_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, cwd.empty() ? work : cwd);
  }
  std::string commit(const std::string& file, const std::string& cwd = "") {
    write_file(fs::path(cwd.empty() ? work : cwd) / file, file + std::to_string(std::rand()));
    git({"add", file}, cwd);
    git({"commit", "-q", "-m", file}, cwd);
    return git({"rev-parse", "HEAD"}, cwd);
  }
  // Push events the collector holds, by commit.
  std::map<std::string, std::int64_t> pushed() {
    const auto r =
        collector_cmd({"events", "--db", collector->db(), "--type", "change", "--limit", "10000", "--format", "json"});
    std::map<std::string, std::int64_t> out;
    const json::value v = json::parse(r.out);
    for (const auto& e : v.as_array())
      if (!e.at("time_pushed").is_null())
        out[std::string(e.at("id").as_string())] = *parse_rfc3339(e.at("time_pushed").as_string());
    return out;
  }
  // The hooks' work for every push so far is over: each push's record was
  // confirmed (or refused) and removed.
  bool confirmed() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root.path / "state/pulse/spool", ec))
      if (e.path().extension() == ".push") return false;
    return true;
  }
  bool settled() {  // nothing pending confirmation or delivery
    const auto r = run_process({cli_bin(), "outbox", "status"}, env);
    return r.out.find("\n0 event(s) waiting") != std::string::npos;
  }
  std::string log() { return read_file(fs::path(work) / ".git/pulse-hook.log"); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hooks)

BOOST_FIXTURE_TEST_CASE(first_push_fast_forward_and_force_push, HookFixture) {
  hook({"install"});
  const auto c1 = commit("a"), c2 = commit("b");
  const auto before = unix_now();
  git({"push", "-q", "origin", "HEAD:main"});
  const auto after = unix_now();
  BOOST_TEST(wait_until([&] { return pushed().size() == 2; }));
  auto p = pushed();
  BOOST_TEST(p.count(c1) == 1u);
  BOOST_TEST(p.count(c2) == 1u);
  BOOST_TEST((p[c1] >= before && p[c1] <= after + 1));
  // Fast-forward: only the new commit.
  const auto c3 = commit("c");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 3; }));
  // Force push of a rewritten commit: the new one is reported, the old times stay.
  git({"commit", "-q", "--amend", "-m", "c rewritten"});
  const auto c3b = git({"rev-parse", "HEAD"});
  git({"push", "-q", "--force", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 4; }));
  BOOST_TEST(pushed().count(c3b) == 1u);
  BOOST_TEST(pushed()[c1] == p[c1]);
  (void)c3;
}

// Push times, deployments and history of one repository land under one
// system: the origin remote's path, for pulse-hook, pulse-deploy and backfill.
BOOST_FIXTURE_TEST_CASE(hook_deploy_and_backfill_use_one_system_name, HookFixture) {
  git({"config", "--unset", "pulse.system"});
  // Fetched from GitHub (the name), pushed to the local bare remote (the test).
  git({"remote", "set-url", "origin", "git@github.com:acme/shop.git"});
  git({"remote", "set-url", "--push", "origin", remote});
  hook({"install"});
  commit("a");
  git({"tag", "v1.0.0"});
  const auto c2 = commit("b");
  git({"tag", "v1.1.0"});
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 2; }));
  const std::string deploy = fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/deploy/pulse-deploy";
  run({deploy, "--base-url", collector->url(), "--identifier", "manual-1", "--sha", c2}, work);
  run({cli_bin(), "backfill", "--base-url", collector->url()}, work);
  const auto listed =
      json::parse(collector_cmd({"events", "--db", collector->db(), "--limit", "1000", "--format", "json"}).out);
  std::set<std::string> systems, deployments;
  for (const auto& e : listed.as_array()) {
    systems.emplace(e.at("system").as_string());
    if (e.at("type") == "deployment") deployments.emplace(e.at("id").as_string());
  }
  BOOST_TEST(systems == (std::set<std::string>{"acme/shop"}), boost::test_tools::per_element());
  BOOST_TEST(deployments == (std::set<std::string>{"manual-1", "v1.1.0"}), boost::test_tools::per_element());
  BOOST_TEST(hook({"status"}).find("acme/shop") != std::string::npos);
}

// Squash and rebase merges made on the forge (here a clone without any hook
// merges, as the forge's web page does) keep the branch's push times: the
// deployed commits' lead times run from the branch commits' first pushes.
// A squash whose conflict resolution changed the diff falls back to its own
// time, and the explanation says which case each was.
BOOST_FIXTURE_TEST_CASE(squash_and_rebase_merges_keep_the_branch_push_times, HookFixture) {
  hook({"install"});
  const auto base = commit("base.txt");
  git({"push", "-q", "origin", "main"});
  git({"checkout", "-q", "-b", "feature"});
  commit("f1.txt");
  commit("f2.txt");
  git({"push", "-q", "-u", "origin", "feature"});
  git({"checkout", "-q", "-b", "fix", "main"});
  const auto fix = commit("fix.txt");
  git({"push", "-q", "-u", "origin", "fix"});
  git({"checkout", "-q", "-b", "clash", "main"});
  write_file(fs::path(work) / "base.txt", "the branch's version\n");
  git({"commit", "-q", "-am", "clash"});
  git({"push", "-q", "-u", "origin", "clash"});
  BOOST_TEST_REQUIRE(wait_until([&] { return confirmed() && settled() && pushed().size() == 5; }));
  const auto times = pushed();
  const std::int64_t feature_pushed = times.at(git({"rev-parse", "feature~1"}));
  // Later than every branch push, to the second: the merges' own times differ.
  BOOST_TEST_REQUIRE(wait_until([&] { return unix_now() > feature_pushed + 1; }, std::chrono::seconds(5)));

  // The forge: squash feature, rebase fix (a new commit, same patch), squash
  // clash after main changed the same line (a different diff).
  const std::string forge = root.str("forge");
  run({"git", "clone", "-q", remote, forge}, root.str());
  git({"merge", "-q", "--squash", "origin/feature"}, forge);
  git({"commit", "-q", "-m", "Feature (#1)"}, forge);
  const auto squash = git({"rev-parse", "HEAD"}, forge);
  git({"cherry-pick", "-x", fix}, forge);  // "Rebase and merge": a new SHA, the same change
  const auto rebased = git({"rev-parse", "HEAD"}, forge);
  BOOST_TEST_REQUIRE(rebased != fix);
  write_file(fs::path(forge) / "base.txt", "main's version\n");
  git({"commit", "-q", "-am", "main moves on"}, forge);
  const auto moved = git({"rev-parse", "HEAD"}, forge);
  git({"merge", "-q", "--squash", "origin/clash"}, forge, -1);  // conflicts
  write_file(fs::path(forge) / "base.txt", "resolved\n");
  git({"add", "base.txt"}, forge);
  git({"commit", "-q", "-m", "Clash (#3)"}, forge);
  const auto resolved = git({"rev-parse", "HEAD"}, forge);
  git({"push", "-q", "origin", "main"}, forge);

  const std::string deploy = fs::path(cli_bin()).parent_path().parent_path().string() + "/plugins/deploy/pulse-deploy";
  const auto deployed = run_process({deploy, "--base-url", collector->url(), "--system", "app", "--identifier", "d1",
                                     "--sha", resolved, "--previous-deployment-ref", base},
                                    env, forge);
  BOOST_TEST_REQUIRE(deployed.exit_code == 0, deployed.err);
  BOOST_TEST_MESSAGE(deployed.err);
  const auto explained =
      json::parse(collector_cmd({"metrics", "--db", collector->db(), "--system", "app", "--explain", "lead_time",
                                 "--to", format_rfc3339(unix_now() + 86400), "--limit", "100", "--format", "json"})
                      .out);
  std::map<std::string, json::object> by_change;
  for (const char* list :
       {"records", "left_out"})  // a lead time of 0 s (merged and deployed in one second) is left out
    for (const auto& r : explained.at(list).as_array())
      by_change[std::string(r.at("change").as_string())] = r.as_object();
  auto time_of = [&](const std::string& sha) { return *parse_rfc3339(by_change.at(sha).at("time").as_string()); };
  BOOST_TEST_REQUIRE(by_change.contains(squash), json::serialize(explained).substr(0, 1500));
  BOOST_TEST(time_of(squash) == feature_pushed);  // the branch's first push, not the merge
  BOOST_TEST(by_change.at(squash).at("matched").as_string().starts_with("squash"));
  BOOST_TEST_REQUIRE(by_change.contains(rebased));
  BOOST_TEST(time_of(rebased) == times.at(fix));
  BOOST_TEST(by_change.at(rebased).at("matched").as_string().starts_with("rebase"));
  BOOST_TEST_REQUIRE(by_change.contains(resolved));
  BOOST_TEST(!by_change.at(resolved).contains("matched"));  // its own commit time: the diff differs
  BOOST_TEST(by_change.at(resolved).at("time_source").as_string() == "commit");
  BOOST_TEST(time_of(resolved) > feature_pushed + 1);
  BOOST_TEST(by_change.contains(moved));
  // Where the time went: the squash authored when the branch's first commit
  // was, merged when the forge made it (its own commit time: it is on main).
  const auto& s = by_change.at(squash);
  const auto authored = std::stoll(git({"log", "-1", "--format=%at", "origin/feature~1"}, forge));
  const auto merged = std::stoll(git({"log", "-1", "--format=%ct", squash}, forge));
  BOOST_TEST(*parse_rfc3339(s.at("authored").as_string()) == authored);
  BOOST_TEST(*parse_rfc3339(s.at("merged").as_string()) == merged);
  if (s.contains("phases")) {  // a lead time above 0 s
    BOOST_TEST(s.at("phases").at("coding").to_number<std::int64_t>() ==
               std::max<std::int64_t>(0, feature_pushed - authored));
    BOOST_TEST(s.at("phases").at("review").to_number<std::int64_t>() ==
               std::max<std::int64_t>(0, merged - feature_pushed));
  }
}

BOOST_FIXTURE_TEST_CASE(a_commit_is_reported_once_first_push_wins, HookFixture) {
  hook({"install"});
  const auto c1 = commit("a");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 1; }));
  const auto first = pushed()[c1];
  BOOST_TEST(wait_until([&] { return unix_now() > first; }));  // a later push time, to the second
  git({"push", "-q", "origin", "HEAD:other"});                 // the same commit to another branch
  BOOST_TEST(wait_until([&] { return confirmed() && settled(); }));
  BOOST_TEST(pushed()[c1] == first);
}

BOOST_FIXTURE_TEST_CASE(deletions_tags_and_several_refs, HookFixture) {
  hook({"install"});
  commit("base");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 1; }));
  // Several refs in one push, each with its own new commits.
  git({"checkout", "-q", "-b", "one"});
  const auto a = commit("one");
  git({"checkout", "-q", "-b", "two", "main"});
  const auto b1 = commit("two-1"), b2 = commit("two-2");
  git({"push", "-q", "origin", "one", "two"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 4; }));
  BOOST_TEST(pushed().count(a) == 1u);
  BOOST_TEST(pushed().count(b2) == 1u);
  // A deletion and a tag push ship nothing new.
  git({"tag", "v1"});
  git({"push", "-q", "origin", "v1", ":one"});
  BOOST_TEST(wait_until([&] { return confirmed() && settled(); }));
  BOOST_TEST(pushed().size() == 4u);
  BOOST_TEST(log().find("only branches are confirmed") != std::string::npos);
  (void)b1;
}

BOOST_FIXTURE_TEST_CASE(a_push_rejected_by_the_remote_is_not_reported, HookFixture) {
  hook({"install"});
  write_file(fs::path(remote) / "hooks/pre-receive", "#!/bin/sh\necho 'no pushes today' >&2\nexit 1\n");
  fs::permissions(fs::path(remote) / "hooks/pre-receive", fs::perms::owner_all);
  commit("a");
  git({"push", "-q", "origin", "HEAD:main"}, "", 1);
  BOOST_TEST(wait_until([&] { return log().find("not confirmed") != std::string::npos; }));
  BOOST_TEST(pushed().empty());
}

BOOST_FIXTURE_TEST_CASE(user_hook_chained_and_its_refusal_respected, HookFixture) {
  const std::string user_hook =
      "#!/bin/sh\necho \"$1 $2\" > \"$HOME/hook-args\"\ncat > \"$HOME/hook-stdin\"\n"
      "[ -f \"$HOME/refuse\" ] && exit 7\nexit 0\n";
  const fs::path hook_path = fs::path(work) / ".git/hooks/pre-push";
  write_file(hook_path, user_hook);
  fs::permissions(hook_path, fs::perms::owner_all);
  hook({"install"});
  hook({"install"});  // twice changes nothing
  BOOST_TEST(read_file(fs::path(work) / ".git/hooks/pre-push.pulse-orig") == user_hook);
  const auto c1 = commit("a");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(read_file(root.path / "home/hook-args") == "origin " + remote + "\n");
  BOOST_TEST(read_file(root.path / "home/hook-stdin") ==
             "HEAD " + c1 + " refs/heads/main " + std::string(40, '0') + "\n");
  BOOST_TEST(wait_until([&] { return pushed().size() == 1; }));
  // The user's hook says no: the push is refused, nothing reported.
  write_file(root.path / "home/refuse", "");
  const auto c2 = commit("b");
  git({"push", "-q", "origin", "HEAD:main"}, "", 1);
  BOOST_TEST(wait_until([&] { return confirmed() && settled(); }));
  BOOST_TEST(pushed().count(c2) == 0u);
  // Uninstall restores exactly what was there.
  hook({"uninstall"});
  BOOST_TEST(read_file(hook_path) == user_hook);
  BOOST_TEST(!fs::exists(fs::path(work) / ".git/hooks/pre-push.pulse-orig"));
}

BOOST_FIXTURE_TEST_CASE(core_hooks_path, HookFixture) {
  git({"config", "core.hooksPath", root.str("shared-hooks")});
  hook({"install"});
  BOOST_TEST(fs::exists(root.path / "shared-hooks/pre-push"));
  BOOST_TEST(!fs::exists(fs::path(work) / ".git/hooks/pre-push"));
  commit("a");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 1; }));
}

BOOST_FIXTURE_TEST_CASE(linked_worktrees_share_the_hook, HookFixture) {
  hook({"install"});
  commit("a");
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 1; }));
  const std::string wt = root.str("wt");
  git({"worktree", "add", "-q", "-b", "wt-branch", wt});
  const auto w = commit("w", wt);
  git({"push", "-q", "origin", "wt-branch"}, wt);
  BOOST_TEST(wait_until([&] { return pushed().count(w) == 1; }));
}

BOOST_FIXTURE_TEST_CASE(collector_down_then_up_keeps_the_push_time, HookFixture) {
  hook({"install"});
  const auto port = collector->port();
  const std::string db = collector->db();
  collector->kill9();
  const auto c1 = commit("a"), c2 = commit("b");
  const auto before = unix_now();
  git({"push", "-q", "origin", "HEAD:main"});  // must succeed, and quickly, with nothing listening
  const auto after = unix_now();
  BOOST_TEST(wait_until([&] { return log().find("could not deliver") != std::string::npos; }));
  const auto status = run_process({cli_bin(), "outbox", "status"}, env);
  BOOST_TEST(status.out.find("2 event(s) waiting") != std::string::npos, status.out);
  // Time passes (so the push time and a flush time differ by 2 s or more).
  BOOST_TEST(wait_until([&] { return unix_now() >= after + 2; }, std::chrono::seconds(5)));
  // Back up on the same address: a manual flush delivers, with the push time.
  CollectorProcess again({"--port", std::to_string(port)}, db);
  const auto flushed = run_process({cli_bin(), "outbox", "flush"}, env);
  BOOST_TEST(flushed.exit_code == 0, flushed.err);
  BOOST_TEST(flushed.out.find("2 delivered") != std::string::npos, flushed.out);
  auto p = pushed();
  BOOST_TEST(p.size() == 2u);
  BOOST_TEST((p[c1] >= before && p[c1] <= after + 1));
  BOOST_TEST((p[c2] <= after + 1));
  BOOST_TEST((p[c2] + 2 <= unix_now()));  // the push time, not the flush time
  BOOST_TEST(settled());
}

BOOST_FIXTURE_TEST_CASE(post_receive_reports_what_a_push_made_reachable, HookFixture) {
  hook({"install", "--server"}, remote);
  BOOST_TEST(fs::exists(fs::path(remote) / "hooks/post-receive"));
  // The server's configuration, for the server's hook.
  git({"config", "pulse.url", collector->url()}, remote);
  git({"config", "pulse.system", "server-app"}, remote);
  git({"config", "--unset", "pulse.url"});  // no client hook involvement
  const auto c1 = commit("a"), c2 = commit("b");
  const auto before = unix_now();
  git({"push", "-q", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 2; }));
  BOOST_TEST(pushed()[c2] >= before);
  // The same commits on another branch, plus one new: only the new one.
  git({"checkout", "-q", "-b", "feature"});
  const auto c3 = commit("c");
  git({"push", "-q", "origin", "feature", "HEAD:copy"});
  BOOST_TEST(wait_until([&] { return pushed().size() == 3; }));
  BOOST_TEST(pushed().count(c3) == 1u);
  const auto events = collector_cmd({"events", "--db", collector->db(), "--system", "server-app", "--format", "json"});
  BOOST_TEST(count_of(events.out, "\"source\":\"git\"") == 3u);
  (void)c1;
}

BOOST_FIXTURE_TEST_CASE(dry_run_is_not_recorded, HookFixture) {
  hook({"install"});
  commit("a");
  git({"push", "-q", "--dry-run", "origin", "HEAD:main"});
  BOOST_TEST(wait_until([&] { return log().find("not confirmed") != std::string::npos; }));
  BOOST_TEST(pushed().empty());
}

BOOST_FIXTURE_TEST_CASE(push_to_a_bare_url_is_not_recorded, HookFixture) {
  hook({"install"});
  commit("a");
  git({"push", "-q", remote, "HEAD:main"});
  BOOST_TEST(wait_until([&] { return log().find("no named remote") != std::string::npos; }));
  BOOST_TEST(pushed().empty());
}

BOOST_FIXTURE_TEST_CASE(kill9_mid_flush_loses_nothing, HookFixture) {
  // 300 queued events; a slow server; the flusher killed mid-way.
  std::atomic<int> seen{0};
  RecordingServer slow([&seen](int, const ServerRequest&) {
    ++seen;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return ok_response();
  });
  for (int i = 0; i < 300; ++i) {
    auto e = env;
    e["PULSE_API_KEY"] = "K";
    const auto r = run_process({cli_bin(), "push", "change", "--queue", "--base-url", slow.url(), "--identifier",
                                "c" + std::to_string(i), "--timestamp", "1602852032"},
                               e);
    if (r.exit_code != 0) throw std::runtime_error(r.err);
    if (i == 0) wait_until([&] { return seen > 0; }, std::chrono::seconds(5));  // the detached flush under way
  }
  // Whatever the detached flushes did, kill one more mid-way: once it has
  // delivered a few.
  const int before = seen;
  Background flusher({cli_bin(), "outbox", "flush"}, env);
  wait_until([&] { return seen >= before + 5; }, std::chrono::seconds(5));
  flusher.signal(SIGKILL);
  flusher.wait();
  // Detached flushes may still hold the write lock: wait for it rather than read "database is locked".
  const auto integrity = run_process(
      {"sqlite3", "-cmd", ".timeout 10000", root.str("state") + "/pulse/outbox.db", "PRAGMA integrity_check"});
  BOOST_TEST(integrity.out == "ok\n");
  // Then a clean flush: every event reached the server at least once.
  BOOST_TEST(wait_until(
      [&] {
        return run_process({cli_bin(), "outbox", "flush"}, env).exit_code == 0 && settled();
      },
      std::chrono::seconds(30)));
  std::set<std::string> ids;
  for (const auto& r : slow.requests()) ids.insert(std::string(json::parse(r.body).at("change_id").as_string()));
  BOOST_TEST(ids.size() == 300u);
}

BOOST_FIXTURE_TEST_CASE(kill9_mid_enqueue_leaves_a_sound_outbox, HookFixture) {
  collector->kill9();  // nothing gets delivered: everything stays queued
  std::vector<std::unique_ptr<Background>> procs;
  for (int i = 0; i < 20; ++i)
    procs.push_back(std::make_unique<Background>(
        std::vector<std::string>{cli_bin(), "push", "change", "--queue", "--base-url", "http://127.0.0.1:9",
                                 "--identifier", "k" + std::to_string(i), "--timestamp", "1602852032"},
        env));
  // Not a wait: a moment for the kills to land mid-enqueue (some before, some after).
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 0; i < 20; i += 2) procs[static_cast<std::size_t>(i)]->signal(SIGKILL);
  int finished = 0;
  std::set<std::string> must_have;
  for (int i = 0; i < 20; ++i) {
    const int code = procs[static_cast<std::size_t>(i)]->wait();
    if (code == 0) {
      ++finished;
      must_have.insert("k" + std::to_string(i));
    }
  }
  BOOST_TEST(finished >= 10);
  const std::string db = root.str("state") + "/pulse/outbox.db";
  // The detached flushes may still hold the database (or recover the killed
  // writers' WAL): wait for them as our own connections do.
  BOOST_TEST(run_process({"sqlite3", "-cmd", ".timeout 10000", db, "PRAGMA integrity_check"}).out == "ok\n");
  const auto listed = run_process({"sqlite3", "-cmd", ".timeout 10000", db, "SELECT body FROM outbox"}).out;
  for (const auto& id : must_have) BOOST_TEST(listed.find("\"change_id\":\"" + id + "\"") != std::string::npos, id);
}

BOOST_FIXTURE_TEST_CASE(status_and_help, HookFixture) {
  hook({"install"});
  const auto s = hook({"status"});
  BOOST_TEST(s.find("pre-push: installed") != std::string::npos, s);
  BOOST_TEST(s.find("system app") != std::string::npos, s);
  BOOST_TEST(run_process({hook_bin(), "--help"}).out.find("pulse.apiKeyFile") != std::string::npos);
  BOOST_TEST(run_process({hook_bin(), "bogus"}).exit_code == 2);
  // Outside a repository: a clear error.
  TempDir elsewhere;
  const auto r = run_process({hook_bin(), "install"}, env, elsewhere.str());
  BOOST_TEST(r.exit_code == 2);
  BOOST_TEST(r.err.find("not in a git repository") != std::string::npos, r.err);
}

// The pre-commit framework (Debian 12's 3.0.4) installs the hook from this
// repository's manifest; the first push of a repository (pre-commit passes
// no refs for a root commit) is recorded. Of a push of several refs,
// pre-commit passes the first that sends commits only: the others are not
// seen (README says so and offers `pulse-hook install`).
BOOST_FIXTURE_TEST_CASE(the_pre_commit_framework_records_pushes_through_the_manifest, HookFixture) {
  // Setup: the manifest as shipped, in a repository pre-commit can clone.
  if (run_process({"pre-commit", "--version"}).exit_code != 0) {
    BOOST_TEST_MESSAGE("skipped: pre-commit is not installed (apt-get install pre-commit)");
    return;
  }
  const std::string hooks_repo = root.str("hooks-repo");
  fs::create_directories(hooks_repo);
  fs::copy_file(source_dir() / ".pre-commit-hooks.yaml", fs::path(hooks_repo) / ".pre-commit-hooks.yaml");
  run({"git", "init", "-q", "-b", "main"}, hooks_repo);
  run({"git", "add", ".pre-commit-hooks.yaml"}, hooks_repo);
  run({"git", "commit", "-q", "-m", "manifest"}, hooks_repo);
  const auto rev = run({"git", "rev-parse", "HEAD"}, hooks_repo);
  write_file(fs::path(work) / ".pre-commit-config.yaml",
             "repos:\n  - repo: " + hooks_repo + "\n    rev: " + rev + "\n    hooks:\n      - id: pulse-push-time\n");
  env["PRE_COMMIT_HOME"] = root.str("pre-commit-cache");
  env["PATH"] = fs::path(hook_bin()).parent_path().string() + ":" + std::string(std::getenv("PATH"));
  run({"pre-commit", "install", "--hook-type", "pre-push"}, work);
  // Run: the first push (the root commit and one more).
  git({"add", ".pre-commit-config.yaml"});
  git({"commit", "-q", "-m", "config"});
  const auto root_commit = git({"rev-parse", "HEAD"});
  const auto second = commit("a");
  git({"push", "-q", "origin", "main"});
  // Check
  BOOST_TEST(wait_until([&] { return pushed().size() == 2; }), log());
  BOOST_TEST(pushed().count(root_commit) == 1u);
  BOOST_TEST(pushed().count(second) == 1u);
  // Run: two refs at once, each with a new commit.
  const auto on_main = commit("b");
  git({"checkout", "-q", "-b", "topic"});
  const auto on_topic = commit("c");
  git({"checkout", "-q", "main"});
  git({"push", "-q", "origin", "main", "topic"});
  // Check: the first ref's commit is recorded; the second's is not (the documented limit).
  BOOST_TEST(wait_until([&] { return pushed().count(on_main) == 1u; }), log());
  BOOST_TEST(wait_until([&] { return confirmed(); }));
  BOOST_TEST(pushed().count(on_topic) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
