"""The practices of value-based management as levers of their own: ``kind`` only sets
their defaults, each is wired to something, and the attribution ladder's arithmetic."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import ScenarioError
from sim.scenario.schema import PRACTICE_DEFAULTS
from sim.statistics import ladder

SMALL = {"market.population": 3000, "market.initial_customers": 2100,
         "simulation.horizon_months": 24, "simulation.warmup_months": 12}

# What segmented adds to gsp besides its practices: labels, analytics, a switch, staff
# reserved for tier A and sales calls.
SEGMENTED_SETTINGS = {"data_quality": 0.85, "analytics_cost": 25000.0, "priority_share": 0.25,
                      "sales_centre": True,
                      "transition": {"one_off_cost": 300000.0, "months": 12}}


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/gsp_vs_segmented.yaml").override(SMALL)


def _with_strategy(scenario, name, **keys):
    """``scenario`` with a strategy ``name`` added: gsp's keys overridden by ``keys``."""
    data = scenario.to_dict()
    data["strategies"][name] = {**data["strategies"]["gsp"], **keys}
    return sim.load_scenario(data)


def test_kind_only_sets_the_defaults_of_the_practices(small):
    """A gsp that takes up every practice of segmented, with segmented's settings, runs
    exactly like segmented, month by month: nothing else depends on ``kind``."""
    practices = {**PRACTICE_DEFAULTS["segmented"], **SEGMENTED_SETTINGS}
    scenario = _with_strategy(small, "converted", **practices)
    for seed in (1, 2):
        converted = sim.run(scenario, strategy="converted", seed=seed)
        segmented = sim.run(scenario, strategy="segmented", seed=seed)
        pd.testing.assert_frame_equal(converted.monthly, segmented.monthly, check_exact=True)
        pd.testing.assert_frame_equal(converted.customers, segmented.customers,
                                      check_exact=True)


@pytest.mark.parametrize(("practice", "value", "needs"), [
    ("propositions", "best_fit", {}),
    ("value_codes", True, {}),
    ("allocation", "by_value", {}),
    ("retention_targeting", "churn_score", {}),
    ("sales_prompts", "by_code", {"value_codes": True, "sales_centre": True}),
    ("priority_share", 0.25, {"value_codes": True}),
])
def test_each_practice_on_its_own_changes_the_run(small, practice, value, needs):
    """Every practice key is wired: gsp with what the practice needs, and the same with
    the practice switched on, run differently (customers' codes, offers, reach or
    service)."""
    scenario = _with_strategy(small, "off", **needs, data_quality=0.85)
    scenario = _with_strategy(scenario, "on", **needs, data_quality=0.85, **{practice: value})
    off, on = (sim.run(scenario, strategy=name, seed=3) for name in ("off", "on"))
    assert not (off.monthly.equals(on.monthly) and off.customers.equals(on.customers)), \
        f"{practice} changed nothing"


@pytest.mark.parametrize(("keys", "path", "words"), [
    ({"priority_share": 0.2}, "strategies.gsp", "needs value_codes"),
    ({"sales_centre": True, "sales_prompts": "by_code"}, "strategies.gsp", "needs value_codes"),
    ({"propositions": "one", "proposition": None}, "strategies.gsp", "needs 'proposition'"),
])
def test_a_practice_without_what_it_needs_is_refused(small, keys, path, words):
    with pytest.raises(ScenarioError) as err:
        small.override({f"strategies.gsp.{k}": v for k, v in keys.items()})
    assert err.value.path.startswith(path) and words in err.value.message


def test_a_segmented_strategy_names_its_propositions(small):
    """``proposition`` alone in a segmented strategy (whose default is best_fit) is a
    slip and is refused; with ``propositions: one`` it is the one offer."""
    data = small.to_dict()
    segmented = data["strategies"]["segmented"]
    del segmented["propositions"]
    segmented["proposition"] = "basic"
    with pytest.raises(ScenarioError, match="uses 'propositions'"):
        sim.load_scenario(data)
    segmented["propositions"] = "one"
    assert sim.load_scenario(data).strategies["segmented"].propositions == "one"


def test_ladder_steps_are_paired_differences_adding_up_to_the_gap():
    """Three strategies over four replications with values chosen by hand: each step is
    the paired difference with the step before, its interval the Student-t one, its share
    the step's mean over last − first."""
    values = {"a": [10.0, 12.0, 11.0, 13.0], "b": [14.0, 15.0, 16.0, 17.0],
              "c": [20.0, 19.0, 22.0, 21.0]}
    summaries = pd.DataFrame([{"strategy": s, "replication": r, "customer_equity": v,
                               "churn_rate_annual": 0.1}
                              for s, vs in values.items() for r, v in enumerate(vs)])
    steps = ladder(summaries, ["a", "b", "c"])
    equity = steps[steps["metric"] == "customer_equity"].set_index("strategy")
    # b − a = [4, 3, 5, 4]: mean 4, sd sqrt(2/3), t(0.975, 3) = 3.182446.
    assert equity.loc["b", "mean"] == pytest.approx(4.0)
    half = 3.182446 * math.sqrt(2 / 3) / 2
    assert equity.loc["b", "ci_high"] - equity.loc["b", "mean"] == pytest.approx(half, rel=1e-5)
    # c − b = [6, 4, 6, 4]: mean 5; the gap c − a is 9.
    assert equity.loc["c", "mean"] == pytest.approx(5.0)
    assert equity.loc["b", "share_of_gap"] == pytest.approx(4 / 9)
    assert equity["share_of_gap"].sum() == pytest.approx(1.0)
    churn = steps[steps["metric"] == "churn_rate_annual"]
    assert churn["share_of_gap"].isna().all()   # no gap: no share


def test_the_ladder_scenario_climbs_from_gsp_to_segmented():
    """The shipped ladder starts at the baseline, ends at segmented, and each step differs
    from the one before in practice keys only, never in budgets, staffing or market."""
    scenario = sim.load_scenario("scenarios/practices/attribution_ladder.yaml")
    assert scenario.ladder and scenario.compare[0] == "gsp"
    assert scenario.compare[-1] == "segmented"
    practice_keys = {*PRACTICE_DEFAULTS["gsp"], *SEGMENTED_SETTINGS, "proposition", "kind"}
    steps = [scenario.strategies[s].model_dump() for s in scenario.compare]
    for before, after in zip(steps, steps[1:], strict=False):
        changed = {k for k in after if after[k] != before[k]}
        assert changed and changed <= practice_keys, changed
    assert np.all([s["budgets"] == steps[0]["budgets"] for s in steps])


def test_value_codes_on_service_calls_sell_more_to_tiers_a_and_b():
    """Direction of effect (practice 5): with the customer code prompting sales on service
    calls of tiers A and B, those customers end holding more products than without the
    sales centre, in the mean over paired replications (one-sided 99.9 % Student t bound);
    tier C, never prompted, gains less."""
    from scipy import stats

    scenario = sim.load_scenario("scenarios/practices/attribution_ladder.yaml").override(
        {"simulation.horizon_months": 36, "simulation.warmup_months": 24})
    gains = {"AB": [], "C": []}
    for r in range(6):
        runs = {name: sim.run(scenario, strategy=name, replication=r).customers
                for name in ("priority", "segmented")}
        for group, tiers in (("AB", ["A", "B"]), ("C", ["C"])):
            means = [c.loc[c["tier"].isin(tiers) & (c["stage"] != "departed")
                           & (c["stage"] != "prospect"), "products"].mean()
                     for c in runs.values()]
            gains[group].append(means[1] - means[0])
    ab, c = np.array(gains["AB"]), np.array(gains["C"])
    t = stats.t.ppf(0.999, len(ab) - 1)
    assert ab.mean() - t * ab.std(ddof=1) / np.sqrt(len(ab)) > 0
    assert ab.mean() > c.mean()
