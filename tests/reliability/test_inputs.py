"""Bounded inputs and no traceback: every size, count, seed and amount has an upper bound
checked at the boundary (exit 2 naming the option or the file, line and key); scenario
text is data; anything unexpected is one line and exit 1.

The fuzzing here draws whole scenario files and command lines (hypothesis, fixed
database-less seeds): whatever it draws must end in a result or in a clear bad-input
error, never in another exception."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import sim
from sim import cli
from sim.errors import ScenarioError
from sim.scenario.limits import MAX_EXTENDS, MAX_MONEY, MAX_SEED
from sim.store import default_folder

ROOT = Path(__file__).resolve().parents[2]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
TINY = ["--set", "market.population=300", "--set", "market.initial_customers=200",
        "--set", "simulation.horizon_months=2", "--set", "simulation.warmup_months=0",
        "--quiet", "--workers", "1"]


def _run(capsys, *argv):
    """Exit code and stderr of ``cvm`` with ``argv``."""
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("argv", "option", "says"), [
    (["--replications", "1000000000"], "--replications", "at most 10,000"),
    (["--workers", "100000"], "--workers", "at most 1,024"),
    (["--seed", str(MAX_SEED + 1)], "--seed", "at most"),
    (["--target-ci", "nan"], "--target-ci", "positive number"),
    (["--target-ci", "inf"], "--target-ci", "positive number"),
    (["--target-ci", "5", "--strategy", "gsp"], "--target-ci", "two strategies"),
    (["--max-replications", "50"], "--max-replications", "give it with --target-ci"),
    (["--replications", "10", "--max-replications", "5", "--target-ci", "3"],
     "--max-replications", "at least the replications (10)"),
])
def test_run_options_are_bounded(capsys, tmp_path, argv, option, says):
    code, err = _run(capsys, "run", str(HEADLINE), *TINY, "--out", str(tmp_path / "o"), *argv)
    assert code == 2
    assert err.startswith(f"error: {option}: ") and says in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()          # refused before any work


def test_calibrate_periods_are_bounded(capsys, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("survival\n1\n0.8\n0.7\n")
    code, err = _run(capsys, "calibrate", str(table), "--periods", "1000000000")
    assert code == 2 and "--periods: must be at most" in err


def _scenario_file(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {HEADLINE}\n{text}")
    return path


@pytest.mark.parametrize(("text", "key", "says"), [
    (f"simulation: {{seed: {MAX_SEED + 1}}}\n", "simulation.seed", "at most"),
    ("simulation: {replications: 100000}\n", "simulation.replications", "at most 10000"),
    (f"propositions: {{standard: {{price: {MAX_MONEY * 10:.1f}}}}}\n",
     "propositions.standard.price", "at most"),
    ("economics: {cost_per_reach: 1.0e+300}\n", "economics.cost_per_reach", "at most"),
    ("channels: {\"call\\tcentre\": {human: false, cost_per_contact: 1.0, quality: 0.5,"
     " wait_penalty: 0.0}}\n", "channels.call\\tcentre", "control characters"),
    ("channels: {" + "c" * 80 + ": {human: false, cost_per_contact: 1.0, quality: 0.5,"
     " wait_penalty: 0.0}}\n", "channels.ccccc", "at most 64 characters"),
])
def test_scenario_values_are_bounded(tmp_path, text, key, says):
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(_scenario_file(tmp_path, text))
    assert err.value.path.startswith(key) and says in err.value.message, str(err.value)


def test_more_segments_than_the_codes_hold_are_refused(tmp_path):
    base = sim.load_scenario(HEADLINE).model_dump(mode="json")
    one = next(iter(base["market"]["segments"].values()))
    base["market"]["segments"] = {f"s{i}": {**one, "share": 1 / 101} for i in range(101)}
    base["market"]["competitor_utility"] = dict.fromkeys(base["market"]["segments"], 0.0)
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(base)
    assert err.value.path == "market.segments" and "at most 100" in err.value.message


@pytest.mark.parametrize("shape", ["flow", "block"])
def test_deep_nesting_is_a_clear_error(tmp_path, shape):
    path = tmp_path / "deep.yaml"
    if shape == "flow":
        path.write_text("a: " + "[" * 10_000 + "\n")
    else:
        levels = "".join("  " * i + f"k{i}:\n" for i in range(3000))
        path.write_text(levels + "  " * 3000 + "x: 1\n")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        sim.load_scenario(path)


def test_long_extends_chains_are_cut(tmp_path):
    last = _scenario_file(tmp_path, "", "f0.yaml")
    for i in range(1, MAX_EXTENDS + 5):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i - 1}.yaml\n")
        last = tmp_path / f"f{i}.yaml"
    with pytest.raises(ScenarioError, match=f"more than {MAX_EXTENDS} files"):
        sim.load_scenario(last)


def test_never_ending_and_folder_inputs(tmp_path):
    with pytest.raises(ScenarioError, match="larger than"):
        sim.load_scenario("/dev/zero")
    with pytest.raises(ScenarioError, match="is a folder"):
        sim.load_scenario(tmp_path)
    (tmp_path / "x.yaml").write_text("extends: .\n")
    with pytest.raises(ScenarioError, match="extends a folder"):
        sim.load_scenario(tmp_path / "x.yaml")


@pytest.mark.parametrize("name", ["/some/dir", "../../x", "a b/c\\d", "", "..", "x" * 500,
                                  "bell\x07"])
def test_default_results_folder_is_always_under_results(name):
    out = default_folder(name)
    assert out.parts[0] == "results" and len(out.parts) == 2, out
    assert out.name not in {"", ".", ".."} and len(out.name) <= 100
    assert set(out.name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789._-")


def test_an_internal_error_is_one_line_and_exit_1(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("something inside\nbroke")

    monkeypatch.setattr(cli, "cmd_schema", broken)
    code, err = _run(capsys, "schema")
    assert code == 1
    assert err == ("error: internal error: RuntimeError: something inside "
                   "(run again with --debug for the traceback)\n")
    code, err = _run(capsys, "schema", "--debug")
    assert code == 1 and "Traceback" in err and "RuntimeError" in err


# ----------------------------------------------------------------------- fuzzing
# Values that YAML can produce, of every kind the schema meets.
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=8)
_KEYS = ["simulation.seed", "simulation.replications", "simulation.horizon_months",
         "market.population", "market.initial_customers", "market.exit_rate",
         "market.segments.affluent.share", "market.segments.affluent.churn",
         "propositions.standard.price", "channels.call_centre.hourly_profile",
         "strategies.segmented.staffing", "strategies.segmented.budgets.retention",
         "strategies.gsp.kind", "economics.discount_rate_annual", "compare", "name",
         "sweep", "behaviour.churn.stage_multipliers"]


@seed(20261122)
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(_KEYS), _values, min_size=1, max_size=3))
def test_fuzzed_scenario_files_load_or_fail_clearly(tmp_path_factory, changes):
    """The headline scenario with up to three keys replaced by arbitrary YAML values, written
    as a file: it loads, or fails with a ScenarioError naming the file and a key."""
    data = sim.load_scenario(HEADLINE).model_dump(mode="json")
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node[last] = value
    path = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        sim.load_scenario(path)
    except ScenarioError as err:
        assert err.file == str(path) and err.message


@seed(20261123)
# capsys is shared by the examples, which is fine: each reads (and so clears) its output.
@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(["--replications", "--workers", "--seed", "--target-ci",
                                      "--max-replications", "--strategy", "--set",
                                      "--engine", "--executor", "1", "0", "-5", "nan",
                                      "1e400", "gsp", "x=1", "=", "99999999999999999999999"]),
                     max_size=6))
def test_fuzzed_command_lines_never_leave_a_traceback(capsys, tmp_path_factory, argv):
    """Arbitrary option soup after ``cvm run SCENARIO``: argparse's own usage error (exit 2),
    a bad-input message (exit 2) or a run; never a traceback. Runs are kept tiny."""
    out = tmp_path_factory.mktemp("cli") / "o"
    try:
        code = cli.main(["run", str(HEADLINE), *TINY, "--replications", "2", "--out", str(out),
                         *argv])
    except SystemExit as exit_:              # argparse: usage error
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (0, 2), err
    assert "Traceback" not in err and "internal error" not in err, err


@pytest.mark.parametrize(("design", "parameters", "samples"), [
    ("grid", {"strategies.segmented.data_quality": {"low": 0.1, "high": 1.0, "levels": 1000},
              "market.needs_contrast": {"low": 0.0, "high": 1.5, "levels": 1000}}, None),
    ("lhs", {"strategies.segmented.data_quality": {"low": 0.1, "high": 1.0}}, 100_001),
    ("sobol", {"strategies.segmented.data_quality": {"low": 0.1, "high": 1.0},
               "market.needs_contrast": {"low": 0.0, "high": 1.5}}, 65_536),
])
def test_sweep_designs_are_bounded(tmp_path, design, parameters, samples):
    """A design of more than MAX_SWEEP_POINTS points is refused when the file is read (a
    10^6-point grid, too many lhs samples, a Sobol' sample times (parameters + 2))."""
    sweep = {"design": design, "parameters": parameters, "replications": 2}
    if samples:
        sweep["samples"] = samples
    path = _scenario_file(tmp_path, yaml.safe_dump({"sweep": sweep}))
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    assert err.value.path.startswith("sweep"), str(err.value)
    assert any(says in err.value.message for says in ("at most", "more than 100,000"))


@pytest.mark.parametrize(("scheduler", "says"), [
    ("tcp://127.0.0.1:1", "cannot reach the Dask scheduler"),
    ("notanaddress", "expected tcp://HOST:PORT"),
])
def test_an_unreachable_scheduler_is_bad_input_and_claims_no_folder(capsys, tmp_path,
                                                                    scheduler, says):
    """Checked within seconds, before the results folder is claimed: the same command can
    be run again once the scheduler is up."""
    code, err = _run(capsys, "run", str(HEADLINE), *TINY, "--executor", "dask",
                     "--scheduler", scheduler, "--out", str(tmp_path / "o"))
    assert code == 2 and err.startswith("error: --scheduler: ") and says in err, err
    assert not (tmp_path / "o").exists()
