// pulse-hook: the process git starts for every push. It must cost next to
// nothing, so it links nothing but the C++ runtime: it records the push
// (one small file, one fdatasync), chains the user's own hook, starts a
// waiter, and returns. Everything heavy (libgit2, SQLite, HTTP) happens in
// pulse-hook-worker, after `git push` has exited.
//
// The installed hook is a symlink to this binary, so argv[0] names the hook
// ("pre-push", "post-receive"); `pulse-hook <command>` works too. Every other
// command is handed to pulse-hook-worker unchanged.
#include "hooks/pre_push.hpp"
#include "hooks/spool.hpp"

#include "core/util/env.hpp"
#include "core/util/fd.hpp"
#include "core/util/sys.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

std::string self_dir() { return fs::path(pulse::self_executable()).parent_path().string(); }

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

// The `git push` process we run under: the nearest ancestor named "git".
int git_push_pid() {
  int pid = ::getpid();
  for (int depth = 0; depth < 6; ++depth) {
    const auto parent = pulse::parent_of(pid);
    if (!parent || parent->first <= 1) break;
    if (parent->second == "git") return parent->first;
    pid = parent->first;
  }
  return static_cast<int>(::getppid());
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
  pulse::hook::write_all(in_write.get(), input);
  in_write.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

[[noreturn]] void await(int pid, const std::string& file);

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
  using namespace pulse::hook;
  const pulse::Env env = pulse::Env::from_process();
  std::error_code ec;
  const auto dirs = find_git_dirs(env.get("GIT_DIR").value_or(""), fs::current_path(ec));
  if (dirs && !args.empty() && args[0] == "--from-env") from_pre_commit(dirs->common_dir, env, args, input);
  if (!hook_path.empty()) {
    // The user's hook decides first; its refusal is the push's refusal.
    if (const int status = run_chained(hook_path + ".pulse-orig", args, input); status != 0) return status;
  }
  if (!dirs || !ships_commits(input)) return 0;  // deletions only: nothing to record
  const std::string dir = pulse::state_dir(env) + "/spool";
  fs::create_directories(dir, ec);
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const SpoolRecord rec = push_record(*dirs, args, input, git_push_pid(), now);
  const std::string file = dir + "/" + std::to_string(now) + "-" + std::to_string(::getpid()) + ".push";
  if (auto record = write_record(file, format_spool(rec)))
    hand_over(std::move(record), file, dirs->git_dir, rec.push_pid);
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
    pulse::hook::write_all(in_write.get(), input);
    ::_exit(0);
  }
  in_write.reset();
  ::dup2(in_read.get(), 0);
  exec_worker({"post-receive"});
}

// Block (cheaply) until the push exits, then hand over to the worker.
[[noreturn]] void await(int pid, const std::string& file) {
  pulse::wait_for_exit(pid, std::chrono::hours(2));
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
