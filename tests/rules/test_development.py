"""Direction-of-effect tests of sim.rules.development (cross-sell):
p = min(1, (base + reach·response + sales) · stage multiplier) · satisfaction."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rules import development

BASE = {"base_rate": 0.02, "campaign_reach": 0.5, "campaign_response": 0.1, "sales": 0.05,
        "stage_multiplier": 1.0, "satisfaction": 0.8}


def probability(base_rate, campaign_reach, campaign_response, sales, stage_multiplier,
                satisfaction):
    """The purchase probability as the development phase computes it: the rate of a fully
    satisfied customer (tabulated once a month), scaled by each customer's satisfaction."""
    full = development.rate(base_rate, campaign_reach, campaign_response, sales,
                            stage_multiplier)
    return development.scaled(full, satisfaction)


def dev_prob(**overrides):
    """Development probability of one customer, ``BASE`` values unless overridden."""
    v = {**BASE, **overrides}
    return probability(
        v["base_rate"], np.array([v["campaign_reach"]]), v["campaign_response"],
        np.array([v["sales"]]), np.array([v["stage_multiplier"]]),
        np.array([v["satisfaction"]]))[0]


def test_probability_formula_by_hand():
    """(0.02 + 0.5·0.1 + 0.05) · 1 · 0.8 = 0.096."""
    assert dev_prob() == pytest.approx(0.096, rel=1e-12)


@pytest.mark.parametrize(("lever", "values"), [
    ("campaign_reach", [0.0, 0.2, 0.5, 1.0]),
    ("campaign_response", [0.0, 0.05, 0.2, 0.6]),
    ("base_rate", [0.0, 0.01, 0.1, 0.3]),
    ("sales", [0.0, 0.05, 0.2, 0.4]),
    ("stage_multiplier", [0.0, 0.5, 1.0, 2.0]),
    ("satisfaction", [0.0, 0.3, 0.6, 1.0]),
])
def test_each_lever_raises_probability(lever, values):
    """More campaign reach, response, base rate, sales contact, stage multiplier or
    satisfaction each raise the cross-sell probability (strictly, below the cap)."""
    p = [dev_prob(**{lever: v}) for v in values]
    assert np.all(np.diff(p) > 0)


def test_reach_needs_response():
    """Campaign reach does nothing when nobody responds to campaigns."""
    assert dev_prob(campaign_reach=0.0, campaign_response=0.0) == dev_prob(
        campaign_reach=1.0, campaign_response=0.0)


@pytest.mark.parametrize("lever", ["stage_multiplier", "satisfaction"])
def test_zero_stage_multiplier_or_satisfaction_means_no_sale(lever):
    """A stage multiplier of 0 (inactive stages) or satisfaction 0 rules out a sale."""
    assert dev_prob(**{lever: 0.0}) == 0.0


def test_not_eligible_never_buys():
    """Non-customers and customers at max_products never buy, whatever the levers."""
    p = dev_prob(base_rate=1.0, campaign_reach=1.0, campaign_response=1.0, sales=1.0,
                 stage_multiplier=5.0, satisfaction=1.0)
    assert p == 1.0
    np.testing.assert_array_equal(
        development.buys(np.full(2, p), np.array([False, True]), np.zeros(2)), [False, True])


@pytest.mark.parametrize("satisfaction", [0.0, 0.25, 0.7, 1.0])
def test_capped_at_one_then_scaled_by_satisfaction(satisfaction):
    """When the raw rate exceeds 1 it is capped at 1 before satisfaction scales it, so the
    probability equals satisfaction (never above 1)."""
    p = dev_prob(base_rate=0.6, campaign_reach=1.0, campaign_response=0.5, sales=0.4,
                 stage_multiplier=3.0, satisfaction=satisfaction)
    assert p == pytest.approx(satisfaction, rel=1e-12)


def test_probability_in_unit_interval():
    """Random levers in their ranges (stage multiplier up to 5) give probabilities in [0, 1]."""
    rng = np.random.default_rng(3)
    n = 1000
    p = probability(0.3, rng.random(n), 0.9, rng.random(n), 5 * rng.random(n), rng.random(n))
    assert np.all((p >= 0.0) & (p <= 1.0))


@pytest.mark.parametrize(("served", "prompted", "expected"), [
    (True, True, 0.3), (True, False, 0.0), (False, True, 0.0), (False, False, 0.0),
])
def test_sales_contact_only_when_served_and_prompted(served, prompted, expected):
    """A contact sells (with the channel's cross-sell strength) only if answered in time and
    prompted by the customer code."""
    s = development.sales_contact(np.array([served]), np.array([prompted]), np.array([0.3]))
    assert s[0] == expected


def test_sales_contact_zero_for_self_service_and_no_contact():
    """Self-service channels and no contact carry cross-sell 0 in the tables, so no sale."""
    s = development.sales_contact(np.array([True, True, False]), np.array([True] * 3),
                                  np.array([0.0, 0.0, 0.0]))
    np.testing.assert_array_equal(s, 0.0)


def test_buys_follows_uniform():
    """A customer buys exactly where u < p: p = 0 never, p = 1 always."""
    p = np.array([0.0, 0.0, 0.4, 0.4, 1.0])
    u = np.array([0.0, 0.5, 0.39, 0.4, 0.999999])
    np.testing.assert_array_equal(development.buys(p, np.ones(5, dtype=bool), u),
                                  [False, False, True, False, True])


def test_higher_probability_buys_superset():
    """With the same uniforms, raising the probability keeps every buyer and adds more."""
    rng = np.random.default_rng(5)
    u = rng.random(2000)
    low = development.buys(np.full(2000, 0.1), True, u)
    high = development.buys(np.full(2000, 0.3), True, u)
    assert np.all(high[low]) and high.sum() > low.sum()
