#!/usr/bin/env bash
# `push git deployment` of a 1,000-commit range (merges included) to a local
# collector on SQLite, end to end: process start, git walk, HTTP,
# durable storage. Prints the median and spread of RUNS runs.
#   bench/git_deployment.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
[[ -x build/release/cli/pulse-event-cli ]] || scripts/setup.sh release >/dev/null
bin=build/release
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT

../shared/bench/make-history --commits 1400 --tags 5 --seed 7 "$work/repo" >/dev/null
repo="$work/repo"
# The commit whose range to HEAD holds exactly 1,000 commits (or the first above).
prev=""
for sha in $(git -C "$repo" rev-list --first-parent HEAD | sed -n '850,1400p'); do
  n=$(git -C "$repo" rev-list --count "$sha..HEAD")
  if ((n >= 1000)); then prev=$sha; count=$n; break; fi
done
[[ -n $prev ]] || { echo "bench: no 1,000-commit range found" >&2; exit 1; }

start_server "$work/c.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/c.db"

times=()
for i in $(seq 0 "$runs"); do
  start=$(date +%s%N)
  # A fresh system each run, so every event is new and written durably.
  "$bin/cli/pulse-event-cli" push git deployment --base-url "$url" --system "bench-$i" \
    --directory "$repo" --previous-deployment-ref "$prev" --identifier "d$i" 2>/dev/null
  end=$(date +%s%N)
  ((i == 0)) && continue  # warm-up
  times+=($(( (end - start) / 1000 )))
done
stored=$("$bin/collector/pulse-collector" events --db "$work/c.db" --system bench-1 --type change --limit 100000 --format json | grep -o '"type":"change"' | wc -l)
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
median=${sorted[$(( ${#sorted[@]} / 2 ))]}
printf 'push git deployment, %d commits + 1 deployment, %d runs (changes stored per run: %d)\n' "$count" "$runs" "$stored"
awk -v m="$median" -v lo="${sorted[0]}" -v hi="${sorted[-1]}" \
  'BEGIN { printf "  median %.1f ms   min %.1f ms   max %.1f ms\n", m / 1000, lo / 1000, hi / 1000 }'
printf '  target: under 150 ms (the Go CLI: about 650 ms for 200 commits)\n'
