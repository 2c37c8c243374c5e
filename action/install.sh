#!/usr/bin/env bash
# The GitHub Action's install step: puts the portable pulse-client release
# matching the action's own version on the PATH, from the runner's tool
# cache when it is there, else downloaded and checked against the release's
# SHA256SUMS first (a mismatch fails the step; nothing is unpacked or run).
# No sudo: works on ubuntu-22.04, ubuntu-24.04 and in container: jobs
# (which need curl or wget, tar and sha256sum).
# Inputs (environment): PULSE_VERSION (default: this checkout's version),
# PULSE_RELEASE_URL (where the release's files are; default the release of
# PULSE_ACTION_REPOSITORY on PULSE_SERVER_URL), RUNNER_TOOL_CACHE,
# RUNNER_TEMP, GITHUB_PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
version="${PULSE_VERSION:-}"
if [[ -z "$version" ]]; then
  version=$("$here/scripts/version.sh")
fi
version="${version#v}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "::error::pulse-deploy: not a release version: \"$version\""; exit 1; }
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  *) echo "::error::pulse-deploy: the release is built for x86_64; this runner is $(uname -m): set build-from-source: true"; exit 1 ;;
esac
name="pulse-client-$version-linux-x86_64"
cache="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/pulse-client/$version"
if [[ -f "$cache/$arch.complete" && -x "$cache/$arch/bin/pulse-deploy" ]]; then
  echo "pulse-deploy $version: from the tool cache ($cache/$arch)"
  echo "$cache/$arch/bin" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
  exit 0
fi
# Default: this action's own GitHub release of that version.
base="${PULSE_RELEASE_URL:-${PULSE_SERVER_URL:-https://github.com}/${PULSE_ACTION_REPOSITORY:?neither PULSE_RELEASE_URL nor PULSE_ACTION_REPOSITORY is set}/releases/download/v$version}"
base="${base%/}"
tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/pulse-client.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fetch() {  # URL FILE: bounded in time, retried on transient failures
  if command -v curl >/dev/null; then
    curl -fsSL --retry 3 --retry-delay 1 --connect-timeout 10 --max-time 120 -o "$2" "$1"
  elif command -v wget >/dev/null; then
    wget -q --tries=3 --timeout=30 -O "$2" "$1"
  else
    echo "::error::pulse-deploy: neither curl nor wget is installed (add one to the container image)"
    return 1
  fi
}
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" || { echo "::error::pulse-deploy: cannot download $base/SHA256SUMS"; exit 1; }
fetch "$base/$name.tar.gz" "$tmp/$name.tar.gz" || { echo "::error::pulse-deploy: cannot download $base/$name.tar.gz"; exit 1; }
want=$(awk -v f="$name.tar.gz" '$2 == f || $2 == "*" f {print $1}' "$tmp/SHA256SUMS")
got=$(sha256sum "$tmp/$name.tar.gz" | cut -d' ' -f1)
if [[ -z "$want" || "$want" != "$got" ]]; then
  echo "::error::pulse-deploy: $name.tar.gz does not match its SHA256SUMS (want ${want:-no entry}, got $got): not installed"
  exit 1
fi
rm -rf "$cache/$arch"
mkdir -p "$cache/$arch"
tar -xzf "$tmp/$name.tar.gz" -C "$cache/$arch" --strip-components=1
touch "$cache/$arch.complete"
echo "pulse-deploy $version: downloaded and verified into $cache/$arch"
echo "$cache/$arch/bin" >>"$GITHUB_PATH"
