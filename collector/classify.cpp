#include "collector/classify.hpp"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

namespace pulse::collector::detail {

bool before(const Dep& a, const Dep& b) {
  return std::tie(a.system, a.environment, a.time, a.seq) < std::tie(b.system, b.environment, b.time, b.seq);
}

const Dep* Classified::deployed_at(std::uint32_t system, std::uint32_t environment, std::int64_t time) const {
  const auto it = std::partition_point(all.begin(), all.end(), [&](const Dep& d) {
    return std::tie(d.system, d.environment, d.time) < std::tie(system, environment, time);
  });
  if (it == all.end() || it->system != system || it->environment != environment || it->time != time) return nullptr;
  return &*it;
}

namespace {

using Groups = std::vector<std::pair<std::size_t, std::size_t>>;

// The groups of `all` (sorted by `before`): one per system and environment.
Groups groups_of(const std::vector<Dep>& all) {
  Groups out;
  for (std::size_t b = 0, e = 0; b < all.size(); b = e) {
    e = b + 1;
    while (e < all.size() && all[e].system == all[b].system && all[e].environment == all[b].environment) ++e;
    out.emplace_back(b, e);
  }
  return out;
}

void recover(Dep& d, std::int64_t at, RecoveredBy by, std::int64_t seq) {
  if (at >= d.recovered) return;
  d.recovered = at;
  d.recovered_by = by;
  d.recovered_seq = seq;
}

// First index in [b, e) with time >= t.
std::size_t first_at(const std::vector<Dep>& all, std::size_t b, std::size_t e, std::int64_t t) {
  const auto begin = all.begin() + static_cast<std::ptrdiff_t>(b), end = all.begin() + static_cast<std::ptrdiff_t>(e);
  return static_cast<std::size_t>(std::partition_point(begin, end, [t](const Dep& d) { return d.time < t; }) -
                                  all.begin());
}

// Each incident of the window belongs to the last deployment of its system
// and environment strictly before it.
std::vector<Inc> attribute_incidents(std::vector<Dep>& all, const MetricFacts& facts, Window window) {
  std::vector<Inc> incs;
  incs.reserve(facts.incidents.size());
  for (std::size_t n = 0; n < facts.incidents.size(); ++n) {
    const auto& i = facts.incidents[n];
    if (i.created < window.from || i.created >= window.to) continue;
    const auto it = std::partition_point(all.begin(), all.end(), [&](const Dep& d) {
      return std::tie(d.system, d.environment, d.time) < std::tie(i.system, i.environment, i.created);
    });
    Inc inc{i.system, i.created, i.resolved - i.created, false, static_cast<std::uint32_t>(n), 0};
    if (it != all.begin() && std::prev(it)->system == i.system && std::prev(it)->environment == i.environment) {
      Dep& d = *std::prev(it);
      d.failed |= by_incident;
      if (i.resolved >= d.incidents_resolved) {
        d.incidents_resolved = i.resolved;
        d.incident = static_cast<std::int32_t>(n);
      }
      inc.attributed = true;
      inc.deployment = d.seq;
    }
    incs.push_back(inc);
  }
  return incs;
}

Phases phases_of(const MetricFacts::Shipped& s) {
  Phases p;
  const bool pushed = s.source != 0 && s.change_time != kUnknownTime;
  if (pushed && s.authored != kUnknownTime) p.coding = std::max<std::int64_t>(0, s.change_time - s.authored);
  if (s.merged == kUnknownTime) return p;
  if (pushed) p.review = std::max<std::int64_t>(0, s.merged - s.change_time);
  p.deploy = std::max<std::int64_t>(0, s.deployed - (pushed ? std::max(s.merged, s.change_time) : s.merged));
  return p;
}

std::vector<Lead> lead_times(const MetricFacts& facts, Window window) {
  std::vector<Lead> leads;
  leads.reserve(facts.shipped.size());
  for (std::size_t n = 0; n < facts.shipped.size(); ++n) {
    const auto& s = facts.shipped[n];
    if (s.deployed < window.from || s.deployed >= window.to) continue;
    const auto fact = static_cast<std::uint32_t>(n);
    if (s.change_time == kUnknownTime) leads.push_back({s.system, s.deployed, 0, 2, fact});
    else if (s.deployed - s.change_time <= 0) leads.push_back({s.system, s.deployed, 0, 1, fact});
    else leads.push_back({s.system, s.deployed, s.deployed - s.change_time, 0, fact, phases_of(s)});
  }
  return leads;
}

// A deployment going back to a head deployed here before undoes what came
// after that head's last deployment (or after its first deployment, itself
// included, when no deployment had it as head).
void rollback(std::vector<Dep>& all, const MetricFacts& facts, std::size_t b, std::size_t i,
              const std::unordered_map<std::uint64_t, std::size_t>& last_with_head) {
  Dep& d = all[i];
  const auto& fact = facts.deployments[static_cast<std::size_t>(d.fact)];
  if (fact.head == 0 || fact.head_first == kUnknownTime || fact.head_first >= d.time || i == b ||
      facts.deployments[static_cast<std::size_t>(all[i - 1].fact)].head == fact.head)
    return;
  const auto last = last_with_head.find(fact.head);
  const std::size_t from = last != last_with_head.end() ? last->second + 1 : first_at(all, b, i, fact.head_first);
  for (std::size_t x = from; x < i; ++x)
    if (facts.deployments[static_cast<std::size_t>(all[x].fact)].changes > 0) {
      all[x].failed |= by_rollback;
      if (!all[x].rollback_by) all[x].rollback_by = d.seq;
      recover(all[x], d.time, RecoveredBy::rollback, d.seq);
      d.rework |= rework_rollback;
    }
}

// Rollbacks, marks and fixes within one system and environment [b, e).
void classify_group(std::vector<Dep>& all, const MetricFacts& facts, std::size_t b, std::size_t e,
                    const std::unordered_map<std::int64_t, std::size_t>& by_seq) {
  std::unordered_map<std::uint64_t, std::size_t> last_with_head;
  for (std::size_t i = b; i < e; ++i) {
    rollback(all, facts, b, i, last_with_head);
    Dep& d = all[i];
    const auto& fact = facts.deployments[static_cast<std::size_t>(d.fact)];
    if (fact.head != 0) last_with_head[fact.head] = i;
    if (fact.mark != MetricFacts::no_mark) {
      d.failed |= by_mark;
      if (i + 1 < e) recover(d, all[i + 1].time, RecoveredBy::next_deployment, all[i + 1].seq);
    }
    if (!fact.fix) continue;
    d.rework |= rework_fix;
    if (const auto it = by_seq.find(fact.fixes_seq); fact.fixes_seq != 0 && it != by_seq.end()) {
      d.fixes_seq = fact.fixes_seq;
      if (it->second >= b && it->second < i) {
        Dep& fixed = all[it->second];
        fixed.failed |= by_mark;
        if (!fixed.fixed_by) fixed.fixed_by = d.seq;
        recover(fixed, d.time, RecoveredBy::fix, d.seq);
      }
    }
  }
}

void reverts(std::vector<Dep>& all, const MetricFacts& facts, const Groups& groups,
             const std::unordered_map<std::int64_t, std::size_t>& by_seq) {
  for (const auto& r : facts.reverts) {
    const auto it = by_seq.find(r.seq);
    if (it == by_seq.end() || r.reverted_first == kUnknownTime) continue;
    Dep& d = all[it->second];
    if (r.reverted_first >= d.time) continue;  // reverted before it reached here: no fix of this environment
    d.rework |= rework_revert;
    const auto g = std::find_if(groups.begin(), groups.end(),
                                [&](const auto& ge) { return it->second >= ge.first && it->second < ge.second; });
    const std::size_t x = first_at(all, g->first, it->second, r.reverted_first);
    if (x < it->second && all[x].time == r.reverted_first) {
      all[x].failed |= by_revert;
      if (!all[x].revert_by) all[x].revert_by = d.seq;
      recover(all[x], d.time, RecoveredBy::revert, d.seq);
    }
  }
}

// Deployments made while an incident attributed to an earlier deployment of
// their system and environment was open are rework.
void rework_during_incidents(std::vector<Dep>& all, const Groups& groups, const MetricFacts& facts) {
  std::vector<std::uint32_t> order(facts.incidents.size());
  for (std::uint32_t n = 0; n < order.size(); ++n) order[n] = n;
  auto key = [&](std::uint32_t n) {
    const auto& i = facts.incidents[n];
    return std::tie(i.system, i.environment, i.created);
  };
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return key(a) < key(b); });
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::int64_t> first;
  for (const auto& f : facts.firsts) first[{f.system, f.environment}] = f.time;
  for (const auto& [b, e] : groups) {
    const auto group = std::pair{all[b].system, all[b].environment};
    const auto known = first.find(group);
    const std::int64_t first_time = known != first.end() ? std::min(known->second, all[b].time) : all[b].time;
    std::size_t k = static_cast<std::size_t>(
        std::lower_bound(order.begin(), order.end(), group,
                         [&](std::uint32_t n, const auto& g) {
                           return std::pair{facts.incidents[n].system, facts.incidents[n].environment} < g;
                         }) -
        order.begin());
    std::int64_t open_until = kUnknownTime;
    std::int32_t open = -1;
    for (std::size_t i = b; i < e; ++i) {
      for (; k < order.size(); ++k) {
        const auto& inc = facts.incidents[order[k]];
        if (inc.system != group.first || inc.environment != group.second || inc.created >= all[i].time) break;
        if (inc.created > first_time && inc.resolved > open_until) {
          open_until = inc.resolved;
          open = static_cast<std::int32_t>(order[k]);
        }
      }
      if (open_until > all[i].time) {
        all[i].rework |= rework_during_incident;
        all[i].rework_incident = open;
      }
    }
  }
}

// The DORA model's failures, recoveries and rework (metrics.hpp).
void classify_dora(std::vector<Dep>& all, const MetricFacts& facts,
                   const std::unordered_map<std::int64_t, std::size_t>& by_seq) {
  const auto groups = groups_of(all);
  for (const auto& [b, e] : groups) classify_group(all, facts, b, e, by_seq);
  reverts(all, facts, groups, by_seq);
  rework_during_incidents(all, groups, facts);
  for (auto& d : all)
    if (d.failed & by_incident) recover(d, d.incidents_resolved, RecoveredBy::incidents, 0);
}

}  // namespace

namespace {

// Keeps what belongs to the team's deployments.
void keep_team(Classified& c, const MetricFacts& facts) {
  auto team = [&](const Dep& d) { return facts.deployments[static_cast<std::size_t>(d.fact)].team; };
  std::erase_if(c.deps, [&](const Dep& d) { return !team(d); });
  std::erase_if(c.incs, [&](const Inc& i) { return !i.attributed || !team(c.all[c.by_seq.at(i.deployment)]); });
  std::erase_if(c.leads, [&](const Lead& l) {
    const auto& s = facts.shipped[l.fact];
    const Dep* d = c.deployed_at(s.system, s.environment, s.deployed);
    return !d || !team(*d);
  });
}

}  // namespace

Classified classify(const MetricFacts& facts, Window window, Model model, bool team) {
  Classified c;
  c.all.reserve(facts.deployments.size());
  for (std::size_t n = 0; n < facts.deployments.size(); ++n) {
    const auto& d = facts.deployments[n];
    if (d.time >= window.to) continue;
    Dep dep{d.system, d.environment, d.time};
    dep.seq = d.seq;
    dep.fact = static_cast<std::int32_t>(n);
    c.all.push_back(dep);
  }
  std::sort(c.all.begin(), c.all.end(), before);
  if (model == Model::dora || team || !facts.deployment_ids.empty()) {
    c.by_seq.reserve(c.all.size());
    for (std::size_t i = 0; i < c.all.size(); ++i) c.by_seq.emplace(c.all[i].seq, i);
  }
  c.incs = attribute_incidents(c.all, facts, window);
  if (model == Model::dora) classify_dora(c.all, facts, c.by_seq);
  c.deps.reserve(c.all.size());
  for (const auto& d : c.all)
    if (d.time >= window.from) c.deps.push_back(d);
  c.leads = lead_times(facts, window);
  if (team) keep_team(c, facts);
  return c;
}

}  // namespace pulse::collector::detail
