#!/usr/bin/env python3
"""Checks and runs the GitLab CI/CD component as GitLab would, for the tests.

check: both YAML documents parse; every $[[ inputs.X ]] the job uses is a
declared input; every input says what it is; the job reports with
environment action verify (not a deployment of its own).
run:   interpolates the inputs (given, else defaults; a missing required one
is an error, as in GitLab), exports the job's variables, then runs its
before_script and script with sh -e in CI_PROJECT_DIR; exits with the first
failing line's status.
    component.py check FILE
    component.py run FILE [NAME=VALUE ...]
"""
import os
import re
import subprocess
import sys

import yaml

INPUT = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def load(path):
    with open(path) as f:
        text = f.read()
    header, body = text.split("\n---\n", 1)
    return yaml.safe_load(header)["spec"]["inputs"], body


def check(path):
    inputs, body = load(path)
    problems = []
    for name, spec in inputs.items():
        if not (spec or {}).get("description"):
            problems.append(f"input {name} has no description")
    for used in set(INPUT.findall(body)):
        if used not in inputs:
            problems.append(f"$[[ inputs.{used} ]] is not a declared input")
    jobs = yaml.safe_load(INPUT.sub("x", body))
    for name, job in jobs.items():
        if not job.get("script"):
            problems.append(f"job {name} has no script")
        env = job.get("environment")
        if not isinstance(env, dict) or env.get("action") != "verify":
            problems.append(f"job {name}: environment must say action: verify (else GitLab counts a deployment)")
    for p in problems:
        print(f"component: {path}: {p}")
    return 1 if problems else 0


def run(path, given):
    inputs, body = load(path)
    values = {}
    for name, spec in inputs.items():
        spec = spec or {}
        if name in given:
            values[name] = given.pop(name)
        elif "default" in spec:
            values[name] = spec["default"]
        else:
            raise SystemExit(f"component: input {name} is required")
        if isinstance(values[name], bool):
            values[name] = "true" if values[name] else "false"
    if given:
        raise SystemExit(f"component: no input {sorted(given)}")
    jobs = yaml.safe_load(INPUT.sub(lambda m: str(values[m.group(1)]), body))
    (name, job), = jobs.items()
    env = dict(os.environ)
    for key, value in (job.get("variables") or {}).items():
        env[key] = str(value)
    env["CI_ENVIRONMENT_NAME"] = job["environment"]["name"]
    for line in list(job.get("before_script") or []) + list(job["script"]):
        status = subprocess.call(["sh", "-ec", line], env=env, cwd=env["CI_PROJECT_DIR"])
        if status != 0:
            return status
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    sys.exit(run(sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])))
