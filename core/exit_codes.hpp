// One exit-code table for all five binaries (README, "Exit codes").
#pragma once

namespace pulse {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   ///< could not start or run (port in use, database error), or a bug
inline constexpr int kExitUsage = 2;     ///< bad flags, values or input; nothing was sent
inline constexpr int kExitRejected = 3;  ///< the server refused an event (4xx)
inline constexpr int kExitDelivery = 4;  ///< no answer or 5xx after every retry

}  // namespace pulse
