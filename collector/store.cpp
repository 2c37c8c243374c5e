#include "collector/store.hpp"

#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace pulse::collector {

namespace {

// A time parameter: RFC 3339, or Unix seconds from 0 to 2^40.
bool read_time(const std::optional<std::string>& value, std::string_view name, std::optional<std::int64_t>& out,
               std::string& why) {
  if (!value || value->empty()) return true;
  unsigned long seconds = 0;
  if (const auto t = parse_rfc3339(*value)) out = *t;
  else if (parse_uint(*value, 1UL << 40, seconds)) out = static_cast<std::int64_t>(seconds);
  else {
    why = std::string(name) + ": not an RFC 3339 time or Unix seconds";
    return false;
  }
  return true;
}

}  // namespace

std::optional<EventQuery> parse_event_query(const ParamLookup& value, std::string& why) {
  EventQuery q;
  q.type = value("type").value_or("");
  if (!q.type.empty() && q.type != "change" && q.type != "deployment" && q.type != "incident") {
    why = "type: must be change, deployment or incident";
    return std::nullopt;
  }
  if (auto system = value("system")) {
    if (system->size() > 256 || !is_clean_text(*system)) {
      why = "system: at most 256 bytes of text without control characters";
      return std::nullopt;
    }
    q.system = std::move(*system);
  }
  if (const auto environments = value("environment"); environments && !environments->empty()) {
    auto list = parse_environment_list(*environments, why);
    if (!list) {
      why = "environment: " + why;
      return std::nullopt;
    }
    q.environments = std::move(*list);
  }
  if (auto team = value("team"); team && !team->empty()) {
    if (!valid_team(*team, why)) return std::nullopt;
    q.team = std::move(*team);
  }
  if (!read_time(value("since"), "since", q.since, why) || !read_time(value("until"), "until", q.until, why))
    return std::nullopt;
  if (const auto limit = value("limit"); limit && !limit->empty()) {
    unsigned long n = 0;
    if (!parse_uint(*limit, kMaxEventPage, n) || n == 0) {
      why = "limit: must be between 1 and " + std::to_string(kMaxEventPage);
      return std::nullopt;
    }
    q.limit = n;
  }
  return q;
}

bool is_postgres_uri(std::string_view db) { return db.starts_with("postgresql://") || db.starts_with("postgres://"); }

std::unique_ptr<Store> open_store(const std::string& db, std::size_t connections) {
  if (is_postgres_uri(db)) return open_postgres_store(db, connections);
  return open_sqlite_store(db);
}

std::string string_array_json(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  return out + "]";
}

std::vector<std::string> parse_string_array(std::string_view json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const auto teams = boost::json::parse(json, ec);
  if (!ec && teams.is_array())
    for (const auto& t : teams.as_array())
      if (t.is_string()) out.emplace_back(t.as_string());
  return out;
}

bool head_shipped(const Deployment& d) {
  return !d.head_commit.empty() && std::find(d.changes.begin(), d.changes.end(), d.head_commit) != d.changes.end();
}

MetricFacts::Mark deployment_mark(std::string_view status) {
  if (status == "failed") return MetricFacts::marked_failed;
  if (status == "rolled-back") return MetricFacts::marked_rolled_back;
  return MetricFacts::no_mark;
}

std::string_view stored_environment(const Event& e) {
  if (const auto* d = std::get_if<Deployment>(&e))
    return d->environment.empty() ? "production" : std::string_view(d->environment);
  if (const auto* i = std::get_if<Incident>(&e))
    return i->environment.empty() ? "production" : std::string_view(i->environment);
  return "";
}

std::optional<std::uint32_t> scope_index(const Scope& scope, std::string_view name) {
  for (std::size_t i = 0; i < scope.environments.size(); ++i)
    if (scope.environments[i] == name) return static_cast<std::uint32_t>(i);
  return std::nullopt;
}

std::string other_environments(const Scope& scope, const std::vector<std::uint32_t>& present, std::uint32_t except) {
  std::vector<std::string> names;
  for (const auto e : present)
    if (e != except) names.push_back(scope.environments[e]);
  return string_array_json(names);
}

std::string describe_db(const std::string& db) {
  if (!is_postgres_uri(db)) return db;
  std::string out = db;
  // postgresql://user:secret@host/... -> postgresql://user:***@host/...
  const auto scheme_end = out.find("://") + 3;
  const auto at = out.find('@', scheme_end);
  const auto slash = out.find('/', scheme_end);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    const auto colon = out.find(':', scheme_end);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // ...?password=secret&... -> ...?password=***&...
  for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (pos > 0 && out[pos - 1] != '?' && out[pos - 1] != '&') continue;
    const auto value = pos + 9;
    const auto end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

}  // namespace pulse::collector
