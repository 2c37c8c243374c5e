// Read access to a git repository through libgit2. The only file that
// includes <git2.h> is git_repo.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse {

struct CommitInfo {
  std::string sha;
  std::int64_t commit_time = 0;  ///< committer time, Unix seconds
  std::int64_t author_time = 0;
};

struct TagInfo {
  std::string name;  ///< without refs/tags/
  std::string commit;
  std::int64_t tag_time = 0;     ///< tagger time (annotated), else the commit's time
  std::int64_t commit_time = 0;  ///< committer time of the tagged commit
};

/// An open repository. Not thread-safe: one instance per thread.
class GitRepository {
 public:
  /// Opens the repository containing `path` (searching upwards like git).
  /// Returns null and sets `why` if there is none.
  static std::unique_ptr<GitRepository> open(const std::string& path, std::string& why);
  ~GitRepository();
  GitRepository(const GitRepository&) = delete;
  GitRepository& operator=(const GitRepository&) = delete;

  /// Full SHA of the commit `rev` names ("HEAD~2", "v1.0", a short SHA).
  std::optional<std::string> resolve(std::string_view rev, std::string& why);

  /// Commits reachable from `to` but not from `from` (`git log from..to`),
  /// merges included, newest first. With `paths`, only commits that change
  /// one of them (paths relative to the directory the repository was opened
  /// from; merges only when they differ from every parent), like
  /// `git log from..to -- paths`. Returns false and sets `why` on failure.
  bool log_range(std::string_view from, std::string_view to, const std::vector<std::string>& paths,
                 std::vector<CommitInfo>& out, std::string& why);

  bool is_shallow() const;

  /// Absolute path of the git directory (".git", or the bare repository).
  std::string git_dir() const;
  /// Absolute path of the work tree; empty for a bare repository.
  std::string work_dir() const;

  /// A configuration value as git sees it (local, global, system), if set.
  std::optional<std::string> config(const std::string& name) const;

  /// The commit a reference points at, if it exists.
  std::optional<std::string> ref_target(const std::string& refname) const;

  /// Whether `ancestor` is `descendant` or one of its ancestors.
  bool is_ancestor(const std::string& ancestor, const std::string& descendant) const;

  /// `git rev-list INCLUDE... --not EXCLUDE... <refs matching EXCLUDE_GLOBS>`,
  /// minus refs named in `keep_refs` (for post-receive: the refs just
  /// updated). At most `max` commits, newest first.
  bool rev_list(const std::vector<std::string>& include, const std::vector<std::string>& exclude,
                const std::vector<std::string>& exclude_globs, std::size_t max, std::vector<std::string>& out,
                std::string& why);

  /// Tags whose name matches `pattern` (ECMAScript regex on the short name)
  /// and that point (through annotations) at a commit.
  std::vector<TagInfo> tags(const std::string& pattern, std::string& why);

  /// Fills in the committer time of every commit named by the map's keys.
  bool commit_times(std::unordered_map<std::string, std::int64_t>& times, std::string& why) const;

  /// Every reference name (refs/...), for post-receive's "all but these".
  std::vector<std::string> ref_names() const;

 private:
  struct Impl;
  explicit GitRepository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulse
