"""Parameter sweeps: designs, common random numbers across points, the analysis, resume,
workers, bad sweep blocks and ``cvm sweep``."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim import sweeps
from sim.experiment import Task, monte_carlo

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
TINY = {"market.population": 600, "market.initial_customers": 180,
        "simulation.horizon_months": 12}
"""A market small enough for a run in a few hundredths of a second."""
GRID = {"design": "grid", "replications": 3, "outcome": "discounted_cash_flow", "parameters": {
    "strategies.segmented.data_quality": {"values": [0.5, 1.0]},
    "strategies.segmented.analytics_cost": {"low": 0.0, "high": 5000.0, "levels": 3}}}
"""Two keys that only the segmented strategy reads: 2 × 3 points."""
FILES = ("points.csv", "per_point.csv", "sensitivity.csv", "comparison.csv", "manifest.json",
         "summaries.parquet", "monthly.parquet", "segments.parquet", "cohorts.parquet")
TABLES = ("points.csv", "per_point.csv", "sensitivity.csv", "comparison.csv",
          "summaries.parquet", "monthly.parquet")


def with_sweep(block: dict) -> sim.Scenario:
    return sim.load_scenario(HEADLINE).override({**TINY, "sweep": block})


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(read(a / name), read(b / name), check_exact=True,
                                      obj=name)


def annuity(months: int, annual_rate: float = 0.10) -> float:
    """Present value of 1 currency unit paid at the end of each of ``months`` months."""
    monthly = (1 + annual_rate) ** (1 / 12) - 1
    return sum((1 + monthly) ** -t for t in range(1, months + 1))


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """The grid sweep, run once on one worker."""
    scenario = with_sweep(GRID)
    out = tmp_path_factory.mktemp("grid") / "out"
    return scenario, sim.sweep(scenario, out=out, workers=1)


# ------------------------------------------------------------------ the analysis
def test_noise_share_matches_a_hand_computation():
    # Point 0: replications 0 and 2, mean 1, variance 2, variance of the mean 2 / 2 = 1.
    # Point 1: 10 and 12, the same. Point means 1 and 11: variance 50. Share 1 / 50.
    runs = pd.Series([0.0, 2.0, 10.0, 12.0], index=pd.MultiIndex.from_tuples(
        [(0, 0), (0, 1), (1, 0), (1, 1)], names=["point", "replication"]))
    assert sweeps.noise_share(runs) == pytest.approx(1 / 50)
    assert math.isnan(sweeps.noise_share(runs.loc[[0]]))  # one point: no spread to share


def linear(found: sweeps.Design) -> np.ndarray:
    """y = 3 x1 + x2 on the design's key values (as drawn, in their own units)."""
    return 3 * found.matrix[:, 0] + found.matrix[:, 1]


UNIT_RANGES = {"strategies.segmented.data_quality": {"low": 0.0, "high": 1.0},
               "behaviour.satisfaction.memory": {"low": 0.0, "high": 1.0}}


def test_sobol_indices_recover_a_linear_model():
    """For y = 3 x1 + x2 with x uniform on [0, 1]: Var = (9 + 1) / 12, so S1 = ST = 0.9 for
    x1 and 0.1 for x2. Each estimate must lie within twice its 95 % bootstrap half-width
    (about 4 standard errors) of the exact value."""
    found = sweeps.design(with_sweep({"design": "sobol", "samples": 1024,
                                      "parameters": UNIT_RANGES}))
    assert len(found.points) == 1024 * (2 + 2)  # Saltelli, first and total order only
    table = sweeps.indices(found, linear(found), seed=1).set_index(["index", "parameter"])
    exact = {"strategies.segmented.data_quality": 0.9, "behaviour.satisfaction.memory": 0.1}
    for index in ("S1", "ST"):
        for name, value in exact.items():
            row = table.loc[(index, name)]
            half = (row["ci_high"] - row["ci_low"]) / 2
            assert 0 < half < 0.1
            assert abs(row["value"] - value) <= 2 * half, (index, name)


def test_morris_effects_of_a_linear_model_are_its_slopes_times_the_range():
    """Elementary effects of a linear model are the same everywhere: mu_star is the
    change over the key's full range (3 and 1), sigma is 0. No sampling error."""
    found = sweeps.design(with_sweep({"design": "morris", "samples": 10,
                                      "parameters": UNIT_RANGES}))
    assert len(found.points) == 10 * (2 + 1)
    table = sweeps.indices(found, linear(found), seed=1).set_index(["index", "parameter"])
    assert table.loc[("mu_star", "strategies.segmented.data_quality"), "value"] == \
        pytest.approx(3.0)
    assert table.loc[("mu_star", "behaviour.satisfaction.memory"), "value"] == \
        pytest.approx(1.0)
    assert table.loc["sigma", "value"].to_numpy() == pytest.approx([0, 0], abs=1e-9)


def test_latin_hypercube_puts_one_point_in_each_stratum_and_ranks_the_keys():
    found = sweeps.design(with_sweep({"design": "lhs", "samples": 50,
                                      "parameters": UNIT_RANGES}))
    for column in range(2):
        strata = np.floor(found.matrix[:, column] * 50).astype(int)
        assert sorted(strata) == list(range(50))
    table = sweeps.indices(found, linear(found), seed=1).set_index("parameter")
    x1 = table.loc["strategies.segmented.data_quality"]
    x2 = table.loc["behaviour.satisfaction.memory"]
    assert x1["ci_low"] > 0 and x1["value"] > x2["value"]


def test_whole_number_keys_get_rounded_values():
    scenario = with_sweep({"design": "lhs", "samples": 7, "parameters": {
        "market.population": {"low": 500, "high": 800},
        "behaviour.winback_after_months": {"low": 1, "high": 9}}})
    found = sweeps.design(scenario)
    for name in ("market.population", "behaviour.winback_after_months"):
        assert found.points[name].dtype == np.int64
        assert np.all(np.abs(found.points[name] - found.matrix[:, list(
            found.problem["names"]).index(name)]) <= 0.5)
    point = sweeps.point_scenario(scenario, found.points, 3)
    assert point.market.population == found.points.loc[3, "market.population"]
    assert point.sweep is None  # a point does not sweep again


# ------------------------------------------------------------------ running
def test_grid_sweep_writes_every_table(grid_run):
    scenario, result = grid_run
    for name in FILES:
        assert (result.path / name).stat().st_size > 0, name
    assert set(result.charts) == {"sweep_heatmap"}  # a grid has no indices to chart
    assert result.charts["sweep_heatmap"].stat().st_size > 0
    points = pd.read_csv(result.path / "points.csv")
    assert len(points) == 2 * 3
    assert sorted(set(points["strategies.segmented.analytics_cost"])) == [0.0, 2500.0, 5000.0]
    summaries = pd.read_parquet(result.path / "summaries.parquet")
    assert len(summaries) == 6 * 2 * 3
    assert len(summaries.drop_duplicates(["point", "strategy", "replication"])) == 6 * 2 * 3
    assert len(result.per_point) == 6 * 2
    assert set(pd.read_csv(result.path / "comparison.csv")["point"]) == set(range(6))
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["replications"] == 3
    assert manifest["noise_share"] == pytest.approx(result.noise_share)


def test_every_point_runs_its_own_values(grid_run):
    scenario, result = grid_run
    point = result.points.iloc[-1]
    changes = {k: point[k].item() for k in GRID["parameters"]}
    single = sim.run(scenario.override({"sweep": None, **changes}), strategy="segmented",
                     replication=2).summary["customer_equity"]
    summaries = pd.read_parquet(result.path / "summaries.parquet")
    row = summaries.query(f"point == {int(point['point'])} and strategy == 'segmented' "
                          "and replication == 2")
    assert row["customer_equity"].item() == single


def test_common_random_numbers_across_points(grid_run):
    """gsp reads neither key: with the same streams at every point its runs are identical.
    And analytics cost is only a cost: the discounted cash flow falls by exactly its
    discounted sum (customer equity falls by more: the residual value charges each
    customer its share of the costs that keep serving the base)."""
    _, result = grid_run
    summaries = pd.read_parquet(result.path / "summaries.parquet")
    gsp = summaries[summaries["strategy"] == "gsp"].drop(columns="point")
    by_point = [rows.reset_index(drop=True) for _, rows in gsp.groupby(
        summaries.loc[gsp.index, "point"])]
    for rows in by_point[1:]:
        pd.testing.assert_frame_equal(rows, by_point[0], check_exact=True)
    means = sweeps.point_means(result.per_point, ["gsp", "segmented"])
    cost = "strategies.segmented.analytics_cost"
    for _, rows in means.groupby("strategies.segmented.data_quality"):
        rows = rows.sort_values(cost)
        slope = np.diff(rows["mean"]) / np.diff(rows[cost])
        assert slope == pytest.approx([-annuity(12)] * 2, rel=1e-9)


def test_per_point_difference_is_the_mean_paired_difference(grid_run):
    _, result = grid_run
    summaries = pd.read_parquet(result.path / "summaries.parquet")
    wide = summaries.pivot(index=["point", "replication"], columns="strategy",
                           values=GRID["outcome"])
    expected = (wide["segmented"] - wide["gsp"]).groupby(level="point").mean()
    rows = result.per_point[result.per_point["strategy"] == "segmented"].set_index("point")
    assert rows["diff_mean"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
    assert (rows["diff_ci_low"] < rows["diff_mean"]).all()
    assert result.per_point.loc[result.per_point["strategy"] == "gsp", "diff_mean"].isna().all()


def test_two_workers_give_identical_tables(grid_run, tmp_path):
    scenario, result = grid_run
    two = sim.sweep(scenario, out=tmp_path / "two", workers=2)
    assert_same_tables(result.path, two.path)


def test_resume_after_failed_runs_gives_identical_tables(grid_run, tmp_path, monkeypatch):
    scenario, result = grid_run
    real_run = sim.runner.run
    broken = Task(4, "segmented", 1)

    def flaky(scenario, strategy=None, replication=0, **kw):
        # Point 4 is the only one with data quality 1.0 and analytics cost 2500.
        sweep_point = (scenario.strategies["segmented"].data_quality == 1.0
                       and scenario.strategies["segmented"].analytics_cost == 2500.0)
        if sweep_point and strategy == broken.strategy and replication == broken.replication:
            raise RuntimeError("disk on fire")
        return real_run(scenario, strategy=strategy, replication=replication, **kw)

    monkeypatch.setattr(sim.runner, "run", flaky)
    out = tmp_path / "out"
    failed = sim.sweep(scenario, out=out, workers=1)
    assert list(failed.failures) == [broken.key]
    assert not (out / "per_point.csv").exists()
    monkeypatch.setattr(sim.runner, "run", real_run)
    resumed = sim.sweep(scenario, out=out, workers=1, resume=True)
    assert not resumed.failures
    assert_same_tables(result.path, out)


def test_a_comparison_folder_is_not_resumed_as_a_sweep(tmp_path):
    scenario = with_sweep(GRID)
    monte_carlo(scenario, out=tmp_path / "out", workers=1, replications=2)
    with pytest.raises(sim.ResultsError, match="different kind"):
        sim.sweep(scenario, out=tmp_path / "out", workers=1, resume=True)


def test_sobol_sweep_gives_indices_with_intervals_and_the_noise(tmp_path):
    scenario = with_sweep({"design": "sobol", "samples": 4, "replications": 2, "parameters": {
        "strategies.segmented.data_quality": {"low": 0.3, "high": 1.0},
        "market.needs_contrast": {"low": 0.0, "high": 1.5}}})
    result = sim.sweep(scenario, out=tmp_path / "out", workers=1)
    assert len(result.points) == 4 * (2 + 2)
    table = result.sensitivity
    assert sorted(zip(table["index"], table["parameter"], strict=True)) == sorted(
        (i, p) for i in ("S1", "ST") for p in scenario.sweep.parameters)
    assert np.isfinite(table[["value", "ci_low", "ci_high"]].to_numpy()).all()
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()
    assert 0 <= result.noise_share < math.inf
    assert result.charts["sweep_indices"].stat().st_size > 0


def test_morris_sweep_measures_a_pure_cost_exactly(tmp_path):
    """Analytics cost changes no behaviour: with common random numbers the discounted cash
    flow moves by exactly its discounted sum, so mu_star = range × annuity and sigma = 0."""
    scenario = with_sweep({"design": "morris", "samples": 3, "replications": 2,
                           "outcome": "discounted_cash_flow", "parameters": {
        "strategies.segmented.data_quality": {"low": 0.3, "high": 1.0},
        "strategies.segmented.analytics_cost": {"low": 0.0, "high": 6000.0}}})
    result = sim.sweep(scenario, out=tmp_path / "out", workers=1)
    table = result.sensitivity.set_index(["index", "parameter"])["value"]
    cost = "strategies.segmented.analytics_cost"
    assert table[("mu_star", cost)] == pytest.approx(6000.0 * annuity(12), rel=1e-9)
    assert table[("sigma", cost)] == pytest.approx(0.0, abs=1e-6 * table[("mu_star", cost)])
    assert table[("mu_star", "strategies.segmented.data_quality")] > 0


# ------------------------------------------------------------------ bad sweep blocks
BAD_BLOCKS = {
    "unknown key": ("    strategies.segmented.data_qualty: {values: [0.5, 1.0]}  # <-",
                    "grid", "sweep.parameters.strategies.segmented.data_qualty",
                    "did you mean 'data_quality'"),
    "low not below high": ("    market.needs_contrast: {low: 1.0, high: 0.5}  # <-", "lhs",
                           "sweep.parameters.market.needs_contrast",
                           "low must be less than high"),
    "value out of range": ("    strategies.segmented.data_quality: {values: [0.5, 1.5]}  # <-",
                           "grid", "sweep.parameters.strategies.segmented.data_quality",
                           "invalid at 1.5: must be at most 1"),
    "not a number": ("    strategies.gsp.proposition: {low: 0, high: 1}  # <-", "lhs",
                     "sweep.parameters.strategies.gsp.proposition", "varies numbers"),
    "grid range without levels": ("    market.needs_contrast: {low: 0, high: 1}  # <-", "grid",
                                  "sweep.parameters.market.needs_contrast", "needs levels"),
    "unknown design": ("    market.needs_contrast: {values: [0, 1]}", "grod  # <-",
                       "sweep.design", "should be 'grid', 'lhs', 'sobol' or 'morris'"),
}


@pytest.mark.parametrize("case", list(BAD_BLOCKS))
def test_bad_sweep_blocks_name_the_key_and_line(case, tmp_path):
    parameter, design, key, says = BAD_BLOCKS[case]
    text = (f"extends: {HEADLINE}\nsweep:\n  design: {design}\n  samples: 4\n"
            f"  parameters:\n{parameter}\n")
    if design == "grid":
        text = text.replace("  samples: 4\n", "")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.endswith("# <-"))
    with pytest.raises(sim.ScenarioError) as caught:
        sim.load_scenario(path)
    assert str(caught.value).startswith(f"{path}:{line}: {key}: ")
    assert says in caught.value.message


def test_the_shipped_sweep_is_a_4_by_4_grid_of_valid_points():
    scenario = sim.load_scenario(ROOT / "scenarios" / "sweep_data_quality.yaml")
    found = sweeps.design(scenario)
    assert len(found.points) == 16 and scenario.compare == ("gsp", "segmented")
    last = sweeps.point_scenario(scenario, found.points, 15)
    assert (last.strategies["segmented"].data_quality, last.market.needs_contrast) == (1.0, 1.5)


def test_a_scenario_without_a_sweep_block_is_refused(tmp_path):
    with pytest.raises(sim.ScenarioError, match="no sweep block"):
        sim.sweep(HEADLINE, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sweep_is_a_function_even_after_its_module_is_imported():
    import sim.sweeps  # noqa: F401 - the import itself is what is tested

    assert sim.sweep is sweeps.sweep


# ------------------------------------------------------------------ the command line
def tiny_file(directory: Path, parameter: str) -> Path:
    path = directory / "tiny.yaml"
    path.write_text(f"extends: {HEADLINE}\nname: tiny\n"
                    "market: {population: 600, initial_customers: 180}\n"
                    "simulation: {horizon_months: 12}\n"
                    "sweep:\n  design: grid\n  replications: 2\n  parameters:\n"
                    f"    {parameter}: {{values: [0.5, 1.0]}}\n"
                    "    market.needs_contrast: {values: [0.0, 1.0]}\n")
    return path


def test_cvm_sweep_prints_the_table(tmp_path, capsys):
    from sim import cli

    path = tiny_file(tmp_path, "strategies.segmented.data_quality")
    code = cli.main(["sweep", str(path), "--out", str(tmp_path / "out"), "--workers", "1",
                     "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "customer_equity: segmented − gsp" in out
    assert "data_quality (rows) by needs_contrast (columns)" in out
    per_point = pd.read_csv(tmp_path / "out" / "per_point.csv")
    shown = per_point.loc[per_point["strategy"] == "segmented", "diff_mean"]
    for value in shown:
        assert f"{value:,.0f}" in out
    assert "noise share" in out


def test_cvm_sweep_with_a_bad_key_exits_2_without_traceback(tmp_path):
    path = tiny_file(tmp_path, "strategies.segmented.data_qualty")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(path), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}:9: sweep.parameters.")
    assert "did you mean 'data_quality'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_morris_mu_star_is_the_change_over_the_full_range_not_per_unit():
    """y = 3 x1 + x2 with x2 ranging over [0, 2]: over its full range x2 moves y by 2,
    per unit by 1; mu_star must report the former (as INDEX_MEANING says)."""
    ranges = {"strategies.segmented.data_quality": {"low": 0.0, "high": 1.0},
              "market.needs_contrast": {"low": 0.0, "high": 2.0}}
    found = sweeps.design(with_sweep({"design": "morris", "samples": 10,
                                      "parameters": ranges}))
    assert found.matrix[:, 1].max() == pytest.approx(2.0)
    table = sweeps.indices(found, linear(found), seed=1).set_index(["index", "parameter"])
    assert table.loc[("mu_star", "market.needs_contrast"), "value"] == pytest.approx(2.0)
    assert table.loc[("mu_star", "strategies.segmented.data_quality"), "value"] == \
        pytest.approx(3.0)


def test_sobol_and_morris_refuse_narrow_whole_number_ranges():
    narrow = {"behaviour.winback_after_months": {"low": 2, "high": 8}}
    for kind in ("sobol", "morris"):
        block = {"design": kind, "samples": 8, "parameters": narrow}
        with pytest.raises(sim.ScenarioError, match="whole-number key") as err:
            sweeps.design(with_sweep(block))
        assert err.value.path == "sweep.parameters.behaviour.winback_after_months"
    assert len(sweeps.design(with_sweep({"design": "lhs", "samples": 8,
                                         "parameters": narrow})).points) == 8
