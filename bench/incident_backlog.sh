#!/usr/bin/env bash
# pulse-incident's delivery of a burst: N resolved alerts (Alertmanager
# notifications of 1,000 alerts each, every alert opened and resolved) posted
# as fast as it takes them, delivered to a pulse-collector on SQLite on
# loopback. Prints how long the posting took, how long until the collector
# holds every incident, the delivery rate, and pulse-incident's backlog
# gauges in /metrics during the drain.
#   bench/incident_backlog.sh [INCIDENTS] [BUILD]   (default 30000, build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-30000}"
build="${2:-build/release}"
[[ -x "$build/plugins/incident/pulse-incident" ]] || scripts/setup.sh release >/dev/null
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
collector_pid=
cleanup() {
  stop_server
  [[ -n "$collector_pid" ]] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
start_server "$work/collector.log" "$build/collector/pulse-collector" serve --port 0 --db "$work/events.db"
collector_url=$url
collector_pid=$server
server=
start_server "$work/incident.log" env PULSE_OUTBOX="$work/outbox.db" PULSE_INCIDENT_ALERTMANAGER_TOKEN=bench-token \
  "$build/plugins/incident/pulse-incident" serve --port 0 --db "$work/state.db" --base-url "$collector_url"
echo "pulse-incident: $n alerts opened and resolved in a burst, delivered to a pulse-collector (SQLite) on loopback"
python3 - "$url" "$collector_url" "$n" <<'PY'
import json, sys, time, urllib.request
url, collector, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(alerts):
    body = json.dumps({"receiver": "r", "status": "resolved", "version": "4", "groupKey": "g", "truncatedAlerts": 0,
                       "alerts": alerts, "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                       "externalURL": "http://am"}).encode()
    req = urllib.request.Request(url + "/alertmanager", body, {"Content-Type": "application/json",
                                                                "Authorization": "Bearer bench-token"})
    urllib.request.urlopen(req, timeout=60).read()
def metric(name):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None
start = time.time()
for first in range(0, n, 1000):
    alerts = []
    for i in range(first, min(n, first + 1000)):
        alerts.append({"status": "resolved", "labels": {"alertname": "A%d" % i, "service": "s"}, "annotations": {},
                       "startsAt": "2026-03-10T14:02:17Z", "endsAt": "2026-03-10T14:39:02Z",
                       "fingerprint": "%016x" % i})
    post(alerts)
posted = time.time()
print("  posted %d resolved alerts in %.1f s" % (n, posted - start))
samples = []
while True:
    waiting = metric("pulse_incident_reports_waiting")
    pending = metric("pulse_outbox_pending")
    delivered = metric("pulse_reports_delivered") or 0
    samples.append((time.time() - posted, waiting, pending, delivered))
    if delivered >= n or time.time() - posted > 1200:
        break
    time.sleep(1)
done = time.time()
for t, w, p, d in samples[:: max(1, len(samples) // 8)]:
    print("  +%5.1f s: waiting %s, outbox %s, delivered %d" % (t, "-" if w is None else w, p, d))
print("  all %d delivered %.1f s after the last post (%.0f incidents/s); target: under 60 s" %
      (delivered, done - posted, delivered / max(done - posted, 1e-9)))
PY
count=$("$build/collector/pulse-collector" events --db "$work/events.db" --type incident --all --format json |
  python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
echo "  the collector holds $count incident event(s)"
[[ "$count" == "$n" ]] || { echo "bench: $count stored, $n expected" >&2; exit 1; }
