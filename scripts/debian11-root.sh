#!/usr/bin/env bash
# Prepares, once, a Debian 11 (bullseye) root file system for the portable
# release's test: minbase plus git and ca-certificates, from Debian's
# registry with debootstrap. Reused while it exists (delete it to remake).
# Prints its path.
#   scripts/debian11-root.sh [DIR]   (default $XDG_CACHE_HOME/pulse/debian11-root)
# Needs root (debootstrap, and later chroot) and the debootstrap package.
set -euo pipefail
dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/pulse/debian11-root}"
mirror="${PULSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ -x "$dir/usr/bin/git" && -f "$dir/etc/ssl/certs/ca-certificates.crt" && -f "$dir/.pulse-ready" ]]; then
  echo "$dir"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "debian11-root: debootstrap needs root" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
tmp="$dir.partial"
rm -rf "$tmp"
echo "debian11-root: debootstrap bullseye into $dir (a few minutes, once)" >&2
debootstrap --variant=minbase --include=git,ca-certificates bullseye "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
  echo "debian11-root: debootstrap failed; its log: $tmp.log" >&2
  exit 1
}
touch "$tmp/.pulse-ready"
mv "$tmp" "$dir"
rm -f "$tmp.log"
echo "$dir"
