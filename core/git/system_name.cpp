#include "core/git/system_name.hpp"

namespace pulse {

namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '/' || s.back() == ' ')) s.remove_suffix(1);
  if (s.ends_with(".git")) s.remove_suffix(4);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string last_segment(std::string_view path) {
  path = trimmed(path);
  const auto slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string remote_path(std::string_view url) {
  url = trimmed(url);
  if (url.empty()) return "";
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
    if (url.substr(0, scheme) == "file") return last_segment(url.substr(scheme + 3));
    auto rest = url.substr(scheme + 3);  // [user@]host[:port]/path
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return "";
    rest.remove_prefix(slash + 1);
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '~')) rest.remove_prefix(1);
    return std::string(rest);
  }
  // scp-like "user@host:path" (a colon before any slash); else a local path.
  const auto colon = url.find(':');
  const auto slash = url.find('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash) && colon > 1) {
    auto rest = url.substr(colon + 1);
    while (!rest.empty() && (rest.front() == '/' || rest.front() == '~')) rest.remove_prefix(1);
    return std::string(rest);
  }
  return last_segment(url);
}

std::string default_system(const CiInfo& ci, std::string_view origin_url, std::string_view top_dir) {
  if (!ci.repository.empty()) {
    // A slug as the CI gives it, or a clone URL (Buildkite, CircleCI, Jenkins).
    const bool url = ci.repository.find("://") != std::string::npos || ci.repository.find('@') != std::string::npos;
    if (auto slug = url ? remote_path(ci.repository) : std::string(trimmed(ci.repository)); !slug.empty()) return slug;
  }
  if (auto path = remote_path(origin_url); !path.empty()) return path;
  return last_segment(top_dir);
}

std::string repository_system(const GitCommand& git, const CiInfo& ci) {
  if (auto configured = git.out({"config", "--get", "pulse.system"}); !configured.empty()) return configured;
  std::string top = git.out({"rev-parse", "--show-toplevel"});
  if (top.empty()) top = git.dir();
  return default_system(ci, git.out({"config", "--get", "remote.origin.url"}), top);
}

}  // namespace pulse
