// pulse-hook: the process git starts for every push. It must cost next to
// nothing, so it links nothing but the C++ runtime: it records the push
// (one small file, one fdatasync), chains the user's own hook, starts a
// waiter, and returns. Everything heavy (libgit2, SQLite, HTTP) happens in
// pulse-hook-worker, after `git push` has exited.
//
// The installed hook is a symlink to this binary, so argv[0] names the hook
// ("pre-push", "post-receive"); `pulse-hook <command>` works too. Every other
// command is handed to pulse-hook-worker unchanged.
#include "spool.hpp"

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

std::string worker() { return self_dir() + "/pulse-hook-worker"; }

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

// Runs the user's original hook with our argv and stdin; returns its status.
int run_chained(const std::string& hook, const std::vector<std::string>& args, const std::string& input) {
  if (::access(hook.c_str(), X_OK) != 0) return 0;
  int in[2];
  if (::pipe(in) != 0) return 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  std::vector<std::string> copy = args;
  copy.insert(copy.begin(), hook);
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawn(&pid, hook.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  if (rc != 0) {
    ::close(in[1]);
    return 0;
  }
  ::signal(SIGPIPE, SIG_IGN);  // the hook may not read its stdin
  for (std::size_t off = 0; off < input.size();) {
    const ssize_t n = ::write(in[1], input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  ::close(in[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

[[noreturn]] void await(int pid, const std::string& file);

// pre-push: chain the user's hook, then record the push for confirmation.
int pre_push(const std::string& hook_path, std::vector<std::string> args, std::string input) {
  if (!args.empty() && args[0] == "--from-env") {  // the pre-commit framework
    input = env_or("PRE_COMMIT_LOCAL_BRANCH", "HEAD") + " " + env_or("PRE_COMMIT_TO_REF", std::string(40, '0')) + " " +
            env_or("PRE_COMMIT_REMOTE_BRANCH", "") + " " + env_or("PRE_COMMIT_FROM_REF", std::string(40, '0')) + "\n";
    args = {env_or("PRE_COMMIT_REMOTE_NAME", ""), env_or("PRE_COMMIT_REMOTE_URL", "")};
  }
  if (!hook_path.empty()) {
    // The user's hook decides first; its refusal is the push's refusal.
    if (const int status = run_chained(hook_path + ".pulse-orig", args, input); status != 0) return status;
  }
  const std::string remote = args.size() > 0 ? args[0] : "", url = args.size() > 1 ? args[1] : "";
  bool ships = false;  // any update with a local commit (not a deletion)
  {
    std::istringstream lines(input);
    for (std::string l; std::getline(lines, l);) {
      std::istringstream fields(l);
      std::string local_ref, local_sha;
      if (fields >> local_ref >> local_sha && local_sha.find_first_not_of('0') != std::string::npos) ships = true;
    }
  }
  if (!ships) return 0;  // deletions only: nothing to record
  std::string git_dir, common_dir;
  if (!find_git_dirs(git_dir, common_dir)) return 0;
  const std::string dir = state_dir() + "/spool";
  std::error_code ec;
  fs::create_directories(dir, ec);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const int push_pid = git_push_pid();
  pulse::hook::SpoolRecord rec;
  rec.git_dir = git_dir;
  rec.remote = remote;
  rec.url = url;
  rec.push_pid = push_pid;
  rec.recorded_at = now;
  rec.tips = remote_tips(common_dir, remote);
  rec.updates = pulse::hook::parse_updates(input);
  const std::string text = pulse::hook::format_spool(rec);
  const std::string file = dir + "/" + std::to_string(now) + "-" + std::to_string(::getpid()) + ".push";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!written) {
    ::close(fd);
    ::unlink(file.c_str());
    return 0;
  }
  // From here on the record survives kill -9 (it is in the page cache). A
  // child of ours makes it crash-safe (fdatasync) off the push's clock, then
  // waits for `git push` to exit and hands over to the worker.
  const pid_t child = ::fork();
  if (child == 0) {
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDWR);
    const int log_fd = ::open((git_dir + "/pulse-hook.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd >= 0 ? log_fd : null_fd, 2);
    ::fdatasync(fd);
    ::close(fd);
    await(push_pid, file);
  }
  ::close(fd);
  if (child < 0) {  // no fork: stay durable, confirm with the next push
    const int again = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (again >= 0) {
      ::fdatasync(again);
      ::close(again);
    }
  }
  return 0;
}

// Block (cheaply) until the push exits, then hand over to the worker.
[[noreturn]] void await(int pid, const std::string& file) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::hours(2);
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
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
    if (invoked == "post-receive") {
      const std::string orig = std::string(argv[0]) + ".pulse-orig";
      if (::access(orig.c_str(), X_OK) != 0) exec_worker({"post-receive"});  // stdin passes straight through
      // Chain the user's hook (its status does not matter after a receive),
      // then give the worker the same input through a pipe.
      const std::string input = read_all(0);
      run_chained(orig, args, input);
      int in[2];
      if (::pipe(in) != 0) return 0;
      if (::fork() == 0) {
        ::close(in[0]);
        for (std::size_t off = 0; off < input.size();) {
          const ssize_t n = ::write(in[1], input.data() + off, input.size() - off);
          if (n <= 0) break;
          off += static_cast<std::size_t>(n);
        }
        ::_exit(0);
      }
      ::close(in[1]);
      ::dup2(in[0], 0);
      exec_worker({"post-receive"});
    }
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
