"""Direction-of-effect tests of sim.rules.winback."""

from __future__ import annotations

import numpy as np
import pytest

from sim.codes import ACQUISITION, DECLINE, DEPARTED, GROWTH, MATURITY, PROSPECT
from sim.rules import winback

AFTER = 3


@pytest.mark.parametrize(("months", "expected"), [(0, False), (1, False), (AFTER - 1, False),
                                                  (AFTER, True), (AFTER + 1, True), (60, True)])
def test_departed_eligible_only_after_waiting(months, expected):
    """A departed customer becomes a win-back target once gone at least after_months."""
    e = winback.eligible(np.array([DEPARTED], np.int8), np.array([months]), AFTER)
    assert e[0] == expected


@pytest.mark.parametrize("stage", [PROSPECT, ACQUISITION, GROWTH, MATURITY, DECLINE])
def test_only_departed_customers_are_eligible(stage):
    """Prospects and current customers are never win-back targets."""
    e = winback.eligible(np.full(3, stage, np.int8), np.array([AFTER, 12, 100]), AFTER)
    assert not e.any()


def test_probability_is_product_of_reach_response_and_pull():
    """p = reach · response · pull for eligible customers: 0.5 · 0.4 · 0.6 = 0.12."""
    p = winback.probability(np.array([0.5]), 0.4, np.array([0.6]), np.array([True]))
    assert p[0] == pytest.approx(0.12, rel=1e-12)


@pytest.mark.parametrize("lever", ["reach", "response", "pull"])
def test_probability_rises_with_each_lever_and_vanishes_without_it(lever):
    """Return probability rises strictly with reach, response and pull; any of them at 0
    means nobody returns."""
    values = np.array([0.0, 0.1, 0.4, 0.7, 1.0])
    args = {"reach": np.full(5, 0.5), "response": 0.4, "pull": np.full(5, 0.6)}
    if lever == "response":
        p = np.array([winback.probability(args["reach"][:1], v, args["pull"][:1],
                                          np.array([True]))[0] for v in values])
    else:
        args[lever] = values
        p = winback.probability(args["reach"], args["response"], args["pull"], np.ones(5, bool))
    assert p[0] == 0.0
    assert np.all(np.diff(p) > 0)


def test_ineligible_never_return():
    """Not eligible: probability 0 even with full reach, response and pull."""
    p = winback.probability(np.ones(2), 1.0, np.ones(2), np.array([False, False]))
    np.testing.assert_array_equal(p, 0.0)


def test_returns_follows_uniform():
    """A customer returns exactly where u < p."""
    p = np.array([0.0, 0.3, 0.3, 1.0])
    u = np.array([0.0, 0.29, 0.3, 0.999999])
    np.testing.assert_array_equal(winback.returns(p, u), [False, True, False, True])
