// What the CI a deploy step runs in tells about the build: one table row
// per provider (ci_env.cpp), detected by its marker variable.
#pragma once

#include "env.hpp"

#include <string>

namespace pulse::deploy {

struct CiInfo {
  std::string provider;     ///< "github-actions", "gitlab-ci", ... (the Go CLI's names); empty: none
  std::string sha;          ///< the commit being deployed
  std::string ref;          ///< branch or tag
  std::string repository;   ///< "owner/name" or a URL
  std::string run_id;
  std::string run_url;
  std::string environment;  ///< deployment environment, where the CI names one
  std::string before_sha;   ///< the push's previous tip, where the CI knows it
};

/// Reads the CI's variables (and, on GitHub, the event payload's `before`).
CiInfo detect_ci(const Env& env);

}  // namespace pulse::deploy
