#include "collector/forge.hpp"

#include "collector/decode.hpp"
#include "core/util/crypto.hpp"
#include "core/util/strict_json.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <set>

namespace pulse::collector {

namespace json = boost::json;

std::span<const ForgeSpec> forges() {
  static const ForgeSpec table[] = {
      {Forge::github, "/v1/ingestion/github", "github", "GitHub", "github-webhook-secret-file",
       ForgeProof::hmac_prefixed, "X-Hub-Signature-256", "", "X-GitHub-Event", ""},
      {Forge::gitlab, "/v1/ingestion/gitlab", "gitlab", "GitLab", "gitlab-webhook-token-file", ForgeProof::token,
       "X-Gitlab-Token", "", "X-Gitlab-Event", ""},
      {Forge::gitea, "/v1/ingestion/gitea", "gitea", "Gitea or Forgejo", "gitea-webhook-secret-file", ForgeProof::hmac,
       "X-Gitea-Signature", "X-Forgejo-Signature", "X-Gitea-Event", "X-Forgejo-Event"},
      {Forge::bitbucket, "/v1/ingestion/bitbucket", "bitbucket", "Bitbucket", "bitbucket-webhook-secret-file",
       ForgeProof::hmac_prefixed, "X-Hub-Signature", "", "X-Event-Key", ""},
  };
  return table;
}

const ForgeSpec* forge_at(std::string_view path) {
  for (const auto& f : forges())
    if (f.path == path) return &f;
  return nullptr;
}

const ForgeSpec& spec_of(Forge forge) {
  for (const auto& f : forges())
    if (f.forge == forge) return f;
  return forges().front();
}

namespace {

// "sha256=<hex>" (GitHub, Bitbucket) or the hex alone (Gitea, Forgejo): the
// hex in lower case, or nullopt when the value is not of that form.
std::optional<std::string> presented_hmac(std::string_view value, bool prefixed) {
  constexpr std::string_view kPrefix = "sha256=";
  if (value.size() > kPrefix.size() && lower(value.substr(0, kPrefix.size())) == kPrefix)
    value.remove_prefix(kPrefix.size());
  else if (prefixed) return std::nullopt;
  if (value.size() != 64) return std::nullopt;
  return lower(value);
}

// The header `name`, else `alt` (when given): where a value is present and not empty.
std::optional<std::string> either(const HeaderLookup& header, std::string_view name, std::string_view alt) {
  auto value = header(name);
  if ((!value || value->empty()) && !alt.empty()) value = header(alt);
  if (value && value->empty()) value.reset();
  return value;
}

}  // namespace

ForgeAuth verify_delivery(Forge forge, std::span<const std::string> secrets, const HeaderLookup& header,
                          std::string_view body) {
  if (secrets.empty()) return ForgeAuth::invalid;
  const ForgeSpec& spec = spec_of(forge);
  const auto value = either(header, spec.signature, spec.alt_signature);
  if (!value) return ForgeAuth::missing;
  std::optional<std::string> presented = *value;
  if (spec.proof != ForgeProof::token) presented = presented_hmac(*value, spec.proof == ForgeProof::hmac_prefixed);
  if (!presented) return ForgeAuth::invalid;
  bool ok = false;
  for (const auto& s : secrets)
    ok |= equal_ct(spec.proof == ForgeProof::token ? s : hmac_sha256_hex(s, body), *presented);
  return ok ? ForgeAuth::ok : ForgeAuth::invalid;
}

namespace {

constexpr std::size_t kMaxDepth = 32;
constexpr std::string_view kBranchPrefix = "refs/heads/";

// A member path ("repository", "full_name") of an object, or null.
const json::value* member(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* at = &v;
  for (const auto name : path) {
    if (!at->is_object()) return nullptr;
    at = at->as_object().if_contains(name);
    if (!at) return nullptr;
  }
  return at;
}

std::optional<std::string_view> text_at(const json::value& v, std::initializer_list<std::string_view> path) {
  const auto* m = member(v, path);
  if (!m || !m->is_string()) return std::nullopt;
  return std::string_view(m->as_string());
}

bool all_zeros(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// The repository's full name at `path`: the system its changes are filed under.
bool read_repository(const json::value& body, std::initializer_list<std::string_view> path, std::string_view name,
                     ForgeDelivery& out, std::string& why) {
  const auto repo = text_at(body, path);
  if (!repo || repo->empty()) {
    why = std::string(name) + ": missing (the repository's full name)";
    return false;
  }
  if (repo->size() > kMaxShortField || !is_clean_text(*repo)) {
    why = std::string(name) + ": must be at most 256 bytes, without control characters";
    return false;
  }
  out.repository = std::string(*repo);
  return true;
}

// A list of commits: `id_key` and `time_key` of each object.
bool read_commits(std::string_view field, const json::value* list, std::string_view id_key, std::string_view time_key,
                  ForgeDelivery& out, std::string& why) {
  if (!list || list->is_null()) return true;
  if (!list->is_array()) {
    why = std::string(field) + ": must be an array";
    return false;
  }
  const auto& a = list->as_array();
  if (a.size() > kMaxPushedCommits) {
    why = std::string(field) + ": more than " + std::to_string(kMaxPushedCommits) + " commits";
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string at = std::string(field) + "[" + std::to_string(i) + "]";
    const auto id = text_at(a[i], {id_key});
    if (!id || !is_object_id(*id)) {
      why = at + "." + std::string(id_key) + ": not a commit id (40 or 64 lower-case hex digits)";
      return false;
    }
    PushedCommit c{std::string(*id), 0};
    if (const auto* t = member(a[i], {time_key}); t && !t->is_null()) {
      const auto parsed = t->is_string() ? parse_rfc3339(t->as_string()) : std::nullopt;
      if (!parsed || *parsed >= kLatestPlausible) {
        why = at + "." + std::string(time_key) + ": not an RFC 3339 time";
        return false;
      }
      c.time = *parsed;
    }
    out.commits.push_back(std::move(c));
  }
  return true;
}

// A ref that is not a branch (a tag, a note) stores nothing.
bool branch_ref(const json::value& body, ForgeDelivery& out, std::string& why) {
  const auto ref = text_at(body, {"ref"});
  if (!ref) {
    why = "ref: missing (the pushed ref)";
    return false;
  }
  if (ref->starts_with("refs/tags/")) out.ignored = "tag push";
  else if (!ref->starts_with(kBranchPrefix)) out.ignored = "not a branch: " + printable(ref->substr(0, 100));
  return true;
}

// GitHub, Gitea and Forgejo send the same push body.
bool read_github_push(const json::value& body, Forge forge, ForgeDelivery& out, std::string& why) {
  if (!read_repository(body, {"repository", "full_name"}, "repository.full_name", out, why)) return false;
  if (!branch_ref(body, out, why)) return false;
  const auto* deleted = member(body, {"deleted"});
  const auto after = text_at(body, {"after"});
  if ((deleted && deleted->is_bool() && deleted->as_bool()) || (after && all_zeros(*after))) {
    if (out.ignored.empty()) out.ignored = "branch deleted";
  }
  if (!out.ignored.empty()) return true;
  if (forge == Forge::github) {
    // In push events GitHub gives pushed_at in Unix seconds.
    if (const auto* p = member(body, {"repository", "pushed_at"}); p && p->is_int64()) {
      const auto t = p->as_int64();
      if (t >= kEarliestPlausible && t < kLatestPlausible) out.pushed_at = t;
    }
  }
  return read_commits("commits", member(body, {"commits"}), "id", "timestamp", out, why);
}

bool read_gitlab_push(const json::value& body, ForgeDelivery& out, std::string& why) {
  if (!read_repository(body, {"project", "path_with_namespace"}, "project.path_with_namespace", out, why)) return false;
  if (!branch_ref(body, out, why)) return false;
  if (const auto after = text_at(body, {"after"}); after && all_zeros(*after) && out.ignored.empty())
    out.ignored = "branch deleted";
  if (!out.ignored.empty()) return true;
  return read_commits("commits", member(body, {"commits"}), "id", "timestamp", out, why);
}

// Bitbucket Cloud: push.changes[], each a ref's old and new state with up to
// five of its new commits.
bool read_bitbucket_push(const json::value& body, ForgeDelivery& out, std::string& why) {
  if (!read_repository(body, {"repository", "full_name"}, "repository.full_name", out, why)) return false;
  const auto* changes = member(body, {"push", "changes"});
  if (!changes || !changes->is_array()) {
    why = "push.changes: missing (the pushed refs)";
    return false;
  }
  const auto& list = changes->as_array();
  if (list.size() > 1000) {
    why = "push.changes: more than 1000 refs";
    return false;
  }
  bool branch = false;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = "push.changes[" + std::to_string(i) + "]";
    const auto* next = member(list[i], {"new"});
    if (!next || next->is_null()) continue;  // a deleted ref
    if (text_at(*next, {"type"}).value_or("") != "branch") continue;
    branch = true;
    if (!read_commits(at + ".commits", member(list[i], {"commits"}), "hash", "date", out, why)) return false;
  }
  if (!branch) out.ignored = list.empty() ? "no change" : "no branch updated (tags or deleted refs)";
  return true;
}

// Whether the event is a push the collector reads (System Hook: GitLab's
// instance-wide hooks, which send pushes with object_kind "push").
bool is_push(Forge forge, std::string_view event) {
  switch (forge) {
    case Forge::github:
    case Forge::gitea:
      return event == "push";
    case Forge::gitlab:
      return event == "Push Hook" || event == "System Hook";
    case Forge::bitbucket:
      return event == "repo:push";
  }
  return false;
}

}  // namespace

std::optional<ForgeDelivery> decode_delivery(Forge forge, const HeaderLookup& header, std::string_view body,
                                             std::string& why) {
  const ForgeSpec& spec = spec_of(forge);
  const auto event = either(header, spec.event, spec.alt_event);
  if (!event) {
    why = "missing " + std::string(spec.event) + " header: not a " + std::string(spec.title) + " webhook delivery";
    return std::nullopt;
  }
  ForgeDelivery out;
  out.event = printable(std::string_view(*event).substr(0, 100));
  if (!is_push(forge, *event)) {
    out.ignored = "event " + out.event;
    return out;
  }
  const auto parsed = parse_strict_json(body, kMaxDepth, why);
  if (!parsed) {
    why = "body: " + why;
    return std::nullopt;
  }
  if (!parsed->is_object()) {
    why = "body: must be a JSON object";
    return std::nullopt;
  }
  bool ok = false;
  switch (forge) {
    case Forge::github:
    case Forge::gitea:
      ok = read_github_push(*parsed, forge, out, why);
      break;
    case Forge::gitlab:
      if (*event == "System Hook" && text_at(*parsed, {"object_kind"}).value_or("") != "push") {
        out.ignored = "system hook " + printable(text_at(*parsed, {"object_kind"}).value_or("").substr(0, 100));
        return out;
      }
      ok = read_gitlab_push(*parsed, out, why);
      break;
    case Forge::bitbucket:
      ok = read_bitbucket_push(*parsed, out, why);
      break;
  }
  if (!ok) return std::nullopt;
  if (out.ignored.empty() && out.commits.empty()) out.ignored = "no new commits";
  return out;
}

std::vector<Event> push_events(const ForgeDelivery& delivery, std::string_view source, std::int64_t now) {
  std::vector<Event> events;
  const std::int64_t pushed = delivery.pushed_at ? delivery.pushed_at : now;
  std::set<std::string_view> seen;  // Bitbucket may list a commit under two refs
  for (const auto& c : delivery.commits) {
    if (!seen.insert(c.sha).second) continue;
    // One change with both times: the store writes them at once.
    if (c.time) events.emplace_back(Change{std::string(source), c.sha, c.time, "commit", pushed});
    else events.emplace_back(Change{std::string(source), c.sha, pushed, "push"});
  }
  return events;
}

}  // namespace pulse::collector
