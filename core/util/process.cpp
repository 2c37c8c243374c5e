#include "core/util/process.hpp"

#include "core/util/fd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

extern char** environ;

namespace pulse {

namespace {
std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (auto& s : argv) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// While alive, writing to a pipe whose reader is gone (a child that exited
// without reading its input) fails with EPIPE on this thread instead of
// raising SIGPIPE; a SIGPIPE raised meanwhile is taken back.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlocked() {
    if (!was_pending_) {
      const timespec now{};
      while (sigtimedwait(&pipe_, nullptr, &now) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

// Milliseconds to `until`, as poll(2) takes them (at most a minute at a
// time); 0 or less once it has passed.
int ms_until(std::chrono::steady_clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>(left.count(), 60'000)) + 1;
}

// Feeds `input` to the child and reads its stdout and stderr, all at once
// (no pipe can fill up and stall), until the outputs close and the input
// is written (or refused), or `until` passes. At the deadline it kills the child's process group and stops
// reading, whoever still holds the outputs open (a daemon a child started
// in a session of its own). The descriptors close as it returns; answers whether
// the deadline passed.
bool exchange(pid_t pid, Fd in, Fd out, Fd err, const std::string& input, std::chrono::steady_clock::time_point until,
              CommandResult& r) {
  const SigpipeBlocked quiet;
  ::fcntl(in.get(), F_SETFL, ::fcntl(in.get(), F_GETFL) | O_NONBLOCK);
  std::size_t written = 0;
  if (input.empty()) in.reset();
  char buf[65536];
  while (out || err || in) {
    const int left = ms_until(until);
    if (left <= 0) {
      ::kill(-pid, SIGKILL);
      return true;
    }
    pollfd fds[3] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}, {in.get(), POLLOUT, 0}};
    const int n = ::poll(fds, 3, left);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      Fd& fd = i == 0 ? out : err;
      if (!fd || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(fd.get(), buf, sizeof buf);
      if (got > 0) (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(got));
      else if (got == 0 || errno != EINTR) fd.reset();
    }
    if (in && (fds[2].revents & (POLLOUT | POLLHUP | POLLERR))) {
      const ssize_t put = ::write(in.get(), input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if ((put < 0 && errno != EINTR && errno != EAGAIN) || written == input.size()) in.reset();
    }
  }
  return false;
}

// Waits for the child until `until` (a child may close its outputs and go
// on running), then kills its process group; reaps it. Answers its status.
int reap(pid_t pid, std::chrono::steady_clock::time_point until, bool& timed_out) {
  int status = 0;
  const Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));  // readable once it has exited
  while (!timed_out) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return status;
    const int left = ms_until(until);
    if (left <= 0) break;
    if (pidfd) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, left);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 10)));
    }
  }
  timed_out = true;
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A pipe whose ends close on exec (the child gets its own copies by dup2).
bool open_pipe(Pipe& p) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return false;
  p.read.reset(ends[0]);
  p.write.reset(ends[1]);
  return true;
}

// Starts argv in its own process group with the three pipes as its stdin,
// stdout and stderr (in `cwd` unless empty); -1 if it cannot.
pid_t spawn_piped(const std::vector<std::string>& argv_in, const std::string& cwd, const Pipe& in, const Pipe& out,
                  const Pipe& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.write.get(), 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group, so a timeout can end all of it
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<std::string> argv = argv_in;
  auto args = c_argv(argv);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}
}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::string& cwd, const std::string& input,
                          std::chrono::milliseconds timeout) {
  CommandResult r;
  Pipe in, out, err;
  if (!open_pipe(in) || !open_pipe(out) || !open_pipe(err)) {
    r.err = "cannot run " + argv[0] + ": " + std::strerror(errno);
    return r;
  }
  const pid_t pid = spawn_piped(argv, cwd, in, out, err);
  in.read.reset();  // the child's ends: ours close, so its exit ends our reads
  out.write.reset();
  err.write.reset();
  if (pid < 0) {
    r.err = "cannot run " + argv[0];
    return r;
  }
  const auto until = std::chrono::steady_clock::now() + timeout;
  bool timed_out = exchange(pid, std::move(in.write), std::move(out.read), std::move(err.read), input, until, r);
  const int status = reap(pid, until, timed_out);
  if (timed_out) {
    r.err += "\n" + argv[0] + ": timed out after " + std::to_string(timeout.count()) + " ms";
    return r;
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool spawn_detached(const std::vector<std::string>& argv_in, const std::string& cwd, const std::string& log_path) {
  std::vector<std::string> argv = argv_in;
  auto args = c_argv(argv);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log_path.empty() ? "/dev/null" : log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);  // its own session: no signal from the terminal or git
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  // The child is not reaped here: we exit soon and init adopts it.
  return rc == 0;
}

}  // namespace pulse
