"""Docking: isolated mechanisms reproduce their published closed forms.

Each check allows the error its own sampling error explains (as many standard errors as
keep the chance of a false failure below 1e-3 per check; see sim.validation). The same
checks run here at a quarter of full size; next to each, a wrong closed form (the classic
mistakes) must be rejected, so the checks have power.
"""

import math

import numpy as np
import pytest

import sim
from sim import validation as v
from sim.rules import service

SCALE = 0.25


@pytest.fixture(scope="module")
def geometric():
    return v.geometric(SCALE)


def test_geometric_clv_over_the_horizon_and_lifetime(geometric):
    for check in geometric:
        assert check.passed, (check.name, check.error, check.tolerance)


def test_geometric_check_rejects_the_wrong_timing_convention(geometric):
    """Counting the acquisition month's margin too gives m(1 + d)/(d + p), (1 + d)/(1 − p)
    times the right value; the simulation must be far from it."""
    lifetime = geometric[1]
    scenario = v._scenario("geometric", SCALE)
    d = v.monthly_rate(scenario.economics.discount_rate_annual)
    p = 0.02
    wrong = lifetime.expected * (1 + d) / (1 - p)
    assert abs(lifetime.simulated - wrong) > lifetime.tolerance


@pytest.mark.parametrize("renewal", [1, 12])
def test_sbg_retention(renewal):
    check = v.sbg(SCALE, renewal_every_months=renewal)
    assert check.passed, (check.error, check.tolerance)
    # Ignoring heterogeneity (a geometric curve at the mean θ) must be rejected: the sBG
    # curve flattens as the most churn-prone leave.
    alpha, beta = 0.8, 12.0
    homogeneous = (1 - alpha / (alpha + beta)) ** check.x
    n = v._scenario("sbg", SCALE).market.population
    se = np.sqrt(check.reference_curve * (1 - check.reference_curve) / n)
    assert np.max(np.abs(check.simulated_curve - homogeneous) / se) > v.critical(len(se))


def test_bass_diffusion_follows_the_discrete_recursion():
    check = v.bass(SCALE)
    assert check.passed, (check.error, check.tolerance)
    # The continuous Bass curve differs from the recursion by a discretisation bias large
    # enough to be told apart at this size.
    p, q, t = 0.01, 0.35, check.x
    continuous = (1 - np.exp(-(p + q) * t)) / (1 + q / p * np.exp(-(p + q) * t))
    assert np.max(np.abs(check.simulated_curve - continuous)) > check.tolerance


def test_bass_recursion_by_hand():
    # F1 = 0 + 1·(0.01 + 0) = 0.01; F2 = 0.01 + 0.99·(0.01 + 0.35·0.01) = 0.023365.
    np.testing.assert_allclose(v.bass_recursion(0.01, 0.35, 2), [0.01, 0.023365])


def test_sbg_survival_by_hand():
    # S(1) = 1 − α/(α + β); S(2) = S(1)·(β + 1)/(α + β + 1) (Fader & Hardie 2007, eq. 3).
    a, b = 0.8, 12.0
    s1 = 1 - a / (a + b)
    np.testing.assert_allclose(v.sbg_survival(a, b, [1, 2]), [s1, s1 * (b + 1) / (a + b + 1)])


def test_erlang_checks():
    for check in v.erlang(SCALE):
        assert check.passed, (check.name, check.error, check.tolerance)


def test_erlang_c_textbook_identities_and_large_loads():
    """M/M/1: P(wait) = ρ, ASA = ρh/(1 − ρ); M/M/2: P(wait) = 2ρ²/(1 + ρ) (Kleinrock 1975).
    Hundreds of agents: finite, and equal to the formula evaluated in log space."""
    for rho in (0.1, 0.5, 0.9):
        assert service.erlang_c(rho, 1) == pytest.approx(rho, rel=1e-12)
        assert service.average_speed_of_answer(rho, 1, 60.0) == pytest.approx(
            rho * 60 / (1 - rho), rel=1e-12)
        assert service.erlang_c(2 * rho, 2) == pytest.approx(2 * rho**2 / (1 + rho),
                                                             rel=1e-12)
    a, n = 450.0, 480
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(n)]
    top = n * math.log(a) - math.lgamma(n + 1) + math.log(n / (n - a))
    peak = max(*log_terms, top)
    expected = math.exp(top - peak) / (sum(math.exp(t - peak) for t in log_terms)
                                       + math.exp(top - peak))
    assert service.erlang_c(a, n) == pytest.approx(expected, rel=1e-9)


def test_the_report_has_a_row_and_a_plot_per_check(tmp_path):
    checks = [v.sbg(0.05), *v.erlang(0.05)]
    report = v.write_report(checks, tmp_path)
    text = report.read_text()
    for check in checks:
        assert check.name in text
    assert text.count("| yes |") + text.count("| **NO** |") == len(checks)
    assert len(list((tmp_path / "validation").glob("*.png"))) == sum(
        1 for c in checks if len(c.x))


def test_engines_agree_and_accounts_add_up():
    """The two last rows of docs/validation.md: the agents engine reproduces the
    vectorized one exactly, and the money adds up."""
    agree = v.engines_agree(customers=150, months=8)
    assert agree.passed and agree.error == 0.0
    books = v.accounting(0.05)
    assert books.passed, (books.error, books.tolerance)


def test_fekkai_seed_case():
    """The Fekkai patterns hold at the case's own size; the peak needs more agents than a
    normal hour, but fewer than in proportion to its five times the load."""
    checks = v.fekkai()
    for check in checks:
        assert check.passed, (check.name, check.simulated, check.error, check.tolerance)
    assert 1.0 < checks[-1].simulated < 5.0


def test_usaa_seed_case():
    """With onboarding, loyalty and retention programmes the loyal segment keeps about 96 %
    of its customers a year; without them it stays below 95.5 %, and the paired gain is
    more than its sampling error (each check states its tolerance)."""
    checks = v.usaa()
    for check in checks:
        assert check.passed, (check.name, check.simulated, check.error, check.tolerance)
    with_them, without, gain = (check.simulated for check in checks)
    assert gain == pytest.approx(with_them - without)


def test_channel_migration_seed_case():
    """About 5 % of contacts move; the saving and the call centre's relief each come to
    the moved contacts (× their cost difference) within a tenth."""
    checks = v.channel_migration()
    for check in checks:
        assert check.passed, (check.name, check.simulated, check.error, check.tolerance)


def test_capital_one_seed_case():
    """After an A/B test of cross-sell offers within each label, over half of mature
    customers hold several products, more than without learning by more than the paired
    sampling error; and the firm learnt the offer each segment answers best."""
    checks = v.capital_one()
    for check in checks:
        assert check.passed, (check.name, check.simulated, check.error, check.tolerance)
    s = v.load_scenario(v.CASES / "capital_one.yaml")
    offers = sim.run(s, strategy="learning").offers
    # Each segment's best offer, from the case's own response table.
    best = {seg: max(s.offers, key=lambda o: s.offers[o].response.get(seg, 0.0))
            for seg in s.market.segments}
    assert dict(zip(offers["label"], offers["cross_sell_offer"], strict=True)) == best
    assert (offers["adopted_month"] == s.strategies["learning"].test_and_learn.test_months).all()
