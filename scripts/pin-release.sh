#!/usr/bin/env bash
# Pins a release's archives in the files the CI integrations run from: each
# pulse-client-*.tar.gz in DIST gets its SHA-256 in action/SHA256SUMS (the
# GitHub Action) and in the pin list of templates/pulse-deploy.yml (the
# GitLab component), replacing an earlier line for the same archive. The
# Action and the component install only an archive pinned in their own
# commit, so a release host that swaps an archive and its SHA256SUMS gets
# nothing run. scripts/release.sh --pin calls it; commit the two files and
# tag that commit (README: "Versions and pinning").
#   scripts/pin-release.sh DIST [ROOT]   (ROOT: the checkout to pin; default this one)
set -euo pipefail
dist=$1
root="${2:-$(cd "$(dirname "$0")/.." && pwd)}"
sums="$root/action/SHA256SUMS"
template="$root/templates/pulse-deploy.yml"
shopt -s nullglob
archives=("$dist"/pulse-client-*.tar.gz)
((${#archives[@]})) || { echo "pin-release: no pulse-client-*.tar.gz in $dist" >&2; exit 1; }
new=$(mktemp)
trap 'rm -f "$new" "$new".*' EXIT
for a in "${archives[@]}"; do sha256sum "$a" | awk '{n = $2; sub(/.*\//, "", n); print $1 "  " n}'; done >"$new"
# action/SHA256SUMS: comments first, then one line per archive, by name.
{
  grep '^#' "$sums" 2>/dev/null || true
  { grep -v '^#' "$sums" 2>/dev/null || true; } | awk 'NR == FNR {pinned[$2] = 1; next} NF == 2 && !($2 in pinned)' "$new" - |
    cat - "$new" | sort -k2,2V
} >"$new.sums"
mv "$new.sums" "$sums"
# The component: the lines between "# pins begin" and "# pins end" become
# `ARCHIVE) want=SHA256 ;;`, indented as the begin marker is.
awk -v sums="$sums" '
  /# pins begin/ {print; indent = $0; sub(/#.*/, "", indent)
    while ((getline line < sums) > 0) if (line !~ /^#/ && split(line, f, " ") == 2) print indent f[2] ") want=" f[1] " ;;"
    skip = 1; next}
  /# pins end/ {skip = 0}
  !skip' "$template" >"$new.yml"
grep -q '# pins end' "$new.yml" || { echo "pin-release: $template has no \"# pins begin\" ... \"# pins end\" block" >&2; exit 1; }
cat "$new.yml" >"$template"
cat "$new"
