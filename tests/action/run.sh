#!/usr/bin/env bash
# action.yml's steps, run as GitHub's runner runs them (tests/action/runner.py:
# inputs, GITHUB_* variables, RUNNER_TOOL_CACHE, GITHUB_PATH, GITHUB_OUTPUT),
# against the portable release served from 127.0.0.1 in a GitHub release's
# layout: a cold start downloads and verifies, a second run is a cache hit
# (no request), a wrong checksum fails the step before anything runs.
#   tests/action/run.sh DIST_DIR   (scripts/release.sh's output)
set -euo pipefail
dist=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
version=$("$here/scripts/version.sh")
work=$(mktemp -d)
RELEASE_PID=
cleanup() {
  [[ -n "$RELEASE_PID" ]] && kill "$RELEASE_PID" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "action test: FAILED: $*" >&2
  exit 1
}

# Setup: the release host, a checkout with a tag and two commits since.
release="$work/www/owner/pulse/releases/download/v$version"
mkdir -p "$release" "$work/www/bad"
cp "$dist"/pulse-client-*.tar.gz "$dist/SHA256SUMS" "$release/"
cp "$dist"/pulse-client-*.tar.gz "$work/www/bad/"
wrong_sums "$dist/SHA256SUMS" "$work/www/bad/SHA256SUMS"
cmp -s "$dist/SHA256SUMS" "$work/www/bad/SHA256SUMS" && fail "the bad checksum file equals the good one"
release_server "$work/www" "$work/requests.log" || fail "the release server did not start"
port=$RELEASE_PORT
repo="$work/repo"
tagged_checkout "$repo"
run_action() {  # CACHE [INPUT=VALUE ...]
  local cache=$1
  shift
  (cd "$repo" && env -i PATH=/usr/bin:/bin HOME="$work" GITHUB_ACTIONS=true GITHUB_SHA="$(git rev-parse HEAD)" \
    GITHUB_REPOSITORY=o/app GITHUB_RUN_ID=42 GITHUB_WORKSPACE="$repo" GITHUB_SERVER_URL="http://127.0.0.1:$port" \
    GITHUB_ACTION_REPOSITORY=owner/pulse RUNNER_TOOL_CACHE="$cache" RUNNER_TEMP="$work" \
    GITHUB_PATH="$work/path.$RANDOM" GITHUB_OUTPUT=/dev/null \
    python3 "$here/tests/action/runner.py" "$here" dry-run=true "$@")
}

# Run: a cold start, the release found where the action's version says.
out=$(run_action "$work/cache" 2>&1) || fail "cold start: $out"
# Check
grep -q "downloaded and verified" <<<"$out" || fail "cold start did not download: $out"
grep -q "github-actions; deploying .* as 42" <<<"$out" || fail "cold start did not run pulse-deploy: $out"
grep -q "/owner/pulse/releases/download/v$version/pulse-client-$version-linux-x86_64.tar.gz" "$work/requests.log" ||
  fail "not the action's own release: $(cat "$work/requests.log")"
requests=$(wc -l <"$work/requests.log")

# Run: again, the same tool cache.
out=$(run_action "$work/cache" 2>&1) || fail "cache hit: $out"
# Check: no download, pulse-deploy ran.
grep -q "from the tool cache" <<<"$out" || fail "no cache hit: $out"
grep -q "github-actions; deploying" <<<"$out" || fail "cache hit did not run pulse-deploy: $out"
[[ $(wc -l <"$work/requests.log") == "$requests" ]] || fail "the cache hit downloaded: $(cat "$work/requests.log")"

# Run: a release whose checksum does not match, with an empty cache.
if out=$(run_action "$work/cache-bad" "release-url=http://127.0.0.1:$port/bad" 2>&1); then
  fail "a wrong checksum passed: $out"
fi
# Check: the step failed saying why, nothing was unpacked or run.
grep -q "does not match its SHA256SUMS" <<<"$out" || fail "wrong checksum, wrong message: $out"
grep -q "deploying" <<<"$out" && fail "pulse-deploy ran after a wrong checksum: $out"
[[ -e "$work/cache-bad/pulse-client/$version/x64.complete" || -e "$work/cache-bad/pulse-client/$version/x64/bin" ]] &&
  fail "a wrong checksum left an install in the tool cache"
echo "action test: ok (cold start from the release, cache hit without a request, wrong checksum refused)"
