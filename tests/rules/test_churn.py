"""Direction-of-effect tests of sim.rules.churn: p = 1 − (1 − θ)^m."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.rules import churn, satisfaction

THETAS = np.array([0.0, 1e-6, 0.01, 0.05, 0.3, 0.7, 0.99, 0.999999])

# Defaults of a churn parameter set with every effect switched on.
# Programme effects by code: none, retention, onboarding, loyalty (sim.codes.PROGRAMMES).
EFFECTS = {"satisfaction_effect": 3.0, "neutral_satisfaction": 0.5, "product_effect": 0.2,
           "programme_effects": (0.0, 0.4, 0.25, 0.1)}


def log_m(satisfaction_=0.5, stage_log=0.0, products=1, programme=0, **overrides):
    """log m for scalars/arrays with ``EFFECTS`` as defaults."""
    params = {**EFFECTS, **overrides}
    n = max(np.size(satisfaction_), np.size(stage_log), np.size(products),
            np.size(programme))
    return churn.log_multiplier(
        np.broadcast_to(np.asarray(satisfaction_, float), n),
        np.broadcast_to(np.asarray(stage_log, float), n),
        np.broadcast_to(np.asarray(products, np.int8), n),
        np.broadcast_to(np.asarray(programme, np.int8), n),
        params["satisfaction_effect"], params["neutral_satisfaction"],
        params["product_effect"], params["programme_effects"])


def prob(theta, lm):
    return churn.probability(churn.log_survival(np.asarray(theta, float)), lm)


def test_log_survival_is_log_of_one_minus_theta_and_finite_at_one():
    """exp(log_survival(θ)) = 1 − θ, and θ = 1 gives a finite value (capped). Stored in
    single precision: log(1 − θ) within 2^−24 relative, so exp of it within
    |log(1 − θ)| · 2^−24 ≤ 1.4e−7 relative for θ ≤ 0.9."""
    theta = np.array([0.0, 0.1, 0.5, 0.9])
    np.testing.assert_allclose(np.exp(churn.log_survival(theta).astype(float)), 1.0 - theta,
                               rtol=1.4e-7)
    assert np.isfinite(churn.log_survival(np.array([1.0]))).all()


def test_probability_equals_theta_when_every_effect_is_off():
    """log m = 0 (m = 1) gives p = θ, the docking point to geometric / sBG churn, to single
    precision: three roundings of 2^−24 (log(1 − θ) stored, the product, expm1), each
    passed on to p with a factor of at most 1 (the condition number of −expm1 at
    log(1 − θ) is |log(1 − θ)|(1 − θ)/θ ≤ 1), so within 4 · 2^−24 ≈ 2.4e−7 relative."""
    np.testing.assert_allclose(prob(THETAS, np.zeros(len(THETAS))), THETAS, rtol=2.4e-7,
                               atol=0)


def test_neutral_customer_has_log_m_zero():
    """At neutral satisfaction, stage multiplier 1, one product and no programme, log m = 0."""
    assert log_m(0.5)[0] == 0.0
    assert log_m(0.8, neutral_satisfaction=0.8)[0] == 0.0


def test_probability_matches_closed_form_with_all_effects():
    """p = 1 − (1 − θ)^m with m = m_stage · e^{−effect·(s − neutral)} · (1 − pe)^{k − 1}
    · (1 − re)^{programme}, the product written out independently."""
    theta, s, m_stage, k = 0.08, 0.3, 1.7, 3
    m = (m_stage * math.exp(-3.0 * (s - 0.5)) * (1 - 0.2) ** (k - 1) * (1 - 0.4))
    lm = log_m(s, math.log(m_stage), k, True)
    assert math.exp(lm[0]) == pytest.approx(m, rel=1e-12)
    # probability() documents m in single precision (relative error ~1e-7), hence rel=1e-6.
    assert prob([theta], lm)[0] == pytest.approx(1.0 - (1.0 - theta) ** m, rel=1e-6)


def test_higher_satisfaction_lowers_churn():
    """Churn probability falls strictly with satisfaction (satisfaction_effect > 0)."""
    s = np.linspace(0.0, 1.0, 21)
    p = prob(np.full_like(s, 0.05), log_m(s))
    assert np.all(np.diff(p) < 0)
    assert p[0] > 0.05 > p[-1], "below neutral raises, above neutral lowers the base θ"


def test_satisfaction_effect_zero_makes_churn_ignore_satisfaction():
    """satisfaction_effect = 0: the same probability at every satisfaction."""
    s = np.linspace(0.0, 1.0, 11)
    p = prob(np.full_like(s, 0.05), log_m(s, satisfaction_effect=0.0))
    np.testing.assert_array_equal(p, np.full_like(s, p[0]))


@pytest.mark.parametrize("effect", [0.5, 3.0, 10.0])
def test_stronger_satisfaction_effect_widens_the_spread(effect):
    """A stronger satisfaction effect raises churn of unhappy and lowers churn of happy
    customers relative to a weaker one."""
    s = np.array([0.1, 0.9])
    weak = prob([0.05, 0.05], log_m(s, satisfaction_effect=effect))
    strong = prob([0.05, 0.05], log_m(s, satisfaction_effect=2 * effect))
    assert strong[0] > weak[0] and strong[1] < weak[1]


def test_more_products_lower_churn():
    """Each product beyond the first lowers churn (product_effect > 0); the first is neutral."""
    k = np.arange(1, 8)
    p = prob(np.full(len(k), 0.1), log_m(0.5, 0.0, k))
    assert p[0] == pytest.approx(0.1, abs=1e-12)
    assert np.all(np.diff(p) < 0)


def test_product_effect_zero_ignores_products():
    k = np.arange(1, 6)
    p = prob(np.full(len(k), 0.1), log_m(0.5, 0.0, k, product_effect=0.0))
    np.testing.assert_array_equal(p, np.full(len(k), p[0]))


def test_each_programme_lowers_churn_by_its_own_effect():
    """Being in a programme (retention, onboarding, loyalty) lowers churn by the factor
    (1 − that programme's effect) on m; with every effect 0 it changes nothing."""
    codes = np.arange(4)
    lm = log_m(0.2, 0.0, 1, codes)
    for code, effect in enumerate(EFFECTS["programme_effects"]):
        assert math.exp(lm[code] - lm[0]) == pytest.approx(1.0 - effect, rel=1e-12)
    p = prob([0.1] * 4, lm)
    assert (p[1:] < p[0]).all()
    off = log_m(0.2, 0.0, 1, codes, programme_effects=(0.0,) * 4)
    assert (off == off[0]).all()


@pytest.mark.parametrize(("multiplier", "direction"), [(0.25, -1), (0.9, -1), (1.0, 0),
                                                       (1.5, 1), (4.0, 1)])
def test_stage_multiplier_acts_in_its_direction(multiplier, direction):
    """A stage hazard multiplier above 1 raises churn, below 1 lowers it, 1 is neutral."""
    base = prob([0.1], log_m(0.6))[0]
    staged = prob([0.1], log_m(0.6, math.log(multiplier)))[0]
    assert np.sign(round(staged - base, 14)) == direction


def test_stage_multiplier_zero_means_no_churn():
    """A stage multiplier of 0 (log m = −inf, as tables.build_tables stores it) gives p = 0."""
    with np.errstate(divide="ignore"):
        stage_log = np.log(np.array([0.0, 0.0]))
    p = prob([0.3, 1.0], log_m(np.array([0.0, 0.0]), stage_log))
    np.testing.assert_array_equal(p, [0.0, 0.0])


@pytest.mark.parametrize("lm", [-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 85.0])
def test_probability_in_unit_interval_for_extreme_inputs(lm):
    """θ from 0 to 1 and hazard multipliers from e^−1000 to e^85 (~1e37): p stays in [0, 1],
    rises with θ, θ = 0 never churns."""
    theta = np.concatenate([THETAS, [1.0]])
    p = prob(theta, np.full(len(theta), lm))
    assert np.all(np.isfinite(p)) and np.all((p >= 0.0) & (p <= 1.0))
    assert np.all(np.diff(p) >= 0)
    assert p[0] == 0.0


def test_huge_multiplier_sends_positive_theta_to_one():
    """m = e^85 or beyond float range (e^700, e^1000) makes every θ > 0 churn with
    probability 1 (to rounding); overflow of m to inf is harmless here."""
    with np.errstate(over="ignore"):
        p = prob(np.tile([0.01, 0.5, 1.0], 3), np.repeat([85.0, 700.0, 1000.0], 3))
    np.testing.assert_allclose(p, 1.0, rtol=0, atol=1e-12)


def test_theta_zero_never_churns_even_with_overflowing_multiplier():
    """θ = 0 churns with probability 0 for any multiplier, including log m beyond float range
    (reachable from a valid scenario, e.g. satisfaction_effect = 2000 at satisfaction 0, or a
    stage multiplier of .inf)."""
    lm = log_m(0.0, 0.0, satisfaction_effect=2000.0)
    with np.errstate(over="ignore", invalid="ignore"):
        p = prob([0.0], lm)
    assert p[0] == 0.0


def test_renewal_due_every_month():
    """renewal_every_months = 1: every customer may leave every month."""
    assert churn.renewal_due(np.arange(0, 40, dtype=np.int16), 1).all()


@pytest.mark.parametrize("every", [3, 12])
def test_renewal_due_only_at_multiples_of_the_period(every):
    """With contracts of ``every`` months, churn is possible exactly when tenure is a
    multiple of the period."""
    tenure = np.arange(0, 61, dtype=np.int16)
    due = churn.renewal_due(tenure, every)
    np.testing.assert_array_equal(np.flatnonzero(due), np.arange(0, 61, every))


def test_churns_needs_risk_and_a_low_uniform():
    """A customer leaves only if at risk and u < p."""
    p = np.array([0.3, 0.3, 0.3, 0.0, 1.0, 1.0])
    at_risk = np.array([True, True, False, True, True, False])
    u = np.array([0.29, 0.3, 0.0, 0.0, 0.999999, 0.0])
    np.testing.assert_array_equal(churn.churns(p, at_risk, u),
                                  [True, False, False, False, True, False])


@pytest.mark.parametrize("every", [1, 3, 12])
def test_monthly_equivalent_compounds_back(every):
    """(1 − monthly)^every = 1 − p: the monthly hazard gives the same survival per renewal."""
    p = np.array([0.0, 0.01, 0.1, 0.5, 0.9, 0.999])
    monthly = churn.monthly_equivalent(p, every)
    np.testing.assert_allclose(1.0 - (1.0 - monthly) ** every, p, rtol=1e-12, atol=1e-15)
    assert np.all(monthly <= p) and np.all(np.diff(monthly) > 0)


def test_monthly_equivalent_of_annual_ten_percent():
    """A 10 % annual churn is 1 − 0.9^(1/12) a month."""
    assert churn.monthly_equivalent(np.array([0.1]), 12)[0] == pytest.approx(
        1.0 - 0.9 ** (1.0 / 12.0), rel=1e-12)


@pytest.mark.parametrize("memory", [0.0, 0.5, 0.8])
def test_chain_better_fit_lowers_churn(memory):
    """Chain: better fit ⇒ higher experience ⇒ higher satisfaction ⇒ lower churn probability
    (satisfaction.experience → satisfaction.update → churn.log_multiplier → probability)."""
    fit = np.linspace(-3.0, 3.0, 13)
    zero = np.zeros_like(fit)
    e = satisfaction.experience(fit, zero, zero, 1.0, 1.0)
    s = satisfaction.update(np.full_like(fit, 0.5), e, memory)
    p = prob(np.full_like(fit, 0.04), log_m(s))
    assert np.all(np.diff(e) > 0)
    assert np.all(np.diff(s) > 0)
    assert np.all(np.diff(p) < 0)


def test_chain_bad_service_raises_churn():
    """Chain: a contact not served in time (− wait penalty) lowers satisfaction and raises
    churn against a served one (+ quality)."""
    service_u = np.array([1.0, 0.0, -2.0])   # served, no contact, kept waiting
    e = satisfaction.experience(np.zeros(3), service_u, np.zeros(3), 1.0, 1.0)
    s = satisfaction.update(np.full(3, 0.5), e, 0.7)
    p = prob(np.full(3, 0.04), log_m(s))
    assert p[0] < p[1] < p[2]
