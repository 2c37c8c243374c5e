#!/usr/bin/env bash
# The Debian packages as an administrator meets them (a CI step: it installs
# them on this machine and removes them again; needs root):
# - their units pass `systemd-analyze verify` and score "OK" or better in
#   `systemd-analyze security --offline=yes`;
# - `apt-get install ./pulse-*.deb` works; the collector starts with no file
#   of the administrator's, as its unit starts it (the unit's ExecStart, as an
#   unprivileged user), and answers on loopback; pulse-hook from the package
#   (its worker in /usr/libexec/pulse) records a real push there;
# - `apt-get purge` removes them, configuration included.
#   tests/packages/run.sh DEB_DIR
set -euo pipefail
debs=$(realpath "$1")
if [[ $(id -u) -ne 0 ]]; then
  echo "package test: skipped: installing packages needs root (CI runs it as root)"
  exit 0
fi
work=$(mktemp -d)
collector_pid=
cleanup() {
  [[ -n "$collector_pid" ]] && kill "$collector_pid" 2>/dev/null
  rm -rf "$work" /var/lib/pulse-collector-test
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pulse-client pulse-incident pulse-collector >/dev/null 2>&1 || true
}
trap cleanup EXIT
fail() {
  echo "package test: FAILED: $*" >&2
  exit 1
}

# Run: install.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "$debs"/pulse-client_*.deb "$debs"/pulse-incident_*.deb "$debs"/pulse-collector_*.deb >/dev/null ||
  fail "apt-get install"
# Check: the units.
for unit in pulse-collector pulse-incident; do
  file=/lib/systemd/system/$unit.service
  [[ -f "$file" ]] || fail "$file is not installed"
  out=$(systemd-analyze verify "$file" 2>&1) || fail "systemd-analyze verify $unit: $out"
  [[ -z "$out" ]] || fail "systemd-analyze verify $unit says: $out"
  score=$(systemd-analyze security --offline=yes "$file" 2>&1 | tail -1)
  grep -Eq "exposure level for $unit.service: [0-9.]+ (OK|SAFE|PERFECT)" <<<"$score" || fail "$unit: $score"
  echo "package test: $unit: $(sed 's/.*: //' <<<"$score")"
done
for page in pulse-event-cli pulse-event-cli-push-deployment pulse-hook pulse-deploy pulse-incident-serve pulse-collector-serve; do
  man -w "$page" >/dev/null 2>&1 || fail "no manual page $page"
done

# Run: the collector as its unit starts it, with no file of ours, as an unprivileged user.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/pulse-collector.service)
exec_start="${exec_start//\/var\/lib\/pulse-collector\//\/var\/lib\/pulse-collector-test\/}"
mkdir -p /var/lib/pulse-collector-test
chown nobody: /var/lib/pulse-collector-test
# shellcheck disable=SC2086  # the unit's command line, word-split as systemd does
setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/bin:/bin $exec_start --port 0 \
  >"$work/collector.log" 2>&1 &
collector_pid=$!
for _ in $(seq 100); do grep -q " listening on " "$work/collector.log" && break; sleep 0.1; done
url=$(sed -n 's/.* listening on \(http:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/collector.log" | head -1)
[[ -n "$url" ]] || fail "the packaged collector did not start: $(cat "$work/collector.log")"
# Check
[[ $(curl -fsS --max-time 5 "$url/healthz") == '{"status":"ok"}' ]] || fail "no answer on $url/healthz"

# Run: pulse-hook from the package, a real push.
export HOME="$work" GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.com
git init -q --bare -b main "$work/remote.git"
git init -q -b main "$work/repo"
(cd "$work/repo" && git remote add origin "$work/remote.git" && git config pulse.url "$url" &&
  git config pulse.system app && /usr/bin/pulse-hook install >/dev/null &&
  echo 1 >a && git add a && git commit -q -m one && git push -q origin main) || fail "pulse-hook install and push"
# Check
stored=0
for _ in $(seq 100); do
  stored=$(/usr/bin/pulse-collector events --db /var/lib/pulse-collector-test/collector.db --type change --format json |
    grep -o '"time_pushed":[0-9"]' | grep -vc null || true)
  [[ $stored -ge 1 ]] && break
  sleep 0.1
done
[[ $stored -ge 1 ]] || fail "the push was not recorded ($(cat "$work/repo/.git/pulse-hook.log" 2>/dev/null))"
kill "$collector_pid"
wait "$collector_pid" 2>/dev/null || true
collector_pid=

# Run: remove everything.
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq pulse-client pulse-incident pulse-collector >/dev/null || fail "apt-get purge"
# Check
for f in /usr/bin/pulse-event-cli /usr/bin/pulse-collector /usr/libexec/pulse/pulse-hook-worker \
  /lib/systemd/system/pulse-collector.service /etc/pulse-collector/collector.toml; do
  [[ ! -e "$f" ]] || fail "$f is still there after purge"
done
echo "package test: ok (units verified and OK, installed, the collector answers as its unit starts it, a push recorded, purged)"
