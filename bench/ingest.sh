#!/usr/bin/env bash
# Sustained ingestion into a fresh collector: wrk keeps 8 keep-alive
# connections (8 concurrent clients) posting new change events, each request
# with its own ids, as fast as the collector answers. Every 2xx is durable
# (SQLite: committed with synchronous=FULL, by the group committer;
# PostgreSQL: synchronous_commit=on). First one event per request (the Go
# CLI's wire format), then 10-event batches (our clients' batch extension).
# Events per second count the answered requests; the stored count is printed
# beside them (it may exceed them by the requests still in flight at the end).
# Each case runs twice: with the request log on (the default, one line per
# request into a file) and with --log-level warn (no request lines).
#   bench/ingest.sh [SECONDS] [CLIENTS]
# PostgreSQL comes from $PULSE_BENCH_POSTGRES (a URI whose role may create
# databases), else from scripts/test-services.sh (the local cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
clients="${2:-8}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[[ -x build/release/collector/pulse-collector ]] || scripts/setup.sh release >/dev/null
# PULSE_BENCH_COLLECTOR: another build to compare (A/B on the same machine and run).
collector="${PULSE_BENCH_COLLECTOR:-build/release/collector/pulse-collector}"
work=$(mktemp -d /tmp/pulse-bench-ingest.XXXXXX)
admin="${PULSE_BENCH_POSTGRES:-$(scripts/test-services.sh)}"
pg="${admin%/*}/pulse_bench_ingest"
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT

for batch in 1 10; do
  # Every run sends new ids (RUN comes from the environment): no run meets another's duplicates.
  cat >"$work/post-$batch.lua" <<LUA
local counter, threads, run = 0, 0, os.getenv("RUN") or "0"
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function request()
  local events = {}
  for i = 1, $batch do
    counter = counter + 1
    events[i] = '{"source":"bench","change_id":"r' .. run .. '-b$batch-t' .. id .. '-' .. counter ..
      '","time_created":"2026-01-01T00:00:00Z","event_type":"commit","\$type":"change"}'
  end
  local path, body = "/v1/ingestion/cli?system=bench", events[1]
  if $batch > 1 then path, body = "/v1/ingestion/cli/batch?system=bench", "[" .. table.concat(events, ",") .. "]" end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
LUA
done

count() {  # DB
  if [[ "$1" == postgresql://* ]]; then psql "$1" -tAc "SELECT count(*) FROM events"
  else sqlite3 "$1" "SELECT count(*) FROM events"; fi
}

run() {  # DB LABEL
  echo "$2"
  for case in "1 info" "1 warn" "10 info" "10 warn"; do
    read -r batch level <<<"$case"
    PULSE_LOG_LEVEL=$level start_server "$work/log" "$collector" serve --port 0 --db "$1"
    before=$(count "$1")
    RUN="$level" wrk -t2 -c"$clients" -d"${seconds}s" --latency -s "$work/post-$batch.lua" "$url/" >"$work/wrk"
    stop_server
    requests=$(awk '/requests in/ {print $1}' "$work/wrk")
    secs=$(awk '/requests in/ {sub(/s,/, "", $4); print $4}' "$work/wrk")
    stored=$(($(count "$1") - before))
    errors=$(grep -E "Non-2xx|Socket errors" "$work/wrk" | tr -s ' ' || true)
    awk -v b="$batch" -v r="$requests" -v s="$secs" -v st="$stored" -v c="$clients" -v l="$level" \
      -v p50="$(awk '$1 == "50%" {print $2}' "$work/wrk")" -v p99="$(awk '$1 == "99%" {print $2}' "$work/wrk")" \
      'BEGIN { printf "  %d clients, %2d event(s) per request, log %s: %.0f durable events/s (%d requests answered in %.1f s, %d events stored), latency p50 %s, p99 %s\n", c, b, (l == "info" ? "on " : "off"), r * b / s, r, s, st, p50, p99 }'
    if [[ -n "$errors" ]]; then echo "  errors: $errors"; fi
  done
}

run "$work/collector.db" "SQLite (WAL, synchronous=FULL), fresh database:"
psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_ingest WITH (FORCE)" -c "CREATE DATABASE pulse_bench_ingest" 2>/dev/null
run "$pg" "PostgreSQL (synchronous_commit=on), fresh database:"
psql "$admin" -qc "DROP DATABASE IF EXISTS pulse_bench_ingest WITH (FORCE)"
