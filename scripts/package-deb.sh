#!/usr/bin/env bash
# Builds the Debian 12 packages (pulse-client, pulse-incident,
# pulse-collector, and their -dbgsym) from the tracked files of this
# checkout with debhelper (debian/), checks them with lintian, and puts them
# in OUT_DIR.
#   scripts/package-deb.sh [OUT_DIR]   (default dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-dist}" && realpath "${1:-dist}")
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
need=(debhelper dpkg-dev lintian fakeroot)
# Build-Depends, one name per line (the field runs until the next field).
mapfile -t build_deps < <(awk '/^Build-Depends:/ {on = 1; sub(/^Build-Depends:/, "")} /^[A-Z][A-Za-z-]*:/ && !/^Build-Depends:/ {on = 0}
  on {print}' debian/control | tr ',' '\n' | sed 's/([^)]*)//; s/^ *//; s/ *$//' | grep -v -e '^$' -e '^debhelper-compat')
missing=()
for p in "${need[@]}" "${build_deps[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
version=$(dpkg-parsechangelog -S Version)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/pulse-$version"
mkdir -p "$src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$src"
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2
  echo "package-deb: dpkg-buildpackage failed (the log's end is above)" >&2
  exit 1
}
cp "$work"/*.deb "$work"/*.ddeb "$out/" 2>/dev/null || cp "$work"/*.deb "$out/"
changes=$(ls "$work"/*.changes)
echo "package-deb: lintian $(lintian --version)"
lintian --fail-on error,warning --info "$changes"
ls "$out"/*.deb
