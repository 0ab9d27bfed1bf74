"""Direction-of-effect tests of sim.rules.acquisition (Bass diffusion, paid reach, pull):
p = min(1, innovation + reach·response + q·share) · pull for prospects."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rules import acquisition

BASE = {"innovation": 0.01, "reach": 0.2, "response": 0.3, "word_of_mouth": 0.4, "share": 0.25,
        "pull": 0.6}


def adopt_prob(is_prospect=True, **overrides):
    v = {**BASE, **overrides}
    return acquisition.probability(np.array([v["innovation"]]), np.array([v["reach"]]),
                                   v["response"], np.array([v["word_of_mouth"]]), v["share"],
                                   np.array([v["pull"]]), np.array([is_prospect]))[0]


def test_probability_formula_by_hand():
    """(0.01 + 0.2·0.3 + 0.4·0.25) · 0.6 = 0.102."""
    assert adopt_prob() == pytest.approx(0.102, rel=1e-12)


@pytest.mark.parametrize(("lever", "values"), [
    ("innovation", [0.0, 0.01, 0.05, 0.2]),
    ("reach", [0.0, 0.1, 0.5, 1.0]),
    ("response", [0.0, 0.1, 0.5, 1.0]),
    ("word_of_mouth", [0.0, 0.1, 0.4, 0.8]),
    ("share", [0.0, 0.1, 0.5, 1.0]),
    ("pull", [0.0, 0.2, 0.6, 1.0]),
])
def test_each_lever_raises_adoption(lever, values):
    """More innovation, paid reach, response, word of mouth, adopter share or pull each raise
    a prospect's adoption probability (strictly, below the cap)."""
    p = [adopt_prob(**{lever: v}) for v in values]
    assert np.all(np.diff(p) > 0)


def test_non_prospects_never_adopt():
    """Customers and departed customers get probability 0 (win-back is its own rule)."""
    assert adopt_prob(is_prospect=False, innovation=1.0, reach=1.0, response=1.0, pull=1.0) == 0.0


@pytest.mark.parametrize("pull", [0.0, 0.3, 1.0])
def test_consideration_capped_at_one_before_pull(pull):
    """Consideration above 1 is capped at 1, then the pull converts: p = pull."""
    p = adopt_prob(innovation=0.5, reach=1.0, response=0.8, word_of_mouth=0.9, share=1.0,
                   pull=pull)
    assert p == pytest.approx(pull, rel=1e-12)


def test_discrete_bass_model_without_paid_reach():
    """With no reach and pull 1, F(t+1) = F(t) + (1 − F(t))·(p + q·F(t)) when every prospect
    adopts with the rule's probability at share F(t), the recursion computed by hand."""
    p, q = 0.03, 0.38
    f_rule, f_bass = 0.0, 0.0
    for _ in range(24):
        prob = acquisition.probability(np.array([p]), np.zeros(1), 1.0, np.array([q]), f_rule,
                                       np.ones(1), np.array([True]))[0]
        f_rule = f_rule + (1.0 - f_rule) * prob
        f_bass = f_bass + (1.0 - f_bass) * (p + q * f_bass)
        assert f_rule == pytest.approx(f_bass, rel=1e-12)
    assert 0.9 < f_bass < 1.0


def test_adopter_share_weighted_and_unweighted():
    """Unweighted share counts current customers; weighted share sums their satisfaction;
    non-customers count for nothing either way."""
    active = np.array([True, True, True, False, False])
    s = np.array([1.0, 0.5, 0.2, 0.9, 0.9])
    assert acquisition.adopter_share(active, s, 10, satisfaction_weighted=False) == 0.3
    assert acquisition.adopter_share(active, s, 10, satisfaction_weighted=True) == pytest.approx(
        0.17, rel=1e-12)


def test_weighted_share_rises_with_satisfaction_and_never_exceeds_unweighted():
    """Happier customers spread more word of mouth, up to the unweighted share at
    satisfaction 1."""
    rng = np.random.default_rng(17)
    active = rng.random(500) < 0.4
    s = rng.random(500)
    shares = [acquisition.adopter_share(active, s * k, 500, True) for k in (0.2, 0.6, 1.0)]
    plain = acquisition.adopter_share(active, s, 500, False)
    assert shares[0] < shares[1] < shares[2] <= plain
    assert acquisition.adopter_share(active, np.ones(500), 500, True) == pytest.approx(plain)


def test_more_customers_raise_adopter_share():
    """Adding current customers raises both forms of the adopter share."""
    s = np.full(8, 0.7)
    few = np.array([True, False, False, False, False, False, False, False])
    many = np.array([True, True, True, True, False, False, False, False])
    for weighted in (False, True):
        assert (acquisition.adopter_share(many, s, 8, weighted)
                > acquisition.adopter_share(few, s, 8, weighted))


def test_conversion_is_logit_choice_and_rises_with_fit():
    """Conversion = logistic(w·fit): 1/2 at zero fit, 3/4 at w·fit = ln 3, rising in fit;
    weight 0 makes it 1/2."""
    fit = np.linspace(-3.0, 3.0, 13)
    c = acquisition.conversion(fit, 1.0)
    assert np.all(np.diff(c) > 0)
    assert c[6] == 0.5
    assert acquisition.conversion(np.array([math.log(3.0)]), 1.0)[0] == pytest.approx(0.75)
    np.testing.assert_array_equal(acquisition.conversion(fit, 0.0), 0.5)


def test_adopts_follows_uniform():
    """A prospect adopts exactly where u < p."""
    p = np.array([0.0, 0.2, 0.2, 1.0])
    u = np.array([0.0, 0.19, 0.2, 0.999999])
    np.testing.assert_array_equal(acquisition.adopts(p, u), [False, True, False, True])
