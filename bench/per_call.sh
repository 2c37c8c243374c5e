#!/usr/bin/env bash
# Milliseconds per pulse-event-cli call, one event each (push change, push
# deployment, push incident), over http:// and https:// to a local
# pulse-collector on SQLite, side by side with the Go CLI when one is given
# (default: ../shared/peers/pulse-event-cli-1.9.32 if it is there). The two
# CLIs take turns, call by call, so both see the same machine; each call has
# a new identifier. Both trust the test CA through $SSL_CERT_FILE. A third
# server that answers at once and stores nothing shows the clients' own cost.
# PULSE_BENCH_BIN=build/ci measures another build directory;
# PULSE_BENCH_CLI=build/portable/cli/pulse-event-cli another CLI (the static
# one the release archives and the Action ship).
#   bench/per_call.sh [RUNS] [GO_CLI]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-40}"
go="${2:-../shared/peers/pulse-event-cli-1.9.32}"
bin="${PULSE_BENCH_BIN:-build/release}"
[[ -x "$bin/cli/pulse-event-cli" ]] || scripts/setup.sh release >/dev/null
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
servers=()
trap 'for s in "${servers[@]}"; do server=$s stop_server; done; rm -rf "$work"' EXIT

# A CA and a certificate for 127.0.0.1, for the https collector.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" \
  2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null

start_server "$work/http.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/http.db"
servers+=("$server")
http_url=$url
"$bin/collector/pulse-collector" serve --port 0 --db "$work/https.db" --tls-cert "$work/server.pem" \
  --tls-key "$work/server.key" 2>"$work/https.log" &
servers+=($!)
for _ in $(seq 200); do grep -q "listening on" "$work/https.log" && break; sleep 0.05; done
https_url=$(grep -o 'https://[0-9.]*:[0-9]*' "$work/https.log" | head -1)
[[ -n "$https_url" ]] || { cat "$work/https.log" >&2; exit 1; }

# A server that answers 200 at once and stores nothing: the clients' own cost.
python3 - "$work/null.port" <<'PY' &
import asyncio, sys
async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
    except Exception:
        writer.close()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    open(sys.argv[1], "w").write(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()
asyncio.run(main())
PY
servers+=($!)
for _ in $(seq 100); do [[ -s "$work/null.port" ]] && break; sleep 0.05; done
null_url="http://127.0.0.1:$(cat "$work/null.port")"

clis=("ours=${PULSE_BENCH_CLI:-$bin/cli/pulse-event-cli}")
if [[ -x "$go" ]]; then clis+=("go=$go"); else echo "no Go CLI at $go: ours alone" >&2; fi

python3 - "$runs" "$http_url" "$https_url" "$null_url" "$work/ca.pem" "$work" "${clis[@]}" <<'EOF'
import os, resource, statistics, subprocess, sys, time
runs, (http_url, https_url, null_url, ca, home) = int(sys.argv[1]), sys.argv[2:7]
clis = dict(a.split("=", 1) for a in sys.argv[7:])
env = {"PATH": "/usr/bin:/bin", "HOME": home, "SSL_CERT_FILE": ca, "TZ": "UTC"}
t = "1602253523"
def command(kind, n):
    if kind == "change":
        return ["push", "change", "--identifier", f"c{n}", "--timestamp", t]
    if kind == "deployment":
        return ["push", "deployment", "--identifier", f"d{n}", "--timestamp", t, f"c{n}"]
    return ["push", "incident", "--identifier", f"i{n}", "--timestampCreated", t, "--timestampResolved", "1602257123"]
print(f"{'call':<34}" + "".join(f"{name + ' ms: median (p90) cpu':>34}" for name in clis))
n = 0
for scheme, url in (("null http", null_url), ("http", http_url), ("https", https_url)):
    for kind in ("change", "deployment", "incident"):
        times = {name: [] for name in clis}
        cpu = {name: [] for name in clis}
        for i in range(runs + 2):
            for name, path in clis.items():
                n += 1
                argv = [path] + command(kind, f"{name}-{n}") + ["--api-key", "K", "--base-url", url]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                r = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                took = (time.perf_counter() - start) * 1000
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
                if r.returncode != 0:
                    sys.exit(f"{name} {' '.join(argv)}: exit {r.returncode}: {r.stderr.decode()[:300]}")
                if i >= 2:  # the first two warm the page cache
                    times[name].append(took)
                    cpu[name].append(used)
        cells = ""
        for name in clis:
            s = sorted(times[name])
            cells += f"{statistics.median(s):>18.1f} ({s[int(len(s) * 0.9) - 1]:>5.1f}) {statistics.median(cpu[name]):>5.1f}   "
        print(f"push {kind} ({scheme})".ljust(34) + cells)
print(f"{runs} calls each, alternating; cpu: median user+sys ms of the CLI process;")
print("null: a server that answers at once and stores nothing; http/https: pulse-collector on SQLite (durable commits)")
print("target: ours at most Go's")
EOF
