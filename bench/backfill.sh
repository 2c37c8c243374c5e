#!/usr/bin/env bash
# `pulse-event-cli backfill` of a history shaped like git.git (80,000 commits,
# 1,000 tags, merges; from ../shared/bench/make-history) into a local
# pulse-collector on SQLite, end to end. Prints the wall time and what was stored.
#   bench/backfill.sh [COMMITS] [TAGS]
set -euo pipefail
cd "$(dirname "$0")/.."
commits="${1:-80000}"
tags="${2:-1000}"
[[ -x build/release/cli/pulse-event-cli ]] || scripts/setup.sh release >/dev/null
bin=build/release
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
../shared/bench/make-history --commits "$commits" --tags "$tags" "$work/repo" >/dev/null
start_server "$work/c.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/c.db"
start=$(date +%s%N)
"$bin/cli/pulse-event-cli" backfill --base-url "$url" --system bench --directory "$work/repo" 2>&1 | tail -1
end=$(date +%s%N)
second_start=$(date +%s%N)
"$bin/cli/pulse-event-cli" backfill --base-url "$url" --system bench --directory "$work/repo" >/dev/null 2>&1
second_end=$(date +%s%N)
stored=$(sqlite3 "$work/c.db" "SELECT type, COUNT(*) FROM events GROUP BY type" | tr '\n' ' ')
awk -v a="$start" -v b="$end" -v c="$second_start" -v d="$second_end" -v n="$commits" -v t="$tags" 'BEGIN {
  printf "backfill of %d commits and %d tags: %.2f s (re-run, storing nothing new: %.2f s)\n", n, t, (b - a) / 1e9, (d - c) / 1e9 }'
echo "stored: $stored"
echo "target: under 30 s"
