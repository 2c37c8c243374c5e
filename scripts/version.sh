#!/usr/bin/env bash
# Prints the project's release version (CMakeLists.txt's project(), e.g.
# 0.1.0), the one release scripts, the Action and the tests go by.
set -euo pipefail
sed -n 's/^project(pulse VERSION \([0-9.]*\) .*/\1/p' "$(dirname "$0")/../CMakeLists.txt"
