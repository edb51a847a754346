"""The GitHub Actions workflow (.github/workflows/ci.yml) parses, names every matrix entry the
platform support promises, and runs only what the `just` recipes run locally."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
SYSTEMS = {"ubuntu-latest", "macos-latest", "windows-latest"}
PYTHONS = {"3.11", "3.12", "3.13"}
WHEEL_TARGETS = {"x86_64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-apple-darwin", "x86_64-pc-windows-msvc"}
# What a `run:` step may do besides a `just` recipe: install the toolchains, and `just` itself
# exactly as the README's Quick start does.
BOOTSTRAP = re.compile(
    r"command -v just >/dev/null \|\| python -m pip install rust-just \|\| cargo install --locked just"
    r"|rustup toolchain install stable .*"
    r"|curl --proto '=https' --tlsv1\.2 -sSf https://sh\.rustup\.rs \| sh -s -- -y --profile minimal"
    r" && echo \"\$HOME/\.cargo/bin\" >> \"\$GITHUB_PATH\""
    r"|echo \"/opt/python/cp311-cp311/bin\" >> \"\$GITHUB_PATH\""
)


def workflow() -> dict[str, Any]:
    parsed = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(parsed, dict), parsed
    return parsed


def recipes() -> set[str]:
    justfile = (ROOT / "justfile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z0-9-]*)(?: [^:]*)?:", justfile, flags=re.MULTILINE))


def test_the_workflow_parses_and_runs_on_push_and_pull_requests() -> None:
    parsed = workflow()
    # YAML 1.1 reads the key `on` as the boolean True.
    triggers = parsed.get("on", parsed.get(True))
    assert {"push", "pull_request"} <= set(triggers), triggers
    assert set(parsed["jobs"]) == {"test", "wheels", "wheels-linux"}


def test_the_test_matrix_is_every_system_with_every_python() -> None:
    job = workflow()["jobs"]["test"]
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == SYSTEMS
    assert set(matrix["python"]) == PYTHONS
    assert job["strategy"]["fail-fast"] is False, "one platform's failure must not hide another's"
    assert job["timeout-minutes"] <= 90
    assert "${{ matrix.os }}" in job["name"] and "${{ matrix.python }}" in job["name"]
    setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "${{ matrix.python }}"
    test_step = next(s for s in job["steps"] if s.get("name") == "just test-all")
    assert test_step["env"]["OTEL_PARQUET_TEST_PYTHONS"] == "${{ matrix.python }}"


def test_wheels_are_built_for_every_platform() -> None:
    jobs = workflow()["jobs"]
    entries = jobs["wheels"]["strategy"]["matrix"]["include"]
    linux = jobs["wheels-linux"]
    # Linux in a manylinux container (its glibc is the oldest the wheels will ask for).
    assert linux["container"].startswith("quay.io/pypa/manylinux")
    linux_targets = {
        line.split("--target")[1].strip()
        for s in linux["steps"]
        for line in s.get("run", "").splitlines()
        if "just wheels" in line
    }
    assert {e["target"] for e in entries} | linux_targets == WHEEL_TARGETS
    assert {e["os"] for e in entries} == {"macos-latest", "windows-latest"}
    for job in (jobs["wheels"], linux):
        upload = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
        assert upload and upload[0]["with"]["path"] == "dist/*.whl"


def test_every_command_is_a_just_recipe_or_installs_a_toolchain() -> None:
    known = recipes()
    assert {"test-all", "wheels"} <= known, known
    for name, job in workflow()["jobs"].items():
        for step in job["steps"]:
            if "uses" in step:
                assert step["uses"].split("@")[0] in {
                    "actions/checkout",
                    "actions/setup-python",
                    "actions/setup-node",
                    "actions/upload-artifact",
                }, step
                continue
            for line in step["run"].strip().splitlines():
                line = line.strip()
                if line.startswith("just "):
                    assert line.split()[1] in known, f"{name}: {line!r} is not a recipe of the justfile"
                else:
                    assert BOOTSTRAP.fullmatch(line), f"{name}: {line!r} is no just recipe and installs no toolchain"
