"""Direction-of-effect tests of sim.rules.retention (retention programme reach)."""

from __future__ import annotations

import numpy as np
import pytest

N = 1200


def _population(seed=23):
    rng = np.random.default_rng(seed)
    active = np.arange(N) % 3 != 0          # a third are not customers
    return active, rng.random(N)


@pytest.mark.parametrize("reach", [0.0, 0.3, 1.0])
def test_only_current_customers_enter_programme(reach):
    """Whatever the reach, nobody who is not a customer is in the programme."""
    from sim.rules import retention

    active, u = _population()
    inside = retention.in_programme(np.full(N, reach), active, u)
    assert not inside[~active].any()


def test_reach_zero_reaches_nobody_and_reach_one_every_customer():
    """Reach 0: nobody; reach 1: every current customer (u < 1 always)."""
    from sim.rules import retention

    active, u = _population()
    u[np.flatnonzero(active)[:3]] = [0.0, 0.5, 0.999999]   # include the extremes
    assert not retention.in_programme(np.zeros(N), active, u).any()
    np.testing.assert_array_equal(retention.in_programme(np.ones(N), active, u), active)


def test_more_reach_reaches_a_superset():
    """With the same uniforms, higher reach keeps everyone reached and adds more."""
    from sim.rules import retention

    active, u = _population()
    previous = None
    for reach in (0.1, 0.4, 0.7, 0.95):
        inside = retention.in_programme(np.full(N, reach), active, u)
        if previous is not None:
            assert np.all(inside[previous]) and inside.sum() > previous.sum()
        previous = inside


def test_reach_is_per_customer():
    """Each customer is reached where u < their own reach (the firm's choice for their
    score cell and label)."""
    from sim.rules import retention

    reach = np.array([0.0, 0.5, 0.5, 0.9])
    u = np.array([0.0, 0.49, 0.5, 0.6])
    np.testing.assert_array_equal(retention.in_programme(reach, np.ones(4, bool), u),
                                  [False, True, False, True])
