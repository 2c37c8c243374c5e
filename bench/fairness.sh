#!/usr/bin/env bash
# Big requests do not stall small ones: 4 clients each post one deployment
# of 99,000 changes at once (about 4.3 MB each) into a fresh SQLite
# collector, while one client posts single events one after another; prints
# how long the small ones waited meanwhile. The committer takes small
# requests together and a big one alone, in turns.
#   bench/fairness.sh [BIG] [CHANGES]
# PULSE_BENCH_COLLECTOR: another build to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
big="${1:-4}"
changes="${2:-99000}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
collector="${PULSE_BENCH_COLLECTOR:-build/release/collector/pulse-collector}"
work=$(mktemp -d /tmp/pulse-bench-fairness.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
PULSE_LOG_LEVEL=warn start_server "$work/log" "$collector" serve --port 0 --db "$work/collector.db"
build/release/bench/pulse-bench fairness --url "$url" --big "$big" --changes "$changes"
