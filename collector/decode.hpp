// Decoding of ingestion bodies: the Go CLI's event objects (and our batch
// extension, an array of them) into events, checked field by field. Pure
// functions over text, so they are fuzzed (fuzz/fuzz_ingest.cpp).
#pragma once

#include "core/event/event.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::collector {

inline constexpr std::size_t kMaxShortField = 256;  ///< source, system, environment

/// A git object id: 40 (SHA-1) or 64 (SHA-256) lower-case hex digits.
bool is_object_id(std::string_view s);

/// Decodes and validates one event body (the JSON object the Go CLI sends).
/// Accepts what the Go CLI sends, including `"changes":null` and times with
/// a local offset. On failure returns nullopt and sets `why` to a one-line
/// reason that names the field ("time_created: not a valid RFC 3339 time").
std::optional<Event> decode_event(std::string_view body, std::string& why);

/// A batch body: a non-empty JSON array of at most `max_events` event
/// objects. On failure sets `why` ("events[3].time_created: ..."); with
/// more than `max_events`, also `too_many` (the answer is then 413).
bool decode_batch(std::string_view body, std::size_t max_events, std::vector<Event>& out, std::string& why,
                  std::size_t& too_many);

}  // namespace pulse::collector
