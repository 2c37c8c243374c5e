// The three events of the Pulse ingestion API and their wire encoding.
//
// Encoding is byte-for-byte what Codacy's Go pulse-event-cli sends (field
// order, compact JSON, Go's string escaping), except that times are always
// UTC and an empty change list is `[]`, never `null`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pulse {

struct Change {
  std::string source = "cli";
  std::string change_id = {};
  std::int64_t time_created = 0;      ///< Unix seconds
  std::string event_type = "commit";  ///< "commit" (commit time) or "push" (push time)
  /// Inside the collector only, never on the wire: with a "commit", the
  /// push time that came in the same report (a forge's push webhook), so
  /// the store writes both times at once.
  std::int64_t time_pushed = 0;
  /// Extension "patches" (our collector only, where advertised): what joins
  /// a squash or rebase merge to the commits it came from. The commit's
  /// author time (Unix seconds; 0: not said), its stable patch-id (`git
  /// patch-id --stable`), and, on the tip of a pushed branch, the patch-id
  /// of the branch's whole diff from its merge base with the default branch
  /// with the branch's commits (tip included) that it covers.
  std::int64_t author_time = 0;
  /// With the deploy step's report: when the commit reached the deployed
  /// line (the committer time of the oldest first-parent commit holding
  /// it: its merge commit, or itself; 0: not said).
  std::int64_t merged_time = 0;
  std::string patch_id = {};
  std::string branch_patch_id = {};
  std::vector<std::string> branch_commits = {};
};

/// A deployed commit's stable patch-id (extension "patches").
struct CommitPatch {
  std::string sha;
  std::string patch_id;
  bool operator==(const CommitPatch&) const = default;
};

struct Deployment {
  std::string source = "cli";
  std::string deploy_id = {};
  std::int64_t time_created = 0;
  std::vector<std::string> changes = {};
  std::vector<std::string> teams = {};
  /// Extension (our collector only; never sent where not advertised): the
  /// deployed commit and the deployment environment, so the next deployment
  /// can find where this one ended.
  std::string head_commit = {};
  std::string environment = {};
  /// Extension: the CI run that deployed it (an http(s) URL), for people.
  std::string run_url = {};
  /// Extension, for the DORA model: "failed" or "rolled-back" when the
  /// deployment is known to have failed ("": nothing said); the identifier
  /// of the earlier deployment (same system and environment) it was made
  /// to fix; the commits whose reverts it ships ("This reverts commit X").
  std::string status = {};
  std::string fixes = {};
  std::vector<std::string> reverts = {};
  /// Extension "patches": the patch-ids of the shipped commits that are not
  /// merges and lie on the first-parent line (direct pushes, squash and
  /// rebase merges): the collector finds the pushed commits they came from.
  std::vector<CommitPatch> patches = {};
};

struct Incident {
  std::string source = "cli";
  std::string incident_id = {};
  std::int64_t time_created = 0;
  std::int64_t time_resolved = 0;
  /// Extension (our collector only): the environment it happened in, so it
  /// is blamed on a deployment of that environment (production when empty).
  std::string environment = {};
};

using Event = std::variant<Change, Deployment, Incident>;

/// "change", "deployment" or "incident": the `$type` of the event.
std::string_view type_name(const Event& e);

/// The event's identifier (change_id, deploy_id or incident_id).
const std::string& identifier(const Event& e);

/// The compact JSON body the Go CLI sends for this event (with our
/// extension fields where set).
std::string encode_body(const Event& e);

/// Appends `s` as a JSON string literal with Go's encoding/json escaping
/// (HTML-safe: <, >, & and U+2028/U+2029 escaped; invalid UTF-8 becomes
/// U+FFFD).
void append_json_string(std::string& out, std::string_view s);

}  // namespace pulse
