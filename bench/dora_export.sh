#!/usr/bin/env bash
# The Prometheus exporter's DORA refresh with many environments: a SQLite
# store of 50,000 deployments (725,000 events) over 20 systems and
# ENVIRONMENTS environments in the last 90 days; the one pass the exporter
# makes over every environment against the same figures computed one
# environment at a time, wall and CPU seconds, and whether the two
# expositions are equal.
#   bench/dora_export.sh [ENVIRONMENTS] [BUILD]   (default 2000, build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
environments="${1:-2000}"
build="${2:-build/release}"
[[ -x "$build/bench/pulse-bench" ]] || scripts/setup.sh release >/dev/null
work=$(mktemp -d /tmp/pulse-bench-export.XXXXXX)
trap 'rm -rf "$work"' EXIT
now=$(date +%s)
"$build/bench/pulse-bench" generate --db "$work/collector.db" --systems 20 --deployments 50000 --days 90 \
  --environments "$environments" --end "$now"
"$build/bench/pulse-bench" dora-export --db "$work/collector.db" --end "$now"
