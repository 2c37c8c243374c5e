#include "core/git/git_range.hpp"

#include "core/util/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>

namespace pulse {

namespace {

std::string first_line(const std::string& text) {
  std::string t(trim(text));
  const auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(0, nl);
}

// What a failed git command said, for an error message.
std::string git_error(const CommandResult& r) {
  if (r.exit_code == -1 && r.out.empty() && r.err.rfind("cannot run", 0) == 0)
    return "git is not installed (pulse lists commits with git; install it, e.g. apt-get install git)";
  std::string e = first_line(r.err);
  return e.empty() ? "git exited with status " + std::to_string(r.exit_code) : e;
}

bool has_commit(const GitCommand& git, const std::string& sha) { return git.ok({"cat-file", "-e", sha + "^{commit}"}); }

std::unordered_set<std::string> read_shallow(const GitCommand& git) {
  std::unordered_set<std::string> out;
  // --git-path is relative to the directory git ran in (--path-format=absolute needs git 2.31).
  std::string path = git.out({"rev-parse", "--git-path", "shallow"});
  if (path.empty()) return out;
  if (!std::filesystem::path(path).is_absolute() && !git.dir().empty()) path = git.dir() + "/" + path;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!trim(line).empty()) out.emplace(trim(line));
  return out;
}

// Marks every commit reachable from `start` (inclusive), not entering `stop`.
void reach(const LocalGraph& g, std::uint32_t start, std::vector<char>& mark, const std::vector<char>* stop) {
  if (mark[start] || (stop && (*stop)[start])) return;
  std::vector<std::uint32_t> todo{start};
  mark[start] = 1;
  while (!todo.empty()) {
    const auto c = todo.back();
    todo.pop_back();
    for (const auto p : g.parents[c])
      if (!mark[p] && !(stop && (*stop)[p])) {
        mark[p] = 1;
        todo.push_back(p);
      }
  }
}

}  // namespace

CommandResult GitCommand::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                              const std::string& input) const {
  // A fetch must fail rather than wait for a password nobody will type; and
  // git writing to a pipe flushes after every commit unless told not to.
  static const bool set = [] {
    return ::setenv("GIT_TERMINAL_PROMPT", "0", 0) == 0 && ::setenv("GIT_FLUSH", "0", 0) == 0;
  }();
  (void)set;
  std::vector<std::string> argv = {"git", "-C", dir_};
  for (const auto& c : config_) argv.insert(argv.end(), {"-c", c});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, "", input, timeout);
}

std::string GitCommand::out(const std::vector<std::string>& args) const {
  auto r = run(args);
  if (r.exit_code != 0) return "";
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r.out;
}

bool is_full_sha(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<GitCommand> open_repository(const std::string& dir, bool trust_other_owner, std::string& why) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    why = "directory \"" + dir + "\" does not exist";
    return std::nullopt;
  }
  GitCommand git(dir);
  auto probe = git.run({"rev-parse", "--git-dir"});
  if (probe.exit_code != 0 && trust_other_owner && probe.err.find("dubious ownership") != std::string::npos) {
    // Only the checkout itself: `dir` must be the repository's top level
    // (a `.git` in it), never a repository git found above it (a shared
    // /tmp/.git's configuration would run its commands as this user).
    const auto top = std::filesystem::canonical(dir, ec);
    if (ec || !std::filesystem::exists(top / ".git", ec)) {
      why = "\"" + dir + "\" is inside a repository owned by another user (" + git_error(probe) +
            "); only a checkout's own top-level directory is trusted in CI: run from it or pass --directory";
      return std::nullopt;
    }
    git = GitCommand(dir, {"safe.directory=" + top.string()});
    probe = git.run({"rev-parse", "--git-dir"});
  }
  if (probe.exit_code == 0) return git;
  why = probe.exit_code == -1 && probe.err.rfind("cannot run", 0) == 0
            ? git_error(probe)
            : "\"" + dir + "\" is not in a git repository (" + git_error(probe) + ")";
  return std::nullopt;
}

std::optional<std::string> resolve_previous(const GitCommand& git, const std::string& ref, const DeepenOptions& options,
                                            const std::function<void(const std::string&)>& log, std::string& why) {
  if (auto sha = resolve_commit(git, ref)) return sha;
  if (is_full_sha(ref)) return ref;
  if (!is_shallow(git)) return std::nullopt;
  if (log) log("shallow clone: fetching " + ref + " from " + options.remote);
  return fetch_named_ref(git, options.remote, ref, 1, options.fetch_timeout, why, options.filter);
}

std::optional<std::string> resolve_commit(const GitCommand& git, const std::string& rev) {
  if (rev.empty()) return std::nullopt;
  std::string sha = git.out({"rev-parse", "--verify", "-q", "--end-of-options", rev + "^{commit}"});
  if (!is_full_sha(sha)) return std::nullopt;
  return sha;
}

bool is_shallow(const GitCommand& git) { return git.out({"rev-parse", "--is-shallow-repository"}) == "true"; }

namespace {

// `git ARGS HEAD --not PREVIOUS -- PATHS` (HEAD^! without PREVIOUS), both full SHAs.
std::optional<CommandResult> run_over_range(const GitCommand& git, std::vector<std::string> args,
                                            const std::string& previous, const std::string& head,
                                            const std::vector<std::string>& paths, std::string& why) {
  if (!is_full_sha(head) || (!previous.empty() && !is_full_sha(previous))) {
    why = "internal error: ranges are listed between full SHAs";
    return std::nullopt;
  }
  if (previous.empty()) args.push_back(head + "^!");
  else args.insert(args.end(), {head, "--not", previous});
  args.push_back("--");
  args.insert(args.end(), paths.begin(), paths.end());
  auto r = git.run(args, std::chrono::minutes(10));
  if (r.exit_code != 0) {
    why = git_error(r);
    return std::nullopt;
  }
  return r;
}

}  // namespace

bool list_range(const GitCommand& git, const std::string& previous, const std::string& head,
                const std::vector<std::string>& paths, std::vector<RangeCommit>& out, std::string& why) {
  const auto r = run_over_range(git, {"rev-list", "--timestamp"}, previous, head, paths, why);
  if (!r) return false;
  out.clear();
  const char* p = r->out.data();
  const char* end = p + r->out.size();
  while (p < end) {
    const char* nl = std::find(p, end, '\n');
    const char* sp = std::find(p, nl, ' ');
    if (sp != nl) {
      RangeCommit c;
      c.commit_time = std::strtoll(p, nullptr, 10);
      c.sha.assign(sp + 1, nl);
      out.push_back(std::move(c));
    }
    p = nl + 1;
  }
  return true;
}

bool first_parent_singles(const GitCommand& git, const std::string& previous, const std::string& head,
                          std::vector<std::string>& out, std::string& why) {
  const auto r = run_over_range(git, {"rev-list", "--first-parent", "--no-merges"}, previous, head, {}, why);
  if (!r) return false;
  out.clear();
  std::istringstream lines(r->out);
  for (std::string l; std::getline(lines, l);)
    if (is_full_sha(l)) out.push_back(l);
  return true;
}

namespace {

constexpr std::int64_t kNoMerge = INT64_MIN;

// Every commit reachable from the tags, with its time and parents (one
// `git rev-list --parents --timestamp`): backfill's graph.
bool read_tag_history(const GitCommand& git, const std::vector<Tag>& ordered, LocalGraph& g, std::string& why) {
  std::string tips;
  for (const auto& t : ordered) tips += t.commit + "\n";
  const auto r = git.run({"rev-list", "--parents", "--timestamp", "--stdin"}, std::chrono::minutes(10), tips);
  if (r.exit_code != 0) {
    why = "read history: " + git_error(r);
    return false;
  }
  g = parse_local_graph(r.out, {});
  return true;
}

// The first-parent rule on a graph: walking `line` (a first-parent line,
// newest first) from its oldest commit, each line commit gives its time to
// what it reaches through parents that `counts` and no older line commit
// reached. `merged` (kNoMerge: none yet) is what each commit got.
template <class Counts>
void times_from_line(const std::vector<std::uint32_t>& line, const std::vector<std::int64_t>& time,
                     const std::vector<std::vector<std::uint32_t>>& parents, const Counts& counts,
                     std::vector<std::int64_t>& merged) {
  std::vector<std::uint32_t> stack;
  for (auto m = line.rbegin(); m != line.rend(); ++m) {
    stack.assign(1, *m);
    while (!stack.empty()) {
      const auto c = stack.back();
      stack.pop_back();
      if (merged[c] != kNoMerge) continue;
      merged[c] = time[*m];
      for (const auto p : parents[c])
        if (merged[p] == kNoMerge && counts(p)) stack.push_back(p);
    }
  }
}

}  // namespace

bool merge_times(const GitCommand& git, const std::string& previous, const std::string& head,
                 std::unordered_map<std::string, std::int64_t>& out, std::string& why) {
  const auto r = run_over_range(git, {"rev-list", "--parents", "--timestamp"}, previous, head, {}, why);
  if (!r) return false;
  // The range's commits; each one's parents within it, and its first parent
  // if that is in the range (the line ends where it leaves the range).
  const LocalGraph g = parse_local_graph(r->out, {});
  std::vector<std::uint32_t> first(g.sha.size(), UINT32_MAX);
  std::istringstream lines(r->out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string t, sha, parent;
    if (!(words >> t >> sha)) continue;
    if (words >> parent)
      if (const auto it = g.index.find(parent); it != g.index.end()) first[g.index.at(sha)] = it->second;
  }
  std::vector<std::uint32_t> line;
  for (auto it = g.index.find(head); it != g.index.end() && line.size() < g.sha.size();) {
    line.push_back(it->second);
    const auto next = first[it->second];
    it = next == UINT32_MAX ? g.index.end() : g.index.find(g.sha[next]);
  }
  std::vector<std::int64_t> merged(g.sha.size(), kNoMerge);
  times_from_line(
      line, g.time, g.parents, [](std::uint32_t) { return true; }, merged);
  out.clear();
  out.reserve(g.sha.size());
  for (std::size_t c = 0; c < g.sha.size(); ++c)
    if (merged[c] != kNoMerge) out.emplace(g.sha[c], merged[c]);
  return true;
}

bool backfill_merge_times(const GitCommand& git, const std::vector<Tag>& ordered, HistoryMerges& out,
                          std::string& why) {
  // The whole history: every parent is listed, the first one first.
  LocalGraph g;
  if (!read_tag_history(git, ordered, g, why)) return false;
  constexpr std::uint32_t kFree = UINT32_MAX;
  std::vector<std::uint32_t> tag_of(g.sha.size(), kFree);  // the first tag (in order) that reaches it
  std::vector<std::uint32_t> stack;
  for (std::uint32_t i = 0; i < ordered.size(); ++i) {
    const auto it = g.index.find(ordered[i].commit);
    if (it == g.index.end() || tag_of[it->second] != kFree) continue;
    stack.assign(1, it->second);
    tag_of[it->second] = i;
    while (!stack.empty()) {
      const auto c = stack.back();
      stack.pop_back();
      for (const auto p : g.parents[c])
        if (tag_of[p] == kFree) {
          tag_of[p] = i;
          stack.push_back(p);
        }
    }
  }
  out = {};
  std::vector<std::int64_t> merged(g.sha.size(), kNoMerge);
  std::vector<std::uint32_t> line;
  for (std::uint32_t i = 0; i < ordered.size(); ++i) {
    const auto it = g.index.find(ordered[i].commit);
    if (it == g.index.end() || tag_of[it->second] != i) continue;
    line.clear();
    for (auto c = it->second; tag_of[c] == i;) {
      line.push_back(c);
      if (g.parents[c].size() <= 1) out.singles.insert(g.sha[c]);
      if (g.parents[c].empty()) break;
      c = g.parents[c].front();
    }
    times_from_line(
        line, g.time, g.parents, [&](std::uint32_t c) { return tag_of[c] == i; }, merged);
  }
  out.merged.reserve(g.sha.size());
  for (std::size_t c = 0; c < g.sha.size(); ++c)
    if (merged[c] != kNoMerge) out.merged.emplace(g.sha[c], merged[c]);
  return true;
}

namespace {

// Whether `remote` is a promisor (the repository is a partial clone of it).
bool is_promisor(const GitCommand& git, const std::string& remote) {
  return git.out({"config", "--bool", "remote." + remote + ".promisor"}) == "true";
}

// Fetches the objects named on `input` (one id per line) from a promisor
// remote in one request, as git's own lazy fetch does, trees without their
// blobs.
bool fetch_objects(const GitCommand& git, const std::string& remote, const std::string& input, std::string& why) {
  if (input.empty()) return true;
  const auto r = git.run({"-c", "fetch.negotiationAlgorithm=noop", "fetch", remote, "--no-tags",
                          "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin"},
                         std::chrono::minutes(10), input);
  if (r.exit_code != 0) {
    why = "fetch the diffs' objects: " + git_error(r);
    return false;
  }
  return true;
}

constexpr std::string_view kNullId = "0000000000000000000000000000000000000000";

// The one diff a patch-id is taken of: plumbing, so no diff configuration
// (renames, external or text-converted diffs, colour) changes it between the
// hook's machine and the CI runner.
std::vector<std::string> patch_diff(std::vector<std::string> what) {
  std::vector<std::string> args = {"diff-tree",     "-p",          "-r", "--no-color", "--no-ext-diff",
                                   "--no-textconv", "--full-index"};
  args.insert(args.end(), what.begin(), what.end());
  return args;
}

}  // namespace

std::string diff_patch_id(const GitCommand& git, const std::string& from, const std::string& to) {
  const auto diff = git.run(patch_diff({from, to}), std::chrono::minutes(2));
  if (diff.exit_code != 0 || diff.out.empty()) return "";
  const auto id = git.run({"patch-id", "--stable"}, std::chrono::minutes(1), diff.out).out.substr(0, 40);
  return is_full_sha(id) ? id : "";
}

std::unordered_map<std::string, std::int64_t> author_times(const GitCommand& git,
                                                           const std::vector<std::string>& commits) {
  std::string list;
  for (const auto& c : commits) list += c + "\n";
  std::unordered_map<std::string, std::int64_t> out;
  if (list.empty()) return out;
  const auto r = git.run({"log", "--no-walk=unsorted", "--format=%H %at", "--stdin"}, std::chrono::minutes(2), list);
  std::istringstream lines(r.out);
  for (std::string sha, at; lines >> sha >> at;) out[sha] = std::atoll(at.c_str());
  return out;
}

bool patch_ids(const GitCommand& git, const std::vector<std::string>& commits, const std::string& remote,
               std::vector<CommitPatch>& out, std::string& why) {
  out.clear();
  if (commits.empty()) return true;
  std::string list;
  for (const auto& c : commits) list += c + "\n";
  if (is_promisor(git, remote)) {
    // The commits are here (a deepening fetches commits); their trees and
    // their first parents' trees, then the blobs the diffs change.
    const auto trees =
        git.run({"log", "--no-walk=unsorted", "--format=%T%n%P", "--stdin"}, std::chrono::minutes(2), list);
    if (trees.exit_code != 0) {
      why = "read the commits: " + git_error(trees);
      return false;
    }
    std::string parents, wanted;
    std::istringstream lines(trees.out);
    for (std::string tree, parent_line; std::getline(lines, tree) && std::getline(lines, parent_line);) {
      wanted += tree + "\n";
      if (const auto first = parent_line.substr(0, parent_line.find(' ')); is_full_sha(first)) parents += first + "\n";
    }
    if (!parents.empty()) {
      const auto parent_trees =
          git.run({"log", "--no-walk=unsorted", "--format=%T", "--stdin"}, std::chrono::minutes(2), parents);
      if (parent_trees.exit_code == 0) wanted += parent_trees.out;
    }
    if (!fetch_objects(git, remote, wanted, why)) return false;
    const auto raw = git.run({"diff-tree", "-r", "--root", "--no-commit-id", "--stdin"}, std::chrono::minutes(5), list);
    if (raw.exit_code != 0) {
      why = "list the changed files: " + git_error(raw);
      return false;
    }
    // ":100644 100644 <old> <new> M\tpath": the blobs on both sides.
    std::string blobs;
    std::istringstream entries(raw.out);
    for (std::string l; std::getline(entries, l);) {
      if (l.empty() || l[0] != ':') continue;
      std::istringstream fields(l.substr(1));
      std::string old_mode, new_mode, old_id, new_id;
      fields >> old_mode >> new_mode >> old_id >> new_id;
      for (const auto& id : {old_id, new_id})
        if (is_full_sha(id) && id != kNullId && old_mode != "160000" && new_mode != "160000") blobs += id + "\n";
    }
    if (!fetch_objects(git, remote, blobs, why)) return false;
  }
  const auto diffs = git.run(patch_diff({"--root", "--stdin"}), std::chrono::minutes(10), list);
  if (diffs.exit_code != 0) {
    why = "diff the commits: " + git_error(diffs);
    return false;
  }
  const auto ids = git.run({"patch-id", "--stable"}, std::chrono::minutes(5), diffs.out);
  if (ids.exit_code != 0) {
    why = "git patch-id: " + git_error(ids);
    return false;
  }
  std::istringstream lines(ids.out);
  for (std::string pid, sha; lines >> pid >> sha;)
    if (is_full_sha(pid) && is_full_sha(sha)) out.push_back({sha, pid});
  return true;
}

std::vector<std::string> reverted_in(std::string_view text, std::size_t limit) {
  constexpr std::string_view kMark = "This reverts commit ";
  std::vector<std::string> out;
  for (auto at = text.find(kMark); at != std::string_view::npos && out.size() < limit; at = text.find(kMark, at + 1)) {
    const auto sha = text.substr(at + kMark.size(), 40);
    if (sha.size() == 40 && is_full_sha(std::string(sha)) &&
        (at + kMark.size() + 40 == text.size() ||
         !std::isxdigit(static_cast<unsigned char>(text[at + kMark.size() + 40]))) &&
        std::find(out.begin(), out.end(), sha) == out.end())
      out.emplace_back(sha);
  }
  return out;
}

bool find_reverted(const GitCommand& git, const std::string& previous, const std::string& head,
                   const std::vector<std::string>& paths, std::vector<std::string>& out, std::string& why) {
  const auto r = run_over_range(
      git, {"log", "--no-show-signature", "-E", "--grep=This reverts commit [0-9a-f]{40}", "--format=%B"}, previous,
      head, paths, why);
  if (!r) return false;
  out = reverted_in(r->out);
  return true;
}

LocalGraph parse_local_graph(const std::string& text, std::unordered_set<std::string> shallow) {
  LocalGraph g;
  g.shallow = std::move(shallow);
  std::vector<std::vector<std::string>> parent_names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::int64_t t = 0;
    std::string sha;
    if (!(words >> t >> sha)) continue;
    g.index.emplace(sha, static_cast<std::uint32_t>(g.sha.size()));
    g.sha.push_back(sha);
    g.time.push_back(t);
    auto& ps = parent_names.emplace_back();
    for (std::string p; words >> p;) ps.push_back(p);
  }
  g.parents.resize(g.sha.size());
  for (std::size_t i = 0; i < g.sha.size(); ++i)
    for (const auto& p : parent_names[i])
      if (auto it = g.index.find(p); it != g.index.end()) g.parents[i].push_back(it->second);
  return g;
}

RangeProof prove_range(const LocalGraph& g, const std::string& previous, const std::string& head) {
  const auto h = g.index.find(head);
  if (h == g.index.end()) return {false, "the deployed commit is not in this clone"};
  const std::size_t n = g.sha.size();
  std::vector<char> shallow(n, 0);
  for (std::size_t i = 0; i < n; ++i) shallow[i] = g.shallow.count(g.sha[i]) ? 1 : 0;
  if (previous.empty())
    return shallow[h->second] ? RangeProof{false, "the deployed commit's parents are not in this clone"}
                              : RangeProof{true, "the deployed commit's parents are here"};
  const auto pv = g.index.find(previous);
  if (pv == g.index.end()) return {false, "the previous deployment's commit is not in this clone"};

  std::vector<char> below_prev(n, 0), range(n, 0);
  reach(g, pv->second, below_prev, nullptr);
  reach(g, h->second, range, &below_prev);
  std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
  std::size_t size = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!range[i]) continue;
    ++size;
    if (shallow[i]) return {false, "the range reaches the clone's shallow boundary at " + g.sha[i].substr(0, 12)};
    oldest = std::min(oldest, g.time[i]);
  }
  // Nothing of the range is missing. What could still be wrong: a commit of
  // the range that is, through history this clone lacks, an ancestor of PREV.
  // Such a link starts at a boundary commit below PREV.
  bool times_monotone = true;
  for (std::size_t i = 0; i < n && times_monotone; ++i)
    for (const auto p : g.parents[i])
      if (g.time[p] > g.time[i]) times_monotone = false;
  std::vector<std::uint32_t> open;  // boundary commits below PREV not yet cleared
  for (std::size_t i = 0; i < n; ++i)
    if (shallow[i] && below_prev[i] && size > 0 && !(times_monotone && g.time[i] < oldest))
      open.push_back(static_cast<std::uint32_t>(i));
  if (open.empty())
    return {true, size == 0 ? "the deployed commit is in the previous deployment's history"
                            : "every shallow cut below the previous deployment is older than the range"};
  // A boundary commit reached from every lowest commit of the range cannot
  // lead back into it: that would be a cycle.
  std::vector<std::uint32_t> lowest;
  for (std::size_t i = 0; i < n; ++i)
    if (range[i] &&
        std::none_of(g.parents[i].begin(), g.parents[i].end(), [&](std::uint32_t p) { return range[p] != 0; }))
      lowest.push_back(static_cast<std::uint32_t>(i));
  constexpr std::size_t kMaxWork = 50'000'000;
  if (lowest.size() * n > kMaxWork) return {false, "too many branches in the range to prove it on a partial history"};
  for (const auto low : lowest) {
    std::vector<char> seen(n, 0);
    reach(g, low, seen, nullptr);
    for (const auto b : open)
      if (!seen[b])
        return {false, "the history below " + g.sha[b].substr(0, 12) + " (a shallow cut) may lead into the range"};
  }
  return {true, "every shallow cut below the previous deployment is an ancestor of the whole range"};
}

std::optional<std::string> fetch_named_ref(const GitCommand& git, const std::string& remote, const std::string& name,
                                           int depth, std::chrono::milliseconds timeout, std::string& why,
                                           const std::string& filter) {
  if (name.empty() || name[0] == '-' || name.find("..") != std::string::npos ||
      name.find_first_of(" ~^:?*[\\") != std::string::npos) {
    why = "\"" + name + "\" is not a tag or branch name";
    return std::nullopt;
  }
  std::string short_name = name;
  for (const char* prefix : {"refs/tags/", "refs/heads/"})
    if (short_name.rfind(prefix, 0) == 0) short_name = short_name.substr(std::string(prefix).size());
  const std::vector<std::pair<std::string, std::string>> candidates = {
      {"refs/tags/" + short_name, "refs/tags/" + short_name},
      {"refs/heads/" + short_name, "refs/remotes/" + remote + "/" + short_name}};
  std::string last;
  for (const auto& [src, dst] : candidates) {
    if (name.rfind("refs/heads/", 0) == 0 && src.rfind("refs/tags/", 0) == 0) continue;
    if (name.rfind("refs/tags/", 0) == 0 && src.rfind("refs/heads/", 0) == 0) continue;
    std::vector<std::string> args = {"fetch", "-q", "--no-tags", "--depth=" + std::to_string(depth)};
    if (!filter.empty()) args.push_back("--filter=" + filter);
    args.insert(args.end(), {remote, "+" + src + ":" + dst});
    const auto r = git.run(args, timeout);
    if (r.exit_code == 0)
      if (auto sha = resolve_commit(git, dst)) return sha;
    last = git_error(r);
  }
  why = "no tag or branch \"" + short_name + "\" on " + remote + " (" + last + ")";
  return std::nullopt;
}

namespace {

// make_range_exact's rounds on a shallow clone: fetch what the range needs,
// prove it exact from the local graph, deepen, or fetch the whole history.
class Deepener {
 public:
  Deepener(const GitCommand& git, const std::string& previous, const std::string& head, const DeepenOptions& options,
           const std::function<void(const std::string&)>& log)
      : git_(git), previous_(previous), head_(head), options_(options), log_(log) {}

  // The previous deployment's commit, fetched if missing: on a shallow
  // clone only the commit, on a full one its history too.
  void fetch_previous(bool shallow) {
    have_prev_ = previous_.empty() || has_commit(git_, previous_);
    if (have_prev_) return;
    std::vector<std::string> args = {options_.remote, previous_};
    if (shallow) args.insert(args.begin(), "--depth=1");
    fetch(args, std::string(shallow ? "shallow clone: " : "") + "fetching the previous deployment's commit " +
                    previous_.substr(0, 12));
    have_prev_ = has_commit(git_, previous_);
  }

  bool have_previous() const { return have_prev_; }

  // Rounds deepen by depth. Not by date: with git 2.39, a shallow clone
  // fetched with --shallow-since records shallow commits it never received,
  // and every later fetch of it, --unshallow included, then fails ("error in
  // object: unshallow ..."). Where a depth reaches far along old topic
  // branches (git.git: 58,000 of 82,000 commits within depth 100), more
  // rounds cost more than the whole history: after a round that brought over
  // 100 commits per level of depth, the next fetch is the whole history.
  Exactness run() {
    e_.was_shallow = true;
    int step = previous_.empty() ? 1 : std::max(1, options_.first_step);
    long depth = 1;
    for (;;) {
      const auto verdict = have_prev_ ? prove(depth) : Proof::unproven;
      if (verdict == Proof::exact) return e_;
      if (verdict == Proof::costly) break;
      if (e_.rounds >= options_.max_rounds || !deepen(step)) break;
      ++e_.rounds;
      depth += step;
      step *= 2;
      if (!have_prev_) have_prev_ = has_commit(git_, previous_);
    }
    return unshallow();
  }

 private:
  enum class Proof { exact, costly, unproven };

  CommandResult fetch(std::vector<std::string> args, const std::string& what) {
    if (log_) log_(what);
    args.insert(args.begin(), {"fetch", "-q", "--no-tags"});
    if (!options_.filter.empty()) args.insert(args.begin() + 3, "--filter=" + options_.filter);
    auto r = git_.run(args, options_.fetch_timeout);
    // A server without uploadpack.allowFilter sends whole objects; git
    // says so on stderr and succeeds.
    const bool refused = r.err.find("filtering not recognized by server") != std::string::npos;
    if (options_.filter.empty()) e_.fetched = "whole objects";
    else if (refused) e_.fetched = "whole objects (the server does not take partial-clone filters)";
    else if (r.exit_code == 0 && e_.fetched.empty())
      e_.fetched = options_.filter == "tree:0" ? "commits only (--filter=tree:0)"
                                               : "commits and trees (--filter=" + options_.filter + ")";
    return r;
  }

  // Whether the local graph proves the range exact, or shows that deepening
  // further would cost more than the whole history.
  Proof prove(long depth) {
    const auto listing =
        git_.run({"rev-list", "--parents", "--timestamp", head_, previous_.empty() ? head_ : previous_},
                 std::chrono::minutes(5));
    if (listing.exit_code != 0) return Proof::unproven;
    const auto graph = parse_local_graph(listing.out, read_shallow(git_));
    const auto proof = prove_range(graph, previous_, head_);
    if (proof.exact) {
      e_.exact = true;
      e_.how = "shallow clone" + (e_.rounds ? ", deepened " + std::to_string(e_.rounds) + " time(s)" : std::string()) +
               (e_.fetched.empty() ? "" : ", fetching " + e_.fetched) + ": exact, " + proof.reason;
      return Proof::exact;
    }
    unknown_ = proof.reason;
    if (!previous_.empty() && e_.rounds > 0 && graph.sha.size() > 100 * static_cast<std::size_t>(depth)) {
      unknown_ += "; " + std::to_string(graph.sha.size()) + " commits lie within depth " + std::to_string(depth) +
                  ", so the whole history costs less than deepening further";
      return Proof::costly;
    }
    return Proof::unproven;
  }

  // One round: `step` more commits of both ends (or, from a server that
  // refuses commits by SHA, of the remote's branches).
  bool deepen(int step) {
    std::vector<std::string> args = {"--deepen=" + std::to_string(step), options_.remote, head_};
    if (!previous_.empty() && have_prev_) args.push_back(previous_);
    auto r = fetch(args, "shallow clone: " + unknown_ + "; fetching " + std::to_string(step) + " more commits");
    if (r.exit_code != 0)
      r = fetch({"--deepen=" + std::to_string(step), options_.remote},
                "shallow clone: deepening the remote's branches");
    return r.exit_code == 0;
  }

  Exactness unshallow() {
    const auto r =
        fetch({"--unshallow", options_.remote}, "shallow clone: " + unknown_ + "; fetching the whole history");
    if (r.exit_code != 0 && is_shallow(git_)) {
      e_.how = "shallow clone: " + unknown_ + ", and fetching the whole history failed: " + git_error(r);
      return e_;
    }
    e_.unshallowed = true;
    e_.exact = true;
    e_.how = "shallow clone: fetched the whole history, " + e_.fetched + " (" + unknown_ + " after " +
             std::to_string(e_.rounds) + " deepening round(s))";
    return e_;
  }

  const GitCommand& git_;
  const std::string& previous_;
  const std::string& head_;
  const DeepenOptions& options_;
  const std::function<void(const std::string&)>& log_;
  Exactness e_;
  bool have_prev_ = false;
  std::string unknown_ = "the previous deployment's commit is not in this clone";
};

}  // namespace

Exactness make_range_exact(const GitCommand& git, const std::string& previous, const std::string& head,
                           const DeepenOptions& options, const std::function<void(const std::string&)>& log) {
  const bool shallow = is_shallow(git);
  DeepenOptions own = options;
  if (!shallow) own.filter.clear();  // a full clone stays a full clone
  Deepener deepener(git, previous, head, own, log);
  deepener.fetch_previous(shallow);
  if (shallow) return deepener.run();
  Exactness e;
  e.exact = true;
  e.how =
      deepener.have_previous() ? "full clone" : "full clone; the previous deployment's commit is not in its history";
  return e;
}

std::optional<std::vector<Tag>> list_tags(const GitCommand& git, const std::string& merged_into,
                                          const std::string& pattern, std::string& why) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    why = "tag pattern \"" + pattern + "\" is not a valid regular expression (" + e.what() + ")";
    return std::nullopt;
  }
  std::vector<std::string> args = {"for-each-ref",
                                   "--format=%(refname:strip=2) %(objecttype) %(objectname) %(*objecttype) "
                                   "%(*objectname) %(taggerdate:unix) %(committerdate:unix) %(*committerdate:unix)"};
  if (!merged_into.empty()) {
    if (!is_full_sha(merged_into)) {
      why = "internal error: list_tags takes a full SHA";
      return std::nullopt;
    }
    args.push_back("--merged=" + merged_into);
  }
  args.push_back("refs/tags");
  const auto r = git.run(args, std::chrono::minutes(5));
  if (r.exit_code != 0) {
    why = "list tags: " + git_error(r);
    return std::nullopt;
  }
  std::vector<Tag> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    // Empty fields (a lightweight tag has no tagger) leave double spaces.
    std::vector<std::string> f;
    std::size_t start = 0;
    for (;;) {
      const auto sp = line.find(' ', start);
      f.push_back(line.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
      if (sp == std::string::npos) break;
      start = sp + 1;
    }
    if (f.size() != 8) continue;
    Tag t;
    t.name = f[0];
    if (!std::regex_search(t.name, re)) continue;
    if (f[1] == "commit") {
      t.commit = f[2];
      t.commit_time = std::atoll(f[6].c_str());
      t.tag_time = t.commit_time;
    } else if (f[1] == "tag" && f[3] == "commit") {  // an annotated tag of a commit (a tag of a tag is skipped)
      t.commit = f[4];
      t.commit_time = std::atoll(f[7].c_str());
      t.tag_time = f[5].empty() ? t.commit_time : std::atoll(f[5].c_str());
    } else {
      continue;
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::optional<Tag> latest_tag_in_history(const GitCommand& git, const std::vector<Tag>& tags, const std::string& head) {
  std::vector<const Tag*> candidates;
  for (const auto& t : tags)
    if (t.commit != head) candidates.push_back(&t);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Tag* a, const Tag* b) { return a->tag_time > b->tag_time; });
  constexpr std::size_t kChecks = 16;
  for (std::size_t i = 0; i < candidates.size() && i < kChecks; ++i)
    if (git.ok({"merge-base", "--is-ancestor", candidates[i]->commit, head})) return *candidates[i];
  if (candidates.size() <= kChecks) return std::nullopt;
  // Many recent tags elsewhere (release branches): one traversal for the rest.
  std::string why;
  const auto merged = list_tags(git, head, "", why);
  if (!merged) return std::nullopt;
  std::unordered_set<std::string> in_history;
  for (const auto& t : *merged) in_history.insert(t.name);
  for (std::size_t i = kChecks; i < candidates.size(); ++i)
    if (in_history.count(candidates[i]->name)) return *candidates[i];
  return std::nullopt;
}

void order_tags(std::vector<Tag>& tags, bool by_commit_time) {
  auto when = [by_commit_time](const Tag& t) { return deployment_time(t, by_commit_time); };
  std::stable_sort(tags.begin(), tags.end(), [&](const Tag& a, const Tag& b) {
    return when(a) != when(b) ? when(a) < when(b) : a.name < b.name;
  });
}

namespace {

// Newest first, as git log shows them (ties: the order found).
void newest_first(std::vector<RangeCommit>& commits) {
  std::stable_sort(commits.begin(), commits.end(),
                   [](const RangeCommit& a, const RangeCommit& b) { return a.commit_time > b.commit_time; });
}

bool first_shipped_by_walk(const GitCommand& git, const std::vector<Tag>& ordered,
                           std::vector<std::vector<RangeCommit>>& out, std::string& why,
                           const std::function<void(std::size_t, std::size_t)>& progress) {
  LocalGraph g;
  if (!read_tag_history(git, ordered, g, why)) return false;
  std::vector<char> seen(g.sha.size(), 0);
  std::vector<std::uint32_t> todo;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    auto& commits = out[i];
    const auto it = g.index.find(ordered[i].commit);
    if (it != g.index.end() && !seen[it->second]) {
      seen[it->second] = 1;
      todo.push_back(it->second);
      while (!todo.empty()) {
        const auto c = todo.back();
        todo.pop_back();
        commits.push_back({g.sha[c], g.time[c]});
        for (const auto p : g.parents[c])
          if (!seen[p]) {
            seen[p] = 1;
            todo.push_back(p);
          }
      }
    }
    newest_first(commits);
    if (progress) progress(i + 1, ordered.size());
  }
  return true;
}

}  // namespace

bool first_shipped(const GitCommand& git, const std::vector<Tag>& ordered, const std::vector<std::string>& paths,
                   std::vector<std::vector<RangeCommit>>& out, std::string& why,
                   const std::function<void(std::size_t, std::size_t)>& progress) {
  out.assign(ordered.size(), {});
  if (paths.empty()) return first_shipped_by_walk(git, ordered, out, why, progress);
  std::string negatives;
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    std::vector<std::string> args = {"rev-list", "--timestamp", "--stdin", "--"};
    args.insert(args.end(), paths.begin(), paths.end());
    const auto r = git.run(args, std::chrono::minutes(10), ordered[i].commit + "\n" + negatives);
    if (r.exit_code != 0) {
      why = "list commits of " + ordered[i].name + ": " + git_error(r);
      return false;
    }
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (const auto sp = line.find(' '); sp != std::string::npos)
        out[i].push_back({line.substr(sp + 1), std::atoll(line.c_str())});
    negatives += "^" + ordered[i].commit + "\n";
    if (progress) progress(i + 1, ordered.size());
  }
  return true;
}

}  // namespace pulse
