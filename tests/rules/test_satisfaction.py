"""Direction-of-effect tests of sim.rules.satisfaction (experience and smoothing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rules import satisfaction

GRID = np.linspace(-4.0, 4.0, 33)


def test_logistic_known_values():
    """logistic(0) = 1/2, logistic(ln 3) = 3/4, logistic(−x) = 1 − logistic(x)."""
    x = np.array([0.0, math.log(3.0), -math.log(3.0)])
    np.testing.assert_allclose(satisfaction.logistic(x), [0.5, 0.75, 0.25], rtol=1e-12)
    np.testing.assert_allclose(satisfaction.logistic(GRID) + satisfaction.logistic(-GRID), 1.0,
                               rtol=1e-12)


def test_experience_is_half_when_everything_is_neutral():
    """Zero fit, no contact and no programme: experience is exactly 1/2."""
    e = satisfaction.experience(np.zeros(1), np.zeros(1), np.zeros(1), 1.0, 1.0)
    assert e[0] == 0.5


def test_experience_formula():
    """experience = logistic(w_p·fit + w_s·service + programme), checked by hand."""
    e = satisfaction.experience(np.array([1.0]), np.array([-2.0]), np.array([0.5]), 2.0, 0.25)
    assert e[0] == pytest.approx(1.0 / (1.0 + math.exp(-(2.0 - 0.5 + 0.5))), rel=1e-12)


@pytest.mark.parametrize("lever", ["fit", "service", "programme"])
def test_better_fit_service_or_programme_raise_experience(lever):
    """Experience rises strictly with fit, contact utility and programme utility (positive
    weights), the other two held fixed."""
    zero = np.zeros_like(GRID)
    args = {"fit": zero, "service": zero, "programme": zero}
    args[lever] = GRID
    e = satisfaction.experience(args["fit"], args["service"], args["programme"], 0.8, 1.2)
    assert np.all(np.diff(e) > 0)


@pytest.mark.parametrize(("weight_name", "varied"), [("proposition", "fit"),
                                                     ("service", "service")])
def test_zero_weight_removes_that_effect(weight_name, varied):
    """proposition_weight = 0 removes the fit effect; service_weight = 0 removes the service
    effect (experience is then constant in that input)."""
    weights = {"proposition": 1.0, "service": 1.0}
    weights[weight_name] = 0.0
    zero = np.zeros_like(GRID)
    fit = GRID if varied == "fit" else zero + 0.3
    serv = GRID if varied == "service" else zero - 0.2
    e = satisfaction.experience(fit, serv, zero, weights["proposition"], weights["service"])
    np.testing.assert_array_equal(e, np.full_like(GRID, e[0]))


def test_higher_weight_amplifies_effect():
    """A larger proposition weight makes a good fit better and a bad fit worse."""
    fit = np.array([-1.0, 1.0])
    low = satisfaction.experience(fit, np.zeros(2), np.zeros(2), 0.5, 1.0)
    high = satisfaction.experience(fit, np.zeros(2), np.zeros(2), 2.0, 1.0)
    assert high[0] < low[0] and high[1] > low[1]


def test_update_moves_towards_experience():
    """s' = memory·s + (1 − memory)·e lies between s and e, closer to e for lower memory."""
    s = np.array([0.2, 0.9, 0.5])
    e = np.array([0.8, 0.1, 0.5])
    new_70 = satisfaction.update(s, e, 0.7)
    new_30 = satisfaction.update(s, e, 0.3)
    np.testing.assert_allclose(new_70, [0.38, 0.66, 0.5], rtol=1e-12)
    assert np.all(np.abs(new_30 - e) <= np.abs(new_70 - e))
    assert np.all(np.minimum(s, e) <= new_70) and np.all(new_70 <= np.maximum(s, e))


def test_memory_one_freezes_and_memory_zero_forgets():
    """memory = 1 keeps satisfaction unchanged; memory = 0 replaces it by the experience."""
    s = np.array([0.1, 0.5, 0.95])
    e = np.array([0.9, 0.05, 0.5])
    np.testing.assert_array_equal(satisfaction.update(s, e, 1.0), s)
    np.testing.assert_array_equal(satisfaction.update(s, e, 0.0), e)


@pytest.mark.parametrize("memory", [0.0, 0.3, 0.7, 0.99])
def test_better_fit_gives_higher_satisfaction_after_update(memory):
    """From the same satisfaction, a better fit leads to higher satisfaction next month
    (for any memory < 1)."""
    e = satisfaction.experience(GRID, np.zeros_like(GRID), np.zeros_like(GRID), 1.0, 1.0)
    s = satisfaction.update(np.full_like(GRID, 0.4), e, memory)
    assert np.all(np.diff(s) > 0)


def test_higher_previous_satisfaction_stays_higher():
    """With the same experience, a more satisfied customer stays more satisfied (memory > 0)."""
    s = np.linspace(0.0, 1.0, 11)
    new = satisfaction.update(s, np.full_like(s, 0.3), 0.6)
    assert np.all(np.diff(new) > 0)


def test_satisfaction_stays_in_unit_interval_for_extreme_inputs():
    """Experiences from extreme utilities are in [0, 1], and smoothing keeps satisfaction in
    [0, 1] whatever the memory."""
    rng = np.random.default_rng(11)
    util = np.array([-200.0, -50.0, 0.0, 50.0, 200.0])
    e = satisfaction.experience(util, util[::-1] * 0.5, util * 0.1, 3.0, 3.0)
    assert np.all((e >= 0.0) & (e <= 1.0))
    s = rng.random(5)
    for memory in (0.0, 0.25, 0.9, 1.0):
        new = satisfaction.update(s, e, memory)
        assert np.all((new >= 0.0) & (new <= 1.0))
