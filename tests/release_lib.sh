# Shared by the release-level tests and benchmarks (tests/portable,
# tests/action, tests/gitlab, tests/packages, bench/action_cold_start.sh):
# sourced, not run. Every server binds 127.0.0.1 on a free port.

# A test identity for git commits.
export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.com

# tagged_checkout DIR: a repository with v1.0.0 on its first commit and two
# commits since.
tagged_checkout() {
  git init -q -b main "$1"
  (cd "$1" && echo 1 >a && git add a && git commit -q -m one && git tag v1.0.0 &&
    echo 2 >b && git add b && git commit -q -m two && echo 3 >c && git add c && git commit -q -m three)
}

# release_server WWW LOG: serves WWW (GET only; each path appended to LOG);
# sets RELEASE_PORT and RELEASE_PID.
release_server() {
  local port_file
  port_file=$(mktemp)
  python3 "$(dirname "${BASH_SOURCE[0]}")/action/release_server.py" "$1" "$2" >"$port_file" &
  RELEASE_PID=$!
  for _ in $(seq 50); do [[ -s "$port_file" ]] && break; sleep 0.1; done
  RELEASE_PORT=$(cat "$port_file")
  rm -f "$port_file"
  [[ -n "$RELEASE_PORT" ]]
}

# swapped_release NAME DIR MARK: what a release host that replaced both
# files serves: DIR/NAME.tar.gz, a foreign tarball whose bin/pulse-deploy
# prints FOREIGN and creates MARK, and a DIR/SHA256SUMS that matches it.
swapped_release() {
  local name=$1 dir=$2 mark=$3 src
  src=$(mktemp -d)
  mkdir -p "$src/$name/bin" "$dir"
  printf '#!/bin/sh\necho FOREIGN\ntouch %s\n' "$mark" >"$src/$name/bin/pulse-deploy"
  chmod +x "$src/$name/bin/pulse-deploy"
  tar -czf "$dir/$name.tar.gz" -C "$src" "$name"
  rm -rf "$src"
  (cd "$dir" && sha256sum "$name.tar.gz" >SHA256SUMS)
}

# start_collector BIN LOG ARGS...: `BIN serve --port 0 ARGS...`, waiting
# until it listens; sets COLLECTOR_URL and COLLECTOR_PID.
start_collector() {
  local bin=$1 log=$2
  shift 2
  "$bin" serve --port 0 "$@" >"$log" 2>&1 &
  COLLECTOR_PID=$!
  for _ in $(seq 100); do grep -q " listening on " "$log" && break; sleep 0.1; done
  COLLECTOR_URL=$(sed -n 's/.* listening on \(https\{0,1\}:\/\/127\.0\.0\.1:[0-9]*\).*/\1/p' "$log" | head -1)
  [[ -n "$COLLECTOR_URL" ]]
}

# overlay_root LOWER WORK: LOWER mounted writable at WORK/root through an
# overlay (its changes go to WORK/upper), so a prepared root stays as made;
# prints WORK/root. Unmount it with `umount -R WORK/root`.
overlay_root() {
  mkdir -p "$2/root" "$2/upper" "$2/overlay-work"
  mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/overlay-work" "$2/root" && echo "$2/root"
}

# pinned_copy DIST DIR: the files the Action and the GitLab component run
# from (action.yml, action/, templates/, the version), copied to DIR and
# pinned to DIST's archives by scripts/pin-release.sh, as a release commit
# holds them.
pinned_copy() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$2/scripts"
  cp -R "$root/action.yml" "$root/action" "$root/templates" "$root/CMakeLists.txt" "$2/"
  cp "$root/scripts/version.sh" "$2/scripts/"
  "$root/scripts/pin-release.sh" "$1" "$2" >/dev/null
}
