#!/usr/bin/env bash
# The DORA metrics over 1,000,000 stored events: 100,000 deployments,
# 850,000 changes and 50,000 incidents over two years in 20 systems, on
# SQLite and on PostgreSQL. `pulse-bench generate` writes the history once per
# store (kept in $PULSE_BENCH_DIR, default /tmp/pulse-bench-metrics, and in
# the PostgreSQL database pulse_bench_1m); then a real collector answers
# GET /v1/metrics, timed end to end over HTTP.
#   bench/metrics.sh [RUNS]
# PostgreSQL comes from $PULSE_BENCH_POSTGRES (a URI whose role may create
# databases), else from scripts/test-services.sh (the local cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
bench=build/release/bench/pulse-bench
collector=build/release/collector/pulse-collector
dir="${PULSE_BENCH_DIR:-/tmp/pulse-bench-metrics}"
mkdir -p "$dir"
admin="${PULSE_BENCH_POSTGRES:-$(scripts/test-services.sh)}"
pg="${admin%/*}/pulse_bench_1m"
source bench/lib.sh
trap stop_server EXIT

measure() {  # DB LABEL
  start_server "$dir/log" "$collector" serve --port 0 --db "$1"
  echo "$2: GET /v1/metrics over 1,000,000 events"
  "$bench" metrics --url "$url" --runs "$runs"
  stop_server
}

if [[ ! -s "$dir/sqlite.db" ]]; then
  "$bench" generate --db "$dir/sqlite.db.tmp" && mv "$dir/sqlite.db.tmp" "$dir/sqlite.db"
fi
echo "SQLite: $(sqlite3 "$dir/sqlite.db" "SELECT count(*) FROM events") events"
measure "$dir/sqlite.db" SQLite

if [[ "$(psql "$pg" -tAc "SELECT count(*) FROM events" 2>/dev/null || echo 0)" != 1000000 ]]; then
  psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_1m WITH (FORCE)" -c "CREATE DATABASE pulse_bench_1m"
  "$bench" generate --db "$pg"
  psql "$pg" -qc "VACUUM ANALYZE events, change_facts, change_deployments, deployment_changes, systems, environments"
fi
echo "PostgreSQL: $(psql "$pg" -tAc "SELECT count(*) FROM events") events"
measure "$pg" PostgreSQL
