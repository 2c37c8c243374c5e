#!/usr/bin/env bash
# Builds the portable release of the client tools from Debian 12's packages
# alone: dist/pulse-client-VERSION-linux-x86_64.tar.gz and dist/SHA256SUMS.
# The binaries are static (preset portable): they run on any x86_64 Linux
# from Debian 11 and Ubuntu 22.04 on, glibc or not. Reproducible: the same
# commit gives the same bytes (file times from the commit, sorted entries,
# no owner names, gzip without a time stamp).
# --pin then pins the archive in action/SHA256SUMS and the GitLab
# component (scripts/pin-release.sh): commit that, and tag the commit.
#   scripts/release.sh [--pin] [OUT_DIR]     (default dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
pin=false
if [[ "${1:-}" == "--pin" ]]; then
  pin=true
  shift
fi
out="${1:-dist}"
scripts/setup.sh portable >/dev/null
version=$(scripts/version.sh)
if [[ -z "$version" ]]; then echo "release: no version in CMakeLists.txt's project()" >&2; exit 1; fi
if tag=$(git describe --exact-match --tags 2>/dev/null) && [[ "$tag" != "v$version" ]]; then
  echo "release: HEAD is tagged $tag but the project's version is $version: tag v$version" >&2
  exit 1
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
name="pulse-client-$version-linux-x86_64"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d" "$root/share/doc/pulse"
b=build/portable
install -m 0755 "$b/cli/pulse-event-cli" "$b/hooks/pulse-hook" "$b/hooks/pulse-hook-worker" \
  "$b/plugins/deploy/pulse-deploy" "$b/plugins/incident/pulse-incident" "$root/bin/"
for tool in pulse-event-cli pulse-hook pulse-deploy pulse-incident; do
  "$root/bin/$tool" man --write "$root/share/man/man1" >/dev/null
  "$root/bin/$tool" completion bash >"$root/share/bash-completion/completions/$tool"
  "$root/bin/$tool" completion zsh >"$root/share/zsh/site-functions/_$tool"
  "$root/bin/$tool" completion fish >"$root/share/fish/vendor_completions.d/$tool.fish"
done
gzip -9n "$root"/share/man/man1/*.1
install -m 0644 LICENSE CHANGELOG.md README.md "$root/share/doc/pulse/"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$stage" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" >SHA256SUMS)
echo "$out/$name.tar.gz"
echo "$out/SHA256SUMS"
if $pin; then
  scripts/pin-release.sh "$out" >/dev/null
  echo "pinned in action/SHA256SUMS and templates/pulse-deploy.yml: commit them and tag that commit v$version" >&2
fi
