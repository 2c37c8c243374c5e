// Prometheus Alertmanager (webhook v4) and Grafana unified alerting (v1):
// the same alert list, one incident per alert fingerprint and start time.
#include "plugins/incident/model.hpp"
#include "core/util/text.hpp"

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

namespace {

// Unix seconds, digits only, within the window around `now`.
bool fresh_timestamp(std::string_view ts, std::int64_t now, std::int64_t window) {
  if (ts.empty() || ts.size() > 12) return false;
  std::int64_t t = 0;
  for (char c : ts) {
    if (c < '0' || c > '9') return false;
    t = t * 10 + (c - '0');
  }
  return t >= now - window && t <= now + window;
}

}  // namespace

// Hex HMAC of the body, or of "<timestamp>:<body>" when Grafana is set to
// send a timestamp header; a signed timestamp must then be fresh, so a
// captured call cannot be replayed later.
AuthResult verify_grafana(const RouteAuth& auth, const HeaderLookup& header, std::string_view body, std::int64_t now) {
  const auto sig = header("X-Grafana-Alerting-Signature");
  if (!sig || sig->empty()) return AuthResult::missing;
  const auto ts = header("X-Grafana-Alerting-Timestamp");
  std::string signed_data;
  if (ts) {
    signed_data.reserve(ts->size() + 1 + body.size());
    signed_data.append(*ts).append(":").append(body);
  }
  const std::string presented = lower(*sig);
  bool ok = false;
  for (const auto& s : auth.hmac_secrets)
    ok |= equal_ct(hmac_sha256_hex(s, ts ? std::string_view(signed_data) : body), presented);
  if (!ok) return AuthResult::invalid;
  return !ts || fresh_timestamp(*ts, now, auth.timestamp_window) ? AuthResult::ok : AuthResult::stale;
}

}  // namespace pulse::incident
