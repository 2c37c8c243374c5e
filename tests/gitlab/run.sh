#!/usr/bin/env bash
# The GitLab CI/CD component (templates/pulse-deploy.yml): checked (inputs
# declared and described, environment action verify), then run as GitLab
# runs a job (tests/gitlab/component.py: inputs interpolated, variables
# exported, CI_* variables of a pipeline) against the portable release on
# 127.0.0.1: it reports through pulse-deploy to a collector and writes the
# dotenv report; with a wrong checksum it fails before running.
#   tests/gitlab/run.sh DIST_DIR COLLECTOR_BIN
set -euo pipefail
dist=$(realpath "$1")
collector=$(realpath "$2")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
component="$here/templates/pulse-deploy.yml"
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
python3 "$here/tests/gitlab/component.py" check "$component" || fail "the component's checks"

# Setup: the release host, a collector, a pipeline's checkout.
mkdir -p "$work/www/good" "$work/www/bad"
cp "$dist"/pulse-client-*.tar.gz "$dist/SHA256SUMS" "$work/www/good/"
cp "$dist"/pulse-client-*.tar.gz "$work/www/bad/"
wrong_sums "$dist/SHA256SUMS" "$work/www/bad/SHA256SUMS"
release_server "$work/www" "$work/requests.log" || fail "the release server did not start"
pids+=("$RELEASE_PID")
port=$RELEASE_PORT
start_collector "$collector" "$work/collector.log" --db "$work/events.db" ||
  fail "the collector did not start: $(cat "$work/collector.log")"
pids+=("$COLLECTOR_PID")
collector_url=$COLLECTOR_URL
version=$("$here/scripts/version.sh")
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

# Run: a wrong checksum.
rm -f "$repo/pulse-deploy.env"
if out=$(job bad 2>&1); then fail "a wrong checksum passed: $out"; fi
# Check
grep -q "does not match SHA256SUMS: not run" <<<"$out" || fail "wrong checksum, wrong message: $out"
[[ -e "$repo/pulse-deploy.env" ]] && fail "pulse-deploy ran after a wrong checksum"
echo "gitlab component test: ok (checked; the job reports from the release; a wrong checksum stops it)"
