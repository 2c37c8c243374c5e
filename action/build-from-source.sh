#!/usr/bin/env bash
# The GitHub Action's build-from-source input: builds pulse-deploy from the
# action's checkout with Debian 12's packages (a debian:bookworm container
# job, or a Debian 12 runner; GitHub's Ubuntu images have no Boost 1.81) and
# puts it on the PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
if ! grep -q '^VERSION_ID="12"' /etc/os-release 2>/dev/null || ! grep -q '^ID=debian' /etc/os-release; then
  echo "::error::pulse-deploy: build-from-source needs Debian 12 (container: debian:bookworm); use the release instead"
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends cmake ninja-build g++ pkg-config \
  git ca-certificates libgit2-dev libssl-dev libsqlite3-dev libtomlplusplus-dev \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev >/dev/null
build="${RUNNER_TEMP:-/tmp}/pulse-build"
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPULSE_PORTABLE=OFF -DPULSE_CLIENTS_ONLY=ON >/dev/null
cmake --build "$build" --target pulse-deploy >/dev/null
echo "$build/plugins/deploy" >>"$GITHUB_PATH"
