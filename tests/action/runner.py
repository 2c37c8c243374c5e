#!/usr/bin/env python3
"""Runs a composite action's steps as GitHub's runner does, for the tests.

Reads action.yml, resolves each input (given, else its default), exports
them as INPUT_<NAME> too, evaluates the ${{ }} expressions the action uses
(inputs.*, github.*, steps.<id>.outputs.*), runs each `shell: bash` step with
`bash --noprofile --norc -eo pipefail`, its `env:` added, GITHUB_PATH and
GITHUB_OUTPUT read back between steps, and stops at the first failing step
with its status. Usage:
    runner.py ACTION_DIR [NAME=VALUE ...]
The environment must carry what a runner sets (GITHUB_*, RUNNER_TOOL_CACHE,
RUNNER_TEMP); GITHUB_ACTION_PATH is ACTION_DIR.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def evaluate(text, context):
    def one(match):
        path = match.group(1).split(".")
        value = context
        for part in path:
            if not isinstance(value, dict) or part not in value:
                raise SystemExit(f"runner: unknown expression ${{{{ {match.group(1)} }}}}")
            value = value[part]
        return "" if value is None else str(value)
    return EXPR.sub(one, str(text))


def main():
    action_dir = os.path.abspath(sys.argv[1])
    given = dict(arg.split("=", 1) for arg in sys.argv[2:])
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    inputs = {}
    for name, spec in (action.get("inputs") or {}).items():
        inputs[name] = given.pop(name, str(spec.get("default", "")) if spec.get("default") is not None else "")
    if given:
        raise SystemExit(f"runner: the action has no input {sorted(given)}")
    env = dict(os.environ)
    env["GITHUB_ACTION_PATH"] = action_dir
    for name, value in inputs.items():
        env["INPUT_" + name.upper().replace(" ", "_")] = value
    work = tempfile.mkdtemp(prefix="runner.")
    path_file = env.setdefault("GITHUB_PATH", os.path.join(work, "path"))
    open(path_file, "a").close()
    github = {
        "action_path": action_dir,
        "action_repository": env.get("GITHUB_ACTION_REPOSITORY", ""),
        "server_url": env.get("GITHUB_SERVER_URL", "https://github.com"),
        "workspace": env.get("GITHUB_WORKSPACE", os.getcwd()),
    }
    steps = {}
    assert action["runs"]["using"] == "composite", "runner: composite actions only"
    for step in action["runs"]["steps"]:
        assert step.get("shell") == "bash", "runner: bash steps only"
        context = {"inputs": inputs, "github": github, "steps": steps}
        output_file = os.path.join(work, f"output.{len(steps)}")
        open(output_file, "w").close()
        step_env = dict(env)
        for key, value in (step.get("env") or {}).items():
            step_env[key] = evaluate(value, context)
        with open(path_file) as f:  # GITHUB_PATH: each line goes before PATH, newest first
            added = [line.strip() for line in f if line.strip()]
        step_env["PATH"] = os.pathsep.join(reversed(added) if added else []) + (os.pathsep if added else "") + env["PATH"]
        step_env["GITHUB_OUTPUT"] = output_file
        script = os.path.join(work, f"step.{len(steps)}.sh")
        with open(script, "w") as f:
            f.write(evaluate(step["run"], context))
        print(f"runner: step {step.get('name', step.get('id', len(steps)))}", flush=True)
        status = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", script], env=step_env)
        outputs = {}
        with open(output_file) as f:
            for line in f:
                if "=" in line:
                    key, value = line.rstrip("\n").split("=", 1)
                    outputs[key] = value
        steps[step.get("id", f"step{len(steps)}")] = {"outputs": outputs}
        if status != 0:
            print(f"runner: step failed with status {status}", flush=True)
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
