"""Equity bridge and payback: the paired equity difference split into components, and the
month from which a strategy's cumulative discounted cash flow stays ahead of the baseline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.experiment import bridge, payback, payback_month

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ["base", "a", "b"]
LINES = ["revenue", "delivery_costs", "service_costs", "acquisition_costs", "residual_value"]
SEGMENTS = ["affluent", "mainstream", "firm_wide"]


def _t_half(values: np.ndarray) -> float:
    """Half-width of the 95 % Student-t interval of the mean, from the textbook formula."""
    values = np.asarray(values, dtype=float)
    return stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))


def _synthetic_equity(replications: int = 6, seed: int = 7) -> tuple[pd.DataFrame, dict]:
    """Per-run equity tables of three strategies whose customer equity is known.

    Each run's equity E is drawn first; the line components are drawn freely except the
    residual value, set so that the lines sum to E; the segments likewise with firm_wide.
    Strategy "a" alone has a transition cost line; segment "mainstream" is missing from
    every run of "b" (no customers there), so it counts as 0.

    Returns:
        The tidy table and {(strategy, replication): E}.
    """
    rng = np.random.default_rng(seed)
    rows, equity = [], {}
    for r in range(replications):
        for s in STRATEGIES:
            e = rng.normal(1e6, 2e5)
            equity[s, r] = e
            lines = {"revenue": rng.uniform(2e6, 3e6),
                     "delivery_costs": -rng.uniform(5e5, 8e5),
                     "service_costs": -rng.uniform(1e5, 2e5),
                     "acquisition_costs": -rng.uniform(1e5, 3e5)}
            if s == "a":
                lines["transition_costs"] = -rng.uniform(1e4, 5e4)
            lines["residual_value"] = e - sum(lines.values())
            segments = {"affluent": rng.uniform(3e5, 6e5)}
            if s != "b":
                segments["mainstream"] = rng.uniform(2e5, 4e5)
            segments["firm_wide"] = e - sum(segments.values())
            for kind, parts in (("line", lines), ("segment", segments)):
                rows += [{"strategy": s, "replication": r, "kind": kind, "component": c,
                          "value": v} for c, v in parts.items()]
    return pd.DataFrame(rows), equity


def test_bridge_pieces_add_up_to_the_equity_difference_in_every_replication():
    equity, known = _synthetic_equity()
    for r in range(6):
        one = bridge(equity[equity["replication"] == r], STRATEGIES)
        for s in ("a", "b"):
            expected = known[s, r] - known["base", r]
            for kind in ("line", "segment"):
                rows = one[(one["strategy"] == s) & (one["kind"] == kind)]
                parts = rows.loc[rows["component"] != "total", "mean"]
                assert parts.sum() == pytest.approx(expected, rel=1e-9, abs=1e-6), (s, r, kind)
                assert rows.loc[rows["component"] == "total", "mean"].item() == pytest.approx(
                    expected, rel=1e-9, abs=1e-6)


def test_bridge_means_intervals_and_order():
    equity, known = _synthetic_equity()
    table = bridge(equity, STRATEGIES)
    assert list(table.columns) == ["strategy", "baseline", "kind", "component", "mean",
                                   "ci_low", "ci_high", "n"]
    assert set(table["baseline"]) == {"base"} and set(table["n"]) == {6}
    a_lines = table[(table["strategy"] == "a") & (table["kind"] == "line")]
    # The order of appearance, the line only "a" has in its place, total last.
    assert a_lines["component"].tolist() == [*LINES[:4], "transition_costs",
                                             "residual_value", "total"]
    # Every strategy shows every component: "b", like the baseline, has no transition costs.
    assert table["strategy"].tolist() == ["a"] * 11 + ["b"] * 11
    b_transition = table[(table["strategy"] == "b") & (table["component"] == "transition_costs")]
    assert b_transition[["mean", "ci_low", "ci_high"]].to_numpy().tolist() == [[0.0] * 3]
    b_segments = table[(table["strategy"] == "b") & (table["kind"] == "segment")]
    assert b_segments["component"].tolist() == [*SEGMENTS, "total"]

    value = equity.set_index(["strategy", "replication", "kind", "component"])["value"]
    # "b" has no mainstream customers: its difference is minus the baseline's value.
    mainstream = np.array([-value["base", r, "segment", "mainstream"] for r in range(6)])
    # The baseline has no transition costs: the difference is "a"'s own.
    transition = np.array([value["a", r, "line", "transition_costs"] for r in range(6)])
    total = np.array([known["a", r] - known["base", r] for r in range(6)])
    for s, kind, component, diffs in (("b", "segment", "mainstream", mainstream),
                                      ("a", "line", "transition_costs", transition),
                                      ("a", "segment", "total", total)):
        row = table.set_index(["strategy", "kind", "component"]).loc[(s, kind, component)]
        half = _t_half(diffs)
        assert row["mean"] == pytest.approx(diffs.mean(), rel=1e-9)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(
            (diffs.mean() - half, diffs.mean() + half), rel=1e-9)


def test_bridge_pairs_by_point_and_replication():
    # Replication 0 at point 1 is twice as good for "a" as at point 0: pairing across
    # points would mix them.
    equity = pd.DataFrame({
        "point": [0, 0, 1, 1, 0, 0, 1, 1], "replication": [0, 0, 0, 0, 1, 1, 1, 1],
        "strategy": ["base", "a"] * 4, "kind": "line", "component": "revenue",
        "value": [10.0, 13.0, 10.0, 16.0, 20.0, 21.0, 20.0, 24.0]})
    table = bridge(equity, ["base", "a"])
    row = table[table["component"] == "revenue"].iloc[0]
    diffs = np.array([3.0, 6.0, 1.0, 4.0])
    assert row["n"] == 4 and row["mean"] == pytest.approx(3.5)
    assert row["ci_high"] - row["mean"] == pytest.approx(_t_half(diffs))


def test_bridge_top_lumps_the_smaller_components_into_other():
    rng = np.random.default_rng(3)
    components = {f"c{i}": scale for i, scale in enumerate([50, -40, 1, 30, -2, 20, 3])}
    rows = []
    for r in range(4):
        for s in ("base", "a"):
            rows += [{"strategy": s, "replication": r, "kind": "line", "component": c,
                      "value": (scale if s == "a" else 0.0) + rng.normal(0, 0.5)}
                     for c, scale in components.items()]
    equity = pd.DataFrame(rows)
    table = bridge(equity, ["base", "a"], top=5)
    assert table["component"].tolist() == ["c0", "c1", "c3", "c5", "c6", "other", "total"]
    wide = equity.pivot(index=["replication", "component"], columns="strategy",
                        values="value")
    diffs = (wide["a"] - wide["base"]).unstack("component")
    other = (diffs["c2"] + diffs["c4"]).to_numpy()
    row = table.set_index("component").loc["other"]
    assert row["mean"] == pytest.approx(other.mean(), rel=1e-9)
    assert row["ci_high"] - row["mean"] == pytest.approx(_t_half(other), rel=1e-9)
    total = table.set_index("component").loc["total", "mean"]
    assert total == pytest.approx(diffs.sum(axis=1).mean(), rel=1e-9)
    # With no more components than top, nothing is lumped.
    assert "other" not in set(bridge(equity, ["base", "a"], top=7)["component"])


# --- payback ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "month"), [
    ([-3.0, -1.0, 0.0, 2.0], 3),                # reaching exactly 0 counts as paid back
    ([1.0, 2.0, 3.0, 4.0], 1),                  # ahead from the start
    ([-1.0, 1.0, 2.0, -1.0, 1.0, 2.0], 5),      # ahead, behind again, then for good
    ([-1.0, 1.0, 2.0, -0.5], math.nan),         # behind again at the horizon: never
    ([-1.0, -2.0, -3.0], math.nan),             # never
    ([1.0, math.nan, 1.0, 2.0], 3),             # an unknown value is not paid back
])
def test_payback_month(values, month):
    months = np.arange(1, len(values) + 1)
    assert payback_month(months, np.array(values)) == pytest.approx(month, nan_ok=True)


# Mean cumulative differences against the baseline by month, and the spread of the three
# replications around it (−d, 0, +d); the paybacks were read off by hand, with the 95 %
# half-width t(0.975, 2)·d/√3 ≈ 2.484·d.
CURVES = {
    # Ahead at month 5, behind at month 7, ahead again at 8.
    "back_and_forth": ([-5, -8, -6, -2, 1, 3, -0.5, 2], 0.1, (8, 8, 8)),
    # Ahead from month 4; the upper bound from month 2, the lower from month 7.
    "clean": ([-3, -2, -1, 0.5, 1, 2, 3, 4], 1.0, (4, 2, 7)),
    # Never ahead; the upper bound from month 4 on; the lower never.
    "never": ([-1, -2, -3, -2, -1, -0.5, -0.2, -0.1], 1.0, (math.nan, 4, math.nan)),
}


def _synthetic_monthly() -> pd.DataFrame:
    """Monthly tables whose paired cumulative discounted differences are :data:`CURVES`.

    The baseline's cash flows are random; each strategy's flow is the baseline's plus the
    increment of its target path divided by the month's discount factor.
    """
    rng = np.random.default_rng(11)
    months = np.arange(1, 9)
    discount = 1.01 ** -months
    rows = []
    for r, spread in enumerate((-1.0, 0.0, 1.0)):
        base = rng.normal(1000.0, 300.0, len(months))
        rows += [{"strategy": "base", "replication": r, "month": m, "net_cash_flow": f,
                  "discount_factor": d} for m, f, d in zip(months, base, discount, strict=True)]
        for s, (mean, d_spread, _) in CURVES.items():
            path = np.array(mean, dtype=float) + spread * d_spread
            flows = base + np.diff(path, prepend=0.0) / discount
            rows += [{"strategy": s, "replication": r, "month": m, "net_cash_flow": f,
                      "discount_factor": d} for m, f, d in zip(months, flows, discount,
                                                               strict=True)]
    # Shuffled: nothing may rely on the rows' order.
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)


def test_payback_curves_and_months():
    curves, summary = payback(_synthetic_monthly(), ["base", *CURVES])
    assert list(summary.columns) == ["strategy", "baseline", "payback_month", "payback_low",
                                     "payback_high", "horizon"]
    assert summary["strategy"].tolist() == list(CURVES)
    assert set(summary["baseline"]) == {"base"} and set(summary["horizon"]) == {8}
    half = stats.t.ppf(0.975, 2) / math.sqrt(3)
    for s, (mean, spread, expected) in CURVES.items():
        c = curves[curves["strategy"] == s]
        assert c["month"].tolist() == list(range(1, 9))
        np.testing.assert_allclose(c["mean"], mean, atol=1e-9)
        np.testing.assert_allclose(c["ci_high"] - c["mean"], half * spread, rtol=1e-6)
        np.testing.assert_allclose(c["mean"] - c["ci_low"], half * spread, rtol=1e-6)
        row = summary.set_index("strategy").loc[s]
        got = (row["payback_month"], row["payback_low"], row["payback_high"])
        assert got == pytest.approx(expected, nan_ok=True), s
        assert set(c["n"]) == {3}


# --- a real experiment ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_scenario():
    scenario = sim.load_scenario(ROOT / "scenarios" / "gsp_vs_segmented.yaml").override({
        "market.population": 3000, "market.initial_customers": 900,
        "simulation.horizon_months": 24})
    probe = sim.run(scenario.override({"market.population": 300,
                                       "market.initial_customers": 90}), months=2)
    if not hasattr(probe, "equity"):
        pytest.skip("the engine does not yet provide RunResult.equity")
    return scenario


def test_real_bridge_adds_up_in_every_replication(real_scenario, tmp_path):
    result = sim.monte_carlo(real_scenario, replications=3, workers=1,
                             out=tmp_path / "out")
    assert not result.failures
    equity = pd.read_parquet(result.path / "equity.parquet")
    summaries = result.summaries.set_index(["strategy", "replication"])["customer_equity"]
    strategies = list(real_scenario.compare)
    base = strategies[0]
    sums = equity.groupby(["strategy", "replication", "kind"])["value"].sum()
    for s in strategies:
        for r in range(3):
            for kind in ("line", "segment"):
                assert sums[s, r, kind] == pytest.approx(summaries[s, r], rel=1e-6)
    for r in range(3):
        one = bridge(equity[equity["replication"] == r], strategies)
        for s in strategies[1:]:
            expected = summaries[s, r] - summaries[base, r]
            for kind in ("line", "segment"):
                rows = one[(one["strategy"] == s) & (one["kind"] == kind)]
                parts = rows.loc[rows["component"] != "total", "mean"].sum()
                assert parts == pytest.approx(expected, rel=1e-6), (s, r, kind)
    written = pd.read_csv(result.path / "bridge.csv", keep_default_na=False,
                          na_values={"ci_low": [""], "ci_high": [""]})
    assert len(written) == len(result.bridge)
    paid = pd.read_csv(result.path / "payback.csv")
    assert paid["strategy"].tolist() == strategies[1:] and set(paid["horizon"]) == {24}
