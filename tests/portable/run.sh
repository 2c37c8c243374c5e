#!/usr/bin/env bash
# The portable release where its users are: unpacked into a Debian 11 root
# file system (glibc 2.31, none of Debian 12's libraries), its tools report
# to a collector on 127.0.0.1 over HTTPS with a private CA, from a chroot:
# `pulse-event-cli push git deployment`, `pulse-deploy` with a GitHub
# Actions run's variables, and `pulse-hook install` plus a real push.
#   tests/portable/run.sh TARBALL COLLECTOR_BIN
# Needs root (chroot, mounts) and debootstrap (scripts/debian-root.sh debian11
# prepares the root once); where they are missing it says so and skips.
set -euo pipefail
tarball=$(realpath "$1")
collector=$(realpath "$2")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "portable test: skipped: needs root for chroot (run as root, as CI does)"
  exit 0
fi
if ! lower=$("$here/scripts/debian-root.sh" debian11); then
  echo "portable test: skipped: no Debian 11 root file system (debootstrap failed, see above)"
  exit 0
fi
work=$(mktemp -d)
# The test changes the root (the CA bundle's place): on an overlay, so the
# prepared root stays as made.
root=$(overlay_root "$lower" "$work") || { echo "portable test: skipped: no overlay mount here"; exit 0; }
box="$root/tmp/pulse-portable.$$"
collector_pid=
cleanup() {
  [[ -n "$collector_pid" ]] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null
  umount "$root/proc" 2>/dev/null || true
  umount "$root/dev" 2>/dev/null || true
  umount "$root" 2>/dev/null || umount -l "$root" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "portable test: FAILED: $*" >&2
  [[ -f "$work/collector.log" ]] && sed 's/^/  collector: /' "$work/collector.log" >&2
  exit 1
}

# Setup: a private CA and a certificate for 127.0.0.1; the collector on HTTPS.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=pulse-test-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$work/server.pem" 2>/dev/null
start_collector "$collector" "$work/collector.log" --db "$work/events.db" --tls-cert "$work/server.pem" \
  --tls-key "$work/server.key" || fail "the collector did not start"
collector_pid=$COLLECTOR_PID
url=$COLLECTOR_URL

mkdir -p "$box"
tar -xzf "$tarball" -C "$box"
bin=$(cd "$box" && echo pulse-client-*/bin)
cp "$work/ca.pem" "$box/ca.pem"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
inside=/tmp/pulse-portable.$$
in_root() { chroot "$root" /usr/bin/env -i PATH="$inside/$bin:/usr/bin:/bin" HOME="$inside/home" \
  PULSE_BASE_URL="$url" PULSE_CA_FILE="$inside/ca.pem" GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com \
  GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.com "$@"; }
events() { "$collector" events --db "$work/events.db" --type "$1" --limit 1000 --format json; }
count() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

in_root sh -c "cat /etc/debian_version; ldd --version | head -1" | tr '\n' ' '
echo
in_root pulse-event-cli version

# Run and check: push git deployment from a repository inside the root.
in_root sh -ec "mkdir -p $inside/home $inside/repo && cd $inside/repo && git init -q -b main &&
  echo 1 > a && git add a && git commit -q -m one && git tag v1.0.0 &&
  echo 2 > b && git add b && git commit -q -m two && echo 3 > c && git add c && git commit -q -m three"
in_root sh -c "cd $inside/repo && pulse-event-cli push git deployment --system app --identifier v1.1 --previous-deployment-ref v1.0.0" ||
  fail "pulse-event-cli push git deployment"
[[ $(events deployment | count) == 1 ]] || fail "push git deployment: the collector holds no deployment"
events deployment | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert len(d["changes"]) == 2, d' ||
  fail "push git deployment: not the two commits since v1.0.0"

# pulse-deploy as a GitHub Actions step would run it.
head=$(in_root git -C "$inside/repo" rev-parse HEAD)
in_root sh -c "cd $inside/repo && GITHUB_ACTIONS=true GITHUB_SHA=$head GITHUB_REPOSITORY=o/app GITHUB_RUN_ID=42 \
  GITHUB_SERVER_URL=https://github.example GITHUB_WORKSPACE=$inside/repo GITHUB_REF=refs/heads/main pulse-deploy" ||
  fail "pulse-deploy"
[[ $(events deployment | count) == 2 ]] || fail "pulse-deploy: the collector holds no second deployment"

# pulse-hook install and a real push: the commits' push times reach the collector.
in_root sh -ec "git init -q --bare -b main $inside/remote.git && cd $inside/repo &&
  git remote add origin $inside/remote.git && git config pulse.system app && git config pulse.url $url &&
  pulse-hook install >/dev/null && echo 4 > d && git add d && git commit -q -m four && git push -q origin main" ||
  fail "pulse-hook install and push"
pushed=0
for _ in $(seq 150); do
  pushed=$(events change | python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["time_pushed"]))')
  [[ $pushed -ge 4 ]] && break
  sleep 0.1
done
[[ $pushed -ge 4 ]] || fail "pulse-hook: $pushed of 4 pushed commits reached the collector ($(cat "$root$inside/repo/.git/pulse-hook.log" 2>/dev/null))"
# Run and check: with no --ca-file, the host's trust store, wherever its
# distribution keeps it (the private CA is the only one in that file, and
# Debian's own places are gone).
rm -rf "$root/etc/ssl/certs" "$root/usr/lib/ssl/certs" "$root/usr/lib/ssl/cert.pem"
for bundle in /etc/ssl/certs/ca-certificates.crt /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem \
  /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/ssl/cert.pem; do
  mkdir -p "$(dirname "$root$bundle")"
  cp "$work/ca.pem" "$root$bundle"
  in_root env -u PULSE_CA_FILE pulse-event-cli push change --identifier "trust$RANDOM" --timestamp 1602852032 \
    >/dev/null 2>"$work/trust.err" || fail "trust from $bundle: $(cat "$work/trust.err")"
  rm -f "$root$bundle"
done
if in_root env -u PULSE_CA_FILE PULSE_MAX_ATTEMPTS=1 pulse-event-cli push change --identifier untrusted \
  --timestamp 1602852032 >/dev/null 2>&1; then
  fail "with no CA bundle anywhere, the private CA was still trusted"
fi
echo "portable test: ok (Debian 11 root, HTTPS with a private CA: push git deployment, pulse-deploy, pulse-hook push; the host trust store on Debian, Fedora, RHEL, openSUSE and Alpine layouts)"
