#!/usr/bin/env bash
# The GitHub Action's install step: puts the portable pulse-client release
# matching the action's own version on the PATH. The archive must match the
# SHA-256 pinned in this commit of the action (action/SHA256SUMS, or the
# sha256 input for a version it does not pin): checked after each download
# and again on every tool-cache hit, before anything is unpacked or run. The
# release host's own SHA256SUMS is not trusted (whoever can replace the
# archive can replace it too). The tool cache keeps the archive; each job
# unpacks its checked copy into RUNNER_TEMP.
# No sudo: works on ubuntu-22.04, ubuntu-24.04 and in container: jobs
# (which need curl or wget, tar and sha256sum).
# Inputs (environment): PULSE_VERSION (default: this checkout's version),
# PULSE_SHA256, PULSE_RELEASE_URL (where the release's files are; default
# the release of PULSE_ACTION_REPOSITORY on PULSE_SERVER_URL),
# RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
error() {
  echo "::error::pulse-deploy: $*"
  exit 1
}
version="${PULSE_VERSION:-}"
if [[ -z "$version" ]]; then
  version=$("$here/scripts/version.sh")
fi
version="${version#v}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || error "not a release version: \"$version\""
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  *) error "the release is built for x86_64; this runner is $(uname -m): set build-from-source: true" ;;
esac
name="pulse-client-$version-linux-x86_64"
want="${PULSE_SHA256:-}"
if [[ -z "$want" ]]; then
  want=$(awk -v f="$name.tar.gz" '!/^#/ && $2 == f {print $1}' "$here/action/SHA256SUMS")
  [[ -n "$want" ]] || error "this commit of the action pins no checksum for $name.tar.gz (action/SHA256SUMS): use the action at a release that pins $version, give its SHA-256 as the sha256 input, or set build-from-source: true"
fi
want=$(tr 'A-F' 'a-f' <<<"$want")
[[ "$want" =~ ^[0-9a-f]{64}$ ]] || error "sha256 is not a SHA-256 (64 hexadecimal digits)"
cache="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/pulse-client/$version/$arch"
: "${GITHUB_PATH:?GITHUB_PATH is not set}"
tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/pulse-client.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
matches() { [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$want" ]]; }
from=""
if [[ -f "$cache/$name.tar.gz" ]]; then
  # Checked as copied: what is unpacked is what was checked.
  cp "$cache/$name.tar.gz" "$tmp/$name.tar.gz"
  if matches "$tmp/$name.tar.gz"; then
    from="the tool cache ($cache), checked"
  else
    echo "::warning::pulse-deploy: the tool cache's $name.tar.gz does not match the pinned checksum: discarded, downloading it again"
    rm -rf "$cache" "$tmp/$name.tar.gz"
  fi
fi
if [[ -z "$from" ]]; then
  # Default: this action's own GitHub release of that version.
  base="${PULSE_RELEASE_URL:-${PULSE_SERVER_URL:-https://github.com}/${PULSE_ACTION_REPOSITORY:?neither PULSE_RELEASE_URL nor PULSE_ACTION_REPOSITORY is set}/releases/download/v$version}"
  base="${base%/}"
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 --retry-delay 1 --connect-timeout 10 --max-time 120 -o "$tmp/$name.tar.gz" "$base/$name.tar.gz" ||
      error "cannot download $base/$name.tar.gz"
  elif command -v wget >/dev/null; then
    wget -q --tries=3 --timeout=30 -O "$tmp/$name.tar.gz" "$base/$name.tar.gz" || error "cannot download $base/$name.tar.gz"
  else
    error "neither curl nor wget is installed (add one to the container image)"
  fi
  matches "$tmp/$name.tar.gz" ||
    error "$base/$name.tar.gz does not match the checksum this action pins (want $want, got $(sha256sum "$tmp/$name.tar.gz" | cut -d' ' -f1)): not installed, nothing run"
  mkdir -p "$cache"
  cp "$tmp/$name.tar.gz" "$cache/.$name.tar.gz.$$" && mv -f "$cache/.$name.tar.gz.$$" "$cache/$name.tar.gz"
  from="$base, checked against the pinned checksum"
fi
dest=$(mktemp -d "${RUNNER_TEMP:-/tmp}/pulse-client-$version.XXXXXX")
tar -xzf "$tmp/$name.tar.gz" -C "$dest" --strip-components=1
[[ -x "$dest/bin/pulse-deploy" ]] || error "$name.tar.gz holds no bin/pulse-deploy"
echo "pulse-deploy $version: from $from"
echo "$dest/bin" >>"$GITHUB_PATH"
