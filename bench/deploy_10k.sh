#!/usr/bin/env bash
# pulse-deploy of a 10,000-commit deployment (history from
# ../shared/bench/make-history) to a local pulse-collector on SQLite, end to
# end: git, encoding, HTTP, durable storage. Prints the median of RUNS runs.
#   bench/deploy_10k.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
[[ -x build/release/plugins/deploy/pulse-deploy ]] || scripts/setup.sh release >/dev/null
bin=build/release
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
source bench/lib.sh
trap 'stop_server; rm -rf "$work"' EXIT
../shared/bench/make-history --commits 10500 --tags 2 "$work/repo" >/dev/null
prev=""
for sha in $(git -C "$work/repo" rev-list --first-parent HEAD | sed -n '9000,10500p'); do
  n=$(git -C "$work/repo" rev-list --count "$sha..HEAD")
  if ((n >= 10000)); then prev=$sha; count=$n; break; fi
done
start_server "$work/c.log" "$bin/collector/pulse-collector" serve --port 0 --db "$work/c.db"
times=()
for i in $(seq 0 "$runs"); do
  start=$(date +%s%N)
  HOME=$work "$bin/plugins/deploy/pulse-deploy" --base-url "$url" --system "bench-$i" --directory "$work/repo" \
    --previous-deployment-ref "$prev" --identifier "d$i" 2>/dev/null
  end=$(date +%s%N)
  ((i == 0)) && continue
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "pulse-deploy of $count commits + 1 deployment, end to end: median ${sorted[$(( ${#sorted[@]} / 2 ))]} ms (min ${sorted[0]}, max ${sorted[-1]}; $runs runs)"
echo "stored per run: $(sqlite3 "$work/c.db" "SELECT COUNT(*) FROM events WHERE system = 'bench-1'") events"
echo "target: under 1 s"
