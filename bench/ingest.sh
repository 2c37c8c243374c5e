#!/usr/bin/env bash
# Sustained ingestion into a fresh collector: 8 clients, each on its own
# keep-alive connection, post new change events (one per request, the Go
# CLI's wire format) as fast as the collector answers; every 2xx is durable
# (committed with synchronous=FULL on SQLite, synchronous_commit on
# PostgreSQL). Then the same with 10-event batches (our clients' batch
# extension). SQLite, then PostgreSQL.
#   bench/ingest.sh [SECONDS] [CLIENTS]
# PostgreSQL comes from $PULSE_BENCH_POSTGRES (a URI whose role may create
# databases), else from scripts/test-services.sh (the local cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
clients="${2:-8}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
bench=build/release/bench/pulse-bench
collector=build/release/collector/pulse-collector
work=$(mktemp -d /tmp/pulse-bench-ingest.XXXXXX)
admin="${PULSE_BENCH_POSTGRES:-$(scripts/test-services.sh)}"
pg="${admin%/*}/pulse_bench_ingest"
server=
trap '[[ -n "$server" ]] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

run() {  # DB LABEL
  "$collector" serve --port 0 --db "$1" 2>"$work/log" &
  server=$!
  for _ in $(seq 200); do grep -q "listening on" "$work/log" && break; sleep 0.05; done
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/log" | head -1)
  echo "$2:"
  "$bench" ingest --url "$url" --clients "$clients" --seconds "$seconds" --batch 1
  "$bench" ingest --url "$url" --clients "$clients" --seconds "$seconds" --batch 10
  kill $server
  wait $server 2>/dev/null || true
  server=
}

run "$work/collector.db" "SQLite (WAL, synchronous=FULL)"
psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_ingest WITH (FORCE)" -c "CREATE DATABASE pulse_bench_ingest"
run "$pg" "PostgreSQL (synchronous_commit=on)"
psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_ingest WITH (FORCE)"
