#!/usr/bin/env bash
# The range engine at git.git scale, side by side with git itself in one run
# (history from ../shared/bench/make-history: 80,000 commits, 1,000 tags,
# topic branches forked up to 500 mainline commits back). Prints, as CPU
# seconds (user + sys, children included; median of RUNS):
#   1. a range walk of about 36,000 commits: the range engine (pulse-bench
#      range: resolve, walk, parse) against `git log --format='%H %ct'` on
#      the same range, without and then with a commit-graph (ratio to
#      `git rev-list`), and `push git deployment --dry-run` end to end;
#   2. pulse-deploy on a depth-1 clone whose previous deployment is 300
#      mainline commits back (file:// remote): wall time to the exact range,
#      fetching commits only and whole objects; with PULSE_BENCH_GIT_GIT=DIR
#      (a clone of git.git), the same there, 80 mainline commits back;
#   3. the previous-tag search over 1,000 tags (pulse-deploy on a full clone,
#      no collector record): wall time;
#   4. backfill --dry-run of the whole history (CPU), and a re-run against a
#      collector that already stores everything (wall time);
#   5. pulse-deploy of the range of part 1 to a local collector with the
#      "patches" extension (author and merge times, patch-ids), with
#      --no-patch-ids, and to a sink without extensions (wall time).
#   [PULSE_BENCH_GIT_GIT=DIR] bench/ranges.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
[[ -x build/release/cli/pulse-event-cli ]] || scripts/setup.sh release >/dev/null
bin=$PWD/build/release
cli=$bin/cli/pulse-event-cli
deploy=$bin/plugins/deploy/pulse-deploy
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
repo=$work/repo
../shared/bench/make-history --topic-span 500 "$repo" >/dev/null

# cpu CMD...: median CPU seconds (user + sys) of RUNS runs, output discarded.
cpu() {
  local samples=() TIMEFORMAT='%U %S'
  for _ in $(seq "$runs"); do
    samples+=("$({ time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%.3f", $1 + $2 }')")
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
wall() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'
}

# 1. A range of about 36,000 commits: the first tag (oldest first) whose range to HEAD reaches it.
prev=""
for t in $(git -C "$repo" for-each-ref --sort=creatordate --format='%(refname:short)' refs/tags | sed -n '400,700p'); do
  n=$(git -C "$repo" rev-list --count "$t..HEAD")
  if ((n <= 36500)); then prev=$t; count=$n; break; fi
done
[[ -n $prev ]] || { echo "bench: no range of about 36,000 commits" >&2; exit 1; }
engine() { "$bin/bench/pulse-bench" range --directory "$repo" --previous "$prev"; }
tool() { "$cli" push git deployment --identifier bench --previous-deployment-ref "$prev" --directory "$repo" --dry-run; }
for graph in without with; do
  if [[ $graph == with ]]; then git -C "$repo" commit-graph write --reachable 2>/dev/null; fi
  o=$(cpu engine)
  l=$(cpu git -C "$repo" log --format='%H %ct' "$prev..HEAD")
  r=$(cpu git -C "$repo" rev-list "$prev..HEAD")
  e=$(cpu tool)
  awk -v o="$o" -v l="$l" -v r="$r" -v e="$e" -v n="$count" -v g="$graph" 'BEGIN {
    printf "range walk of %d commits, %s commit-graph: ours %.3f s CPU, git log %.3f s (%.2fx), git rev-list %.3f s (%.2fx); push git deployment --dry-run %.3f s\n",
      n, g, o, l, o / l, r, o / r, e }'
done
echo "  targets: at most 1.0x git log without a commit-graph; at most 2x git rev-list with one"
rm -f "$repo/.git/objects/info/commit-graph"

# 2. A depth-1 clone, previous deployment 300 mainline commits back, with
#    the deepening fetching commits only (a server with uploadpack.allowFilter)
#    and whole objects (--fetch-filter none), side by side; then the same on a
#    clone of git.git when PULSE_BENCH_GIT_GIT names one (80 mainline commits
#    back, given as a SHA and as a tag): `git clone --bare --shared` of it, so
#    that its uploadpack.allowFilter can be set without touching it.
git -C "$repo" config uploadpack.allowFilter true
# deepen ORIGIN PREVIOUS FILTER: wall seconds, commits listed, the .git size and how the range was made.
deepen() {
  local origin=$1 previous=$2 filter=$3 t
  rm -rf "$work/shallow"
  git clone -q --depth 1 "file://$origin" "$work/shallow"
  t=$(wall bash -c "cd '$work/shallow' && '$deploy' --previous-deployment-ref '$previous' --fetch-filter $filter --base-url http://127.0.0.1:9 --dry-run > '$work/shallow.out' 2> '$work/shallow.err'")
  echo "$t s wall, $(wc -l < "$work/shallow.out") commits, .git $(du -sh "$work/shallow/.git" | cut -f1); $(grep -o 'range: .*' "$work/shallow.err" || true)"
}
prev300=$(git -C "$repo" rev-parse HEAD~300)
expected=$(git -C "$repo" rev-list --count "$prev300..HEAD")
echo "depth-1 clone, previous deployment 300 mainline commits back (git on the full history: $expected commits):"
echo "  commits only: $(deepen "$repo" "$prev300" auto)"
echo "  whole objects: $(deepen "$repo" "$prev300" none)"
echo "  target: under 10 s"
if [[ -n "${PULSE_BENCH_GIT_GIT:-}" ]]; then
  gg=$work/git.git
  git clone -q --bare --shared "$PULSE_BENCH_GIT_GIT" "$gg"
  git -C "$gg" config uploadpack.allowFilter true
  git -C "$gg" commit-graph write --reachable  # as the forges keep one: the server's walk takes most of the time
  prev80=$(git -C "$gg" rev-parse HEAD~80)
  git -C "$gg" tag bench-previous "$prev80"
  echo "git.git ($(git -C "$gg" rev-list --count HEAD) commits), depth-1 clone, previous deployment 80 mainline commits back ($(git -C "$gg" rev-list --count "$prev80..HEAD") commits):"
  for run in $(seq "$runs"); do
    echo "  run $run, by SHA, commits only: $(deepen "$gg" "$prev80" auto)"
    echo "  run $run, by tag, commits only: $(deepen "$gg" bench-previous auto)"
  done
  echo "  once, by SHA, whole objects: $(deepen "$gg" "$prev80" none)"
  echo "  target: under 8 s"
fi

# 3. Previous-tag search: a full clone, no collector record.
t=$(wall bash -c "cd '$repo' && '$deploy' --base-url http://127.0.0.1:9 --dry-run > '$work/tag.out' 2> '$work/tag.err'")
found=$(grep -o 'previous: [0-9a-f]* from tag [^;]*' "$work/tag.err" || true)
echo "previous-tag search over $(git -C "$repo" tag | wc -l) tags: $t s wall ($found)"
echo "  target: under 1 s"

# 4. Backfill: a dry run (CPU), then a re-run against a collector that has everything.
b=$(cpu "$cli" backfill --directory "$repo" --dry-run)
echo "backfill --dry-run of $(git -C "$repo" rev-list --count --all) commits and $(git -C "$repo" tag | wc -l) tags: $b s CPU"
echo "  target: under 10 s CPU"
start_server "$work/c.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/c.db"
first=$(wall "$cli" backfill --base-url "$url" --system bench --directory "$repo")
again=$(wall "$cli" backfill --base-url "$url" --system bench --directory "$repo")
echo "backfill into a collector: $first s wall; a re-run that finds nothing new: $again s wall"
echo "  target: re-run under 2 s"
stop_server

# 5. pulse-deploy of the range of part 1 to a local collector (a fresh
#    database each run, as a first report of it): with author and merge
#    times and patch-ids (the "patches" extension), with --no-patch-ids, and
#    through a proxy that hides the extension (what pulse-deploy sent before
#    it: the same collector, the same batches). Wall time of each of RUNS
#    runs. Then backfill into a fresh collector through the proxy, beside
#    part 4's.
proxy=$work/proxy.py
cat > "$proxy" <<'PY'
import http.client, http.server, sys
upstream = sys.argv[1].split("//")[1]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        c = http.client.HTTPConnection(upstream, timeout=600)
        c.request(self.command, self.path, body, {k: v for k, v in self.headers.items() if k.lower() != "host"})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding"): continue
            if k.lower() == "pulse-extensions":
                v = ", ".join(x.strip() for x in v.split(",") if x.strip() != "patches")
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = relay
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on http://127.0.0.1:%d" % s.server_address[1], file=sys.stderr, flush=True)
s.serve_forever()
PY
deploy_to() {  # URL [FLAGS...]
  local target=$1
  shift
  wall bash -c "cd '$repo' && '$deploy' --base-url '$target' --system bench --identifier bench --previous-deployment-ref '$prev' $* > '$work/d.out' 2> '$work/d.err'"
}
fresh_collector() {
  rm -f "$work/p.db"*
  start_server "$work/p.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/p.db"
}
behind_proxy() {  # starts the proxy in front of the collector start_server started; sets proxy_url
  local log=$work/proxy.log
  python3 "$proxy" "$url" 2>"$log" &
  proxy_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
  proxy_url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" | head -1)
}
declare -A took
for mode in full no-patch-ids without; do
  took[$mode]=""
  for _ in $(seq "$runs"); do
    fresh_collector
    case $mode in
      full) t=$(deploy_to "$url") ;;
      no-patch-ids) t=$(deploy_to "$url" --no-patch-ids) ;;
      without) behind_proxy; t=$(deploy_to "$proxy_url"); kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null || true ;;
    esac
    grep -q "reported deployment" "$work/d.err" || { echo "bench: pulse-deploy failed:" >&2; cat "$work/d.err" >&2; exit 1; }
    stop_server
    took[$mode]+="$t "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
f=$(median <<< "${took[full]}"); n=$(median <<< "${took[no-patch-ids]}"); w=$(median <<< "${took[without]}")
echo "pulse-deploy of the $count-commit range: with patch-ids, author and merge times ${took[full]}s; --no-patch-ids ${took[no-patch-ids]}s; without the extension ${took[without]}s"
awk -v f="$f" -v n="$n" -v w="$w" 'BEGIN { printf "  medians %.2f / %.2f / %.2f s: %.2fx without the extension\n", f, n, w, f / w }'
echo "  target: at most 2x without the extension"
fresh_collector
behind_proxy
t=$(wall "$cli" backfill --base-url "$proxy_url" --system bench --directory "$repo")
kill "$proxy_pid"
echo "backfill into a collector without the extension (through the proxy): $t s wall (part 4, with it: $first s)"
