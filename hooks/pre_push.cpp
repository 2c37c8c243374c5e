#include "hooks/pre_push.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace pulse::hook {

namespace fs = std::filesystem;

// The git directory and the common directory (shared by linked worktrees).
std::optional<GitDirs> find_git_dirs(const std::string& git_dir_env, const fs::path& from) {
  std::error_code ec;
  std::string git_dir;
  if (!git_dir_env.empty()) {
    git_dir = fs::absolute(git_dir_env, ec).string();
  } else {
    for (fs::path p = from; !p.empty(); p = p.parent_path()) {
      const fs::path dot = p / ".git";
      if (fs::is_directory(dot, ec)) {
        git_dir = dot.string();
        break;
      }
      if (fs::is_regular_file(dot, ec)) {  // "gitdir: <path>" (a linked worktree)
        std::ifstream in(dot);
        std::string line;
        std::getline(in, line);
        if (line.rfind("gitdir: ", 0) != 0) return std::nullopt;
        fs::path target = line.substr(8);
        git_dir = (target.is_absolute() ? target : p / target).lexically_normal().string();
        break;
      }
      if (fs::exists(p / "HEAD", ec) && fs::is_directory(p / "objects", ec)) {  // a bare repository
        git_dir = p.string();
        break;
      }
      if (p == p.root_path()) break;
    }
  }
  if (git_dir.empty()) return std::nullopt;
  GitDirs dirs{git_dir, git_dir};
  std::ifstream cd(git_dir + "/commondir");
  std::string rel;
  if (std::getline(cd, rel) && !rel.empty())
    dirs.common_dir =
        (fs::path(rel).is_absolute() ? fs::path(rel) : fs::path(git_dir) / rel).lexically_normal().string();
  return dirs;
}

// Tips of refs/remotes/<remote>/*, loose and packed: what the remote had,
// as far as this clone knows, before the push.
std::vector<std::string> remote_tips(const std::string& common_dir, const std::string& remote) {
  std::vector<std::string> tips;
  const std::string prefix = "refs/remotes/" + remote + "/";
  std::ifstream packed(common_dir + "/packed-refs");
  for (std::string line; std::getline(packed, line);)
    if (line.size() > 41 && line[40] == ' ' && line.compare(41, prefix.size(), prefix) == 0)
      tips.push_back(line.substr(0, 40));
  std::error_code ec;
  const fs::path loose = fs::path(common_dir) / prefix;
  if (fs::is_directory(loose, ec))
    for (fs::recursive_directory_iterator it(loose, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::ifstream in(it->path());
      std::string sha;
      if (std::getline(in, sha) && sha.size() >= 40 && sha.rfind("ref:", 0) != 0) tips.push_back(sha.substr(0, 40));
    }
  return tips;
}

// Writes all of `data` to `fd`; false if the reader went away first.
bool write_all(int fd, const std::string& data) {
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// What a local ref names: its loose file, else its line in packed-refs.
std::string read_ref(const std::string& common_dir, const std::string& ref) {
  std::ifstream loose(common_dir + "/" + ref);
  std::string sha;
  if (std::getline(loose, sha) && sha.size() >= 40 && sha.rfind("ref:", 0) != 0) return sha.substr(0, 40);
  std::ifstream packed(common_dir + "/packed-refs");
  for (std::string line; std::getline(packed, line);)
    if (line.size() == 41 + ref.size() && line[40] == ' ' && line.compare(41, ref.size(), ref) == 0)
      return line.substr(0, 40);
  return std::string(40, '0');
}

// Run by the pre-commit framework, which passes the push in variables
// (the first ref that sends commits) instead of git's argv and stdin. For
// the first push of a repository (its root commit) it gives no refs at
// all: the local branch names the commit pushed.
void from_pre_commit(const std::string& common_dir, const Env& env, std::vector<std::string>& args,
                     std::string& input) {
  auto env_or = [&env](const char* name, const std::string& fallback) {
    return env.non_empty(name).value_or(fallback);
  };
  const std::string local = env_or("PRE_COMMIT_LOCAL_BRANCH", "HEAD");
  std::string to = env_or("PRE_COMMIT_TO_REF", "");
  if (to.empty()) to = local.rfind("refs/", 0) == 0 ? read_ref(common_dir, local) : std::string(40, '0');
  input = local + " " + to + " " + env_or("PRE_COMMIT_REMOTE_BRANCH", "") + " " +
          env_or("PRE_COMMIT_FROM_REF", std::string(40, '0')) + "\n";
  args = {env_or("PRE_COMMIT_REMOTE_NAME", ""), env_or("PRE_COMMIT_REMOTE_URL", "")};
}

// Whether any update of the push sends a local commit (not a deletion).
bool ships_commits(const std::string& input) {
  std::istringstream lines(input);
  for (std::string l; std::getline(lines, l);) {
    std::istringstream fields(l);
    std::string local_ref, local_sha;
    if (fields >> local_ref >> local_sha && local_sha.find_first_not_of('0') != std::string::npos) return true;
  }
  return false;
}

// Writes the push's record as a new spool file; its descriptor (still
// open, for the fdatasync), or none if it could not be written whole.
Fd write_record(const std::string& file, const std::string& text) {
  Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd && !write_all(fd.get(), text)) {
    fd.reset();
    ::unlink(file.c_str());
  }
  return fd;
}

SpoolRecord push_record(const GitDirs& dirs, const std::vector<std::string>& args, const std::string& input,
                        int push_pid, std::int64_t now) {
  SpoolRecord rec;
  rec.git_dir = dirs.git_dir;
  rec.remote = args.size() > 0 ? args[0] : "";
  rec.url = args.size() > 1 ? args[1] : "";
  rec.push_pid = push_pid;
  rec.recorded_at = now;
  rec.tips = remote_tips(dirs.common_dir, rec.remote);
  rec.updates = parse_updates(input);
  return rec;
}

}  // namespace pulse::hook
