// Read access to a git repository through libgit2 (refs, config, ancestry)
// for the hooks. Ranges are listed by git itself: git_range.hpp. The only
// file that includes <git2.h> is git_repo.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

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

  /// Every reference name (refs/...), for post-receive's "all but these".
  std::vector<std::string> ref_names() const;

 private:
  struct Impl;
  explicit GitRepository(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulse
