"""What a results folder records about how it was made: the real command line (through
``cvm``, ``run_scenario.py`` or the Python API), shown in the report too."""

from __future__ import annotations

import html
import json
import shlex
import subprocess
import sys
from pathlib import Path

import sim
from sim import cli

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
TINY = ["--set", "market.population=300", "--set", "market.initial_customers=200",
        "--set", "simulation.horizon_months=2", "--set", "simulation.warmup_months=0",
        "--replications", "2", "--quiet", "--workers", "1"]


def _command(out: Path) -> str:
    return json.loads((out / "manifest.json").read_text())["command"]


def test_cvm_records_its_own_command_line(tmp_path):
    out = tmp_path / "o"
    argv = ["run", str(HEADLINE), *TINY, "--out", str(out)]
    assert cli.main(argv) == 0
    assert _command(out) == shlex.join(["cvm", *argv])
    report = (out / "report.html").read_text()
    assert html.escape(shlex.join(["cvm", *argv])) in report


def test_run_scenario_records_the_python_command(tmp_path):
    out = tmp_path / "o"
    argv = [sys.executable, "run_scenario.py", str(HEADLINE), *TINY, "--out", str(out)]
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    assert _command(out) == shlex.join(["python", *argv[1:]])


def test_the_python_api_records_the_call(tmp_path):
    scenario = sim.load_scenario(HEADLINE).override({
        "market.population": 300, "market.initial_customers": 200,
        "simulation.horizon_months": 2, "simulation.warmup_months": 0})
    out = tmp_path / "o"
    sim.monte_carlo(scenario, replications=2, out=out, workers=1)
    assert _command(out) == (f"sim.monte_carlo('gsp_vs_segmented', replications=2, "
                             f"out={str(out)!r}, workers=1, executor='local', "
                             f"engine='vectorized', resume=False)")
