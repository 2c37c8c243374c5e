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
#      mainline commits back (file:// remote): wall time to the exact range;
#   3. the previous-tag search over 1,000 tags (pulse-deploy on a full clone,
#      no collector record): wall time;
#   4. backfill --dry-run of the whole history (CPU), and a re-run against a
#      collector that already stores everything (wall time).
#   bench/ranges.sh [RUNS]
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

# 2. A depth-1 clone, previous deployment 300 mainline commits back.
prev300=$(git -C "$repo" rev-parse HEAD~300)
git clone -q --depth 1 "file://$repo" "$work/shallow"
expected=$(git -C "$repo" rev-list --count "$prev300..HEAD")
t=$(wall bash -c "cd '$work/shallow' && '$deploy' --previous-deployment-ref $prev300 --base-url http://127.0.0.1:9 --dry-run > '$work/shallow.out' 2> '$work/shallow.err'")
got=$(wc -l < "$work/shallow.out")
how=$(grep -o 'range: .*' "$work/shallow.err" || true)
echo "depth-1 clone, previous deployment 300 mainline commits back: $t s wall, $got commits (git on the full history: $expected)"
echo "  $how"
echo "  target: under 10 s"

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
