// One rule for the system a repository-aware command (pulse-hook,
// pulse-deploy, backfill) reports under, so that push times, deployments
// and history land under one name. `--system`, PULSE_SYSTEM and the git
// setting pulse.system override it (the callers check those first).
#pragma once

#include "core/git/ci.hpp"
#include "core/git/git_range.hpp"

#include <string>
#include <string_view>

namespace pulse {

/// A remote URL's repository path, ".git" and slashes at the ends dropped:
/// "git@github.com:acme/shop.git" and "https://github.com/acme/shop" give
/// "acme/shop", "ssh://git@host:2222/group/sub/app.git" "group/sub/app".
/// A local path or file:// URL gives its last directory's name ("shop");
/// "" if there is none.
std::string remote_path(std::string_view url);

/// The default system: the CI's repository slug ("owner/name",
/// "group/sub/name"; a clone URL as remote_path reads it) where the CI
/// names one, else the origin remote's path, else the name of the
/// repository's top directory.
std::string default_system(const CiInfo& ci, std::string_view origin_url, std::string_view top_dir);

/// For commands that run git: the repository's pulse.system setting, else
/// default_system with its origin remote and top directory.
std::string repository_system(const GitCommand& git, const CiInfo& ci);

}  // namespace pulse
