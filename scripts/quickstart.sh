#!/usr/bin/env bash
# The embedded default, end to end: builds the binaries, starts a collector
# on SQLite, sends a change, a deployment and an incident with
# pulse-event-cli, shows what the collector stored and the DORA metrics it
# computes from them, and checks that the dashboard is served.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release

bin=build/release
work=$(mktemp -d /tmp/pulse-quickstart.XXXXXX)
db="$work/collector.db"
port=8765
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  echo "quickstart: port $port is busy; using a free port instead"
  port=0
fi

"$bin/collector/pulse-collector" serve --port "$port" --db "$db" 2>"$work/collector.log" &
collector=$!
trap 'kill $collector 2>/dev/null; wait $collector 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$work/collector.log" && break; sleep 0.05; done
cat "$work/collector.log"
url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/collector.log" | head -1)
export PULSE_BASE_URL="$url" PULSE_SYSTEM=quickstart-demo

cli="$bin/cli/pulse-event-cli"
now=$(date +%s)
commit=$(git rev-parse HEAD 2>/dev/null || echo 0123456789abcdef0123456789abcdef01234567)
set -x
"$cli" push change --identifier "$commit" --timestamp $((now - 7200))
"$cli" push deployment --identifier "quickstart-$now" --timestamp $((now - 3600)) --teams demo "$commit"
"$cli" push incident --identifier "INC-$now" --timestampCreated $((now - 1800)) --timestampResolved $((now - 600))
"$bin/collector/pulse-collector" events --db "$db"
"$bin/collector/pulse-collector" metrics --db "$db"
{ set +x; } 2>/dev/null
curl -fsS "$url/" | grep -q "<title>Pulse" && echo "quickstart: the dashboard answers at $url/"
echo
echo "quickstart: the collector stored the three events above in $db (removed on exit)."
echo "Run your own: $bin/collector/pulse-collector serve   (then pulse-event-cli push ... with no --base-url,"
echo "and open http://127.0.0.1:8765/ for the dashboard)"
