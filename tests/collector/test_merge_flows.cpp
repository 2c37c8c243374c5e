// Property test of the squash and rebase join and of merge times, over
// generated histories made by git itself: feature branches pushed at known
// times (reported as pulse-hook's worker reports them: each commit's
// patch-id and author time, the branch tip's whole-diff patch-id), landed
// by a merge commit, a squash, a rebase (cherry-picks) or a fast-forward,
// direct pushes to main, deployments reported as pulse-deploy reports them
// (range engine: list_range, merge_times, author_times, patch_ids), some
// pushes reported only after the deployment that ships their squash or
// rebase. For every deployed commit the collector's time is the earliest
// push of the commits it came from (its own, else a squash's branch, else
// the rebased commit's; a merge commit nobody pushed keeps its commit
// time), and its merge time is what the flow that landed it says: the merge
// commit's time, else its own.
//
// PULSE_PROPERTY_HISTORIES=N runs N histories (default 4).
#include "../support/support.hpp"
#include "collector/api.hpp"
#include "collector/store.hpp"
#include "core/git/git_range.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

using namespace pulse;
using namespace pulse::collector;
namespace json = boost::json;

namespace {

struct Expected {
  std::int64_t time = 0;    ///< the change's time the collector should give
  bool pushed = false;      ///< whether that is a push time
  std::int64_t merged = 0;  ///< its merge time
  std::string flow;
};

class Flows {
 public:
  explicit Flows(unsigned seed) : rng_(seed) {
    api_.emplace(*store_, ApiConfig{{}, true, 1000, {}, {}}, [] { return std::int64_t{1900000000}; });
  }

  void run(int steps) {
    repo_.git({"checkout", "-q", "-b", "main"});
    previous_ = direct_commit();  // where deployments start
    expected_.erase(previous_);
    for (int s = 0; s < steps; ++s) {
      if (pick(5) == 0) direct_commit();
      else feature();
      if (pick(3) == 0 || s + 1 == steps) deploy();
    }
    post_late();
  }

  void check() {
    const auto records = explained();
    std::size_t squash = 0, rebase = 0, merge = 0;
    for (const auto& [sha, want] : expected_) {
      BOOST_TEST_CONTEXT(want.flow << " " << sha) {
        BOOST_TEST_REQUIRE(records.contains(sha));
        const auto& r = records.at(sha);
        BOOST_TEST(*parse_rfc3339(r.at("time").as_string()) == want.time);
        BOOST_TEST(r.at("time_source").as_string() == (want.pushed ? "push" : "commit"));
        BOOST_TEST_REQUIRE(r.contains("merged"));
        BOOST_TEST(*parse_rfc3339(r.at("merged").as_string()) == want.merged);
      }
      squash += want.flow == "squash";
      rebase += want.flow == "rebase";
      merge += want.flow == "merged";
    }
    BOOST_TEST_MESSAGE(expected_.size() << " deployed commits: " << squash << " squashes, " << rebase << " rebased, "
                                        << merge << " by merge commits");
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::int64_t tick(int most = 600) { return clock_ += 60 + pick(most); }

  std::string head() { return repo_.git({"rev-parse", "HEAD"}); }
  std::int64_t commit_time(const std::string& sha) { return std::stoll(repo_.git({"log", "-1", "--format=%ct", sha})); }
  test::EnvOverrides dated(std::int64_t t) {
    const std::string d = "@" + std::to_string(t) + " +0000";
    return {{"GIT_AUTHOR_DATE", d}, {"GIT_COMMITTER_DATE", d}};
  }

  // What the hook's worker reports for a push of `commits` (oldest first)
  // at `when`; on a branch, the tip's whole diff from `base` too.
  void push(const std::vector<std::string>& commits, std::int64_t when, const std::string& base = "",
            const std::vector<std::string>& branch = {}) {
    std::vector<CommitPatch> ids;
    std::string why;
    BOOST_REQUIRE_MESSAGE(patch_ids(GitCommand(repo_.dir()), commits, "origin", ids, why), why);
    std::map<std::string, std::string> id_of;
    for (const auto& p : ids) id_of[p.sha] = p.patch_id;
    const auto authored = author_times(GitCommand(repo_.dir()), commits);
    for (const auto& sha : commits) {
      Change c{.source = "git", .change_id = sha, .time_created = when, .event_type = "push"};
      c.author_time = authored.at(sha);
      c.patch_id = id_of[sha];
      if (!base.empty() && sha == commits.back()) {
        c.branch_patch_id = diff_patch_id(GitCommand(repo_.dir()), base, sha);
        c.branch_commits = branch;
      }
      pushed_[sha] = std::min(pushed_.contains(sha) ? pushed_[sha] : INT64_MAX, when);
      if (late_) later_.push_back(std::move(c));
      else post(c);
    }
  }

  void post_late() {
    for (const auto& c : later_) post(c);
    later_.clear();
  }

  std::string direct_commit() {
    const int n = ++files_;
    const auto t = tick();
    const auto sha = repo_.commit("main/" + std::to_string(n) + ".txt", "main " + std::to_string(n), t, t - pick(3000));
    late_ = false;
    push({sha}, tick(120));
    expected_[sha] = {pushed_[sha], true, commit_time(sha), "direct"};
    return sha;
  }

  void feature() {
    const std::string fork = head(), name = "f" + std::to_string(++features_);
    repo_.git({"checkout", "-q", "-b", name});
    std::vector<std::string> commits;
    late_ = pick(4) == 0;  // this branch's pushes reach the collector after the deployment
    std::size_t sent = 0;
    for (int k = 0, n = 1 + pick(3); k < n; ++k) {
      const auto t = tick();
      commits.push_back(
          repo_.commit(name + "/" + std::to_string(k) + ".txt", name + " " + std::to_string(k), t, t - pick(5000)));
      if (pick(2) == 0 || k + 1 == n) {  // a push of what is new, the tip with the branch's whole diff
        push({commits.begin() + static_cast<std::ptrdiff_t>(sent), commits.end()}, tick(300), fork, commits);
        sent = commits.size();
      }
    }
    repo_.git({"checkout", "-q", "main"});
    const bool moved = head() != fork;
    const int flow = pick(4);
    const auto t = tick();
    if (flow == 0 || (flow == 3 && moved)) {  // a merge commit (a fast-forward that cannot be one too)
      repo_.git({"merge", "-q", "--no-ff", "-m", "Merge " + name, name}, dated(t));
      const auto m = head();
      for (const auto& c : commits) expected_[c] = {pushed_[c], true, t, "merged"};
      expected_[m] = {t, false, t, "merge commit"};
    } else if (flow == 1) {  // "Squash and merge": the forge's commit, pushed by nobody
      repo_.git({"merge", "-q", "--squash", name});
      repo_.git({"commit", "-q", "-m", "Squash " + name}, dated(t));
      std::int64_t first = INT64_MAX;
      for (const auto& c : commits) first = std::min(first, pushed_[c]);
      expected_[head()] = {first, true, t, "squash"};
    } else if (flow == 2) {  // "Rebase and merge": new commits, the same changes
      for (const auto& c : commits) {
        const auto tc = tick();
        repo_.git({"cherry-pick", c}, {{"GIT_COMMITTER_DATE", "@" + std::to_string(tc) + " +0000"}});
        expected_[head()] = {pushed_[c], true, tc, "rebase"};
      }
    } else {  // a fast-forward: the branch's own commits on the line
      repo_.git({"merge", "-q", "--ff-only", name});
      for (const auto& c : commits) expected_[c] = {pushed_[c], true, commit_time(c), "fast-forward"};
    }
  }

  // As pulse-deploy reports a deployment of main's tip.
  void deploy() {
    const GitCommand git(repo_.dir());
    const std::string tip = head();
    std::vector<RangeCommit> range;
    std::string why;
    BOOST_REQUIRE_MESSAGE(list_range(git, previous_, tip, {}, range, why), why);
    if (range.empty()) return;
    std::vector<std::string> shas;
    for (const auto& c : range) shas.push_back(c.sha);
    const auto authored = author_times(git, shas);
    std::unordered_map<std::string, std::int64_t> merged;
    BOOST_REQUIRE_MESSAGE(merge_times(git, previous_, tip, merged, why), why);
    std::vector<std::string> singles;
    BOOST_REQUIRE_MESSAGE(first_parent_singles(git, previous_, tip, singles, why), why);
    Deployment d{.source = "git", .deploy_id = "d" + std::to_string(++deployments_), .time_created = tick() + 86400};
    BOOST_REQUIRE_MESSAGE(patch_ids(git, singles, "origin", d.patches, why), why);
    for (const auto& c : range) {
      post(Change{.source = "git",
                  .change_id = c.sha,
                  .time_created = c.commit_time,
                  .author_time = authored.at(c.sha),
                  .merged_time = merged.at(c.sha)});
      d.changes.push_back(c.sha);
    }
    post(d);
    post_late();  // pushes reported after the deployment that ships them
    previous_ = tip;
  }

  void post(const Event& e) {
    ServerRequest r;
    r.method = "POST";
    r.headers.push_back({"Content-Type", "application/json"});
    r.target = "/v1/ingestion/cli?system=app";
    r.body = encode_body(e);
    const auto res = api_->handle(r);
    BOOST_REQUIRE_MESSAGE(res.status == 200, res.body);
  }

  std::map<std::string, json::object> explained() {
    std::map<std::string, json::object> out;
    for (std::string cursor;;) {
      ServerRequest r;
      r.method = "GET";
      r.target = "/v1/metrics/explain?system=app&from=2026-01-01&to=2027-01-01&metric=lead_time&limit=1000" +
                 (cursor.empty() ? "" : "&cursor=" + cursor);
      const auto res = api_->handle(r);
      BOOST_REQUIRE_MESSAGE(res.status == 200, res.body);
      const auto page = json::parse(res.body).as_object();
      for (const char* list : {"records", "left_out"})
        if (const auto* a = page.if_contains(list))
          for (const auto& rec : a->as_array()) out[std::string(rec.at("change").as_string())] = rec.as_object();
      if (page.at("next").is_null()) return out;
      cursor = json::serialize(page.at("next"));
      if (page.at("next").is_string()) cursor = std::string(page.at("next").as_string());
    }
  }

  std::mt19937 rng_;
  test::GitRepo repo_;
  test::TestDatabase database_;
  std::unique_ptr<Store> store_ = open_store(database_.db(), 2);
  std::optional<Api> api_;
  std::int64_t clock_ = 1767225600;  // 2026-01-01
  int files_ = 0, features_ = 0, deployments_ = 0;
  bool late_ = false;
  std::string previous_;
  std::map<std::string, std::int64_t> pushed_;
  std::vector<Change> later_;
  std::map<std::string, Expected> expected_;
};

int histories() {
  const char* n = std::getenv("PULSE_PROPERTY_HISTORIES");
  return n ? std::max(1, std::atoi(n)) : 4;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(merge_flows)

BOOST_AUTO_TEST_CASE(squash_rebase_merge_and_fast_forward_keep_push_and_merge_times) {
  for (int k = 0; k < histories(); ++k) {
    BOOST_TEST_CONTEXT("history " << k) {
      Flows flows(100u + static_cast<unsigned>(k));
      flows.run(12);
      flows.check();
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
