// The records behind one figure: which deployments, changes and incidents a
// metric counted, and why (GET /v1/metrics/explain, `pulse-collector
// metrics --explain`). Each list's length is the figure's count.
#pragma once

#include "collector/metrics.hpp"

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::collector {

enum class Explained {
  deployment_frequency,             ///< every deployment counted
  lead_time,                        ///< every change with a lead time; the others under left_out
  time_to_recover,                  ///< Pulse model: every incident of the window
  change_failure_rate,              ///< every failed deployment, with what decided it
  failed_deployment_recovery_time,  ///< DORA model: every failed deployment, with its recovery
  deployment_rework_rate,           ///< DORA model: every rework deployment, with why
};

/// The metric's name as the API spells it; fails (nullopt, `why`) for an
/// unknown one or one the model does not have.
std::optional<Explained> parse_explained(std::string_view name, Model model, std::string& why);
std::string_view explained_name(Explained m);

/// Asks a store, through `scope`, for the names `metric`'s records need.
void name_facts(Scope& scope, Explained metric);

/// Most records on one page.
inline constexpr std::size_t kMaxExplainPage = 1000;

/// A page of the records behind `metric` (facts read with
/// Scope::identifiers): {"metric", "model", "window", "system",
/// "environments", "count", "offset", "records", "next", "left_out"}.
/// Records are ordered by time (then system); `next` is the offset of the
/// next page, null on the last.
boost::json::object explain(const MetricFacts& facts, Window window, const Scope& scope, Explained metric,
                            std::size_t offset, std::size_t limit);

/// `pulse-collector metrics --explain`'s table of such a page.
std::string explain_table(const boost::json::object& page);

}  // namespace pulse::collector
