#include "plugins/incident/model.hpp"

#include "core/util/timeutil.hpp"

namespace pulse::incident {

bool parse_alertmanager(const boost::json::value&, const GenericMapping*, ParseResult&, std::string&);
bool parse_grafana(const boost::json::value&, const GenericMapping*, ParseResult&, std::string&);
bool parse_pagerduty(const boost::json::value&, const GenericMapping*, ParseResult&, std::string&);
bool parse_opsgenie(const boost::json::value&, const GenericMapping*, ParseResult&, std::string&);
bool parse_generic(const boost::json::value&, const GenericMapping*, ParseResult&, std::string&);

AuthResult verify_grafana(const RouteAuth&, const HeaderLookup&, std::string_view, std::int64_t);
AuthResult verify_pagerduty(const RouteAuth&, const HeaderLookup&, std::string_view, std::int64_t);

namespace {
// One row per source (route /<name>); add a source by adding a file and a row.
constexpr SourceSpec kSources[] = {
    {"alertmanager", parse_alertmanager, true, nullptr},
    {"grafana", parse_grafana, true, verify_grafana},
    {"pagerduty", parse_pagerduty, false, verify_pagerduty},
    {"opsgenie", parse_opsgenie, false, nullptr},
    {"generic", parse_generic, false, nullptr},
};
}  // namespace

const SourceSpec* find_source(std::string_view name) {
  for (const auto& s : kSources)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string_view> source_names() {
  std::vector<std::string_view> out;
  for (const auto& s : kSources) out.push_back(s.name);
  return out;
}

std::string incident_identifier(const SourceSpec& source, const Observation& o) {
  std::string id = std::string(source.name) + ":" + o.key;
  if (source.episodes) id += ":" + std::to_string(o.created);
  return id;
}

bool valid_identity(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdentity) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

bool plausible_time(std::int64_t t) { return t >= kEarliestPlausible && t < kLatestPlausible; }

const boost::json::object* object_at(const boost::json::value& v, std::string_view path, std::string& why) {
  if (!v.is_object()) {
    why = std::string(path) + ": must be an object";
    return nullptr;
  }
  return &v.as_object();
}

bool string_at(const boost::json::object& o, std::string_view field, std::string_view path, std::string& out,
               std::string& why) {
  const auto* v = o.if_contains(field);
  const std::string where = (path.empty() ? "" : std::string(path) + ".") + std::string(field);
  if (!v || v->is_null()) {
    why = where + ": missing";
    return false;
  }
  if (!v->is_string()) {
    why = where + ": must be a string";
    return false;
  }
  out.assign(v->as_string().data(), v->as_string().size());
  return true;
}

bool identity_at(const boost::json::object& o, std::string_view field, std::string_view path, std::string& out,
                 std::string& why) {
  if (!string_at(o, field, path, out, why)) return false;
  if (!valid_identity(out)) {
    why = (path.empty() ? "" : std::string(path) + ".") + std::string(field) +
          ": must be 1 to 256 printable ASCII characters";
    return false;
  }
  return true;
}

bool time_at(const boost::json::object& o, std::string_view field, std::string_view path, std::int64_t& out,
             std::string& why) {
  std::string text;
  if (!string_at(o, field, path, text, why)) return false;
  const auto t = text.size() <= 64 ? parse_rfc3339(text) : std::nullopt;
  if (!t || !plausible_time(*t)) {
    why = (path.empty() ? "" : std::string(path) + ".") + std::string(field) +
          ": not an RFC 3339 time between 2000 and 2100";
    return false;
  }
  out = *t;
  return true;
}

void add_label(std::string_view name, const boost::json::value* v, Labels& labels) {
  if (!v || !v->is_string() || labels.size() >= kMaxLabels || name.empty() || name.size() > 128 ||
      v->as_string().size() > 1024)
    return;
  labels.emplace_back(std::string(name), std::string(v->as_string()));
}

void add_labels(const boost::json::object& o, Labels& labels) {
  for (const auto& [name, value] : o) add_label(name, &value, labels);
}

const std::string* find_label(const Labels& labels, std::string_view name) {
  for (const auto& [k, v] : labels)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace pulse::incident
