#!/usr/bin/env bash
# Forge webhook intake: CLIENTS clients (default 8) post signed GitHub push
# deliveries of 20 new commits each (40 events: a commit and a push time per
# commit) into a fresh collector on SQLite, one after another on kept-alive
# connections, for SECONDS; prints deliveries per second and their latency.
# Every 2xx is durable (the group committer, synchronous=FULL).
#   bench/forge_webhooks.sh [SECONDS] [CLIENTS] [COMMITS]
# PULSE_BENCH_COLLECTOR: another build to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
clients="${2:-8}"
commits="${3:-20}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
collector="${PULSE_BENCH_COLLECTOR:-build/release/collector/pulse-collector}"
work=$(mktemp -d /tmp/pulse-bench-forge.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
echo "bench-secret" >"$work/secret"
echo "forge webhooks: $clients clients, $commits commits per push, ${seconds} s, SQLite"
for level in info warn; do
  rm -f "$work"/collector.db*
  PULSE_LOG_LEVEL=$level start_server "$work/log" "$collector" serve --port 0 --db "$work/collector.db" \
    --github-webhook-secret-file "$work/secret"
  echo " log level $level:"
  build/release/bench/pulse-bench forge --url "$url" --secret bench-secret --clients "$clients" --commits "$commits" \
    --seconds "$seconds"
  echo "  stored changes: $(sqlite3 "$work/collector.db" "SELECT count(*) FROM events"); WAL at the end: $(($(stat -c %s "$work/collector.db-wal") / 1048576)) MiB (checkpointed by a thread of its own)"
  stop_server
done
