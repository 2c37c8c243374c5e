#!/usr/bin/env bash
# The DORA model over about 1,000,000 stored events: 100,000 deployments
# (2% of them rollbacks, each with its head commit), 931,000 changes and
# 5,000 incidents over two years in 20 systems, on SQLite and on PostgreSQL;
# then pages of 100 records behind the figures (GET /v1/metrics/explain).
# The history is written once per store (kept in $PULSE_BENCH_DIR, default
# /tmp/pulse-bench-dora, and in the PostgreSQL database pulse_bench_dora);
# a real collector answers, timed end to end over HTTP.
#   bench/dora.sh [RUNS]
# PostgreSQL comes from $PULSE_BENCH_POSTGRES (a URI whose role may create
# databases), else from scripts/test-services.sh (the local cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-15}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
bench=build/release/bench/pulse-bench
collector=build/release/collector/pulse-collector
dir="${PULSE_BENCH_DIR:-/tmp/pulse-bench-dora}"
mkdir -p "$dir"
admin="${PULSE_BENCH_POSTGRES:-$(scripts/test-services.sh)}"
pg="${admin%/*}/pulse_bench_dora"
source bench/lib.sh
trap stop_server EXIT

measure() {  # DB LABEL
  start_server "$dir/log" "$collector" serve --port 0 --db "$1"
  echo "$2: the DORA model over $3 events"
  "$bench" metrics --url "$url" --runs "$runs" --model dora
  stop_server
}

if [[ ! -s "$dir/sqlite.db" ]]; then
  "$bench" generate --dora 1 --db "$dir/sqlite.db.tmp" && mv "$dir/sqlite.db.tmp" "$dir/sqlite.db"
fi
measure "$dir/sqlite.db" SQLite "$(sqlite3 "$dir/sqlite.db" "SELECT count(*) FROM events")"

if [[ "$(psql "$pg" -tAc "SELECT count(*) FROM events WHERE type = 'deployment'" 2>/dev/null || echo 0)" != 100000 ]]; then
  psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_dora WITH (FORCE)" -c "CREATE DATABASE pulse_bench_dora"
  "$bench" generate --dora 1 --db "$pg"
  psql "$pg" -qc "VACUUM ANALYZE events, change_facts, change_deployments, deployment_changes, systems, environments"
fi
measure "$pg" PostgreSQL "$(psql "$pg" -tAc "SELECT count(*) FROM events")"
