#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan, UBSan) and
# runs each for SECONDS (default 7: about a minute and a half for the thirteen), starting
# from the committed seeds in fuzz/corpus/<target>/ (and, for the alert
# sources, the payloads in ../shared/fixtures/alerts; for the forges,
# tests/fixtures/forges). New inputs go to a
# scratch directory, not the repository. A crash stops the run and names
# the input that caused it (reproduce: build/fuzz/fuzz/fuzz_TARGET FILE).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# For a long run: scripts/fuzz.sh 3600 ingest
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-7}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(alert_sources generic_mapping ingest forge json url args config times incident_auth retry_after
  ci_event hook_spool)

missing=()
for p in clang libclang-rt-14-dev ninja-build libtomlplusplus-dev libboost-json1.81-dev libboost-url1.81-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

scratch=$(mktemp -d /tmp/pulse-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  seeds=("fuzz/corpus/$t")
  if [[ "$t" == alert_sources && -d ../shared/fixtures/alerts ]]; then
    seeds+=(../shared/fixtures/alerts/alertmanager ../shared/fixtures/alerts/grafana ../shared/fixtures/alerts/pagerduty
            ../shared/fixtures/alerts/opsgenie ../shared/fixtures/alerts/bad)
  fi
  [[ "$t" == forge ]] && seeds+=(tests/fixtures/forges)
  mkdir -p "$scratch/$t"
  echo "fuzz: $t for ${seconds} s"
  if ! build/fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$scratch/" "$scratch/$t" "${seeds[@]}" >"$scratch/$t.log" 2>&1; then
    tail -40 "$scratch/$t.log" >&2
    mkdir -p build/fuzz/crashes && cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* build/fuzz/crashes/ 2>/dev/null || true
    echo "fuzz: $t failed; the input is kept in build/fuzz/crashes/" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|cov: " "$scratch/$t.log" | tail -2 | tr -s ' ' | sed 's/^/  /'
done
