"""Direction-of-effect tests of sim.rules.lifecycle (stage progression)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.codes import ACQUISITION, DECLINE, DEPARTED, GROWTH, MATURITY, PROSPECT
from sim.rules import lifecycle

ONBOARDING, MATURE_TENURE, MATURE_PRODUCTS = 3, 24, 3
DECLINE_AT, RECOVER_AT = 0.35, 0.5
ACTIVE_CODES = (ACQUISITION, GROWTH, MATURITY, DECLINE)


def settled(tenure, products):
    return lifecycle.settled_stage(np.asarray(tenure, np.int16), np.asarray(products, np.int8),
                                   ONBOARDING, MATURE_TENURE, MATURE_PRODUCTS)


def progress(stage, tenure, products, satisfaction, decline_at=DECLINE_AT, recover_at=RECOVER_AT):
    stage = np.asarray(stage, np.int8)
    active = np.isin(stage, ACTIVE_CODES)   # as tables.active[stage]
    return lifecycle.progress(stage, np.asarray(tenure, np.int16), np.asarray(products, np.int8),
                              np.asarray(satisfaction, float), active, ONBOARDING,
                              MATURE_TENURE, MATURE_PRODUCTS, decline_at, recover_at)


@pytest.mark.parametrize(("tenure", "products", "expected"), [
    (0, 1, ACQUISITION), (2, 1, ACQUISITION), (2, 5, ACQUISITION),   # onboarding first
    (3, 1, GROWTH), (23, 2, GROWTH),
    (24, 1, MATURITY), (100, 1, MATURITY),                            # mature by tenure
    (3, 3, MATURITY), (10, 7, MATURITY),                              # mature by products
])
def test_settled_stage_by_tenure_and_products(tenure, products, expected):
    """Onboarding for the first onboarding_months of tenure, then maturity once tenure reaches
    maturity_tenure_months or products reach maturity_products, growth otherwise."""
    assert settled([tenure], [products])[0] == expected


def test_settled_stage_never_goes_back_as_tenure_and_products_grow():
    """Stage order acquisition < growth < maturity is monotone in tenure and in products."""
    tenure, products = np.meshgrid(np.arange(40), np.arange(1, 6), indexing="ij")
    st = settled(tenure.ravel(), products.ravel()).reshape(tenure.shape)
    assert np.all(np.diff(st, axis=0) >= 0) and np.all(np.diff(st, axis=1) >= 0)


SATISFIED = np.linspace(DECLINE_AT, 1.0, 8)
GRID = list(itertools.product((ACQUISITION, GROWTH, MATURITY), (0, 2, 3, 10, 24, 50),
                              (1, 2, 3, 6)))


def test_satisfied_customer_never_declines():
    """A customer who is not declining and has satisfaction ≥ decline_threshold moves to the
    settled stage of their tenure and products, never to decline."""
    stage, tenure, products = (np.repeat(np.array(col), len(SATISFIED)) for col in zip(*GRID,
                                                                                      strict=True))
    s = np.tile(SATISFIED, len(GRID))
    new = progress(stage, tenure, products, s)
    assert not np.any(new == DECLINE)
    np.testing.assert_array_equal(new, settled(tenure, products))


@pytest.mark.parametrize("tenure", [3, 10, 24, 60])
@pytest.mark.parametrize("stage", [GROWTH, MATURITY])
def test_low_satisfaction_sends_growth_and_maturity_to_decline(stage, tenure):
    """Below decline_threshold, customers past onboarding enter decline."""
    s = np.array([0.0, 0.2, DECLINE_AT - 1e-9])
    new = progress(np.full(3, stage), np.full(3, tenure), np.full(3, 1), s)
    np.testing.assert_array_equal(new, DECLINE)


@pytest.mark.parametrize("tenure", range(ONBOARDING))
def test_unhappy_onboarding_customers_decline_too(tenure):
    """Onboarding customers are the riskiest: below decline_threshold they enter decline
    (where retention can reach them) like any other customer."""
    new = progress([ACQUISITION] * 3, [tenure] * 3, [1, 1, 4], [0.0, 0.1, DECLINE_AT - 1e-9])
    np.testing.assert_array_equal(new, DECLINE)


def test_recovered_onboarding_customer_returns_to_onboarding():
    """A declining customer still within onboarding months who recovers is onboarding
    again; one past them settles in growth."""
    new = progress([DECLINE, DECLINE], [ONBOARDING - 1, ONBOARDING], [1, 1], [0.9, 0.9])
    np.testing.assert_array_equal(new, [ACQUISITION, GROWTH])


@pytest.mark.parametrize(("satisfaction", "expected_declining"), [
    (0.0, True), (DECLINE_AT - 0.01, True), (DECLINE_AT, True), (RECOVER_AT - 1e-9, True),
    (RECOVER_AT, False), (0.8, False), (1.0, False),
])
def test_recovery_needs_satisfaction_at_recovery_threshold(satisfaction, expected_declining):
    """A declining customer stays in decline below recovery_threshold (even above the decline
    threshold: hysteresis) and returns to the settled stage at or above it."""
    new = progress([DECLINE, DECLINE], [10, 30], [1, 1], [satisfaction] * 2)
    expected = [DECLINE, DECLINE] if expected_declining else [GROWTH, MATURITY]
    np.testing.assert_array_equal(new, expected)


def test_higher_satisfaction_never_worsens_the_stage_outcome():
    """For each customer, raising satisfaction can only move the outcome from decline to the
    settled stage, never the other way."""
    s = np.linspace(0.0, 1.0, 21)
    for stage, tenure, products in GRID + [(DECLINE, t, k) for t in (3, 30) for k in (1, 4)]:
        new = progress(np.full(len(s), stage), np.full(len(s), tenure), np.full(len(s), products),
                       s)
        declining = new == DECLINE
        # once not declining at some satisfaction, not declining at any higher one
        assert np.all(np.diff(declining.astype(int)) <= 0)


@pytest.mark.parametrize("stage", [PROSPECT, DEPARTED])
def test_non_active_stages_never_change(stage):
    """Prospects and departed customers keep their stage whatever tenure, products and
    satisfaction say."""
    tenure = np.array([0, 2, 5, 30, 0, 30])
    products = np.array([0, 0, 1, 3, 0, 0])
    s = np.array([0.0, 0.2, 0.4, 0.9, 1.0, 0.0])
    new = progress(np.full(6, stage), tenure, products, s)
    np.testing.assert_array_equal(new, stage)


def test_progress_returns_int8_stage_codes():
    """Stage codes stay int8 (the state array's dtype)."""
    assert progress([GROWTH, PROSPECT], [5, 0], [1, 0], [0.5, 0.5]).dtype == np.int8
