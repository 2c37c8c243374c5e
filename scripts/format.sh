#!/usr/bin/env bash
# The house style (.clang-format, clang-format-14 from Debian):
#   scripts/format.sh          reformat every tracked C++ file in place
#   scripts/format.sh --check  change nothing; list the files that differ, exit 1 if any
# (CTest runs the check as the test `format`; it is skipped, exit 77, where
# clang-format-14 is not installed: scripts/test-services.sh installs it.)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format-14 >/dev/null; then
  echo "format: clang-format-14 is not installed (apt-get install clang-format-14)" >&2
  exit 77
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [[ "${1:-}" == "--check" ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format-14 --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "format: $f differs from .clang-format (scripts/format.sh fixes it)" >&2
      bad=1
    fi
  done
  exit "$bad"
fi
clang-format-14 -i "${files[@]}"
