"""A client's scale: each agent may stand for several of the client's people, with
results in the client's units; budgets may follow the size of the base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
SHORT = {"simulation.horizon_months": 36, "simulation.warmup_months": 24}
K = 5
REPLICATIONS = 16
METRICS = ["customer_equity", "revenue", "costs", "residual_value", "acquisitions", "churned",
           "customers_end", "churn_rate_annual", "cost_to_serve", "clv_mean",
           "service_level_call_centre", "service_level_branch"]


def _summaries(k: int) -> dict[str, np.ndarray]:
    scenario = sim.load_scenario(HEADLINE).override(
        {**SHORT, "market.customers_per_agent": k})
    runs = [sim.run(scenario, strategy="gsp", replication=r).summary
            for r in range(REPLICATIONS)]
    return {m: np.array([run[m] for run in runs]) for m in runs[0]}


@pytest.fixture(scope="module")
def unscaled_and_scaled():
    return _summaries(1), _summaries(K)


@pytest.mark.parametrize("metric", METRICS)
def test_an_agent_for_five_customers_gives_the_unscaled_means(unscaled_and_scaled, metric):
    """30,000 people as 30,000 agents or as 6,000 agents of 5: the same market in the
    client's units, so every mean agrees within sampling error. The two means are
    independent (different agents draw different luck); their difference over its
    standard error is about t with 2(n − 1) degrees of freedom. The bound is that t's
    quantile for a 0.1 % chance of a false alarm over all the metrics together
    (Bonferroni). A real difference of scale, money or counts not scaled back, would be 5
    times the value: hundreds of standard errors."""
    one, five = (runs[metric] for runs in unscaled_and_scaled)
    se = np.hypot(one.std(ddof=1), five.std(ddof=1)) / np.sqrt(REPLICATIONS)
    bound = stats.t.ppf(1 - 0.001 / (2 * len(METRICS)), 2 * (REPLICATIONS - 1))
    assert abs(one.mean() - five.mean()) <= bound * se + 1e-9 * abs(one.mean()), \
        (one.mean(), five.mean(), se, bound)


def test_fewer_agents_leave_more_customer_level_noise(unscaled_and_scaled):
    """Customers at the end vary between replications mostly by each customer's luck, so
    with 5 people per agent their variance is about 5 times as large: the interval widens
    about √5 times. The test asks only that it widens (sample variance ratio above 1).
    With a true ratio of 5, the sample ratio over 5 follows F(n − 1, n − 1), so the test
    fails by chance when that falls below 1/5: with 16 replications, 0.15 % of seeds."""
    one, five = (runs["customers_end"] for runs in unscaled_and_scaled)
    assert stats.f.cdf(1 / K, REPLICATIONS - 1, REPLICATIONS - 1) < 0.002
    assert five.var(ddof=1) / one.var(ddof=1) > 1.0


def test_the_model_simulates_population_over_customers_per_agent():
    scenario = sim.load_scenario(HEADLINE).override(
        {**SHORT, "market.population": 600_000, "market.initial_customers": 200_000,
         "market.customers_per_agent": 10})
    assert (scenario.market.agents, scenario.market.initial_agents) == (60_000, 20_000)
    result = sim.run(scenario, strategy="gsp", months=1)
    assert len(result.customers) == 60_000
    first = result.monthly.iloc[0]
    stages = ["prospect", "acquisition", "growth", "maturity", "decline", "departed"]
    assert sum(first[s] for s in stages) == 600_000    # counted in the client's people
    # Customers at the start of month 1 (after the warm-up): whole agents of 10 each.
    assert first["at_risk"] % 10 == 0 and 0 < first["at_risk"] < 600_000


def test_too_many_agents_are_refused_with_the_remedy():
    with pytest.raises(ScenarioError, match="raise market.customers_per_agent"):
        sim.load_scenario(HEADLINE).override({"market.population": 20_000_000,
                                              "market.initial_customers": 1_000})
    fine = sim.load_scenario(HEADLINE).override({
        "market.population": 20_000_000, "market.initial_customers": 1_000,
        "market.customers_per_agent": 4})
    assert fine.market.agents == 5_000_000


def test_a_budget_per_customer_follows_the_base():
    """A retention budget of 0.02 per customer is spent in full each month (reaching
    everyone would cost far more), so each month's spend is 0.02 × the customers at the
    month's start, in the client's units."""
    scenario = sim.load_scenario(HEADLINE).override({
        **SHORT, "market.customers_per_agent": 3,
        "strategies.segmented.budgets.retention": {"per_customer": 0.02}})
    monthly = sim.run(scenario, strategy="segmented").monthly
    assert np.allclose(monthly["retention_costs"], 0.02 * monthly["at_risk"], rtol=1e-12)
    assert monthly["at_risk"].nunique() > 1     # the base moved, and the budget with it
