"""Bad input to the command line: exit code 2, one message on stderr, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
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


# --- the printed comparison -------------------------------------------------------------------


def _blocks(text: str) -> dict[str, list[str]]:
    """The printed paired differences by header strategy: {strategy: the block's lines}."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if ", paired by replication" in line:
            current = line.split(" − ")[0]
            blocks[current] = []
        elif current is not None and line.strip():
            blocks[current].append(line)
    return blocks


def test_paired_differences_are_grouped_under_their_strategy():
    from sim.cli import format_comparison
    from sim.experiment import comparison

    # Four strategies, each a constant equity and churn difference from "a" in every
    # replication, so that each difference and its interval are known exactly.
    gain = {"a": (0.0, 0.0), "b": (100.0, -0.0125), "c": (2000.0, 0.025),
            "d": (-30000.0, 0.0375)}
    summaries = pd.DataFrame([
        {"strategy": s, "replication": r, "customer_equity": 1e6 * (r + 1) + e,
         "churn_rate_annual": 0.1 + 0.01 * r + c}
        for r in range(3) for s, (e, c) in gain.items()])
    table = comparison(summaries, list(gain),
                       {"customer_equity": +1, "churn_rate_annual": -1})
    blocks = _blocks(format_comparison(table, list(gain)))
    assert list(blocks) == ["b", "c", "d"]
    expected = {"b": ("+100 [+100, +100]", "-0.0125 [-0.0125, -0.0125]  wins 100%"),
                "c": ("+2,000 [+2,000, +2,000]", "+0.0250 [+0.0250, +0.0250]  wins 0%"),
                "d": ("-30,000 [-30,000, -30,000]", "+0.0375 [+0.0375, +0.0375]  wins 0%")}
    for s, (equity, churn) in expected.items():
        [equity_line, churn_line] = blocks[s]
        assert equity_line.split()[0] == "customer_equity", s
        assert equity_line.endswith(equity + "  wins " + ("0%" if s == "d" else "100%")), s
        assert churn_line.split()[0] == "churn_rate_annual" and churn_line.endswith(churn), s


def test_each_strategy_shows_its_largest_bridge_lines_and_payback():
    from sim.cli import BRIDGE_TOP, format_comparison
    from sim.experiment import bridge, comparison

    # Strategy "s" differs from "base" by these line components in each replication, plus
    # a little noise; "t" by a tenth of them.
    lines = {"revenue": 900.0, "delivery_costs": -400.0, "service_costs": -3.0,
             "staffing_costs": 150.0, "overhead_costs": -250.0, "residual_value": 600.0,
             "winback_costs": -2.0}
    rng = np.random.default_rng(5)
    rows, summaries = [], []
    for r in range(4):
        for s, scale in (("base", 0.0), ("s", 1.0), ("t", 0.1)):
            values = {c: scale * v + rng.normal(0, 0.01) for c, v in lines.items()}
            rows += [{"strategy": s, "replication": r, "kind": "line", "component": c,
                      "value": v} for c, v in values.items()]
            summaries.append({"strategy": s, "replication": r,
                              "customer_equity": sum(values.values())})
    strategies = ["base", "s", "t"]
    top = bridge(pd.DataFrame(rows), strategies, top=BRIDGE_TOP)
    table = comparison(pd.DataFrame(summaries), strategies, {"customer_equity": +1})
    nan = float("nan")
    payback = pd.DataFrame([
        {"strategy": "s", "baseline": "base", "payback_month": 31.0, "payback_low": 24.0,
         "payback_high": 40.0, "horizon": 120},
        {"strategy": "t", "baseline": "base", "payback_month": nan, "payback_low": nan,
         "payback_high": nan, "horizon": 120}])
    blocks = _blocks(format_comparison(table, strategies, top, payback))
    for s in ("s", "t"):
        block = blocks[s]
        assert block[1].strip() == "customer_equity difference by line:"
        names = [line.split()[0] for line in block[2:-1]]
        # By absolute size; the two smallest lumped into "other", printed last.
        assert names == ["revenue", "residual_value", "delivery_costs", "overhead_costs",
                         "staffing_costs", "other"], s
    other = top[(top["strategy"] == "s") & (top["component"] == "other")].iloc[0]
    assert blocks["s"][-2].endswith(
        f"{other['mean']:+.4f} [{other['ci_low']:+.4f}, {other['ci_high']:+.4f}]")
    assert blocks["s"][-1].strip() == "payback: month 31 [24, 40]"
    assert blocks["t"][-1].strip() == "no payback within the 120-month horizon"
