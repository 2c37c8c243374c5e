// pulse-hook: the process git starts for every push. It must cost next to
// nothing, so it links nothing but the C++ runtime: it records the push
// (one small file, one fdatasync), chains the user's own hook, starts a
// waiter, and returns. Everything heavy (libgit2, SQLite, HTTP) happens in
// pulse-hook-worker, after `git push` has exited.
//
// The installed hook is a symlink to this binary, so argv[0] names the hook
// ("pre-push", "post-receive"); `pulse-hook <command>` works too. Every other
// command is handed to pulse-hook-worker unchanged.
#include "hooks/spool.hpp"

#include "core/util/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::string self_dir() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.parent_path().string();
}

// The worker beside us (a build, the portable release), else where the
// Debian package keeps it (/usr/libexec/pulse beside /usr/bin).
std::string worker() {
  const std::string beside = self_dir() + "/pulse-hook-worker";
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  return (fs::path(self_dir()) / ".." / "libexec" / "pulse" / "pulse-hook-worker").lexically_normal().string();
}

[[noreturn]] void exec_worker(std::vector<std::string> args) {
  args.insert(args.begin(), worker());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  std::fprintf(stderr, "pulse-hook: cannot run %s: %s\n", argv[0], std::strerror(errno));
  std::exit(args.size() > 1 && (args[1] == "pre-push" || args[1] == "post-receive") ? 0 : 1);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string state_dir() {
  if (const char* o = std::getenv("PULSE_OUTBOX"); o && *o) return fs::path(o).parent_path().string();
  return env_or("XDG_STATE_HOME", env_or("HOME", "/tmp") + "/.local/state") + "/pulse";
}

std::string read_all(int fd) {
  std::string s;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    s.append(buf, static_cast<std::size_t>(n));
  }
  return s;
}

// The git directory and the common directory (shared by linked worktrees).
bool find_git_dirs(std::string& git_dir, std::string& common_dir) {
  std::error_code ec;
  if (const char* g = std::getenv("GIT_DIR"); g && *g) {
    git_dir = fs::absolute(g, ec).string();
  } else {
    for (fs::path p = fs::current_path(ec); !p.empty(); p = p.parent_path()) {
      const fs::path dot = p / ".git";
      if (fs::is_directory(dot, ec)) {
        git_dir = dot.string();
        break;
      }
      if (fs::is_regular_file(dot, ec)) {  // "gitdir: <path>" (a linked worktree)
        std::ifstream in(dot);
        std::string line;
        std::getline(in, line);
        if (line.rfind("gitdir: ", 0) != 0) return false;
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
  if (git_dir.empty()) return false;
  common_dir = git_dir;
  std::ifstream cd(git_dir + "/commondir");
  std::string rel;
  if (std::getline(cd, rel) && !rel.empty())
    common_dir = (fs::path(rel).is_absolute() ? fs::path(rel) : fs::path(git_dir) / rel).lexically_normal().string();
  return true;
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

// The `git push` process we run under: the nearest ancestor named "git".
int git_push_pid() {
  int pid = ::getpid();
  for (int depth = 0; depth < 6; ++depth) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(stat, s);
    const auto close = s.rfind(')');
    if (close == std::string::npos) break;
    std::istringstream rest(s.substr(close + 2));
    char state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid <= 1) break;
    std::ifstream comm("/proc/" + std::to_string(ppid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name == "git") return ppid;
    pid = ppid;
  }
  return static_cast<int>(::getppid());
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

// Runs the user's original hook with our argv and stdin; returns its status.
int run_chained(const std::string& hook, const std::vector<std::string>& args, const std::string& input) {
  if (::access(hook.c_str(), X_OK) != 0) return 0;
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return 0;
  pulse::Fd in_read(ends[0]), in_write(ends[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_read.get(), 0);
  std::vector<std::string> copy = args;
  copy.insert(copy.begin(), hook);
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawn(&pid, hook.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  in_read.reset();
  if (rc != 0) return 0;
  ::signal(SIGPIPE, SIG_IGN);  // the hook may not read its stdin
  write_all(in_write.get(), input);
  in_write.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

[[noreturn]] void await(int pid, const std::string& file);

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
void from_pre_commit(const std::string& common_dir, std::vector<std::string>& args, std::string& input) {
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
pulse::Fd write_record(const std::string& file, const std::string& text) {
  pulse::Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd && !write_all(fd.get(), text)) {
    fd.reset();
    ::unlink(file.c_str());
  }
  return fd;
}

// From here on the record survives kill -9 (it is in the page cache). A
// child of ours makes it crash-safe (fdatasync) off the push's clock, then
// waits for `git push` to exit and hands over to the worker.
void hand_over(pulse::Fd record, const std::string& file, const std::string& git_dir, int push_pid) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    const int log_fd = ::open((git_dir + "/pulse-hook.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    ::fdatasync(record.get());
    record.reset();
    await(push_pid, file);
  }
  if (child < 0) ::fdatasync(record.get());  // no fork: stay durable, confirm with the next push
}

// pre-push: chain the user's hook, then record the push for confirmation.
int pre_push(const std::string& hook_path, std::vector<std::string> args, std::string input) {
  std::string git_dir, common_dir;
  const bool found = find_git_dirs(git_dir, common_dir);
  if (found && !args.empty() && args[0] == "--from-env") from_pre_commit(common_dir, args, input);
  if (!hook_path.empty()) {
    // The user's hook decides first; its refusal is the push's refusal.
    if (const int status = run_chained(hook_path + ".pulse-orig", args, input); status != 0) return status;
  }
  if (!found || !ships_commits(input)) return 0;  // deletions only: nothing to record
  const std::string dir = state_dir() + "/spool";
  std::error_code ec;
  fs::create_directories(dir, ec);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  pulse::hook::SpoolRecord rec;
  rec.git_dir = git_dir;
  rec.remote = args.size() > 0 ? args[0] : "";
  rec.url = args.size() > 1 ? args[1] : "";
  rec.push_pid = git_push_pid();
  rec.recorded_at = now;
  rec.tips = remote_tips(common_dir, rec.remote);
  rec.updates = pulse::hook::parse_updates(input);
  const std::string file = dir + "/" + std::to_string(now) + "-" + std::to_string(::getpid()) + ".push";
  if (auto record = write_record(file, pulse::hook::format_spool(rec)))
    hand_over(std::move(record), file, git_dir, rec.push_pid);
  return 0;
}

// post-receive: chain the user's hook (its status does not matter after a
// receive), then give the worker the same input through a pipe.
[[noreturn]] void post_receive(const std::string& hook_path, const std::vector<std::string>& args) {
  const std::string orig = hook_path + ".pulse-orig";
  if (::access(orig.c_str(), X_OK) != 0) exec_worker({"post-receive"});  // stdin passes straight through
  const std::string input = read_all(0);
  run_chained(orig, args, input);
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) ::_exit(0);
  pulse::Fd in_read(ends[0]), in_write(ends[1]);
  if (::fork() == 0) {
    in_read.reset();
    write_all(in_write.get(), input);
    ::_exit(0);
  }
  in_write.reset();
  ::dup2(in_read.get(), 0);
  exec_worker({"post-receive"});
}

// Block (cheaply) until the push exits, then hand over to the worker.
[[noreturn]] void await(int pid, const std::string& file) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::hours(2);
  if (const pulse::Fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); fd) {
    pollfd p{fd.get(), POLLIN, 0};
    while (::poll(&p, 1, 7'200'000) < 0 && errno == EINTR) {
    }
  } else {
    while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto exited =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  exec_worker({"confirm", "--spool", file, "--push-time", std::to_string(exited)});
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string invoked = fs::path(argv[0]).filename().string();
  try {
    if (invoked == "pre-push" || invoked.rfind("pre-push", 0) == 0) {
      const std::string input = read_all(0);
      return pre_push(argv[0], args, input);
    }
    if (invoked == "post-receive") post_receive(argv[0], args);
    if (!args.empty() && args[0] == "pre-push") {
      const std::string input = read_all(0);
      return pre_push("", {args.begin() + 1, args.end()}, input);
    }
    if (args.size() == 3 && args[0] == "await") await(std::atoi(args[1].c_str()), args[2]);
  } catch (...) {
    return 0;  // a failure of ours never fails a push
  }
  exec_worker(args);
}
