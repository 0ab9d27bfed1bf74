"""Direction-of-effect tests of sim.rules.retention (retention programme reach)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.rules import retention
from sim.tables import ACQUISITION, DECLINE, DEPARTED, GROWTH, MATURITY, PROSPECT

ALL_STAGES = np.array([PROSPECT, ACQUISITION, GROWTH, MATURITY, DECLINE, DEPARTED], np.int8)


def _population(n_per_stage=200, seed=23):
    rng = np.random.default_rng(seed)
    stage = np.repeat(ALL_STAGES, n_per_stage)
    return stage, rng.random(len(stage))


@pytest.mark.parametrize("reach", [0.0, 0.3, 1.0])
def test_only_declining_customers_enter_programme(reach):
    """Whatever the reach, nobody outside the decline stage is in the programme."""
    stage, u = _population()
    inside = retention.in_programme(stage, np.full(len(stage), reach), u)
    assert not inside[stage != DECLINE].any()


def test_reach_zero_reaches_nobody_and_reach_one_everyone_declining():
    """Reach 0: nobody; reach 1: every declining customer (u < 1 always)."""
    stage, u = _population()
    u[np.flatnonzero(stage == DECLINE)[:3]] = [0.0, 0.5, 0.999999]   # include the extremes
    assert not retention.in_programme(stage, np.zeros(len(stage)), u).any()
    inside = retention.in_programme(stage, np.ones(len(stage)), u)
    np.testing.assert_array_equal(inside, stage == DECLINE)


def test_more_reach_reaches_a_superset():
    """With the same uniforms, higher reach keeps everyone reached and adds more declining
    customers."""
    stage, u = _population()
    previous = None
    for reach in (0.1, 0.4, 0.7, 0.95):
        inside = retention.in_programme(stage, np.full(len(stage), reach), u)
        if previous is not None:
            assert np.all(inside[previous]) and inside.sum() > previous.sum()
        previous = inside


def test_reach_is_per_customer():
    """Each declining customer is reached where u < their own (tier's) reach."""
    stage = np.full(4, DECLINE, np.int8)
    reach = np.array([0.0, 0.5, 0.5, 0.9])
    u = np.array([0.0, 0.49, 0.5, 0.6])
    np.testing.assert_array_equal(retention.in_programme(stage, reach, u),
                                  [False, True, False, True])
