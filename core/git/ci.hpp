// The CI a command runs in, from its variables: one table row per provider
// (ci.cpp) gives the name the Go CLI sends in its `Environment` header and
// what a deploy step or the system-name rule reads (commit, ref,
// repository, run, environment, previous tip).
#pragma once

#include "core/util/env.hpp"

#include <string>

namespace pulse {

struct CiInfo {
  std::string provider;      ///< "github-actions", "gitlab-ci", ... (the Go CLI's names); empty: none
  std::string sha;           ///< the commit being built
  std::string ref;           ///< branch or tag
  std::string repository;    ///< "owner/name", "group/sub/name" or a clone URL, where the CI names it
  std::string run_id;        ///< the pipeline or workflow run
  std::string execution_id;  ///< this execution of this job: new for a retried job or a re-run of an old one
  std::string run_url;
  std::string environment;  ///< deployment environment, where the CI names one
  std::string before_sha;   ///< the push's previous tip, where the CI knows it

  /// GitHub Actions, or a runner that takes its variables, workflow commands
  /// and files (Gitea's and Forgejo's).
  bool actions_compatible() const {
    return provider == "github-actions" || provider == "gitea-actions" || provider == "forgejo-actions";
  }
};

/// Reads the CI's variables (and, on GitHub, the event payload's `before`).
CiInfo detect_ci(const Env& env);

/// The name the Go CLI sends in the `Environment` header for the CI it runs
/// in ("github-actions", "gitlab-ci", ...), or "_unknown_" (also for CIs
/// the Go CLI does not know).
std::string detect_ci_name(const Env& env);

}  // namespace pulse
