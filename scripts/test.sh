#!/usr/bin/env bash
# Installs what is missing, builds everything with the `ci` preset
# (-Werror), starts PostgreSQL for the collector's tests on that store, and
# runs every test (unit and integration, both stores, the browser test)
# with CTest; then every parser's fuzz target for a bounded time (about a
# minute in all; `scripts/fuzz.sh SECONDS [TARGET...]` for longer runs); then
# the portable release in a Debian 11 chroot, the Action and the GitLab
# component, and the Debian packages (tests/portable, tests/action,
# tests/gitlab, tests/packages).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh ci
if [[ -z "${PULSE_TEST_POSTGRES:-}" ]]; then
  PULSE_TEST_POSTGRES=$(scripts/test-services.sh)
  export PULSE_TEST_POSTGRES
fi
ctest --preset ci
scripts/fuzz.sh "${PULSE_FUZZ_SECONDS:-7}"
# The release where its users run it: the portable tarball built, unpacked
# into a Debian 11 root (chroot), run by the GitHub Action's steps and the
# GitLab component against 127.0.0.1.
scripts/release.sh build/dist >/dev/null
tests/portable/run.sh build/dist/pulse-client-*.tar.gz build/ci/collector/pulse-collector
tests/action/run.sh build/dist
tests/gitlab/run.sh build/dist build/ci/collector/pulse-collector
# The Debian packages: built and linted, installed, their units checked, removed.
scripts/package-deb.sh build/debs
tests/packages/run.sh build/debs
tests/packages/systemd_boot.sh build/debs
