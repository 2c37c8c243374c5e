#!/usr/bin/env bash
# The GitLab CI/CD component (templates/pulse-deploy.yml): checked (inputs
# declared and described, environment action verify), then run as GitLab
# runs a job (tests/gitlab/component.py: inputs interpolated, variables
# exported, CI_* variables of a pipeline), pinned to DIST's archive
# (scripts/pin-release.sh, as a release commit is), against the portable
# release on 127.0.0.1: it reports through pulse-deploy to a collector and
# writes the dotenv report; a release host serving a foreign tarball with a
# SHA256SUMS that matches it, and an unpinned version, stop it before
# anything runs.
#   tests/gitlab/run.sh DIST_DIR COLLECTOR_BIN
set -euo pipefail
dist=$(realpath "$1")
collector=$(realpath "$2")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "gitlab component test: FAILED: $*" >&2
  exit 1
}
version=$("$here/scripts/version.sh")
name="pulse-client-$version-linux-x86_64"
python3 "$here/tests/gitlab/component.py" check "$here/templates/pulse-deploy.yml" || fail "the component's checks"
pinned_copy "$dist" "$work/pinned" || fail "pinning the component to $dist"
component="$work/pinned/templates/pulse-deploy.yml"
python3 "$here/tests/gitlab/component.py" check "$component" || fail "the pinned component's checks"

# Setup: the release host (the real release, and a foreign tarball of the
# same name with a SHA256SUMS that matches it), a collector, a checkout.
mkdir -p "$work/www/good"
cp "$dist/$name.tar.gz" "$dist/SHA256SUMS" "$work/www/good/"
swapped_release "$name" "$work/www/swapped" "$work/foreign-ran"
release_server "$work/www" "$work/requests.log" || fail "the release server did not start"
pids+=("$RELEASE_PID")
port=$RELEASE_PORT
start_collector "$collector" "$work/collector.log" --db "$work/events.db" ||
  fail "the collector did not start: $(cat "$work/collector.log")"
pids+=("$COLLECTOR_PID")
collector_url=$COLLECTOR_URL
repo="$work/repo"
tagged_checkout "$repo"
job() {  # RELEASE_DIR [INPUT=VALUE ...]
  local where=$1
  shift
  env -i PATH=/usr/bin:/bin HOME="$work" TMPDIR="$work" GITLAB_CI=true CI=true CI_PROJECT_DIR="$repo" \
    CI_COMMIT_SHA="$(git -C "$repo" rev-parse HEAD)" CI_COMMIT_REF_NAME=main CI_PROJECT_PATH=group/app \
    CI_PIPELINE_ID=7 CI_JOB_ID=99 CI_JOB_URL="http://127.0.0.1:$port/group/app/-/jobs/99" \
    python3 "$here/tests/gitlab/component.py" run "$component" \
    "release_url=http://127.0.0.1:$port/$where" "version=$version" "base_url=$collector_url" "$@"
}

# Run
out=$(job good environment=staging 2>&1) || fail "the job: $out"
# Check: pulse-deploy ran as GitLab's step, for the input's environment, and wrote the dotenv report.
grep -q "gitlab-ci; deploying .* environment staging" <<<"$out" || fail "pulse-deploy did not run: $out"
grep -q "^PULSE_CHANGES=2" "$repo/pulse-deploy.env" || fail "no dotenv report: $(cat "$repo/pulse-deploy.env" 2>&1)"
"$collector" events --db "$work/events.db" --type deployment --format json | grep -q '"environment":"staging"' ||
  fail "the collector holds no staging deployment"

grep -q "/good/SHA256SUMS" "$work/requests.log" && fail "the host's SHA256SUMS was fetched: $(cat "$work/requests.log")"

# Run: the release host swapped both the tarball and its SHA256SUMS.
rm -f "$repo/pulse-deploy.env"
if out=$(job swapped 2>&1); then fail "a swapped release passed: $out"; fi
# Check
grep -q "does not match the checksum this component pins: not run" <<<"$out" || fail "swapped release, wrong message: $out"
[[ -e "$work/foreign-ran" || -e "$repo/pulse-deploy.env" ]] && fail "a pulse-deploy ran after a swapped release: $out"
# Run: a version this component does not pin, and the same with its sha256 given.
if out=$(job good version=9.9.9 2>&1); then fail "an unpinned version passed: $out"; fi
grep -q "pins no checksum for pulse-client-9.9.9-linux-x86_64.tar.gz" <<<"$out" || fail "unpinned version, wrong message: $out"
out=$(job swapped "sha256=$(cut -d' ' -f1 "$work/www/swapped/SHA256SUMS")" 2>&1) || fail "the sha256 input: $out"
[[ -e "$work/foreign-ran" ]] || fail "the sha256 input's archive did not run: $out"
echo "gitlab component test: ok (checked; the job reports from the pinned release; a swapped release and an unpinned version stop it)"
