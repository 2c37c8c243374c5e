// What an alerting payload says, once parsed: a list of observations of
// alerts (firing or resolved), independent of the tool that sent it.
#pragma once

#include "plugins/incident/auth.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::incident {

enum class Status { firing, resolved };

/// An alert's labels (Alertmanager and Grafana labels, PagerDuty's service,
/// priority and urgency, Opsgenie's priority, entity and details, the
/// generic mapping's label object), in the payload's order. Bounded: at
/// most kMaxLabels, names up to 128 bytes, values up to 1 KiB; others are
/// left out.
using Labels = std::vector<std::pair<std::string, std::string>>;
inline constexpr std::size_t kMaxLabels = 128;

/// One alert's state in one notification.
struct Observation {
  std::string key;  ///< the source's identity for the alert: fingerprint, incident id, alert id
  Status status = Status::firing;
  std::int64_t created = 0;              ///< when it started (Unix seconds, floored)
  std::optional<std::int64_t> resolved;  ///< set when status is resolved
  Labels labels;
  /// Where the incident belongs. A parser sets them only when the payload
  /// names them outright (the generic mapping's system and environment
  /// pointers); the receiver fills them from the route's rules otherwise.
  std::string system, environment;
  /// Left out by the route's label matchers: it never opens an incident,
  /// but still resolves one already open (its labels may have changed).
  bool filtered = false;
};

struct ParseResult {
  std::vector<Observation> observations;
  bool test = false;               ///< a ping or test notification: answer 2xx, store nothing
  std::string ignored_reason;      ///< set when the payload is valid but changes nothing (acknowledgement, ...)
  std::vector<std::string> notes;  ///< things worth logging (truncated alert lists, ...)
};

/// Per-route settings a parser may need (the generic route's mapping).
struct GenericMapping {
  std::string identifier;  ///< JSON Pointers
  std::string status;
  std::string created;
  std::string resolved;
  std::vector<std::string> firing_values{"firing"};
  std::vector<std::string> resolved_values{"resolved"};
  std::string time_format = "rfc3339";  ///< rfc3339 | unix_s | unix_ms | unix_ns
  std::string labels;                   ///< optional: an object of strings, the alert's labels
  std::string system;                   ///< optional: the incident's system
  std::string environment;              ///< optional: the incident's environment
};

/// Loads a generic mapping file (JSON: identifier, status, created,
/// resolved, firing, resolved_values, time_format, and optionally labels,
/// system, environment; at most 64 KiB). Throws
/// std::runtime_error naming the file and the key.
GenericMapping load_mapping(const std::string& path);
/// The same from text; `path` names it in errors.
GenericMapping parse_mapping(std::string_view text, const std::string& path);

/// Parses a payload of one source. Returns false with a one-line `why`
/// (which names the field) when the payload is malformed.
using Parser = bool (*)(const boost::json::value& payload, const GenericMapping* mapping, ParseResult& out,
                        std::string& why);

/// How identifiers are formed: "<source>:<key>" or, for sources whose keys
/// repeat across episodes (Alertmanager, Grafana fingerprints),
/// "<source>:<key>:<created>".
struct SourceSpec {
  std::string_view name;
  Parser parse;
  bool episodes;          ///< key + created identify an incident
  SignatureCheck verify;  ///< its webhook signature, or nullptr: it signs nothing
};

const SourceSpec* find_source(std::string_view name);
std::vector<std::string_view> source_names();

std::string incident_identifier(const SourceSpec& source, const Observation& o);

// ---- helpers shared by the parsers ------------------------------------------

constexpr std::size_t kMaxIdentity = 256;

/// Printable ASCII, 1..256 bytes: safe in logs, headers and identifiers.
bool valid_identity(std::string_view s);

/// Field access with errors that name the path ("alerts[2].startsAt: missing").
const boost::json::object* object_at(const boost::json::value& v, std::string_view path, std::string& why);
bool string_at(const boost::json::object& o, std::string_view field, std::string_view path, std::string& out,
               std::string& why);
bool identity_at(const boost::json::object& o, std::string_view field, std::string_view path, std::string& out,
                 std::string& why);
/// RFC 3339 time in 2000..2100, floored to the second.
bool time_at(const boost::json::object& o, std::string_view field, std::string_view path, std::int64_t& out,
             std::string& why);
bool plausible_time(std::int64_t t);

/// Adds the string members of `o` to `labels` (others, and those over the
/// bounds, are left out).
void add_labels(const boost::json::object& o, Labels& labels);
/// Adds one label when `v` is a string within the bounds.
void add_label(std::string_view name, const boost::json::value* v, Labels& labels);
/// The value of a label, or nullptr.
const std::string* find_label(const Labels& labels, std::string_view name);

}  // namespace pulse::incident
