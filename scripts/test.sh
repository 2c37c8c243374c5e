#!/usr/bin/env bash
# Installs what is missing, builds everything with the `ci` preset
# (-Werror), and runs every test (unit and integration) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh ci
ctest --preset ci
