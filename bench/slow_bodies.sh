#!/usr/bin/env bash
# Hostile bodies against a local collector (release build, SQLite, an API
# key): keyless sockets that send headers announcing a body and then one
# byte a second, keyless sockets announcing 8 MiB, and keyed ones announcing
# 8 MiB and sending slowly (the memory budget's case), all from 127.0.0.2,
# while a normal keyed client on 127.0.0.1 posts one event at a time.
# Prints how the attackers were answered, the normal client's latencies
# and the collector's peak resident size.
#   bench/slow_bodies.sh [SLOW] [BIG] [KEYED_BIG] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
slow="${1:-2000}"
big="${2:-500}"
keyed="${3:-300}"
seconds="${4:-20}"
[[ -x build/release/collector/pulse-collector ]] || scripts/setup.sh release >/dev/null
collector="${PULSE_BENCH_COLLECTOR:-build/release/collector/pulse-collector}"
work=$(mktemp -d /tmp/pulse-bench-slow.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)"
start_server "$work/c.log" "$collector" serve --port 0 --db "$work/c.db" --api-key bench-key --log-level warn
port=${url##*:}
python3 - "$port" "$server" "$slow" "$big" "$keyed" "$seconds" <<'PY'
import socket, sys, threading, time
port, pid, slow, big, keyed, seconds = (int(x) for x in sys.argv[1:])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1]) // 1024
def head(length, key):
    auth = "Authorization: Bearer bench-key\r\n" if key else ""
    return (f"POST /v1/ingestion/cli?system=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {length}\r\n\r\n").encode()
def attacker(n, length, first, key):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(10)
        try:
            s.connect(("127.0.0.1", port)); s.sendall(head(length, key) + b"[" * first); socks.append(s)
        except OSError: pass
    return socks
def status(s):
    try:
        data = s.recv(64)
        return data[9:12].decode() if len(data) > 12 else "closed"
    except OSError: return "closed"
peak = [rss()]
stop = False
def watch():
    while not stop:
        peak[0] = max(peak[0], rss()); time.sleep(0.05)
threading.Thread(target=watch, daemon=True).start()
body = b'{"source":"cli","change_id":"%d","time_created":"2026-01-01T00:00:00Z","event_type":"commit","$type":"change"}'
latencies, failures = [], 0
def normal():
    global failures
    i = 0
    while not stop:
        i += 1
        b = body % i
        t = time.time()
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            c.sendall(head(len(b), True) + b)
            ok = c.recv(64)[9:12] == b"200"
            c.close()
        except OSError: ok = False
        if ok: latencies.append(time.time() - t)
        else: failures += 1
        time.sleep(0.05)
threading.Thread(target=normal, daemon=True).start()
a = attacker(slow, 100000, 1, False)
b = attacker(big, 8 << 20, 65536, False)
k = attacker(keyed, 8 << 20, 65536, True)
end = time.time() + seconds
while time.time() < end:  # one more byte a second on every slow and keyed socket
    for s in a + k:
        try: s.send(b"[")
        except OSError: pass
    time.sleep(1)
stop = True
def tally(socks):
    out = {}
    for s in socks:
        st = status(s)
        out[st] = out.get(st, 0) + 1
    return out
print(f"keyless, headers then a byte a second: {len(a)} sockets: {tally(a)}")
print(f"keyless, announcing 8 MiB: {len(b)} sockets: {tally(b)}")
print(f"keyed, announcing 8 MiB, a byte a second: {len(k)} sockets: {tally(k)} (503: over the body budget; closed: cut for their rate)")
latencies.sort()
if latencies:
    print(f"normal client: {len(latencies)} requests answered 200, {failures} failed; "
          f"median {latencies[len(latencies)//2]*1000:.1f} ms, max {latencies[-1]*1000:.1f} ms")
print(f"collector resident size: peak {peak[0]} MiB, now {rss()} MiB")
PY
echo "target: normal client served within 1 s throughout; resident size under 300 MiB"
