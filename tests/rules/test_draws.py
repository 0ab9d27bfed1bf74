"""One uniform, several decisions: each rescaled uniform is again uniform given the
decisions before it (sim.rules.draws)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rules import draws, service


def test_rescaled_uniform_is_uniform_given_the_event():
    """u / p for the u < p is uniform on [0, 1): one uniform decides contact and channel.
    With n = 200,000 draws and p = 0.3, the ~60,000 rescaled values have decile shares with
    binomial standard error sqrt(0.1 · 0.9 / 60,000) ≈ 0.0012; allow 5 of them."""
    u = np.random.default_rng(7).random(200_000)
    p = np.full_like(u, 0.3)
    v = draws.rescaled(u, p)[u < p]
    assert v.min() >= 0.0 and v.max() < 1.0
    shares = np.histogram(v, bins=10, range=(0, 1))[0] / len(v)
    assert np.abs(shares - 0.1).max() < 5 * np.sqrt(0.1 * 0.9 / len(v))
    assert np.isfinite(draws.rescaled(np.array([0.5]), np.array([0.0]))).all()


def test_threshold_compares_like_double_precision():
    """A single-precision uniform is below a probability's threshold exactly where it is
    below the probability in double precision: probabilities that float32 rounds down, up
    or holds exactly, and uniforms on and either side of every threshold."""
    rng = np.random.default_rng(5)
    p = np.concatenate((rng.random(2000), [0.0, 1.0, 0.5, 0.1, 1e-9, 1.0 - 1e-12]))
    t = draws.threshold(p)
    assert t.dtype == np.float32
    near = np.stack([np.nextafter(t, np.float32(-1)), t, np.nextafter(t, np.float32(2))])
    u = np.concatenate((near.ravel(), rng.random(10_000, dtype=np.float32)))
    for prob, single in zip(p, t, strict=True):
        np.testing.assert_array_equal(u < single, u.astype(float) < prob)


@pytest.mark.parametrize("level", [0.1, 0.5, 0.93])
def test_one_uniform_decides_contact_channel_and_service_independently(level):
    """The contact phase reads one uniform three times: u < rate (contact), u / rate against
    the cumulative preferences (channel), and where u / rate fell within the channel's share
    (answered in time if below the level). Each must have its own probability, and being
    answered must not depend on the channel. 400,000 seeded uniforms; every share is
    checked to within 4 binomial standard errors of its probability."""
    rng = np.random.default_rng(20261122)
    n, rate = 400_000, 0.3
    prefs = np.array([0.2, 0.5, 0.3])
    cdf = np.cumsum(prefs)[None, :]
    u = rng.random(n, dtype=np.float32)
    made = service.contacts(np.full(n, rate), np.ones(n, dtype=bool), u)
    assert abs(made.mean() - rate) < 4 * math.sqrt(rate * (1 - rate) / n)
    v = draws.rescaled(u[made], np.full(made.sum(), rate))
    segment = np.zeros(len(v), dtype=np.int8)
    channel = draws.choose(cdf, segment, v)
    shares = np.bincount(channel, minlength=3) / len(v)
    np.testing.assert_array_less(np.abs(shares - prefs), 4 * np.sqrt(prefs * (1 - prefs) / len(v)))
    w = draws.within_choice(v, cdf, segment, channel)
    assert w.min() >= 0.0 and w.max() < 1.0
    for c in range(3):
        served = w[channel == c] < level
        assert abs(served.mean() - level) < 4 * math.sqrt(level * (1 - level) / served.size), c


def test_within_choice_stays_below_one_for_a_level_of_one():
    """A contact at the very top of its channel's share is still answered when the level is
    1 (self-service): the rescaled uniform stays below 1 whatever the rounding."""
    cdf = np.array([[0.3, 1.0]])
    top = np.nextafter(np.array([0.3, 1.0]), 0.0)
    w = draws.within_choice(top, cdf, np.zeros(2, dtype=np.int8), np.array([0, 1], np.int8))
    assert (w < 1.0).all()


def test_split_leaves_a_uniform_on_each_side():
    """Given the side of q it fell on, the rescaled uniform is again uniform: its mean is ½
    and its variance 1/12 within 5 standard errors (n = 200,000; the mean's standard error
    is √(1/12/n) ≈ 6.5e−4)."""
    u = np.random.default_rng(5).random(200_000, dtype=np.float32)
    q = 0.3
    below, v = draws.split(u, q)
    assert below.mean() == pytest.approx(q, abs=5 * math.sqrt(q * (1 - q) / len(u)))
    for side in (below, ~below):
        n = side.sum()
        assert v[side].mean() == pytest.approx(0.5, abs=5 * math.sqrt(1 / 12 / n))
        assert v[side].var() == pytest.approx(1 / 12, abs=5 * math.sqrt(1 / 180 / n))
        assert v[side].min() >= 0.0 and v[side].max() < 1.0
