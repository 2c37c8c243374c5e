#!/usr/bin/env bash
# The packaged services under a real systemd: a Debian 12 root
# (scripts/debian-root.sh debian12-systemd) on an overlay, its systemd booted as
# PID 1 of new PID, mount, UTS and IPC namespaces (the network is the
# host's loopback). `dpkg -i` of the packages starts both services; they
# must be active and answer /healthz, `systemctl reload` must re-read their
# configuration and leave them running, and a root-only API key file in
# /etc/credstore must reach the collector's dynamic user (LoadCredential=). The port each listens on is
# chosen free by the test, through /etc/default/pulse-* (the variables the
# units read); with no such file they use 8765 and 8766.
#   tests/packages/systemd_boot.sh DEB_DIR
set -euo pipefail
debs=$(realpath "$1")
here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../release_lib.sh
. "$here/tests/release_lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "systemd boot test: skipped: needs root"
  exit 0
fi
if ! lower=$("$here/scripts/debian-root.sh" debian12-systemd); then
  echo "systemd boot test: skipped: no Debian 12 root with systemd (debootstrap failed, see above)"
  exit 0
fi
work=$(mktemp -d)
box="$work/root"
pid1=
cleanup() {
  [[ -n "$pid1" ]] && kill -9 "$pid1" 2>/dev/null && sleep 0.5
  umount -R "$box" 2>/dev/null || umount -l "$box" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "systemd boot test: FAILED: $*" >&2
  [[ -n "$pid1" ]] && inside journalctl --no-pager -u pulse-collector -u pulse-incident 2>/dev/null | tail -20 >&2
  exit 1
}
overlay_root "$lower" "$work" >/dev/null || { echo "systemd boot test: skipped: no overlay mount here"; exit 0; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
collector_port=$(free_port)
incident_port=$(free_port)
echo "PULSE_COLLECTOR_PORT=$collector_port" >"$box/etc/default/pulse-collector"
printf 'PULSE_INCIDENT_PORT=%s\nPULSE_BASE_URL=http://127.0.0.1:%s\n' "$incident_port" "$collector_port" \
  >"$box/etc/default/pulse-incident"
cp "$debs"/pulse-client_*.deb "$debs"/pulse-incident_*.deb "$debs"/pulse-collector_*.deb "$box/root/"

# Boot: systemd as PID 1 of its own namespaces, in the box.
cat >"$work/boot.sh" <<'BOOT'
#!/bin/bash
set -e
R=$1
mount --bind "$R" "$R"  # systemd's sandboxing wants the root to be a mount point
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount --make-rslave "$R/dev"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"  # systemd builds credential directories there
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/sys/fs/cgroup" 2>/dev/null || true
if [[ ! -e /sys/fs/cgroup/cgroup.controllers ]]; then  # cgroup v1 host: systemd's own hierarchy
  mkdir -p "$R/sys/fs/cgroup/systemd"
  mount -t cgroup -o none,name=systemd cgroup "$R/sys/fs/cgroup/systemd"
else
  mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
fi
# Shared, as on a booted host: systemd moves each service's credential
# mount into place from a child namespace.
mount --make-rshared "$R"
export container=other
exec chroot "$R" /lib/systemd/systemd --system --unit=multi-user.target
BOOT
chmod +x "$work/boot.sh"
unshare --pid --fork --mount --propagation private --uts --ipc "$work/boot.sh" "$box" >"$work/boot.log" 2>&1 &
for _ in $(seq 100); do
  pid1=$(pgrep -f "^/lib/systemd/systemd --system --unit=multi-user.target" | head -1 || true)
  [[ -n "$pid1" ]] && break
  sleep 0.1
done
[[ -n "$pid1" ]] || { echo "systemd boot test: skipped: systemd does not boot here ($(cat "$work/boot.log"))"; exit 0; }
inside() { nsenter -t "$pid1" -m -p -r -w "$@"; }
for _ in $(seq 100); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  [[ "$state" == running || "$state" == degraded ]] && break
  sleep 0.2
done

# Run: install (the packages start their services).
inside sh -c 'DEBIAN_FRONTEND=noninteractive dpkg -i /root/pulse-client_*.deb /root/pulse-incident_*.deb /root/pulse-collector_*.deb' \
  >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -5 "$work/dpkg.log")"
# Check: both active, answering on loopback.
for _ in $(seq 50); do
  curl -fsS --max-time 2 "http://127.0.0.1:$collector_port/healthz" >/dev/null 2>&1 &&
    curl -fsS --max-time 2 "http://127.0.0.1:$incident_port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
for unit in pulse-collector pulse-incident; do
  [[ $(inside systemctl is-active "$unit") == active ]] || fail "$unit is not active after install"
done
[[ $(curl -fsS --max-time 2 "http://127.0.0.1:$collector_port/healthz") == '{"status":"ok"}' ]] ||
  fail "the collector does not answer on 127.0.0.1:$collector_port"
[[ $(curl -fsS --max-time 2 "http://127.0.0.1:$incident_port/healthz") == '{"status":"ok"}' ]] ||
  fail "pulse-incident does not answer on 127.0.0.1:$incident_port"

# Run: reload.
inside systemctl reload pulse-collector pulse-incident || fail "systemctl reload"
# Check: still running, the same processes, and they say they re-read.
for unit in pulse-collector pulse-incident; do
  [[ $(inside systemctl is-active "$unit") == active ]] || fail "$unit stopped on reload"
  reloaded=no  # the signal is sent when reload returns; the log line follows
  for _ in $(seq 50); do
    inside journalctl --no-pager -u "$unit" | grep -q " reloaded: " && reloaded=yes && break
    sleep 0.1
  done
  [[ $reloaded == yes ]] || fail "$unit did not reload"
done
# Run: a root-only key in /etc/credstore, handed over by LoadCredential=.
inside sh -c 'mkdir -p /etc/credstore && umask 077 && echo box-key-1 >/etc/credstore/pulse-collector.api-keys &&
  systemctl restart pulse-collector' || fail "restart with a credential"
for _ in $(seq 50); do curl -fsS --max-time 2 "http://127.0.0.1:$collector_port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
body='{"change_id":"abc","time_created":"2026-12-01T00:00:00Z","event_type":"commit","$type":"change","source":"cli"}'
post() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 -H 'Content-Type: application/json' "$@" -d "$body" \
  "http://127.0.0.1:$collector_port/v1/ingestion/cli"; }
# Check: the dynamic user read the root-only key: a request without it is refused, with it stored.
[[ $(post) == 401 ]] || fail "the collector took a request without the credstore key"
[[ $(post -H 'Authorization: Bearer box-key-1') == 200 ]] || fail "the collector refused the credstore key"

echo "systemd boot test: ok (under systemd 252 as PID 1: both services started by dpkg -i, answered on loopback, reloaded without stopping; a root-only key in /etc/credstore enforced)"
