// What this build is: the release version (the project's, e.g. "0.1.0"; a
// release is tagged v0.1.0) and, when built from a git checkout, the commit.
#pragma once

#include <string>
#include <string_view>

namespace pulse {

/// The commit the build was made from ("1a2b3c4d5e6f", with "-dirty" for
/// uncommitted changes); empty when built from a source tarball.
std::string_view build_commit();

/// What `version` prints after the program's name: "0.1.0", or
/// "0.1.0 (commit 1a2b3c4d5e6f)" when built from a checkout.
inline std::string version_text() {
  const auto commit = build_commit();
  return std::string(PULSE_VERSION) + (commit.empty() ? "" : " (commit " + std::string(commit) + ")");
}

}  // namespace pulse
