// PagerDuty Webhooks V3: one incident per PagerDuty incident id.
#include "plugins/incident/model.hpp"
#include "core/util/text.hpp"

namespace pulse::incident {

// X-PagerDuty-Signature: "v1=<hex>[,v1=<hex>...]", HMAC-SHA256 of the body;
// any signature made with any secret passes.
AuthResult verify_pagerduty(const RouteAuth& auth, const HeaderLookup& header, std::string_view body, std::int64_t) {
  const auto value = header("X-PagerDuty-Signature");
  if (!value || value->empty()) return AuthResult::missing;
  std::vector<std::string> expected;
  for (const auto& s : auth.hmac_secrets) expected.push_back(hmac_sha256_hex(s, body));
  bool ok = false;
  std::string_view rest(*value);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (!item.starts_with("v1=")) continue;
    const std::string sig = lower(item.substr(3));
    for (const auto& e : expected) ok |= equal_ct(e, sig);
  }
  return ok ? AuthResult::ok : AuthResult::invalid;
}

bool parse_pagerduty(const boost::json::value& payload, const GenericMapping*, ParseResult& out, std::string& why) {
  const auto* root = object_at(payload, "body", why);
  if (!root) return false;
  const auto* event_v = root->if_contains("event");
  if (!event_v) {
    why = "event: missing (not a PagerDuty V3 webhook)";
    return false;
  }
  const auto* event = object_at(*event_v, "event", why);
  if (!event) return false;
  std::string type;
  if (!string_at(*event, "event_type", "event", type, why)) return false;
  if (type == "pagey.ping") {
    out.test = true;
    return true;
  }
  if (!type.starts_with("incident.")) {
    out.ignored_reason = type.substr(0, 64) + " is not about an incident";
    return true;
  }
  // Every incident event but resolution (acknowledged, escalated, ...) shows
  // the incident is live: it opens it if the trigger was missed, and never
  // resolves it.
  const auto* data_v = event->if_contains("data");
  if (!data_v) {
    why = "event.data: missing";
    return false;
  }
  const auto* data = object_at(*data_v, "event.data", why);
  if (!data) return false;
  Observation o;
  if (!identity_at(*data, "id", "event.data", o.key, why) ||
      !time_at(*data, "created_at", "event.data", o.created, why))
    return false;
  if (type == "incident.resolved") {
    std::int64_t at = 0;
    if (!time_at(*event, "occurred_at", "event", at, why)) return false;
    if (at < o.created) {
      why = "event.occurred_at: before event.data.created_at";
      return false;
    }
    o.status = Status::resolved;
    o.resolved = at;
  }
  // Labels: the service's and priority's names, the urgency.
  auto summary = [data](const char* field) -> const boost::json::value* {
    const auto* f = data->if_contains(field);
    return f && f->is_object() ? f->as_object().if_contains("summary") : nullptr;
  };
  add_label("service", summary("service"), o.labels);
  add_label("priority", summary("priority"), o.labels);
  add_label("urgency", data->if_contains("urgency"), o.labels);
  out.observations.push_back(std::move(o));
  return true;
}

}  // namespace pulse::incident
