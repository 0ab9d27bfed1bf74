"""What-ifs across time and across files: a strategy's schedule, and ``cvm compare``
pairing two scenario files that share their people and draws."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.compare import compare_scenarios, unpaired_keys
from sim.errors import OptionError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
SMALL = {"market.population": 3000, "market.initial_customers": 2100,
         "simulation.horizon_months": 24, "simulation.warmup_months": 12}
LEAN_FROM = 12
SCHEDULE = [{"from_month": LEAN_FROM,
             "set": {"staffing.call_centre": [1] * 12, "analytics_cost": 0}}]


def _small(**changes) -> sim.Scenario:
    return sim.load_scenario(HEADLINE).override({**SMALL, **changes})


@pytest.mark.parametrize("strategy", ["gsp", "segmented"])
def test_a_schedule_changes_the_run_from_its_month_on_only(strategy):
    plain = sim.run(_small(), strategy=strategy).monthly
    lean = sim.run(_small(**{f"strategies.{strategy}.schedule": SCHEDULE}),
                   strategy=strategy).monthly
    before, after = plain["month"] < LEAN_FROM, plain["month"] >= LEAN_FROM
    # The same people and draws: identical until the change, and the change shows at once.
    pd.testing.assert_frame_equal(plain[before], lean[before])
    assert (lean.loc[after, "staffing_costs"] < plain.loc[after, "staffing_costs"]).all()
    analytics = sim.load_scenario(HEADLINE).strategies[strategy].analytics_cost
    assert np.allclose(plain.loc[after, "overhead_costs"] - lean.loc[after, "overhead_costs"],
                       analytics)


def test_a_schedule_is_applied_identically_by_both_engines():
    scenario = _small(**{"strategies.segmented.schedule": SCHEDULE,
                         "market.population": 600, "market.initial_customers": 420})
    vectorized = sim.run(scenario, strategy="segmented", engine="vectorized")
    agents = sim.run(scenario, strategy="segmented", engine="agents")
    pd.testing.assert_frame_equal(vectorized.monthly, agents.monthly)
    assert vectorized.summary == agents.summary


@pytest.mark.parametrize(("change", "message"), [
    ({"data_quality": 0.5}, "cannot change during the horizon"),
    ({"staffing.call_center": 3}, "did you mean 'call_centre'"),
    ({"priority_share": 2}, "must be at most 1 (got 2)"),
])
def test_a_bad_schedule_names_the_key(change, message):
    with pytest.raises(ScenarioError, match=re.escape(message)) as err:
        _small(**{"strategies.segmented.schedule": [{"from_month": 6, "set": change}]})
    assert err.value.path.startswith("strategies.segmented.schedule.0.set")


def test_a_schedule_after_the_horizon_is_refused():
    with pytest.raises(ScenarioError, match="after the horizon"):
        _small(**{"strategies.gsp.schedule": [{"from_month": 25, "set": {"analytics_cost": 1}}]})


def test_two_copies_of_a_file_differ_by_exactly_nothing(tmp_path):
    """Paired across files, replication r of each meets the same people and draws: two
    copies of one scenario give differences of exactly 0 in every run."""
    scenario = _small()
    result = compare_scenarios(scenario, scenario, ("a", "b"), tmp_path, replications=2,
                               workers=1)
    diffs = result.comparison[result.comparison["kind"] == "paired_difference"]
    assert set(diffs["strategy"]) == {"b:gsp", "b:segmented"}
    assert (diffs["mean"] == 0).all() and (diffs["ci_low"] == 0).all()
    assert (diffs["ci_high"] == 0).all()
    # Segmented's gain over gsp is the same in both copies: kept whole, changed by nothing.
    gains = result.gains
    assert set(gains["strategy"]) == {"segmented"} and (gains["baseline"] == "gsp").all()
    assert (gains["mean"] == 0).all() and (gains["ci_low"] == 0).all()
    assert (gains["kept"].dropna() == 1).all()


def test_the_change_of_a_gain_across_files_is_the_difference_of_each_files_gain(tmp_path):
    """A what-if that cuts the firm's campaign budget in both strategies: each file's
    gain of segmented over gsp is the paired difference its own comparison reports, and
    the change is their difference, replication by replication."""
    base = _small()
    lean = base.override({f"strategies.{s}.budgets.development": 0 for s in ("gsp",
                                                                             "segmented")})
    result = compare_scenarios(base, lean, ("base", "lean"), tmp_path, replications=3,
                               workers=1)
    gains = result.gains.set_index("metric")
    for label, column in (("base", "gain_a"), ("lean", "gain_b")):
        own = pd.read_csv(tmp_path / label / "comparison.csv")
        own = own[own["kind"] == "paired_difference"].set_index("metric")["mean"]
        np.testing.assert_allclose(gains[column], own[gains.index], rtol=1e-12)
    np.testing.assert_allclose(gains["mean"], gains["gain_b"] - gains["gain_a"], rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(gains["kept"], gains["gain_b"] / gains["gain_a"])
    assert (gains["n"] == 3).all() and (gains["ci_low"] <= gains["ci_high"]).all()
    assert gains.loc["customer_equity", "mean"] != 0   # the cut matters to the gain
    assert (tmp_path / "gains.csv").exists()


def test_a_market_what_if_is_paired_with_the_same_people(tmp_path):
    """Customers who prefer self-service: the same people with other channel preferences.
    Paired, contact costs fall in every replication."""
    base = _small()
    online = base.override({f"market.segments.{s}.channel_preferences":
                            {"branch": 0.05, "call_centre": 0.15, "online": 0.80}
                            for s in base.market.segments})
    assert unpaired_keys(base, online) == []
    result = compare_scenarios(base, online, ("base", "online"), tmp_path, replications=2,
                               workers=1, strategies=["gsp"])
    equity = result.table("equity")
    spent = equity[(equity["kind"] == "line") & (equity["component"] == "service_costs")] \
        .pivot(index="replication", columns="strategy", values="value")
    # Costs are negative lines: less spent on contacts in every replication.
    assert (spent["online:gsp"] > spent["base:gsp"]).all()
    assert (tmp_path / "base" / "summaries.parquet").exists()
    assert (tmp_path / "comparison.csv").exists()


@pytest.mark.parametrize("change", [
    {"market.population": 4000}, {"market.customers_per_agent": 3},
    {"simulation.horizon_months": 36}, {"simulation.seed": 7},
    {"market.segments.affluent.share": 0.25, "market.segments.mainstream.share": 0.45},
    {"propositions.basic.price": 1}])
def test_what_sets_the_people_and_draws_must_agree(change):
    base = _small()
    other = base.override(change)
    differ = unpaired_keys(base, other)
    if "propositions.basic.price" in change:   # a price is not who the people are
        assert differ == []
    else:
        assert len(differ) == 1 and list(change)[0].startswith(differ[0]), differ


def test_files_with_other_people_are_refused_naming_the_keys():
    base = _small()
    bigger = base.override({"market.population": 4000})
    assert unpaired_keys(base, bigger) == ["market.population"]
    with pytest.raises(OptionError, match="differ in market.population"):
        compare_scenarios(base, bigger, ("base", "bigger"), "/nonexistent", replications=2)


def test_cvm_compare_refuses_unpaired_files_with_one_message(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(f"extends: {HEADLINE}\nmarket:\n  population: 31000\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sim.cli", "compare", str(HEADLINE),
                           str(other), "--out", str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and len(done.stderr.splitlines()) == 1
    assert "market.population" in done.stderr and "Traceback" not in done.stderr
