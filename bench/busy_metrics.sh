#!/usr/bin/env bash
# Heavy metrics queries do not delay liveness or ingestion: 32 clients ask
# for ten years of daily metrics over and over from a collector holding
# 290,000 events in 1,000 systems, while one client times GET /healthz
# (answered on the I/O thread) and another posts single events (SQLite's
# committer; metrics run on two threads of their own). On SQLite, and on
# PostgreSQL (where ingestion uses the handler pool the metrics no longer
# hold).
#   bench/busy_metrics.sh [SECONDS] [CLIENTS]
# PULSE_BENCH_COLLECTOR: another build to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
clients="${2:-32}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
bench=build/release/bench/pulse-bench
collector="${PULSE_BENCH_COLLECTOR:-build/release/collector/pulse-collector}"
work=$(mktemp -d /tmp/pulse-bench-busy.XXXXXX)
admin="${PULSE_BENCH_POSTGRES:-$(scripts/test-services.sh)}"
pg="${admin%/*}/pulse_bench_busy"
source bench/lib.sh
trap 'stop_server; rm -rf "$work"; psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_busy WITH (FORCE)" 2>/dev/null' EXIT
psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_busy WITH (FORCE)" -c "CREATE DATABASE pulse_bench_busy" 2>/dev/null
for db in "$work/collector.db" "$pg"; do
  "$bench" generate --db "$db" --systems 1000 --deployments 20000 --days 90 --end "$(date +%s)" >/dev/null
  [[ "$db" == postgresql://* ]] && echo "PostgreSQL:" || echo "SQLite:"
  PULSE_LOG_LEVEL=warn start_server "$work/log" "$collector" serve --port 0 --db "$db"
  "$bench" busy --url "$url" --queries "$clients" --seconds "$seconds"
  stop_server
done
