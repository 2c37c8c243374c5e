// Prometheus Alertmanager (webhook v4) and Grafana unified alerting (v1):
// the same alert list, one incident per alert fingerprint and start time.
#include "model.hpp"

namespace pulse::incident {

namespace {

bool parse_alert_list(const boost::json::value& payload, bool grafana, ParseResult& out, std::string& why) {
  const auto* root = object_at(payload, "body", why);
  if (!root) return false;
  if (const auto* version = root->if_contains("version"); version && !version->is_string()) {
    why = "version: must be a string";
    return false;
  }
  const auto* alerts = root->if_contains("alerts");
  if (!alerts || !alerts->is_array()) {
    why = alerts ? "alerts: must be an array" : "alerts: missing (not an Alertmanager or Grafana payload)";
    return false;
  }
  if (const auto* t = root->if_contains("truncatedAlerts"); t && t->is_int64() && t->as_int64() > 0)
    out.notes.push_back(std::to_string(t->as_int64()) +
                        " alert(s) left out of this notification by max_alerts: they are not seen here");
  std::size_t tests = 0;
  const auto& list = alerts->as_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string path = "alerts[" + std::to_string(i) + "]";
    const auto* alert = object_at(list[i], path, why);
    if (!alert) return false;
    if (const auto* labels = alert->if_contains("labels"); labels && !labels->is_object()) {
      why = path + ".labels: must be an object";
      return false;
    }
    Observation o;
    std::string status;
    if (!identity_at(*alert, "fingerprint", path, o.key, why) || !string_at(*alert, "status", path, status, why) ||
        !time_at(*alert, "startsAt", path, o.created, why))
      return false;
    if (status == "firing") {
      o.status = Status::firing;
    } else if (status == "resolved") {
      o.status = Status::resolved;
      std::int64_t ends = 0;
      if (!time_at(*alert, "endsAt", path, ends, why)) return false;
      if (ends < o.created) {
        why = path + ".endsAt: before startsAt";
        return false;
      }
      o.resolved = ends;
    } else {
      why = path + ".status: must be \"firing\" or \"resolved\"";
      return false;
    }
    if (const auto* labels = alert->if_contains("labels")) add_labels(labels->as_object(), o.labels);
    // Grafana's "Test" button sends a made-up alert named TestAlert.
    if (const auto* name = find_label(o.labels, "alertname"); grafana && name && *name == "TestAlert") {
      ++tests;
      continue;
    }
    out.observations.push_back(std::move(o));
  }
  if (tests > 0 && out.observations.empty()) out.test = true;
  return true;
}

}  // namespace

bool parse_alertmanager(const boost::json::value& payload, const GenericMapping*, ParseResult& out, std::string& why) {
  return parse_alert_list(payload, false, out, why);
}

bool parse_grafana(const boost::json::value& payload, const GenericMapping*, ParseResult& out, std::string& why) {
  return parse_alert_list(payload, true, out, why);
}

}  // namespace pulse::incident
