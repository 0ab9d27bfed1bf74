"""Staffing to a service standard: the fewest agents that meet it, a forecast from what the
firm observed, and what more or fewer agents do to service, satisfaction, churn and cost."""

import numpy as np
import pytest
from scipy import stats

import sim
from sim.rules.service import agents_needed, service_level
from sim.strategies import PRIOR_CONTACT_RATE, forecast_contacts

REPLICATIONS = 8


@pytest.mark.parametrize(("answered", "seconds", "handle"), [(0.8, 20, 360), (0.9, 45, 180),
                                                             (0.99, 0, 60)])
def test_agents_needed_are_the_fewest_that_meet_the_standard(answered, seconds, handle):
    load = np.array([0.01, 0.5, 1.0, 3.7, 14.0, 71.0, 400.0, 2500.0])
    n = agents_needed(load, answered, seconds, handle)
    assert np.all(service_level(load, n, seconds, handle) >= answered)
    assert np.all(service_level(load, n - 1, seconds, handle) < answered)
    assert agents_needed(0.0, answered, seconds, handle) == 0


def test_forecast_is_contacts_per_customer_of_recent_months_times_customers_now():
    history = [(np.array([[50.0, 0.0]]), np.array([100.0, 0.0])),     # too old
               (np.array([[30.0, 10.0]]), np.array([90.0, 10.0])),
               (np.array([[34.0, 6.0]]), np.array([110.0, 10.0]))]
    now = np.array([200.0, 20.0])
    got = forecast_contacts(history, 2, now, 1)
    # General pool: 64 contacts over 200 customer-months; priority: 16 over 20.
    np.testing.assert_allclose(got, [[64 / 200 * 200, 16 / 20 * 20]])
    # A pool never seen takes the channel's rate over every pool: 40 over 100.
    unseen = forecast_contacts(history[:1] + [(np.array([[40.0, 0.0]]), np.array([100.0, 0.0]))],
                               1, now, 1)
    np.testing.assert_allclose(unseen, [[80.0, 8.0]])
    np.testing.assert_allclose(forecast_contacts([], 3, now, 2),
                               np.full((2, 2), PRIOR_CONTACT_RATE) * now)


@pytest.fixture(scope="module")
def standard():
    """The practices scenario's fixed roster and its three ways of staffing to a standard,
    REPLICATIONS replications each, 60 months after a 36-month warm-up."""
    scenario = sim.load_scenario("scenarios/practices/staffing_to_a_standard.yaml").override(
        {"simulation.horizon_months": 60, "simulation.warmup_months": 36})
    return {name: [sim.run(scenario, strategy=name, replication=r)
                   for r in range(REPLICATIONS)] for name in scenario.compare}


def _paired(runs, a, b, metric):
    return np.array([y.summary[metric] - x.summary[metric]
                     for x, y in zip(runs[a], runs[b], strict=True)])


def _t_low(diff):
    """Lower end of the one-sided 99.9 % Student t bound of the mean of ``diff``."""
    return diff.mean() - stats.t.ppf(0.999, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff))


def test_staffing_for_the_peak_against_for_the_average(standard):
    """Sized for the busiest hour, every hour has at least the agents of the average-hour
    level: branches answer more in time in every replication, customers end more
    satisfied and churn less (one-sided t bounds at 99.9 % over the paired replications),
    and the agents cost more in every replication."""
    service = _paired(standard, "to_average", "to_peak", "service_level_branch")
    assert np.all(service > 0)
    cost = np.array([
        y.monthly["staffing_costs"].sum() - x.monthly["staffing_costs"].sum()
        for x, y in zip(standard["to_average"], standard["to_peak"], strict=True)])
    assert np.all(cost > 0)
    assert _t_low(_paired(standard, "to_average", "to_peak", "mean_satisfaction_end")) > 0
    assert _t_low(-_paired(standard, "to_average", "to_peak", "churn_rate_annual")) > 0


def test_each_hour_to_the_standard_meets_it_where_the_average_does_not(standard):
    """Each hour staffed to the branch standard (80 % within 300 s) answers at least that
    share; one all-day level for the average hour falls short of it over the horizon."""
    for run in standard["to_hour"]:
        m = run.monthly
        assert m["answered_in_time_branch"].sum() >= 0.8 * m["contacts_branch"].sum()
    below = [run.summary["service_level_branch"] < 0.8 for run in standard["to_average"]]
    assert np.mean(below) > 0.5


def test_more_agents_more_service_less_churn():
    """Direction of effect: the baseline's roster doubled answers more calls in time in
    every replication, and customers churn less (one-sided 99.9 % t bound)."""
    base = sim.load_scenario("scenarios/gsp_vs_segmented.yaml").override(
        {"simulation.horizon_months": 60, "simulation.warmup_months": 36})
    roster = base.strategies["gsp"].staffing
    doubled = base.override({"strategies.segmented": {
        **base.strategies["gsp"].model_dump(mode="json"),
        "staffing": {c: [2 * a for a in np.atleast_1d(n)] for c, n in roster.items()}}})
    runs = {name: [sim.run(doubled, strategy=name, replication=r) for r in range(REPLICATIONS)]
            for name in ("gsp", "segmented")}
    assert np.all(_paired(runs, "gsp", "segmented", "service_level_call_centre") > 0)
    assert _t_low(-_paired(runs, "gsp", "segmented", "churn_rate_annual")) > 0
