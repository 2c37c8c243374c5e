// The one exception type for a store that cannot do its work right now
// (database locked past its timeout, disk full, server down, corrupt
// file): servers answer it 503 with Retry-After. Anything else thrown
// while handling a request is a bug and answers 500.
#pragma once

#include <stdexcept>

namespace pulse {

struct StorageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace pulse
