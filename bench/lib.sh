# Shared by the bench scripts (source it): starting and stopping the server
# under test.

# start_server LOG COMMAND...: runs COMMAND in the background with its stderr
# in LOG, waits up to 120 s (migrations of a big database) for its "listening on" line, and sets `server` (its
# pid) and `url` (its http:// address). Fails, showing LOG, if it does not
# come up.
start_server() {
  local log=$1
  shift
  "$@" 2>"$log" &
  server=$!
  for _ in $(seq 2400); do grep -q "listening on" "$log" && break; kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$log" | head -1)
  if [[ -z "$url" ]]; then
    echo "bench: $1 did not start:" >&2
    cat "$log" >&2
    return 1
  fi
}

# stop_server: stops the server start_server started, if it still runs.
stop_server() {
  [[ -n "${server:-}" ]] || return 0
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  server=
}
