// A file descriptor owned from birth: closed exactly once, when its owner
// goes (or when it is reset). fd.cpp depends on nothing but the C library,
// so the pre-push hook (which links only the C++ runtime) compiles it in too.
#pragma once

#include <utility>

namespace pulse {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// Closes the descriptor held (if any) and holds `fd` instead.
  void reset(int fd = -1) noexcept;
  /// Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

/// A pipe's two ends, each owned.
struct Pipe {
  Fd read, write;
};

}  // namespace pulse
