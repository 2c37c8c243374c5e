#!/usr/bin/env bash
# The portable release's size, and the GitHub Action's cold start: its
# steps, run as the runner runs them (tests/action/runner.py) with an empty
# tool cache, from download through checksum to a running pulse-deploy
# (--dry-run on a small checkout), against a loopback server standing in for
# the release host, from a copy of the action pinned to that tarball (as a
# release commit is). Prints the tarball's size and each run's seconds.
# The target on a hosted runner is under 15 s, most of it the download
# (this loopback measures everything else).
#   bench/action_cold_start.sh [DIST_DIR] [RUNS]   (default: builds into build/dist; 5 runs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/release_lib.sh
. "$here/tests/release_lib.sh"
dist="${1:-}"
runs="${2:-5}"
if [[ -z "$dist" ]]; then
  dist="$here/build/dist"
  "$here/scripts/release.sh" "$dist" >/dev/null
fi
dist=$(realpath "$dist")
tarball=$(ls "$dist"/pulse-client-*.tar.gz)
version=$("$here/scripts/version.sh")
work=$(mktemp -d)
trap 'kill $RELEASE_PID 2>/dev/null; rm -rf "$work"' EXIT
release="$work/www/owner/pulse/releases/download/v$version"
mkdir -p "$release"
cp "$tarball" "$dist/SHA256SUMS" "$release/"
release_server "$work/www" "$work/requests.log"
port=$RELEASE_PORT
tagged_checkout "$work/repo"
pinned_copy "$dist" "$work/action"
size=$(stat -c %s "$tarball")
awk -v n="$(basename "$tarball")" -v b="$size" 'BEGIN {printf "portable tarball: %s, %.1f MB (%d bytes)\n", n, b / 1e6, b}'
for i in $(seq "$runs"); do
  start=$(date +%s.%N)
  (cd "$work/repo" && env -i PATH=/usr/bin:/bin HOME="$work" GITHUB_ACTIONS=true GITHUB_SHA="$(git rev-parse HEAD)" \
    GITHUB_REPOSITORY=o/app GITHUB_RUN_ID=$i GITHUB_WORKSPACE="$work/repo" GITHUB_SERVER_URL="http://127.0.0.1:$port" \
    GITHUB_ACTION_REPOSITORY=owner/pulse RUNNER_TOOL_CACHE="$work/cache.$i" RUNNER_TEMP="$work" \
    GITHUB_PATH="$work/path.$i" GITHUB_OUTPUT=/dev/null \
    python3 "$here/tests/action/runner.py" "$work/action" dry-run=true identifier=bench >/dev/null 2>&1)
  end=$(date +%s.%N)
  awk -v i="$i" -v s="$start" -v e="$end" \
    'BEGIN {printf "cold start %d: %.2f s (download over loopback, checksum, unpack, pulse-deploy --dry-run)\n", i, e - s}'
done
