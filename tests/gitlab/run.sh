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
awk '{d = substr($1, 1, 1) == "0" ? "1" : "0"; print d substr($1, 2) "  " $2}' "$dist/SHA256SUMS" >"$work/www/bad/SHA256SUMS"
python3 "$here/tests/action/release_server.py" "$work/www" "$work/requests.log" >"$work/port" &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
"$collector" serve --port 0 --db "$work/events.db" >"$work/collector.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q " listening on " "$work/collector.log" && break; sleep 0.1; done
collector_url=$(sed -n 's/.* listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/collector.log" | head -1)
[[ -n "$collector_url" ]] || fail "the collector did not start: $(cat "$work/collector.log")"
version=$(sed -n 's/^project(pulse VERSION \([0-9.]*\) .*/\1/p' "$here/CMakeLists.txt")
repo="$work/repo"
git init -q -b main "$repo"
(cd "$repo" && export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.com &&
  echo 1 >a && git add a && git commit -q -m one && git tag v1.0.0 && echo 2 >b && git add b && git commit -q -m two)
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
grep -q "^PULSE_CHANGES=1" "$repo/pulse-deploy.env" || fail "no dotenv report: $(cat "$repo/pulse-deploy.env" 2>&1)"
"$collector" events --db "$work/events.db" --type deployment --format json | grep -q '"environment":"staging"' ||
  fail "the collector holds no staging deployment"

# Run: a wrong checksum.
rm -f "$repo/pulse-deploy.env"
if out=$(job bad 2>&1); then fail "a wrong checksum passed: $out"; fi
# Check
grep -q "does not match SHA256SUMS: not run" <<<"$out" || fail "wrong checksum, wrong message: $out"
[[ -e "$repo/pulse-deploy.env" ]] && fail "pulse-deploy ran after a wrong checksum"
echo "gitlab component test: ok (checked; the job reports from the release; a wrong checksum stops it)"
