#include "collector/decode.hpp"

#include "core/util/strict_json.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/value.hpp>

#include <algorithm>

namespace pulse::collector {

namespace json = boost::json;

bool is_object_id(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

namespace {

constexpr std::size_t kMaxIdentifier = 1024;
constexpr std::size_t kMaxBranchCommits = 1000;
constexpr std::size_t kMaxChanges = 100'000;
constexpr std::size_t kMaxUrl = 2048;

// The one JSON policy for input (as pulse-incident's): syntax, UTF-8, depth,
// and duplicate keys refused (parsers disagree on which one wins).
std::optional<json::value> parse_body(std::string_view body, std::string& why) {
  auto v = parse_strict_json(body, 32, why);
  if (!v) why = "body: not valid JSON (" + why + ")";
  return v;
}

// Field readers: each returns false and sets `why` naming the field.
bool read_string(const json::object& o, std::string_view field, std::size_t max, bool allow_empty, std::string& out,
                 std::string& why) {
  const auto* v = o.if_contains(field);
  if (!v || v->is_null()) {
    why = std::string(field) + ": missing";
    return false;
  }
  if (!v->is_string()) {
    why = std::string(field) + ": must be a string";
    return false;
  }
  const auto& s = v->as_string();
  if (!allow_empty && s.empty()) {
    why = std::string(field) + ": must not be empty";
    return false;
  }
  if (s.size() > max) {
    why = std::string(field) + ": longer than " + std::to_string(max) + " bytes";
    return false;
  }
  if (!is_clean_text(s)) {
    why = std::string(field) + ": control characters or invalid UTF-8";
    return false;
  }
  out.assign(s.data(), s.size());
  return true;
}

bool read_time(const json::object& o, std::string_view field, std::int64_t& out, std::string& why) {
  std::string text;
  if (!read_string(o, field, 64, false, text, why)) return false;
  const auto t = parse_rfc3339(text);
  if (!t || *t >= kLatestPlausible) {
    why = std::string(field) + ": not a valid RFC 3339 time (e.g. 2020-10-16T12:40:32Z)";
    return false;
  }
  out = *t;
  return true;
}

bool read_string_array(const json::object& o, std::string_view field, std::size_t max_items,
                       std::vector<std::string>& out, std::string& why) {
  const auto* v = o.if_contains(field);
  if (!v || v->is_null()) return true;  // the Go CLI sends null for an empty list
  if (!v->is_array()) {
    why = std::string(field) + ": must be an array of strings";
    return false;
  }
  const auto& a = v->as_array();
  if (a.size() > max_items) {
    why = std::string(field) + ": more than " + std::to_string(max_items) + " items";
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string() || a[i].as_string().empty() || a[i].as_string().size() > kMaxIdentifier) {
      why = std::string(field) + "[" + std::to_string(i) + "]: must be a non-empty string";
      return false;
    }
    if (!is_clean_text(a[i].as_string())) {
      why = std::string(field) + "[" + std::to_string(i) + "]: control characters or invalid UTF-8";
      return false;
    }
    out.emplace_back(a[i].as_string());
  }
  return true;
}

// An optional field of our extension: absent or null leaves `out` empty.
bool read_extension(const json::object& o, std::string_view field, std::string& out, std::string& why,
                    std::size_t max = kMaxShortField) {
  const auto* ext = o.if_contains(field);
  if (!ext || ext->is_null()) return true;
  if (!ext->is_string() || ext->as_string().size() > max || !is_clean_text(ext->as_string())) {
    why = std::string(field) + ": must be a string of at most " + std::to_string(max) +
          " bytes, without control characters";
    return false;
  }
  out = std::string(ext->as_string());
  return true;
}

// Extension "patches": an optional object id.
bool read_object_id(const json::object& o, std::string_view field, std::string& out, std::string& why) {
  if (!read_extension(o, field, out, why, 64)) return false;
  if (!out.empty() && !is_object_id(out)) {
    why = std::string(field) + ": not an object id (40 or 64 lower-case hex digits)";
    return false;
  }
  return true;
}

// Extension "patches" on a change: author and merge times, patch-id, a branch's.
bool read_patches(const json::object& o, Change& c, std::string& why) {
  if (const auto* t = o.if_contains("author_time"); t && !t->is_null())
    if (!read_time(o, "author_time", c.author_time, why)) return false;
  if (const auto* t = o.if_contains("merged_time"); t && !t->is_null())
    if (!read_time(o, "merged_time", c.merged_time, why)) return false;
  if (!read_object_id(o, "patch_id", c.patch_id, why) ||
      !read_object_id(o, "branch_patch_id", c.branch_patch_id, why) ||
      !read_string_array(o, "branch_commits", kMaxBranchCommits, c.branch_commits, why))
    return false;
  for (std::size_t i = 0; i < c.branch_commits.size(); ++i)
    if (!is_object_id(c.branch_commits[i])) {
      why = "branch_commits[" + std::to_string(i) + "]: not a commit id";
      return false;
    }
  if (c.branch_patch_id.empty() != c.branch_commits.empty()) {
    why = "branch_patch_id: comes with branch_commits (the commits it covers), and only with them";
    return false;
  }
  return true;
}

// Extension "patches" on a deployment: {"<sha>": "<patch-id>", ...}.
bool read_deployed_patches(const json::object& o, Deployment& d, std::string& why) {
  const auto* v = o.if_contains("patches");
  if (!v || v->is_null()) return true;
  if (!v->is_object()) {
    why = "patches: must be an object of commit ids to patch-ids";
    return false;
  }
  if (v->as_object().size() > kMaxChanges) {
    why = "patches: more than " + std::to_string(kMaxChanges) + " commits";
    return false;
  }
  for (const auto& [sha, pid] : v->as_object()) {
    if (!is_object_id(sha) || !pid.is_string() || !is_object_id(pid.as_string())) {
      why = "patches: " + printable(std::string_view(sha).substr(0, 64)) +
            ": must map a commit id to a patch-id (40 or 64 lower-case hex digits each)";
      return false;
    }
    d.patches.push_back({std::string(sha), std::string(pid.as_string())});
  }
  return true;
}

std::optional<Event> decode_object(const json::value& v, std::string& why) {
  if (!v.is_object()) {
    why = "body: must be a JSON object";
    return std::nullopt;
  }
  const auto& o = v.as_object();
  std::string type;
  if (!read_string(o, "$type", 32, false, type, why)) return std::nullopt;
  std::string source;
  if (!read_string(o, "source", kMaxShortField, true, source, why)) return std::nullopt;
  if (type == "change") {
    Change c;
    c.source = std::move(source);
    if (!read_string(o, "change_id", kMaxIdentifier, false, c.change_id, why) ||
        !read_time(o, "time_created", c.time_created, why) ||
        !read_string(o, "event_type", kMaxShortField, false, c.event_type, why))
      return std::nullopt;
    if (c.event_type != "commit" && c.event_type != "push") {
      why = "event_type: must be \"commit\" or \"push\"";
      return std::nullopt;
    }
    if (!read_patches(o, c, why)) return std::nullopt;
    return c;
  }
  if (type == "deployment") {
    Deployment d;
    d.source = std::move(source);
    if (!read_string(o, "deploy_id", kMaxIdentifier, false, d.deploy_id, why) ||
        !read_time(o, "time_created", d.time_created, why) ||
        !read_string_array(o, "changes", kMaxChanges, d.changes, why) ||
        !read_string_array(o, "teams", 1000, d.teams, why))
      return std::nullopt;
    if (!read_extension(o, "head_commit", d.head_commit, why) ||
        !read_extension(o, "environment", d.environment, why) || !read_extension(o, "run_url", d.run_url, why, kMaxUrl))
      return std::nullopt;
    // Shown as a link: a web address only (no javascript: or data: URLs).
    if (!d.run_url.empty() && !d.run_url.starts_with("https://") && !d.run_url.starts_with("http://")) {
      why = "run_url: must be an http:// or https:// URL";
      return std::nullopt;
    }
    if (!read_extension(o, "status", d.status, why) || !read_extension(o, "fixes", d.fixes, why, kMaxIdentifier) ||
        !read_string_array(o, "reverts", 1000, d.reverts, why))
      return std::nullopt;
    if (!d.status.empty() && d.status != "failed" && d.status != "rolled-back") {
      why = "status: must be \"failed\" or \"rolled-back\" (or absent)";
      return std::nullopt;
    }
    if (!read_deployed_patches(o, d, why)) return std::nullopt;
    return d;
  }
  if (type == "incident") {
    Incident i;
    i.source = std::move(source);
    if (!read_string(o, "incident_id", kMaxIdentifier, false, i.incident_id, why) ||
        !read_time(o, "time_created", i.time_created, why) || !read_time(o, "time_resolved", i.time_resolved, why))
      return std::nullopt;
    if (!read_extension(o, "environment", i.environment, why)) return std::nullopt;
    if (i.time_resolved < i.time_created) {
      why = "time_resolved: before time_created";
      return std::nullopt;
    }
    return i;
  }
  why = "$type: unknown event type \"" + type.substr(0, 32) + "\" (expected change, deployment or incident)";
  return std::nullopt;
}

}  // namespace

std::optional<Event> decode_event(std::string_view body, std::string& why) {
  const auto v = parse_body(body, why);
  if (!v) return std::nullopt;
  return decode_object(*v, why);
}

bool decode_batch(std::string_view body, std::size_t max_events, std::vector<Event>& out, std::string& why,
                  std::size_t& too_many) {
  too_many = 0;
  const auto parsed = parse_body(body, why);
  if (!parsed) return false;
  const json::value& v = *parsed;
  if (!v.is_array()) {
    why = "body: a batch must be a JSON array of events";
    return false;
  }
  const auto& a = v.as_array();
  if (a.empty()) {
    why = "body: empty batch";
    return false;
  }
  if (a.size() > max_events) {
    too_many = a.size();
    why = "body: more than " + std::to_string(max_events) + " events in one batch";
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto e = decode_object(a[i], why);
    if (!e) {
      why = "events[" + std::to_string(i) + "]." + why;
      return false;
    }
    out.push_back(std::move(*e));
  }
  return true;
}

}  // namespace pulse::collector
