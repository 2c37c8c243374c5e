#!/usr/bin/env bash
# Prepares, once, a Debian root file system for the release-level tests,
# from Debian's registry with debootstrap (minbase plus what each needs), and
# prints its path. Reused while it exists (delete it to remake). The tests
# use it through an overlay, so it stays as made.
#   scripts/debian-root.sh debian11 [DIR]          bullseye with git and CA certificates
#                                                  (tests/portable: the portable release)
#   scripts/debian-root.sh debian12-systemd [DIR]  bookworm with systemd, curl, man-db and the
#                                                  packages' libraries (tests/packages/systemd_boot.sh)
# DIR defaults to $XDG_CACHE_HOME/pulse/NAME-root. Needs root and debootstrap
# (installed if missing).
set -euo pipefail
name="${1:-}"
case "$name" in
  debian11) suite=bullseye include=git,ca-certificates ;;
  debian12-systemd)
    suite=bookworm
    include=systemd,systemd-sysv,dbus,curl,ca-certificates,git,man-db
    include+=,libboost-json1.81.0,libboost-url1.81.0,libgit2-1.5,libsqlite3-0,libpq5,libtomlplusplus3,libssl3
    ;;
  *)
    echo "debian-root: say which root: debian11 or debian12-systemd" >&2
    exit 2
    ;;
esac
dir="${2:-${XDG_CACHE_HOME:-$HOME/.cache}/pulse/$name-root}"
mirror="${PULSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ -f "$dir/.pulse-ready" ]]; then
  echo "$dir"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "debian-root: debootstrap needs root" >&2
  exit 1
fi
command -v debootstrap >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
tmp="$dir.partial"
rm -rf "$tmp" "$dir"
mkdir -p "$(dirname "$dir")"
echo "debian-root: debootstrap $suite into $dir (a minute or two, once)" >&2
debootstrap --variant=minbase --include="$include" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
  echo "debian-root: debootstrap failed; its log: $tmp.log" >&2
  exit 1
}
touch "$tmp/.pulse-ready"
mv "$tmp" "$dir"
rm -f "$tmp.log"
echo "$dir"
