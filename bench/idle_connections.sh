#!/usr/bin/env bash
# Connection pressure on a local collector (SQLite): COUNT idle sockets that
# never send a byte (the collector holds 16,384 at once; beyond that it closes
# the longest-idle ones to make room), then a normal client: the time of 20
# requests on new connections (median and max) and the collector's resident
# memory before and under the load.
#   bench/idle_connections.sh [COUNT]   (COUNT within this shell's hard open-file limit)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
[[ -x build/release/collector/pulse-collector ]] || scripts/setup.sh release >/dev/null
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
start_server "$work/c.log" build/release/collector/pulse-collector serve --port 0 --db "$work/c.db"
port=${url##*:}
rss() { awk '/VmRSS/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$server/status"; }
echo "collector at rest: $(rss)"
python3 - "$port" "$count" "$server" <<'PY'
import socket, statistics, sys, time
port, count, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
idle = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    idle.append(s)
time.sleep(1)
held = rss()
times = []
for i in range(20):
    t = time.perf_counter()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    c.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:40]
    times.append((time.perf_counter() - t) * 1000)
print(f"{count} idle sockets opened: collector {held:.1f} MiB resident;"
      f" a normal client: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over 20 requests")
for s in idle:
    s.close()
PY
grep "connections:" "$work/c.log" | head -2 || true
echo "targets: RSS under 200 MiB, a normal client under 50 ms"
