// The facts of a window, prepared once for the figures and their
// explanations: incidents attributed, lead times computed and, for the DORA
// model, each deployment's failures, recovery and rework with the evidence
// that decided them. Internal to the collector (metrics.cpp, explain.cpp).
#pragma once

#include "collector/metrics.hpp"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace pulse::collector::detail {

inline constexpr std::int64_t kNotRecovered = INT64_MAX;

enum Failure : std::uint8_t { by_incident = 1, by_rollback = 2, by_revert = 4, by_mark = 8 };
enum Rework : std::uint8_t { rework_rollback = 1, rework_fix = 2, rework_revert = 4, rework_during_incident = 8 };
/// What recovered a failed deployment first.
enum class RecoveredBy : std::uint8_t { none, incidents, rollback, revert, fix, next_deployment };

struct Dep {
  std::uint32_t system;
  std::uint32_t environment;
  std::int64_t time;
  std::int64_t seq = 0;
  std::uint8_t failed = 0;                 ///< Failure bits; the Pulse model looks at by_incident only
  std::uint8_t rework = 0;                 ///< Rework bits (DORA model)
  std::int64_t recovered = kNotRecovered;  ///< earliest recovery (DORA model; incidents included)
  RecoveredBy recovered_by = RecoveredBy::none;
  std::int64_t recovered_seq = 0;                  ///< the deployment that recovered it, if one did
  std::int64_t incidents_resolved = kUnknownTime;  ///< the last resolution of its incidents
  std::int32_t incident = -1;                      ///< index in MetricFacts::incidents of the last one to resolve
  std::int64_t rollback_by = 0, revert_by = 0, fixed_by = 0;  ///< deciding deployments (seq)
  std::int64_t fixes_seq = 0;                                 ///< rework: the deployment it fixes, if stored
  std::int32_t rework_incident = -1;  ///< rework: the open incident (index in MetricFacts::incidents)
  std::int32_t fact = -1;             ///< index in MetricFacts::deployments
};

/// The phases of a lead time, in seconds (kNoPhase: not known).
inline constexpr std::int64_t kNoPhase = -1;
struct Phases {
  std::int64_t coding = kNoPhase;  ///< first pushed - authored
  std::int64_t review = kNoPhase;  ///< merged - first pushed
  std::int64_t deploy = kNoPhase;  ///< deployed - merged (or first pushed, if later)
};

/// A shipped change's phases (metrics.hpp, "Lead time phases").
Phases phases_of(const MetricFacts::Shipped& s);

struct Lead {
  std::uint32_t system;
  std::int64_t deployed;
  std::int64_t lead;   ///< > 0, or 0 with `bad` set
  std::uint8_t bad;    ///< 1: lead <= 0, 2: unknown change time
  std::uint32_t fact;  ///< index in MetricFacts::shipped
  Phases phases = {};  ///< with a lead time (bad 0) only
};

struct Inc {
  std::uint32_t system;
  std::int64_t created;
  std::int64_t duration;
  bool attributed;
  std::uint32_t fact;       ///< index in MetricFacts::incidents
  std::int64_t deployment;  ///< the seq of the deployment it belongs to (0: none or unknown)
};

/// Deployments ordered by system, environment, time, arrival.
bool before(const Dep& a, const Dep& b);

struct Classified {
  std::vector<Dep> all;     ///< every deployment before the window's end, ordered by `before`
  std::vector<Dep> deps;    ///< those in the window
  std::vector<Lead> leads;  ///< changes first deployed in the window
  std::vector<Inc> incs;    ///< incidents created in the window
  /// Deployment seq -> index in `all` (for the DORA model, a team and
  /// explanations; empty for the Pulse model's plain figures).
  std::unordered_map<std::int64_t, std::size_t> by_seq;

  /// The (first) deployment of `system` and `environment` at `time`, if any.
  const Dep* deployed_at(std::uint32_t system, std::uint32_t environment, std::int64_t time) const;
};

/// With `team`, only the team's deployments, the changes they shipped first
/// and the incidents attributed to them are counted (MetricFacts marks the
/// team's deployments).
Classified classify(const MetricFacts& facts, Window window, Model model, bool team = false);

}  // namespace pulse::collector::detail
