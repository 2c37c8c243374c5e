#!/usr/bin/env bash
# Installs what is missing, builds everything with the `ci` preset
# (-Werror), starts PostgreSQL for the collector's tests on that store, and
# runs every test (unit and integration, both stores, the browser test)
# with CTest; then every parser's fuzz target for a bounded time (about a
# minute in all; `scripts/fuzz.sh SECONDS [TARGET...]` for longer runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh ci
if [[ -z "${PULSE_TEST_POSTGRES:-}" ]]; then
  PULSE_TEST_POSTGRES=$(scripts/test-services.sh)
  export PULSE_TEST_POSTGRES
fi
ctest --preset ci
scripts/fuzz.sh "${PULSE_FUZZ_SECONDS:-7}"
