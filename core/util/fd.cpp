#include "core/util/fd.hpp"

#include <unistd.h>

namespace pulse {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);  // even when interrupted, Linux has closed it: never retried
  fd_ = fd;
}

}  // namespace pulse
