#!/usr/bin/env bash
# GET /metrics (Prometheus) on a collector holding 1,000 systems: 20,000
# deployments, 170,000 changes and 10,000 incidents in the last 90 days (the
# DORA figures' default window), on SQLite. The first scrape waits for the
# figures; later ones copy what a background thread computed (refreshed at
# most once a minute). Each scrape is checked by promtool once.
#   bench/scrape.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-50}"
[[ -x build/release/bench/pulse-bench ]] || scripts/setup.sh release >/dev/null
bench=build/release/bench/pulse-bench
collector=build/release/collector/pulse-collector
work=$(mktemp -d /tmp/pulse-bench-scrape.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
"$bench" generate --db "$work/collector.db" --systems 1000 --deployments 20000 --days 90 --end "$(date +%s)"
PULSE_LOG_LEVEL=warn start_server "$work/log" "$collector" serve --port 0 --db "$work/collector.db"
"$bench" scrape --url "$url" --runs "$runs"
curl -s "$url/metrics" >"$work/metrics.txt"
echo "  $(grep -c '^pulse_dora_deployments{' "$work/metrics.txt") systems exported; promtool: $(promtool check metrics <"$work/metrics.txt" 2>&1 && echo ok)"
