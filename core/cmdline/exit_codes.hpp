// One exit-code table for all five binaries (README, "Exit codes").
#pragma once

namespace pulse {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;   ///< could not start or run (port in use, database error), or a bug
inline constexpr int kExitUsage = 2;     ///< bad flags, values or input; nothing was sent
inline constexpr int kExitRejected = 3;  ///< the server refused an event (4xx)
inline constexpr int kExitDelivery = 4;  ///< no answer or 5xx after every retry

/// The table for people, as every program's help and manual page say it.
inline constexpr const char* kExitCodesText =
    "0 ok; 1 could not start or run; 2 bad flags, values or input (nothing was sent); "
    "3 the server refused an event; 4 no answer after every retry";

}  // namespace pulse
