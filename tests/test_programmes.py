"""Lifecycle programmes (onboarding, development aimed at a stage, loyalty) and win-back
aimed at the recently departed: who is enrolled or reached, what it costs, that it moves
customers only through their responses, and that a programme switched off or without
effect changes nothing."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.codes import (
    ACQUISITION,
    GROWTH,
    LOYALTY,
    MATURITY,
    NO_PROGRAMME,
    ONBOARDING,
    RETENTION,
    TIER_A,
)
from sim.errors import ScenarioError
from sim.model import CVMModel
from sim.rules import lifecycle, retention, winback

SMALL = {"market.population": 4000, "market.initial_customers": 2800,
         "simulation.horizon_months": 36, "simulation.warmup_months": 12}


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/practices/lifecycle_programmes.yaml").override(SMALL)


def _with_strategy(scenario, name, base="gsp", **keys):
    """``scenario`` with a strategy ``name``: strategy ``base``'s keys overridden by ``keys``."""
    data = scenario.to_dict()
    data["strategies"][name] = {**data["strategies"][base], **keys}
    return sim.load_scenario(data)


def test_enrolment_follows_the_settled_stage_and_tier_and_retention_comes_first():
    """Onboarding enrols customers in their first months, loyalty mature ones, each only
    in its tiers; a customer the retention programme reaches is in it and in no other."""
    programme_of = np.zeros((6, 3), dtype=np.int8)
    programme_of[ACQUISITION, :] = ONBOARDING
    programme_of[MATURITY, TIER_A] = LOYALTY
    settled = np.array([ACQUISITION, ACQUISITION, GROWTH, MATURITY, MATURITY, MATURITY],
                       dtype=np.int8)
    tier = np.array([2, 0, 0, 0, 1, 0], dtype=np.int8)
    retained = np.array([False, True, False, False, False, True])
    np.testing.assert_array_equal(
        retention.enrolled(retained, settled, tier, programme_of),
        [ONBOARDING, RETENTION, NO_PROGRAMME, LOYALTY, NO_PROGRAMME, RETENTION])


def test_win_back_odds_halve_every_half_life_and_the_window_bounds_whom_it_reaches():
    months = np.array([3, 9, 15, 27])
    np.testing.assert_allclose(winback.fade(months, 3, 6.0), [1.0, 0.5, 0.25, 0.0625])
    assert winback.fade(months, 3, 0.0) == 1.0
    stage = np.full(4, 5, dtype=np.int8)   # departed
    np.testing.assert_array_equal(winback.eligible(stage, months, 3, 12),
                                  [True, True, False, False])
    np.testing.assert_array_equal(winback.eligible(stage, months, 3), [True] * 4)


def test_programme_tiers_other_than_c_need_value_codes():
    with pytest.raises(ScenarioError, match="needs value_codes true"):
        sim.load_scenario("scenarios/base.yaml").override(
            {"strategies.gsp.programmes": {"loyalty": {"cost_per_customer": 2,
                                                        "tiers": ["A"]}}})


def test_the_firm_enrols_by_its_records_and_pays_for_every_enrolled_month(small):
    """Each month, the enrolled are exactly the current customers whose tenure and products
    put them in the programme's stage and whose tier it serves (those the retention
    programme reaches aside), and the month's cost line is their count × the cost."""
    scenario = _with_strategy(small, "a_only", base="segmented",
                              programmes={"onboarding": {"cost_per_customer": 6.0},
                                          "loyalty": {"cost_per_customer": 2.0,
                                                      "tiers": ["A"]}})
    life = scenario.behaviour.lifecycle
    model = CVMModel(scenario, "a_only")
    for _ in range(6):
        # The records at the month's start, from which the firm enrols.
        tenure, products = model.ctx.state.tenure.copy(), model.ctx.state.products.copy()
        model.step()
        st, active = model.ctx.state, model.ctx.month.active
        # Their stage at last month's end, when tenure was a month less.
        settled = lifecycle.settled_stage(tenure - 1, products, life.onboarding_months,
                                          life.maturity_tenure_months, life.maturity_products)
        kept = active & (st.programme != RETENTION)
        onboarding = kept & (settled == ACQUISITION)
        loyal = kept & (settled == MATURITY) & (st.tier == TIER_A)
        np.testing.assert_array_equal(st.programme == ONBOARDING, onboarding)
        np.testing.assert_array_equal(st.programme == LOYALTY, loyal)
        assert onboarding.any() and loyal.any()
        row = model.records[-1]
        assert row["onboarding_costs"] == pytest.approx(6.0 * onboarding.sum())
        assert row["loyalty_costs"] == pytest.approx(2.0 * loyal.sum())


def test_onboarding_lowers_churn(small):
    """Direction of effect, paired under common random numbers over four replications: a
    programme whose customers respond lowers churn in every replication, and its cost
    shows as its own line. (Mean satisfaction is not compared: keeping more of the less
    satisfied new customers can lower it.)"""
    for replication in range(4):
        gsp = sim.run(small, strategy="gsp", replication=replication)
        onb = sim.run(small, strategy="onboarding", replication=replication)
        assert onb.summary["churn_rate_annual"] < gsp.summary["churn_rate_annual"]
        assert onb.monthly["onboarding_costs"].sum() > 0
        assert (gsp.monthly[["onboarding_costs", "loyalty_costs"]] == 0).all().all()


def test_fading_win_back_odds_bring_fewer_back(small):
    """Odds of returning that fade with time since departure bring back fewer customers
    than odds that never fade, with the same reach and luck."""
    fading = small
    steady = small.override({"behaviour.winback_half_life_months": 0.0})
    back = [sum(sim.run(s, strategy="gsp", replication=r).summary["winbacks"]
                for r in range(3)) for s in (fading, steady)]
    assert back[0] < back[1]


@pytest.mark.parametrize("changes", [
    # A programme that costs nothing and that customers do not respond to.
    {"strategies.gsp.programmes": {"onboarding": {"cost_per_customer": 0.0},
                                   "loyalty": {"cost_per_customer": 0.0}},
     "behaviour.programmes": {"onboarding": {"experience_boost": 0.0, "churn_effect": 0.0},
                              "loyalty": {"experience_boost": 0.0, "churn_effect": 0.0}}},
    # A win-back window longer than anyone stays departed (they become prospects again).
    {"strategies.gsp.winback_within_months": 24},
])
def test_a_lever_without_effect_changes_nothing_month_by_month(small, changes):
    """Negative control: the run is identical, month by month and customer by customer, to
    the run without the lever (the new cost lines stay zero)."""
    without = small.override({"strategies.gsp.programmes": {},
                              "strategies.gsp.winback_within_months": None,
                              "market.reconsider_after_months": 24})
    with_lever = without.override(changes)
    for replication in (0, 1):
        a = sim.run(without, strategy="gsp", replication=replication)
        b = sim.run(with_lever, strategy="gsp", replication=replication)
        pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
        pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)


def test_development_aimed_at_every_stage_changes_nothing(small):
    """Negative control: with the budget spread evenly (gsp), campaigns aimed at every
    stage reach each customer as campaigns without an aim do, so the run is the same month
    by month. Customers' values may differ in the last bits only: the campaign cost a
    customer carries is then summed over the tier's three stages."""
    without = small.override({"strategies.gsp.programmes": {}})
    aimed = without.override({"strategies.gsp.programmes": {"development": {
        "stages": ["acquisition", "growth", "maturity"]}}})
    for replication in (0, 1):
        a = sim.run(without, strategy="gsp", replication=replication)
        b = sim.run(aimed, strategy="gsp", replication=replication)
        pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
        pd.testing.assert_frame_equal(a.customers.drop(columns="value"),
                                      b.customers.drop(columns="value"), check_exact=True)
        np.testing.assert_allclose(a.customers["value"], b.customers["value"], rtol=0,
                                   atol=1e-9)


def _with_card(scenario, **strategies):
    """``scenario`` with one cross-sell offer, answered as the market's anonymous campaign
    is (so that campaign contacts are counted), and ``strategies`` (name: keys over gsp's)
    making it."""
    data = scenario.to_dict()
    response = scenario.behaviour.development.campaign_response
    data["offers"] = {"card": {"response": {s: response for s in data["market"]["segments"]}}}
    for name, keys in strategies.items():
        data["strategies"][name] = {**data["strategies"]["gsp"], "offer": "card", **keys}
    return sim.load_scenario(data)


def test_development_aimed_at_a_stage_reaches_only_that_stage_and_those_tiers(small):
    """Every campaign contact of a month goes to a customer whose stage by the firm's
    records at the month's start (tenure a month less, products held) and whose tier are
    aimed at; the budget buys no reach elsewhere, and the month's development cost line is
    what the contacts drawn cost, within their sampling error."""
    scenario = _with_card(small, aimed={
        **small.to_dict()["strategies"]["segmented"], "offer": "card",
        "programmes": {"development": {"stages": ["growth", "maturity"], "tiers": ["A", "B"]}}})
    life = scenario.behaviour.lifecycle
    model = CVMModel(scenario, "aimed")
    reached_any = False
    for _ in range(6):
        st = model.ctx.state
        settled = lifecycle.settled_stage(st.tenure - 1, st.products, life.onboarding_months,
                                          life.maturity_tenure_months, life.maturity_products)
        model.step()
        reached = st.offered > 0
        assert np.isin(settled[reached], [GROWTH, MATURITY]).all()
        assert np.isin(st.tier[reached], [TIER_A, TIER_A + 1]).all()
        reached_any |= reached.any()
        reach = model.ctx.month.decisions.development_reach.reshape(3, 3)
        assert (reach[:, 0] == 0).all() and (reach[2] == 0).all()   # onboarding; tier C
        # The cost line is what the reach cost; the contacts drawn are a sum of Bernoulli
        # draws whose mean is cost line / unit cost and whose variance is at most that mean.
        row = model.records[-1]
        expected = row["development_costs"] / scenario.economics.cost_per_campaign_contact
        assert abs(row["offer_contacts"] - expected) <= 4 * np.sqrt(expected) + 1e-9
    assert reached_any


def test_development_in_growth_sells_more_per_campaign_contact(small):
    """Direction of effect, paired over four replications: customers answer a campaign more
    in growth than on average over the stages (behaviour.development.stage_multipliers),
    so aiming the campaigns at growth by the records raises sales per contact. The margin
    is two standard errors of the difference of the two binomial conversion rates, from
    each replication's own counts."""
    scenario = _with_card(small, everyone={},
                          growth={"programmes": {"development": {"stages": ["growth"]}}})
    for replication in range(4):
        rates, variance = [], 0.0
        for name in ("everyone", "growth"):
            m = sim.run(scenario, strategy=name, replication=replication).monthly
            n, p = m["offer_contacts"].sum(), m["offer_sales"].sum() / m["offer_contacts"].sum()
            rates.append(p)
            variance += p * (1 - p) / n
        assert rates[1] - rates[0] > 2 * np.sqrt(variance), (replication, rates)


def test_development_stages_and_tiers_are_checked():
    base = sim.load_scenario("scenarios/base.yaml")
    with pytest.raises(ScenarioError, match="decline"):
        base.override({"strategies.gsp.programmes": {"development": {"stages": ["decline"]}}})
    with pytest.raises(ScenarioError, match="programmes.development serves only tiers A"):
        base.override({"strategies.gsp.programmes": {"development": {"tiers": ["A"]}}})
