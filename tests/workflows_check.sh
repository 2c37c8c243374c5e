#!/usr/bin/env bash
# Schema checks of what GitHub and GitLab read from this repository:
# action.yml and .github/workflows/*.yml with @action-validator/cli (npm,
# pinned in tests/tools), the GitLab component with tests/gitlab/component.py.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/tests/tools"
if [[ ! -x "$tools/node_modules/.bin/action-validator" ]]; then
  npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error >/dev/null
fi
status=0
for f in "$here/action.yml" "$here"/.github/workflows/*.yml; do
  if ! out=$("$tools/node_modules/.bin/action-validator" "$f" 2>&1); then
    echo "workflows check: $f:"
    echo "$out"
    status=1
  fi
done
python3 "$here/tests/gitlab/component.py" check "$here/templates/pulse-deploy.yml" || status=1
[[ $status == 0 ]] && echo "workflows check: ok (action.yml, $(ls "$here"/.github/workflows/*.yml | wc -l) workflows, the GitLab component)"
exit $status
