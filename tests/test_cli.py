"""Bad input to the command line: exit code 2, one message on stderr, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "base.yaml"

# id: (options after the shipped base.yaml, start of the message, fragment of it)
BAD_OPTIONS = {
    "--set unknown key": (["--set", "market.popultion=5"], "--set: market.popultion: ",
                          "did you mean 'population'"),
    "--set out of range": (["--set", "market.population=-5"], "--set: market.population: ",
                           "at least 1 (got -5)"),
    "--set bad YAML": (["--set", "market.population=[1"], "--set: market.population: ",
                       "cannot read the value"),
    "--set without =": (["--set", "population"], "--set: ", "expected KEY=VALUE"),
    "--strategy unknown": (["--strategy", "gps"], "--strategy: ", "no strategy named 'gps'"),
    "--seed negative": (["--seed", "-1"], "--seed: ", "at least 0 (got -1)"),
}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def runs(cli_bad_files) -> dict[str, subprocess.CompletedProcess]:
    """``python run_scenario.py`` on every bad file and with every bad option, by case."""
    commands = {case: ["run_scenario.py", str(bad.path)] for case, bad in cli_bad_files.items()}
    commands |= {case: ["run_scenario.py", str(BASE), *options]
                 for case, (options, _, _) in BAD_OPTIONS.items()}
    # Each run spends about a second importing the simulation before it reads its input:
    # run them side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {case: pool.submit(_run, *command) for case, command in commands.items()}
        return {case: future.result() for case, future in futures.items()}


def _one_error(result: subprocess.CompletedProcess) -> str:
    """Check the run failed as bad input should; return its one message."""
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def test_bad_file_exits_2_with_one_message(cli_bad_case, cli_bad_files, runs):
    bad = cli_bad_files[cli_bad_case]
    message = _one_error(runs[cli_bad_case])
    assert message.startswith(bad.prefix)
    assert bad.says in message


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option_exits_2_with_one_message(case, runs):
    _, starts, says = BAD_OPTIONS[case]
    message = _one_error(runs[case])
    assert message.startswith(starts)
    assert says in message


def test_schema_is_json_describing_the_top_level_keys():
    result = _run("-m", "sim.cli", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    top_level = set(yaml.safe_load(BASE.read_text(encoding="utf-8")))
    assert {"market", "propositions", "channels", "strategies", "compare"} <= top_level
    assert top_level | {"extends"} <= set(schema["properties"])
    # Limits must use JSON Schema's own words, or editors ignore them.
    defs = schema["$defs"]
    assert defs["Market"]["properties"]["population"]["minimum"] == 1
    share = defs["Segment"]["properties"]["share"]
    assert (share["minimum"], share["maximum"]) == (0, 1)
    assert not {"ge", "gt", "le", "lt"} & set(_keys(schema))


def _keys(node):
    """Every mapping key anywhere in ``node``."""
    if isinstance(node, dict):
        yield from node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            yield from _keys(item)


def test_validate_rejects_a_meaningless_scale():
    from sim import cli

    for scale in ("nan", "0", "-1", "inf"):
        assert cli.main(["validate", "--scale", scale, "--out", "/nonexistent"]) == 2
