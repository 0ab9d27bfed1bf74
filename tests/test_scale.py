"""A client's scale: each agent may stand for several of the client's people, with
results in the client's units; budgets may follow the size of the base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
SHORT = {"simulation.horizon_months": 36, "simulation.warmup_months": 24}
K = 5
REPLICATIONS = 8


def _summaries(k: int) -> dict[str, np.ndarray]:
    scenario = sim.load_scenario(HEADLINE).override(
        {**SHORT, "market.customers_per_agent": k})
    runs = [sim.run(scenario, strategy="gsp", replication=r).summary
            for r in range(REPLICATIONS)]
    return {m: np.array([run[m] for run in runs]) for m in runs[0]}


@pytest.fixture(scope="module")
def unscaled_and_scaled():
    return _summaries(1), _summaries(K)


@pytest.mark.parametrize("metric", [
    "customer_equity", "revenue", "costs", "residual_value", "acquisitions", "churned",
    "customers_end", "churn_rate_annual", "cost_to_serve", "clv_mean",
    "service_level_call_centre", "service_level_branch"])
def test_an_agent_for_five_customers_gives_the_unscaled_means(unscaled_and_scaled, metric):
    """30,000 people as 30,000 agents or as 6,000 agents of 5: the same market in the
    client's units, so every mean agrees within sampling error. The tolerance is four
    standard errors of the difference of two independent means, each the replications'
    standard deviation over √8 (a real difference of scale, e.g. money or counts not
    scaled back, would be 5 times the value, hundreds of standard errors)."""
    one, five = (runs[metric] for runs in unscaled_and_scaled)
    se = np.hypot(one.std(ddof=1), five.std(ddof=1)) / np.sqrt(REPLICATIONS)
    assert abs(one.mean() - five.mean()) <= 4 * se + 1e-9 * abs(one.mean()), \
        (one.mean(), five.mean(), se)


def test_fewer_agents_leave_more_customer_level_noise(unscaled_and_scaled):
    """Counts driven by each customer's luck vary more between replications when fewer
    agents carry it (about √5 times the standard deviation): the interval widens."""
    one, five = (runs["customers_end"] for runs in unscaled_and_scaled)
    assert five.std(ddof=1) > 1.3 * one.std(ddof=1)


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
