"""Test-and-learn among cross-sell offers: the firm learns only from the contacts it made
and the sales that followed, adopts winners when the test ends, pays for testing, and two
identical offers are each adopted about half the time."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim import learning
from sim.errors import ScenarioError
from sim.scenario import TestAndLearn

SMALL = {"market.population": 3000, "market.initial_customers": 2100,
         "simulation.horizon_months": 30, "simulation.warmup_months": 12}
CARDS = ["standard_card", "travel_card", "cashback_card", "low_rate_card"]
NEW_COLUMNS = ["offer_contacts", "offer_sales", "test_contacts", "test_sales",
               "right_offer_contacts", "testing_costs"]


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/practices/test_and_learn.yaml").override(SMALL)


def _with_strategy(scenario, name, base, offers=None, **keys):
    """``scenario`` with a strategy ``name``: strategy ``base``'s keys overridden by
    ``keys``; ``offers`` replaces the scenario's offers."""
    data = scenario.to_dict()
    if offers is not None:
        data["offers"] = offers
    data["strategies"][name] = {**data["strategies"][base], **keys}
    return sim.load_scenario(data)


# ------------------------------------------------------------------ the firm's learning
def test_cells_split_contacts_as_the_method_says():
    spec = TestAndLearn(offers=("a", "b", "c", "d"), test_share=0.4, test_months=6)
    test = learning.Experiment.start(spec, n_labels=2, start_arm=1)
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(test.cells(1, rng), [[0.1, 0.1, 0.1, 0.1, 0.6]] * 2)
    for month in (0, 7):            # before the test (the warm-up) and after it
        np.testing.assert_array_equal(test.cells(month, rng), [[0, 0, 0, 0, 1.0]] * 2)
    thompson = learning.Experiment.start(spec.model_copy(update={"method": "thompson"}), 2, 0)
    share = thompson.cells(3, rng)
    assert share[:, 4].sum() == 0.0 and np.allclose(share.sum(axis=1), 1.0)


def test_probability_best_follows_the_evidence():
    """Clear evidence (30 % against 5 % in 1,000 contacts each) makes the better offer
    almost surely best; no evidence leaves every offer equally likely, each within 4
    standard errors (√(¼ · ¾ / 4000) ≈ 0.0068) of a quarter."""
    rng = np.random.default_rng(2)
    clear = learning.probability_best(np.array([[1000.0, 1000.0]]), np.array([[50.0, 300.0]]),
                                      rng)
    assert clear[0, 1] > 0.999
    none = learning.probability_best(np.zeros((1, 4)), np.zeros((1, 4)), rng)
    assert np.abs(none - 0.25).max() < 4 * math.sqrt(0.25 * 0.75 / learning.POSTERIOR_DRAWS)


def test_ab_adopts_the_best_observed_rate_per_label_or_pooled():
    spec = TestAndLearn(offers=("a", "b", "c"), test_months=2)
    test = learning.Experiment.start(spec, n_labels=3, start_arm=0)
    rng = np.random.default_rng(3)
    # Label 0: c converts best; label 1: b does (offer a was never tried there); label 2's
    # test made no contact, so it has no evidence and keeps its offer.
    test.observe(np.array([[100.0, 100, 100], [0, 100, 100], [0, 0, 0]]),
                 np.array([[5.0, 6, 9], [0, 8, 3], [0, 0, 0]]))
    test.conclude(2, rng)
    np.testing.assert_array_equal(test.champion, [2, 1, 0])
    np.testing.assert_array_equal(test.adopted_month, [2, 2, 0])
    pooled = learning.Experiment.start(spec.model_copy(update={"within": "all"}), 2, 0)
    pooled.observe(np.array([[100.0, 100, 100], [0, 100, 100]]),
                   np.array([[5.0, 6, 9], [0, 8, 3]]))
    pooled.conclude(2, rng)          # pooled rates: 5 %, 7 %, 6 %
    np.testing.assert_array_equal(pooled.champion, [1, 1])


def test_ties_favour_no_offer_by_its_place():
    """Equal evidence: each of three tied offers wins about a third of 3,000 draws (within
    4 binomial standard errors, √(⅓ · ⅔ · 3000) ≈ 26)."""
    rng = np.random.default_rng(4)
    wins = np.bincount([learning._best(np.array([[0.5, 0.5, 0.5, 0.1]]), rng)[0]
                        for _ in range(3000)], minlength=4)
    assert wins[3] == 0
    assert np.abs(wins[:3] - 1000).max() < 4 * math.sqrt(3000 / 3 * 2 / 3)


# ------------------------------------------------------------------ in the model
def test_the_test_runs_its_months_costs_what_it_says_and_adopts_at_its_end(small):
    run = sim.run(small, strategy="ab_test", seed=5)
    m = run.monthly.set_index("month")
    spec = small.strategies["ab_test"].test_and_learn
    testing = m.index <= spec.test_months
    assert (m.loc[testing, "test_contacts"] > 0).all()
    assert (m.loc[~testing, ["test_contacts", "test_sales"]] == 0).all().all()
    np.testing.assert_array_equal(m["testing_costs"], np.where(testing, spec.cost_per_month, 0))
    # The test cells take test_share of the campaign contacts: within 4 binomial standard
    # errors over the test's months.
    made = m.loc[testing, "offer_contacts"].sum()
    share = m.loc[testing, "test_contacts"].sum() / made
    assert abs(share - spec.test_share) < 4 * math.sqrt(spec.test_share
                                                        * (1 - spec.test_share) / made)
    assert (run.offers["adopted_month"] == spec.test_months).all()
    assert set(run.offers["cross_sell_offer"]) <= set(spec.offers)
    assert run.summary["costs"] >= m["testing_costs"].sum()


def test_learning_makes_the_right_offer_more_often_and_sells_more(small):
    """Direction of effect, paired under common random numbers in each of four
    replications: after an A/B test, a larger share of campaign contacts gets the offer
    the customer's segment answers best, more of them buy, and customers hold more
    products at the end than under the standard offer."""
    for replication in range(4):
        runs = {name: sim.run(small, strategy=name, replication=replication)
                for name in ("standard_offer", "ab_test")}
        after = {name: r.monthly[r.monthly["month"] > 12].sum() for name, r in runs.items()}
        right = {n: a["right_offer_contacts"] / a["offer_contacts"] for n, a in after.items()}
        sold = {n: a["offer_sales"] / a["offer_contacts"] for n, a in after.items()}
        assert right["ab_test"] > right["standard_offer"] + 0.2, (replication, right)
        assert sold["ab_test"] > sold["standard_offer"], (replication, sold)
        products = {n: r.monthly["products_per_customer"].iloc[-1] for n, r in runs.items()}
        assert products["ab_test"] > products["standard_offer"], (replication, products)


def test_thompson_shifts_contacts_to_what_sells_as_it_learns(small):
    """Thompson sampling starts with every offer equally likely and ends its test giving
    most of the contacts the right offer: the share in the test's last three months is
    higher than in its first."""
    m = sim.run(small, strategy="thompson", seed=6).monthly.set_index("month")
    share = m["right_offer_contacts"] / m["offer_contacts"]
    assert share.loc[22:24].mean() > share.loc[1:3].mean() + 0.2


@pytest.mark.parametrize("method", ["ab", "thompson"])
def test_two_identical_offers_are_each_adopted_about_half_the_time(small, method):
    """Negative control: two offers every segment answers alike. Over 30 replications × 3
    labels (90 adoptions, each label's test on its own customers) the first offer wins a
    number within 3 binomial standard errors (√(90 · ¼) ≈ 4.7) of 45; the place in the
    list, the business-as-usual offer and luck in ties favour neither."""
    alike = {"response": {"affluent": 0.1, "mainstream": 0.1, "value_seekers": 0.1}}
    scenario = _with_strategy(
        small.override({"simulation.horizon_months": 6, "market.population": 1500,
                        "market.initial_customers": 1050}),
        "twins", "standard_offer",
        offers={**small.to_dict()["offers"], "first": alike, "second": alike},
        offer="first", test_and_learn={"offers": ["first", "second"], "method": method,
                                       "test_share": 0.5, "test_months": 6})
    adopted = pd.concat([sim.run(scenario, strategy="twins", replication=r).offers
                         for r in range(30)])
    first = int((adopted["cross_sell_offer"] == "first").sum())
    assert len(adopted) == 90
    assert abs(first - 45) < 3 * math.sqrt(90 * 0.25), first


def test_a_test_without_campaigns_or_cost_changes_nothing(small):
    """Zero effect: a test (and a cross-sell offer) with no development budget to make
    offers with and no cost is identical, month by month, to the strategy without them."""
    budgets = {**small.to_dict()["strategies"]["segmented"]["budgets"], "development": 0}
    scenario = _with_strategy(small, "quiet", "segmented", budgets=budgets)
    scenario = _with_strategy(scenario, "quiet_test", "quiet", offer="standard_card",
                              test_and_learn={"offers": CARDS, "method": "thompson"})
    without = sim.run(scenario, strategy="quiet", seed=8)
    with_test = sim.run(scenario, strategy="quiet_test", seed=8)
    assert (with_test.monthly[NEW_COLUMNS] == 0).all().all()
    pd.testing.assert_frame_equal(without.monthly, with_test.monthly, check_exact=True)
    pd.testing.assert_frame_equal(without.customers, with_test.customers, check_exact=True)


@pytest.mark.parametrize(("keys", "message"), [
    ({"offer": "gold_card"}, "no offer named 'gold_card'"),
    ({"offer": "travel_card", "test_and_learn": {"offers": ["standard_card", "cashback_card"]}},
     "not among the offers tested"),
    ({"test_and_learn": {"offers": ["standard_card", "standard_card"]}}, "tested twice"),
    ({"test_and_learn": {"offers": ["standard_card"]}}, "at least 2"),
])
def test_bad_offers_are_refused_with_the_key(small, keys, message):
    with pytest.raises(ScenarioError, match=message) as err:
        _with_strategy(small, "bad", "segmented", **keys)
    assert "strategies.bad" in str(err.value)


def test_an_offer_for_an_unknown_segment_is_refused(small):
    offers = {"odd": {"response": {"affluent": 0.1, "pensioners": 0.2}}}
    with pytest.raises(ScenarioError, match="pensioners") as err:
        _with_strategy(small, "x", "segmented", offers=offers)
    assert "offers.odd.response" in str(err.value)
