#!/usr/bin/env bash
# What the tests need beyond the build: promtool (Debian's prometheus package)
# to check our /metrics, man-db to render the manual pages, zsh and fish to
# load the completion scripts, clang-format-14 for the format check,
# pre-commit (3.0.4) to install the hook from .pre-commit-hooks.yaml,
# debootstrap for the portable release's Debian 11 root, python3-yaml for
# the Action and GitLab component runners, npm for the workflow schema check
# and the forge webhook tests (and their packages, tests/tools),
# Chromium for the dashboard's browser test,
# and a running PostgreSQL with a role that may create databases (each
# test makes its own and drops it). Installs what is missing from Debian's
# packages, starts the local cluster, and prints the URI to give the tests
# as PULSE_TEST_POSTGRES. The role only listens on loopback.
set -euo pipefail
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi

missing=()
for p in postgresql chromium prometheus man-db zsh fish clang-format-14 pre-commit debootstrap python3-yaml; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)  # Debian's, unless the machine has Node.js's own
if ((${#missing[@]})); then
  echo "test-services: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm test tools (tests/tools: the workflow schema checker, GitHub's
# webhook examples and signing code), as pinned by its lockfile.
tools=$(cd "$(dirname "$0")/../tests/tools" && pwd)
if [[ ! -d "$tools/node_modules/@octokit/webhooks-examples" || ! -d "$tools/node_modules/@octokit/webhooks-methods" ]]; then
  echo "test-services: installing the npm test tools (tests/tools)" >&2
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >&2
fi

# Debian's packaging creates one cluster (e.g. 15/main); start it if it is down.
read -r version cluster port status _ < <(pg_lsclusters --no-header | head -1)
if [[ "$status" != online* ]]; then
  echo "test-services: starting PostgreSQL $version/$cluster" >&2
  $sudo pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done

role=pulse_test
password=pulse_test
if [[ $(id -u) -eq 0 ]]; then as_postgres=(runuser -u postgres --); else as_postgres=(sudo -u postgres); fi
"${as_postgres[@]}" psql -q -p "$port" -v ON_ERROR_STOP=1 >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password';
  END IF;
END \$\$;
SQL
echo "postgresql://$role:$password@127.0.0.1:$port/postgres"
