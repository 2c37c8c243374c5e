#!/usr/bin/env bash
# Prepares, once, a Debian 12 root file system with systemd for the package
# test: minbase plus systemd, curl, man-db and the libraries the packages
# depend on, from Debian's registry with debootstrap. The test boots its
# systemd as PID 1 of a namespace (tests/packages/systemd_boot.sh) on an
# overlay, so this root stays as made. Reused while it exists. Prints its path.
#   scripts/debian12-systemd-root.sh [DIR]   (default $XDG_CACHE_HOME/pulse/debian12-systemd-root)
set -euo pipefail
dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/pulse/debian12-systemd-root}"
mirror="${PULSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ -f "$dir/.pulse-ready" ]]; then
  echo "$dir"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "debian12-systemd-root: debootstrap needs root" >&2
  exit 1
fi
command -v debootstrap >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
include=systemd,systemd-sysv,dbus,curl,ca-certificates,git,man-db
include+=,libboost-json1.81.0,libboost-url1.81.0,libgit2-1.5,libsqlite3-0,libpq5,libtomlplusplus3,libssl3
tmp="$dir.partial"
rm -rf "$tmp" "$dir"
mkdir -p "$(dirname "$dir")"
echo "debian12-systemd-root: debootstrap bookworm into $dir (a minute or two, once)" >&2
debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
  echo "debian12-systemd-root: debootstrap failed; its log: $tmp.log" >&2
  exit 1
}
touch "$tmp/.pulse-ready"
mv "$tmp" "$dir"
rm -f "$tmp.log"
echo "$dir"
