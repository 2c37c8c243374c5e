#include "collector/explain.hpp"

#include "collector/classify.hpp"
#include "core/util/text.hpp"
#include "core/util/timeutil.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <functional>
#include <sstream>

namespace pulse::collector {

namespace json = boost::json;
using namespace detail;

namespace {

constexpr std::size_t kMaxLeftOut = 1000;

struct Names {
  const MetricFacts& facts;
  const Scope& scope;
  const Classified& c;

  static std::string at(const std::vector<std::string>& names, std::int64_t i) {
    return i >= 0 && static_cast<std::size_t>(i) < names.size() ? names[static_cast<std::size_t>(i)] : std::string();
  }
  json::value deployment(std::int64_t seq) const {
    const auto it = c.by_seq.find(seq);
    if (seq == 0 || it == c.by_seq.end()) return nullptr;
    return json::string(at(facts.deployment_ids, c.all[it->second].fact));
  }
  json::value incident(std::int32_t index) const {
    if (index < 0) return nullptr;
    return json::string(at(facts.incident_ids, index));
  }
  json::object where(std::uint32_t system, std::uint32_t environment, std::int64_t time) const {
    return {{"system", facts.systems[system]},
            {"environment", scope.environments[environment]},
            {"time", format_rfc3339(time)}};
  }
  json::object of(const Dep& d) const {
    auto o = where(d.system, d.environment, d.time);
    o["deployment"] = at(facts.deployment_ids, d.fact);
    return o;
  }
  // The deployment of (system, environment) at `time` (the first one then).
  json::value deployed_at(std::uint32_t system, std::uint32_t environment, std::int64_t time) const {
    const Dep* d = c.deployed_at(system, environment, time);
    return d ? json::value(json::string(at(facts.deployment_ids, d->fact))) : json::value(nullptr);
  }
};

json::array failure_reasons(const Dep& d, const Names& n, Model model) {
  json::array out;
  if (d.failed & by_incident) out.push_back(json::object{{"reason", "incident"}, {"incident", n.incident(d.incident)}});
  if (model == Model::pulse) return out;
  if (d.failed & by_rollback) out.push_back(json::object{{"reason", "rollback"}, {"by", n.deployment(d.rollback_by)}});
  if (d.failed & by_revert) out.push_back(json::object{{"reason", "revert"}, {"by", n.deployment(d.revert_by)}});
  if (d.failed & by_mark) {
    const auto mark = n.facts.deployments[static_cast<std::size_t>(d.fact)].mark;
    json::object o{{"reason", "mark"}};
    if (mark != MetricFacts::no_mark) o["status"] = mark == MetricFacts::marked_failed ? "failed" : "rolled-back";
    if (d.fixed_by) o["fixed_by"] = n.deployment(d.fixed_by);
    out.push_back(std::move(o));
  }
  return out;
}

// What recovered a deployment when a deployment did.
std::string_view recovered_by_name(RecoveredBy by) {
  switch (by) {
    case RecoveredBy::rollback:
      return "rollback";
    case RecoveredBy::revert:
      return "revert";
    case RecoveredBy::fix:
      return "fix";
    case RecoveredBy::next_deployment:
      return "next deployment";
    case RecoveredBy::incidents:
    case RecoveredBy::none:
      break;
  }
  return "none";
}

json::object recovery(const Dep& d, const Names& n) {
  json::object o;
  if (d.recovered == kNotRecovered) {
    o = {{"recovered", nullptr}, {"recovery_seconds", nullptr}, {"recovered_by", nullptr}};
    return o;
  }
  o["recovered"] = format_rfc3339(d.recovered);
  o["recovery_seconds"] = std::max<std::int64_t>(0, d.recovered - d.time);
  if (d.recovered_by == RecoveredBy::incidents)
    o["recovered_by"] = json::object{{"reason", "incident resolved"}, {"incident", n.incident(d.incident)}};
  else
    o["recovered_by"] =
        json::object{{"reason", recovered_by_name(d.recovered_by)}, {"deployment", n.deployment(d.recovered_seq)}};
  return o;
}

json::array rework_reasons(const Dep& d, const Names& n) {
  json::array out;
  if (d.rework & rework_rollback) out.push_back(json::object{{"reason", "rollback"}});
  if (d.rework & rework_fix) out.push_back(json::object{{"reason", "fix"}, {"fixes", n.deployment(d.fixes_seq)}});
  if (d.rework & rework_revert) out.push_back(json::object{{"reason", "revert"}});
  if (d.rework & rework_during_incident)
    out.push_back(json::object{{"reason", "during incident"}, {"incident", n.incident(d.rework_incident)}});
  return out;
}

// The records behind a figure, to be: each one's time and its place in the
// list it comes from, and how to build one (only a page's are built).
struct Records {
  std::vector<std::pair<std::int64_t, std::uint32_t>> pending;  // (time, index)
  std::function<json::object(std::uint32_t)> build;
};

// The deployments `keep` selects, with `detail` added.
template <class Keep, class Detail>
Records deployment_records(const Classified& c, const Names& n, Keep keep, Detail detail) {
  Records out;
  for (std::uint32_t i = 0; i < c.deps.size(); ++i)
    if (keep(c.deps[i])) out.pending.emplace_back(c.deps[i].time, i);
  out.build = [&c, &n, detail](std::uint32_t i) {
    auto o = n.of(c.deps[i]);
    detail(c.deps[i], o);
    return o;
  };
  return out;
}

// The window's incidents, with the deployment each is attributed to.
Records incident_records(const Classified& c, const Names& n, const MetricFacts& facts) {
  Records out;
  for (std::uint32_t i = 0; i < c.incs.size(); ++i) out.pending.emplace_back(c.incs[i].created, i);
  out.build = [&c, &n, &facts](std::uint32_t at) {
    const Inc& i = c.incs[at];
    const auto& fact = facts.incidents[i.fact];
    auto o = n.where(i.system, fact.environment, i.created);
    o["incident"] = Names::at(facts.incident_ids, i.fact);
    o["resolved"] = format_rfc3339(fact.resolved);
    o["seconds"] = i.duration;
    o["deployment"] = i.attributed ? n.deployment(i.deployment) : json::value(nullptr);
    return o;
  };
  return out;
}

// The shipped changes with a lead time; those without one go to
// `left_out` (at most kMaxLeftOut listed, all counted) with the reason.
Records lead_records(const Classified& c, const Names& n, const MetricFacts& facts, const Scope& scope,
                     json::array& left_out, std::size_t& left_out_count) {
  auto lead = [&n, &facts, &scope](const Lead& l) {
    const auto& s = facts.shipped[l.fact];
    json::object o{{"change", Names::at(facts.shipped_ids, l.fact)},
                   {"system", facts.systems[s.system]},
                   {"environment", scope.environments[s.environment]},
                   {"deployment", n.deployed_at(s.system, s.environment, s.deployed)},
                   {"deployed", format_rfc3339(s.deployed)}};
    if (l.bad == 2) {
      o["reason"] = "no known time: no change event for it";
      return o;
    }
    const std::uint8_t source = s.source;
    const bool pushed = source != 0;
    o["time"] = format_rfc3339(s.change_time);
    o["time_source"] = pushed ? "push" : "commit";
    // Where the time went (metrics.hpp, "Lead time phases").
    if (s.authored != kUnknownTime) o["authored"] = format_rfc3339(s.authored);
    if (s.merged != kUnknownTime) o["merged"] = format_rfc3339(s.merged);
    auto phase = [](std::int64_t v) { return v == kNoPhase ? json::value(nullptr) : json::value(v); };
    if (l.bad == 0)
      o["phases"] = json::object{
          {"coding", phase(l.phases.coding)}, {"review", phase(l.phases.review)}, {"deploy", phase(l.phases.deploy)}};
    // A commit the forge made (squash or rebase merge) runs from the pushes it came from.
    if (source == 2) o["matched"] = "squash: the earliest push of the branch it squashes (same patch-id)";
    if (source == 3) o["matched"] = "rebase: the push of the commit it rebases (same patch-id)";
    if (l.bad == 1) o["reason"] = "lead time of zero or below (clock skew or a backdated commit)";
    else o["lead_seconds"] = l.lead;
    return o;
  };
  Records out;
  for (std::uint32_t i = 0; i < c.leads.size(); ++i) {
    if (c.leads[i].bad == 0) out.pending.emplace_back(c.leads[i].deployed, i);
    else if (++left_out_count <= kMaxLeftOut) left_out.push_back(lead(c.leads[i]));
  }
  out.build = [&c, lead](std::uint32_t i) { return lead(c.leads[i]); };
  return out;
}

// One page of the records, by time (ties in list order), sorted only as far
// as the page needs.
json::array page_of(Records& records, std::size_t offset, std::size_t limit) {
  auto& all = records.pending;
  const std::size_t end = std::min(all.size(), offset + limit);
  if (offset < end) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(offset), all.end());
    std::partial_sort(all.begin() + static_cast<std::ptrdiff_t>(offset), all.begin() + static_cast<std::ptrdiff_t>(end),
                      all.end());
  }
  json::array page;
  for (std::size_t i = offset; i < end; ++i) page.push_back(records.build(all[i].second));
  return page;
}

}  // namespace

std::optional<Explained> parse_explained(std::string_view name, Model model, std::string& why) {
  static constexpr std::pair<std::string_view, Explained> kNames[] = {
      {"deployment_frequency", Explained::deployment_frequency},
      {"lead_time", Explained::lead_time},
      {"time_to_recover", Explained::time_to_recover},
      {"change_failure_rate", Explained::change_failure_rate},
      {"failed_deployment_recovery_time", Explained::failed_deployment_recovery_time},
      {"deployment_rework_rate", Explained::deployment_rework_rate},
  };
  for (const auto& [n, m] : kNames) {
    if (n != name) continue;
    const bool dora_only = m == Explained::failed_deployment_recovery_time || m == Explained::deployment_rework_rate;
    if ((dora_only && model != Model::dora) || (m == Explained::time_to_recover && model != Model::pulse)) {
      why = "metric: " + std::string(n) + " is not a figure of the " + std::string(model_name(model)) + " model";
      return std::nullopt;
    }
    return m;
  }
  why = model == Model::pulse
            ? "metric: must be deployment_frequency, lead_time, time_to_recover or change_failure_rate"
            : "metric: must be deployment_frequency, lead_time, change_failure_rate, "
              "failed_deployment_recovery_time or deployment_rework_rate";
  return std::nullopt;
}

std::string_view explained_name(Explained m) {
  switch (m) {
    case Explained::deployment_frequency:
      return "deployment_frequency";
    case Explained::lead_time:
      return "lead_time";
    case Explained::time_to_recover:
      return "time_to_recover";
    case Explained::change_failure_rate:
      return "change_failure_rate";
    case Explained::failed_deployment_recovery_time:
      return "failed_deployment_recovery_time";
    case Explained::deployment_rework_rate:
      return "deployment_rework_rate";
  }
  return "deployment_frequency";
}

void name_facts(Scope& scope, Explained metric) {
  scope.identifiers = true;
  scope.change_identifiers = metric == Explained::lead_time;  // the other lists name no change
}

json::object explain(const MetricFacts& facts, Window window, const Scope& scope, Explained metric, std::size_t offset,
                     std::size_t limit) {
  const auto c = classify(facts, window, scope.model, scope.team.has_value());
  const Names n{facts, scope, c};
  Records records;
  json::array left_out;
  std::size_t left_out_count = 0;
  const std::uint8_t counted = scope.model == Model::pulse ? by_incident : 0xff;
  switch (metric) {
    case Explained::deployment_frequency:
      records = deployment_records(
          c, n, [](const Dep&) { return true; }, [](const Dep&, json::object&) {});
      break;
    case Explained::change_failure_rate:
      records = deployment_records(
          c, n, [&](const Dep& d) { return (d.failed & counted) != 0; },
          [&](const Dep& d, json::object& o) { o["reasons"] = failure_reasons(d, n, scope.model); });
      break;
    case Explained::failed_deployment_recovery_time:
      records = deployment_records(
          c, n, [](const Dep& d) { return d.failed != 0; },
          [&](const Dep& d, json::object& o) {
            o["reasons"] = failure_reasons(d, n, scope.model);
            for (auto& [k, v] : recovery(d, n)) o[k] = v;
          });
      break;
    case Explained::deployment_rework_rate:
      records = deployment_records(
          c, n, [](const Dep& d) { return d.rework != 0; },
          [&](const Dep& d, json::object& o) { o["reasons"] = rework_reasons(d, n); });
      break;
    case Explained::time_to_recover:
      records = incident_records(c, n, facts);
      break;
    case Explained::lead_time:
      records = lead_records(c, n, facts, scope, left_out, left_out_count);
      break;
  }
  auto& all = records.pending;
  json::array page = page_of(records, offset, limit);
  json::array environments;
  for (const auto& e : scope.environments) environments.emplace_back(e);
  json::object out{{"metric", explained_name(metric)},
                   {"model", model_name(scope.model)},
                   {"window", json::object{{"from", format_rfc3339(window.from)}, {"to", format_rfc3339(window.to)}}},
                   {"system", scope.system ? json::value(json::string(*scope.system)) : json::value(nullptr)},
                   {"team", scope.team ? json::value(json::string(*scope.team)) : json::value(nullptr)},
                   {"environments", std::move(environments)},
                   {"count", all.size()},
                   {"offset", offset},
                   {"records", std::move(page)},
                   {"next", offset + limit < all.size() ? json::value(offset + limit) : json::value(nullptr)}};
  if (metric == Explained::lead_time) {
    out["left_out"] = std::move(left_out);
    out["left_out_count"] = left_out_count;
  }
  return out;
}

namespace {

std::string text_of(const json::value& v) {
  if (v.is_string()) return printable(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  if (v.is_null()) return "-";
  return "?";
}

// "incident I1; rolled back by P3": a record's reasons for people.
std::string reason_text(const json::object& o) {
  const std::string reason(o.at("reason").as_string());
  auto field = [&o](const char* k) { return o.contains(k) ? text_of(o.at(k)) : std::string("-"); };
  if (reason == "incident") return "incident " + field("incident");
  if (reason == "rollback") return o.contains("by") ? "rolled back by " + field("by") : "a rollback";
  if (reason == "revert") return o.contains("by") ? "reverted by " + field("by") : "ships a revert";
  if (reason == "fix") return "fixes " + field("fixes");
  if (reason == "during incident") return "made while incident " + field("incident") + " was open";
  if (reason == "mark") {
    std::string out = o.contains("status") ? "marked " + field("status") : "";
    if (o.contains("fixed_by")) out += (out.empty() ? "" : ", ") + std::string("fixed by ") + field("fixed_by");
    return out;
  }
  return reason;
}

std::string reasons_text(const json::object& r) {
  std::string out;
  if (const auto* list = r.if_contains("reasons"))
    for (const auto& reason : list->as_array()) out += (out.empty() ? "" : "; ") + reason_text(reason.as_object());
  if (const auto* by = r.if_contains("recovered_by"); by && by->is_object()) {
    const auto& o = by->as_object();
    out += o.contains("incident") ? "; recovered when incident " + text_of(o.at("incident")) + " was resolved"
                                  : "; recovered by " + text_of(o.at("reason")) + " " + text_of(o.at("deployment"));
  }
  return out;
}

}  // namespace

std::string explain_table(const json::object& page) {
  std::ostringstream out;
  const std::string metric(page.at("metric").as_string());
  const auto count = page.at("count").to_number<std::int64_t>();
  const auto offset = page.at("offset").to_number<std::int64_t>();
  const auto& records = page.at("records").as_array();
  out << metric << " (" << text_of(page.at("model")) << " model), " << text_of(page.at("window").at("from")) << " to "
      << text_of(page.at("window").at("to")) << ": " << count << " record(s)";
  if (!records.empty())
    out << ", showing " << offset + 1 << " to " << offset + static_cast<std::int64_t>(records.size());
  out << "\n\n";
  for (const auto& rec : records) {
    const auto& r = rec.as_object();
    out << text_of(r.at("time")) << "  " << text_of(r.at("system")) << "  " << text_of(r.at("environment")) << "  ";
    if (metric == "lead_time") {
      const auto* matched = r.if_contains("matched");
      out << "change " << text_of(r.at("change")) << " (" << text_of(r.at("time_source")) << " time"
          << (matched ? ", " + text_of(*matched).substr(0, text_of(*matched).find(':')) : std::string())
          << ") deployed by " << text_of(r.at("deployment")) << " at " << text_of(r.at("deployed")) << ": "
          << human_duration(r.at("lead_seconds").to_number<std::int64_t>());
      if (const auto* phases = r.if_contains("phases")) {  // where it went, as far as known
        std::string parts;
        for (const char* name : {"coding", "review", "deploy"})
          if (const auto& v = phases->at(name); !v.is_null())
            parts +=
                (parts.empty() ? "" : ", ") + std::string(name) + " " + human_duration(v.to_number<std::int64_t>());
        if (!parts.empty()) out << " (" << parts << ")";
      }
    } else if (metric == "time_to_recover")
      out << "incident " << text_of(r.at("incident")) << " resolved " << text_of(r.at("resolved")) << " ("
          << human_duration(r.at("seconds").to_number<std::int64_t>()) << "), deployment "
          << text_of(r.at("deployment"));
    else out << "deployment " << text_of(r.at("deployment"));
    if (const auto reasons = reasons_text(r); !reasons.empty()) out << ": " << reasons;
    if (const auto* seconds = r.if_contains("recovery_seconds"))
      out << (seconds->is_null() ? "; not recovered yet"
                                 : "; recovered in " + human_duration(seconds->to_number<std::int64_t>()));
    out << "\n";
  }
  if (const auto* left = page.if_contains("left_out"); left && !left->as_array().empty()) {
    out << "\nLeft out (" << text_of(page.at("left_out_count")) << "):\n";
    for (const auto& rec : left->as_array())
      out << "  change " << text_of(rec.at("change")) << " deployed by " << text_of(rec.at("deployment")) << ": "
          << text_of(rec.at("reason")) << "\n";
  }
  if (!page.at("next").is_null()) out << "\nMore: --offset " << text_of(page.at("next")) << "\n";
  return out.str();
}

}  // namespace pulse::collector
