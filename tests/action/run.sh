#!/usr/bin/env bash
# action.yml's steps, run as GitHub's runner runs them (tests/action/runner.py:
# inputs, GITHUB_* variables, RUNNER_TOOL_CACHE, GITHUB_PATH, GITHUB_OUTPUT),
# from a copy of the action pinned to DIST's archive (scripts/pin-release.sh,
# as a release commit is), against the portable release served from
# 127.0.0.1 in a GitHub release's layout: a cold start downloads and checks,
# a second run is a cache hit (no request, checked again); a release host
# serving a foreign tarball with a SHA256SUMS that matches it, a tampered
# tool cache and an unpinned version are refused before anything runs; the
# paths input reaches pulse-deploy as pathspecs, never glob-expanded.
#   tests/action/run.sh DIST_DIR   (scripts/release.sh's output)
set -euo pipefail
dist=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
version=$("$here/scripts/version.sh")
name="pulse-client-$version-linux-x86_64"
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

# Setup: the action as a release commit holds it; the release host with the
# real release, and a swapped one: a foreign tarball of the same name (its
# pulse-deploy leaves a mark) with a SHA256SUMS that matches it.
action="$work/action"
pinned_copy "$dist" "$action" || fail "pinning the action to $dist"
grep -q "  $name.tar.gz\$" "$action/action/SHA256SUMS" || fail "no pin: $(cat "$action/action/SHA256SUMS")"
release="$work/www/owner/pulse/releases/download/v$version"
mkdir -p "$release"
cp "$dist/$name.tar.gz" "$dist/SHA256SUMS" "$release/"
swapped_release "$name" "$work/www/swapped" "$work/foreign-ran"
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
    python3 "$here/tests/action/runner.py" "$action" dry-run=true "$@")
}
no_foreign_run() {  # OUT: the foreign pulse-deploy never ran
  [[ -e "$work/foreign-ran" ]] && fail "the foreign pulse-deploy ran: $1"
  grep -q "deploying\|FOREIGN" <<<"$1" && fail "a pulse-deploy ran: $1"
  return 0
}

# Run: a cold start, the release found where the action's version says.
out=$(run_action "$work/cache" 2>&1) || fail "cold start: $out"
# Check: only the tarball is fetched (the host's SHA256SUMS proves nothing).
grep -q "checked against the pinned checksum" <<<"$out" || fail "cold start did not download: $out"
grep -q "github-actions; deploying .* as 42" <<<"$out" || fail "cold start did not run pulse-deploy: $out"
[[ "$(cat "$work/requests.log")" == "/owner/pulse/releases/download/v$version/$name.tar.gz" ]] ||
  fail "not the action's own release's tarball alone: $(cat "$work/requests.log")"
requests=$(wc -l <"$work/requests.log")

# Run: again, the same tool cache.
out=$(run_action "$work/cache" 2>&1) || fail "cache hit: $out"
# Check: no download, checked, pulse-deploy ran.
grep -q "from the tool cache (.*), checked" <<<"$out" || fail "no cache hit: $out"
grep -q "github-actions; deploying" <<<"$out" || fail "cache hit did not run pulse-deploy: $out"
[[ $(wc -l <"$work/requests.log") == "$requests" ]] || fail "the cache hit downloaded: $(cat "$work/requests.log")"

# Run: the release host swapped both the tarball and its SHA256SUMS.
unpacked=$(compgen -G "$work/pulse-client-$version.*" | wc -l)
if out=$(run_action "$work/cache-swapped" "release-url=http://127.0.0.1:$port/swapped" 2>&1); then
  fail "a swapped release passed: $out"
fi
# Check: refused saying why, nothing cached, unpacked or run.
grep -q "does not match the checksum this action pins" <<<"$out" || fail "swapped release, wrong message: $out"
no_foreign_run "$out"
[[ -e "$work/cache-swapped/pulse-client/$version/x64/$name.tar.gz" ]] && fail "a swapped release was cached"
[[ $(compgen -G "$work/pulse-client-$version.*" | wc -l) == "$unpacked" ]] || fail "a swapped release was unpacked"

# Run: another job replaced the tool cache's archive with the foreign one.
cp "$work/www/swapped/$name.tar.gz" "$work/cache/pulse-client/$version/x64/$name.tar.gz"
out=$(run_action "$work/cache" "release-url=http://127.0.0.1:$port/swapped" 2>&1) && fail "a tampered cache passed: $out"
# Check: the cached copy is discarded, the download (foreign too) refused.
grep -q "tool cache's $name.tar.gz does not match the pinned checksum: discarded" <<<"$out" || fail "tampered cache, wrong message: $out"
grep -q "does not match the checksum this action pins" <<<"$out" || fail "tampered cache then swapped host, wrong message: $out"
no_foreign_run "$out"
# Run: tampered again, the real release on the host.
mkdir -p "$work/cache/pulse-client/$version/x64"
cp "$work/www/swapped/$name.tar.gz" "$work/cache/pulse-client/$version/x64/$name.tar.gz"
out=$(run_action "$work/cache" 2>&1) || fail "a tampered cache with the real release on the host: $out"
# Check: the real one downloaded and run, and cached again.
grep -q "discarded, downloading it again" <<<"$out" || fail "tampered cache not noticed: $out"
grep -q "github-actions; deploying" <<<"$out" || fail "the real pulse-deploy did not run: $out"
no_foreign_run "${out//github-actions; deploying/}"
cmp -s "$work/cache/pulse-client/$version/x64/$name.tar.gz" "$dist/$name.tar.gz" || fail "the cache holds no good copy again"

# Run: a version this commit does not pin.
out=$(run_action "$work/cache-unpinned" version=9.9.9 2>&1) && fail "an unpinned version passed: $out"
grep -q "pins no checksum for pulse-client-9.9.9-linux-x86_64.tar.gz" <<<"$out" || fail "unpinned version, wrong message: $out"
# Run: the sha256 input names the swapped archive's checksum: the user's choice, it runs.
out=$(run_action "$work/cache-given" "release-url=http://127.0.0.1:$port/swapped" \
  "sha256=$(cut -d' ' -f1 "$work/www/swapped/SHA256SUMS")" 2>&1) || fail "sha256 input: $out"
[[ -e "$work/foreign-ran" ]] || fail "the sha256 input's archive did not run: $out"
rm -f "$work/foreign-ran"

# Run: paths, as pathspecs: "*.md" matches docs/a.md and b.md; a shell glob
# in the checkout would give b.md alone. One per line keeps spaces.
(cd "$repo" && mkdir docs && echo a >docs/a.md && git add docs && git commit -q -m docs &&
  echo b >b.md && git add b.md && git commit -q -m b && echo c >"with space.txt" && git add . && git commit -q -m c)
out=$(run_action "$work/cache" "paths=*.md" 2>&1) || fail "paths: $out"
grep -q "; 2 change(s)" <<<"$out" || fail "paths *.md was not one pathspec (glob-expanded?): $out"
out=$(run_action "$work/cache" "paths=with space.txt
docs" 2>&1) || fail "paths on lines: $out"
grep -q "; 2 change(s)" <<<"$out" || fail "paths one per line: $out"
out=$(run_action "$work/cache" "paths=docs c" 2>&1) || fail "paths on one line: $out"
grep -q "; 2 change(s)" <<<"$out" || fail "paths space-separated: $out"
echo "action test: ok (pinned cold start, checked cache hit, swapped release and tampered cache refused, unpinned version refused, paths as pathspecs)"
