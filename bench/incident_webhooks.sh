#!/usr/bin/env bash
# pulse-incident under load: wrk posts Alertmanager repeat notifications
# (the common case: repeat_interval re-sends open alerts) over keep-alive
# connections on loopback. Prints throughput, latency percentiles, errors,
# and the server's resident memory during a soak.
#   bench/incident_webhooks.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
conns="${2:-32}"
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
[[ -x build/release/plugins/incident/pulse-incident ]] || scripts/setup.sh release >/dev/null
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT

fixture=../shared/fixtures/alerts/alertmanager/firing.json
start_server "$work/log" env PULSE_INCIDENT_ALERTMANAGER_TOKEN=bench-token build/release/plugins/incident/pulse-incident \
  serve --port 0 --db "$work/state.db" --base-url http://127.0.0.1:9

cat >"$work/post.lua" <<LUA
local f = assert(io.open("$fixture", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-token"
LUA

rss() { awk '/VmRSS/ {print $2}' /proc/$server/status; }
( for _ in $(seq $((seconds / 5))); do sleep 5; echo "$(rss)"; done ) >"$work/rss" &
sampler=$!
echo "pulse-incident: ${seconds}s of POST /alertmanager, $conns keep-alive connections, 2 wrk threads"
wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$work/post.lua" "$url/alertmanager" | tee "$work/wrk" |
  grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors|requests in"
grep -q "Non-2xx" "$work/wrk" || echo "  Non-2xx or 3xx responses: 0"
grep -q "Socket errors" "$work/wrk" || echo "  Socket errors: 0"
wait $sampler
echo "resident memory (KiB), every 5 s: $(tr '\n' ' ' <"$work/rss")"
echo "targets: >= 5000 req/s, p99 < 20 ms, no errors, RSS < 50 MiB and flat"
