// The one range engine: which commits a deployment shipped. Every tool that
// lists a range (push git deployment, pulse-deploy, backfill) asks here, and
// the answer is git's own: `git rev-list HEAD --not PREV -- PATHS` run on a
// history that is proven to give the same answer as the full one. Shallow
// clones are deepened until that proof holds (ARCHITECTURE.md, "Ranges").
#pragma once

#include "core/event/event.hpp"  // CommitPatch

#include "core/util/process.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pulse {

/// git in one directory: never prompts for credentials, bounded in time.
class GitCommand {
 public:
  /// `config`: `-c NAME=VALUE` settings for every command (e.g. safe.directory).
  explicit GitCommand(std::string dir, std::vector<std::string> config = {})
      : dir_(std::move(dir)), config_(std::move(config)) {}
  CommandResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = std::chrono::minutes(2),
                    const std::string& input = "") const;
  bool ok(const std::vector<std::string>& args) const { return run(args).exit_code == 0; }
  /// Standard output without its trailing newline; empty on failure.
  std::string out(const std::vector<std::string>& args) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::vector<std::string> config_;
};

struct DeepenOptions {
  std::string remote = "origin";
  int max_rounds = 6;    ///< rounds of `git fetch --deepen` before fetching the whole history
  int first_step = 100;  ///< commits in the first round; each next round doubles it
  std::chrono::milliseconds fetch_timeout = std::chrono::minutes(10);
  /// Partial-clone filter for every fetch (`tree:0`: commits only; `blob:none`:
  /// commits and trees, which path filters read); empty: whole objects. A
  /// server that refuses filters sends whole objects (git warns and goes on);
  /// the clone becomes a partial clone, and git fetches what a later step
  /// reads on demand.
  std::string filter;
};

/// The filter a range needs: commits only without path filters, commits and
/// trees with them.
inline std::string filter_for(const std::vector<std::string>& paths) { return paths.empty() ? "tree:0" : "blob:none"; }

/// git in `dir`, if it holds a repository; else nullopt, `why` naming the
/// cause (no such directory, git not installed, not a repository). With
/// `trust_other_owner` (CI workspaces, checked out by another user), a
/// repository git calls of dubious ownership is trusted for these commands
/// only (`-c safe.directory=<dir>`), and only when `dir` is its top level,
/// never a repository found above `dir`; no configuration file is written.
std::optional<GitCommand> open_repository(const std::string& dir, bool trust_other_owner, std::string& why);

/// 40 or 64 lower-case hex digits.
bool is_full_sha(const std::string& s);

/// The commit a previous deployment's ref names: resolved here; a full SHA
/// not here yet is kept (make_range_exact fetches it); on a shallow clone a
/// tag or branch name is fetched from the remote (fetch_named_ref).
std::optional<std::string> resolve_previous(const GitCommand& git, const std::string& ref, const DeepenOptions& options,
                                            const std::function<void(const std::string&)>& log, std::string& why);

/// The full SHA of the commit `rev` names (a SHA, a tag, a branch, HEAD~2);
/// options are never taken for revisions.
std::optional<std::string> resolve_commit(const GitCommand& git, const std::string& rev);

bool is_shallow(const GitCommand& git);

struct RangeCommit {
  std::string sha;
  std::int64_t commit_time = 0;  ///< committer time, Unix seconds
};

/// `git rev-list HEAD --not PREVIOUS -- PATHS`, in git log's order (newest
/// first, ties as git breaks them), with git's pathspec semantics (globs,
/// `:(exclude)`, directories; relative to the command's directory) and
/// history simplification. An empty `previous` lists `head` alone (its
/// parents hidden). Both must be full SHAs (see resolve_commit).
bool list_range(const GitCommand& git, const std::string& previous, const std::string& head,
                const std::vector<std::string>& paths, std::vector<RangeCommit>& out, std::string& why);

/// Stable patch-ids (`git patch-id --stable` over `git diff-tree -p`, which
/// no diff configuration changes) of `commits`, each against its first
/// parent (a root commit against nothing). In a partial clone (`remote` a
/// promisor), the trees and then the blobs those diffs need are fetched
/// first, in one request each, instead of one lazy fetch per object.
/// Commits git cannot diff are left out.
bool patch_ids(const GitCommand& git, const std::vector<std::string>& commits, const std::string& remote,
               std::vector<CommitPatch>& out, std::string& why);

/// The stable patch-id of the diff between two commits' trees (a branch's
/// whole diff from its merge base), made as patch_ids makes each commit's;
/// empty when git cannot tell.
std::string diff_patch_id(const GitCommand& git, const std::string& from, const std::string& to);

/// The author times (Unix seconds) of `commits`, by SHA; those git cannot
/// read are left out.
std::unordered_map<std::string, std::int64_t> author_times(const GitCommand& git,
                                                           const std::vector<std::string>& commits);

/// The commits of HEAD --not PREVIOUS (HEAD alone without PREVIOUS) on HEAD's
/// first-parent line that are not merges: direct pushes, squash and rebase
/// merges, the commits whose pushes a patch-id may find.
bool first_parent_singles(const GitCommand& git, const std::string& previous, const std::string& head,
                          std::vector<std::string>& out, std::string& why);

/// When each commit of HEAD --not PREVIOUS (HEAD alone without PREVIOUS)
/// reached HEAD's first-parent line, by SHA: the committer time of the
/// oldest commit of that line that has it in its history (`git
/// when-merged`'s rule). A commit on the line (a direct push, a
/// fast-forward, a squash or rebase merge) has its own time; one brought in
/// by a merge has the merge commit's. One traversal of the range.
bool merge_times(const GitCommand& git, const std::string& previous, const std::string& head,
                 std::unordered_map<std::string, std::int64_t>& out, std::string& why);

/// The commits that commits of the range (as list_range takes it) revert:
/// the SHAs named by "This reverts commit <40 hex>" in their messages (git
/// revert's wording), each once, in the order found. At most 1,000.
bool find_reverted(const GitCommand& git, const std::string& previous, const std::string& head,
                   const std::vector<std::string>& paths, std::vector<std::string>& out, std::string& why);

/// The SHAs that "This reverts commit <sha>" names in `messages`.
std::vector<std::string> reverted_in(std::string_view messages, std::size_t limit = 1000);

/// The part of a shallow clone's history that decides a range: every commit
/// reachable from HEAD or PREV as this clone knows it (shallow commits have
/// no parents here), with the commits at the clone's boundary.
struct LocalGraph {
  std::vector<std::string> sha;
  std::vector<std::int64_t> time;
  std::vector<std::vector<std::uint32_t>> parents;
  std::unordered_map<std::string, std::uint32_t> index;
  std::unordered_set<std::string> shallow;  ///< .git/shallow: commits whose parents this clone lacks
};

/// Parses `git rev-list --parents --timestamp` output.
LocalGraph parse_local_graph(const std::string& rev_list_output, std::unordered_set<std::string> shallow);

struct RangeProof {
  bool exact = false;
  std::string reason;  ///< why it is exact, or what is still unknown
};

/// Whether `rev-list HEAD --not PREV` on this partial history equals the
/// answer on the full history. Exact when no commit of the range is at the
/// boundary (so none of the range is missing) and no boundary commit below
/// PREV can hide an ancestry link to a commit of the range: it is reached
/// from every lowest commit of the range (a link would make a cycle), or,
/// when commit times never go backwards in what we have, it is older than
/// the range's oldest commit.
RangeProof prove_range(const LocalGraph& graph, const std::string& previous, const std::string& head);

struct Exactness {
  bool exact = false;
  bool was_shallow = false;
  int rounds = 0;  ///< deepening fetches made
  bool unshallowed = false;
  /// What the fetches brought: "" (none made), "commits only (--filter=tree:0)",
  /// "commits and trees (--filter=blob:none)", or whole objects, and why.
  std::string fetched;
  std::string how;  ///< for people: how the range was made exact, or why it is not
};

/// Makes `git rev-list head --not previous` on this clone equal the full
/// history's: nothing to do on a full clone; on a shallow one, fetches the
/// previous commit if missing, deepens in doubling rounds until prove_range
/// holds, and otherwise fetches the whole history. `log` hears each fetch.
Exactness make_range_exact(const GitCommand& git, const std::string& previous, const std::string& head,
                           const DeepenOptions& options, const std::function<void(const std::string&)>& log);

/// Fetches the tag or branch `name` from the remote as a ref (refs/tags/NAME,
/// else refs/remotes/REMOTE/NAME), with `depth` commits, and returns the
/// commit it names. Never fetches a whole history by accident.
std::optional<std::string> fetch_named_ref(const GitCommand& git, const std::string& remote, const std::string& name,
                                           int depth, std::chrono::milliseconds timeout, std::string& why,
                                           const std::string& filter = "");

struct Tag {
  std::string name;  ///< without refs/tags/
  std::string commit;
  std::int64_t tag_time = 0;     ///< tagger time (annotated), else the commit's time
  std::int64_t commit_time = 0;  ///< committer time of the tagged commit
};

/// Tags whose short name matches `pattern` (ECMAScript regex) and that name
/// a commit; with `merged_into`, only those whose commit is it or one of its
/// ancestors, found by git in one traversal. nullopt with `why` on failure.
std::optional<std::vector<Tag>> list_tags(const GitCommand& git, const std::string& merged_into,
                                          const std::string& pattern, std::string& why);

/// Among `tags`, the one with the latest tag time whose commit is in the
/// history of `head` but is not `head` (ties: the first in `tags`' order);
/// null if none. Candidates are checked newest first, each by a walk that
/// stops at its date (`merge-base --is-ancestor`, like `git describe`);
/// after a few misses, one traversal decides for all (`list_tags --merged`).
std::optional<Tag> latest_tag_in_history(const GitCommand& git, const std::vector<Tag>& tags, const std::string& head);

/// When a tag deployed: its tag time, or its commit's time.
inline std::int64_t deployment_time(const Tag& t, bool by_commit_time) {
  return by_commit_time ? t.commit_time : t.tag_time;
}

/// The deployment order of backfill: by deployment_time, then name.
void order_tags(std::vector<Tag>& tags, bool by_commit_time);

/// For tags in deployment order, the commits each shipped first: reachable
/// from it and from no earlier tag (`git rev-list TAG --not EARLIER... --
/// PATHS`). Without paths, one pass over the history; with paths, git
/// simplifies history per tag, so one rev-list per tag. Each list is newest
/// first. `progress` hears (tags done, tags).
bool first_shipped(const GitCommand& git, const std::vector<Tag>& ordered, const std::vector<std::string>& paths,
                   std::vector<std::vector<RangeCommit>>& out, std::string& why,
                   const std::function<void(std::size_t, std::size_t)>& progress = {});

struct HistoryMerges {
  std::unordered_map<std::string, std::int64_t> merged;  ///< merge time by SHA
  /// The commits on their tag's first-parent line (within its range) that
  /// are not merges: those a squash or rebase merge may have made.
  std::unordered_set<std::string> singles;
};

/// Backfill's merge times: for tags in deployment order, each commit a tag
/// ships first (reachable from it and from no earlier tag, paths aside)
/// gets what merge_times gives it in that tag's range: the committer time
/// of the oldest commit of the tag's first-parent line, within the range,
/// that has it in its history. One traversal of the whole history.
bool backfill_merge_times(const GitCommand& git, const std::vector<Tag>& ordered, HistoryMerges& out, std::string& why);

}  // namespace pulse
