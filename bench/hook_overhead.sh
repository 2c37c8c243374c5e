#!/usr/bin/env bash
# What pulse-hook costs git, with the collector down (nothing listens at the
# configured URL): median wall time of `git push` of one new commit to a
# local bare remote, of a 20-commit `git rebase`, and of `git commit`, each
# with and without the hooks installed (runs interleaved).
#   bench/hook_overhead.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-31}"
[[ -x build/release/hooks/pulse-hook ]] || scripts/setup.sh release >/dev/null
hook=$PWD/build/release/hooks/pulse-hook
work=$(mktemp -d /tmp/pulse-bench.XXXXXX)
# Background confirmations may still be retrying the (down) collector.
trap 'pkill -f "$work" 2>/dev/null; sleep 0.5; rm -rf "$work"' EXIT
export HOME=$work/home XDG_STATE_HOME=$work/state GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name bench; git config --global user.email bench@example.com
git config --global init.defaultBranch main

setup() {  # $1: dir, $2: with hooks (1/0)
  git init -q --bare "$1/remote.git"
  git clone -q "$1/remote.git" "$1/work" 2>/dev/null
  (cd "$1/work" && git config pulse.url http://127.0.0.1:9 && git commit -q --allow-empty -m base &&
   git push -q origin HEAD:main && if [[ $2 == 1 ]]; then "$hook" install >/dev/null; fi)
}
setup "$work/plain" 0
setup "$work/hooked" 1

now_ns() { date +%s%N; }
declare -A samples
measure() {  # $1: label, $2: dir, then the command (run in $2/work)
  local label=$1 dir=$2; shift 2
  local t0 t1
  t0=$(now_ns); (cd "$dir/work" && "$@" >/dev/null 2>&1); t1=$(now_ns)
  samples[$label]+="$(( (t1 - t0) / 1000 )) "
}
median_ms() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]/1000}'; }

for i in $(seq "$runs"); do
  for v in plain hooked; do
    (cd "$work/$v/work" && git commit -q --allow-empty -m "c$i")
    measure "push-$v" "$work/$v" git push -q origin HEAD:main
    measure "commit-$v" "$work/$v" git commit -q --allow-empty -m "x$i"
  done
  # Pushes are not back to back: let each push's background confirmation
  # (which starts only after git push exits) finish before the next run.
  sleep 0.6
done
for v in plain hooked; do
  (cd "$work/$v/work" && for j in $(seq 20); do git commit -q --allow-empty -m "r$j"; done)
done
for i in $(seq "$runs"); do
  for v in plain hooked; do measure "rebase-$v" "$work/$v" git rebase -q --force-rebase HEAD~20; done
done

printf '%-8s %12s %12s %8s %8s\n' "" "no hooks" "with hooks" "ratio" "target"
for op in push:1.15 rebase:1.05 commit:1.05; do
  name=${op%%:*}; target=${op##*:}
  a=$(median_ms "${samples[$name-plain]}"); b=$(median_ms "${samples[$name-hooked]}")
  printf '%-8s %10s ms %10s ms %8s %8s\n' "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b / a}')" "$target"
done
echo "(median of $runs runs each; collector down; outbox: $(ls "$XDG_STATE_HOME/pulse" 2>/dev/null | tr '\n' ' '))"
