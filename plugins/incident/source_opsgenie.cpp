// Opsgenie outgoing webhook integration: one incident per alert id.
#include "plugins/incident/model.hpp"

namespace pulse::incident {

namespace {
// Opsgenie sends createdAt in milliseconds and updatedAt in nanoseconds.
bool epoch_at(const boost::json::object& o, std::string_view field, std::int64_t divisor, std::int64_t& out,
              std::string& why) {
  const auto* v = o.if_contains(field);
  const std::string where = "alert." + std::string(field);
  if (!v) {
    why = where + ": missing";
    return false;
  }
  std::int64_t raw = 0;
  if (v->is_int64()) raw = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    raw = static_cast<std::int64_t>(v->as_uint64());
  else {
    why = where + ": must be an integer";
    return false;
  }
  out = raw / divisor;
  if (!plausible_time(out)) {
    why = where + ": not a time between 2000 and 2100";
    return false;
  }
  return true;
}
}  // namespace

bool parse_opsgenie(const boost::json::value& payload, const GenericMapping*, ParseResult& out, std::string& why) {
  const auto* root = object_at(payload, "body", why);
  if (!root) return false;
  std::string action;
  if (!string_at(*root, "action", "", action, why)) return false;
  const auto* alert_v = root->if_contains("alert");
  if (!alert_v) {
    why = "alert: missing";
    return false;
  }
  const auto* alert = object_at(*alert_v, "alert", why);
  if (!alert) return false;
  if (action == "TestAction") {
    out.test = true;
    return true;
  }
  Observation o;
  if (!identity_at(*alert, "alertId", "alert", o.key, why) || !epoch_at(*alert, "createdAt", 1000, o.created, why))
    return false;
  if (action == "Delete") {
    out.ignored_reason = "Delete does not start or end an incident";
    return true;
  }
  if (action == "Close") {
    std::int64_t closed = 0;
    if (!epoch_at(*alert, "updatedAt", 1'000'000'000, closed, why)) return false;
    if (closed < o.created) {
      why = "alert.updatedAt: before alert.createdAt";
      return false;
    }
    o.status = Status::resolved;
    o.resolved = closed;
  } else {
    // Create, Acknowledge, AddNote, Escalate, ...: the alert is live. An
    // acknowledgement opens the incident if its Create was missed, and never
    // resolves it.
    o.status = Status::firing;
  }
  // Labels: priority and entity, then the alert's details (key-value pairs).
  add_label("priority", alert->if_contains("priority"), o.labels);
  add_label("entity", alert->if_contains("entity"), o.labels);
  if (const auto* details = alert->if_contains("details"); details && details->is_object())
    add_labels(details->as_object(), o.labels);
  out.observations.push_back(std::move(o));
  return true;
}

}  // namespace pulse::incident
