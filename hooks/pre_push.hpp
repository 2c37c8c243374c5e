// The pre-push hook's steps: finding the repository, reading the push,
// writing its record. The C and C++ standard libraries only (with
// pulse_libc): the static pulse-hook runs them on every push, and tests
// call them without one.
#pragma once

#include "core/util/env.hpp"
#include "core/util/fd.hpp"
#include "hooks/spool.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pulse::hook {

struct GitDirs {
  std::string git_dir;     ///< absolute
  std::string common_dir;  ///< shared by linked worktrees; the git directory otherwise
};

/// The repository a hook runs in: `git_dir_env` ($GIT_DIR, git sets it for
/// hooks) made absolute, else the nearest `.git` directory, linked
/// worktree's `.git` file ("gitdir: ...") or bare repository at or above
/// `from`. nullopt outside a repository.
std::optional<GitDirs> find_git_dirs(const std::string& git_dir_env, const std::filesystem::path& from);

/// Tips of refs/remotes/<remote>/*, loose and packed: what the remote had,
/// as far as this clone knows, before the push.
std::vector<std::string> remote_tips(const std::string& common_dir, const std::string& remote);

/// What a local ref names: its loose file, else its line in packed-refs;
/// forty zeros when neither has it.
std::string read_ref(const std::string& common_dir, const std::string& ref);

/// The push as git gives it (`args`: remote name and URL; `input`: one
/// "local-ref local-sha remote-ref remote-sha" line), from the pre-commit
/// framework's variables, which name one ref (for a repository's first push
/// none: the local branch then names the commit pushed).
void from_pre_commit(const std::string& common_dir, const Env& env, std::vector<std::string>& args, std::string& input);

/// Whether any update of the push sends a local commit (not a deletion).
bool ships_commits(const std::string& input);

/// The record of a push (hooks/spool.hpp) from git's argv and stdin, with
/// the remote-tracking tips before it.
SpoolRecord push_record(const GitDirs& dirs, const std::vector<std::string>& args, const std::string& input,
                        int push_pid, std::int64_t now);

/// Writes all of `data` to `fd`; false if the reader went away first.
bool write_all(int fd, const std::string& data);

/// Writes `text` as a new file `file` (never over an existing one); its
/// descriptor, still open for the fdatasync, or none if it could not be
/// written whole (then no file is left).
Fd write_record(const std::string& file, const std::string& text);

}  // namespace pulse::hook
