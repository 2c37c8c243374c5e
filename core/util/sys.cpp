#include "core/util/sys.hpp"

#include "core/util/fd.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace pulse {

std::string self_executable() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::optional<std::pair<int, std::string>> parent_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  const auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 2));
  char state;
  int ppid;
  if (!(rest >> state >> ppid)) return std::nullopt;
  std::ifstream comm_in("/proc/" + std::to_string(ppid) + "/comm");
  std::string comm;
  std::getline(comm_in, comm);
  return std::make_pair(ppid, comm);
}

bool wait_for_exit(int pid, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  if (const Fd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); fd) {
    // A pidfd is readable once the process has exited; a signal may cut the wait short.
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
      pollfd p{fd.get(), POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left, 0, INT_MAX)));
      if (n > 0) return true;
      if (n == 0 || errno != EINTR) return false;
    }
  }
  if (errno == ESRCH) return true;  // already gone
  while (std::chrono::steady_clock::now() < until) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string state_dir(const Env& env) {
  if (const auto outbox = env.non_empty("PULSE_OUTBOX")) {
    const auto dir = std::filesystem::path(*outbox).parent_path();
    return dir.empty() ? "." : dir.string();
  }
  if (const auto xdg = env.non_empty("XDG_STATE_HOME")) return *xdg + "/pulse";
  if (const auto home = env.non_empty("HOME")) return *home + "/.local/state/pulse";
  return "pulse-state";
}

}  // namespace pulse
