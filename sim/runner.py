"""Run one simulation: ``sim.run(scenario, strategy=..., seed=..., engine=...)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .metrics import (
    cohort_clv,
    cohort_retention,
    customers_table,
    equity_parts,
    offers_table,
    residual_values,
    segments_table,
    summarize,
    with_cohort_clv,
)
from .model import CVMModel, Engine
from .scenario import Scenario, load_scenario


@dataclass(frozen=True)
class RunResult:
    """Results of one run.

    Attributes:
        monthly: One row per month (1..horizon): stage counts at the month's end, flows
            (``acquisitions``, ``churned``, ``winbacks``), money (``revenue``, each cost line,
            ``costs``, ``net_cash_flow``; currency per month), service levels, and per
            segment the firm's market share and the competitor's utility in force.
        summary: Metrics of :data:`sim.metrics.SUMMARY_METRICS`.
        customers: One row per customer at the end.
        segments: One row per (month, true segment, value tier): customers, revenue, costs,
            contacts by channel, cost to serve (see :func:`sim.metrics.segments_table`).
        cohorts: Retention and CLV by acquisition cohort (see
            :func:`sim.metrics.cohort_retention`).
        equity: Customer equity by line and by segment (see
            :func:`sim.metrics.equity_parts`).
        offers: The proposition and cross-sell offer made to each label (see
            :func:`sim.metrics.offers_table`).
    """

    scenario: Scenario
    strategy: str
    seed: int
    replication: int
    engine: str
    monthly: pd.DataFrame
    summary: dict[str, float]
    customers: pd.DataFrame
    segments: pd.DataFrame
    cohorts: pd.DataFrame
    equity: pd.DataFrame
    offers: pd.DataFrame


def run(scenario: Scenario | str | Path, strategy: str | None = None, seed: int | None = None,
        engine: Engine = "vectorized", replication: int = 0,
        months: int | None = None) -> RunResult:
    """Simulate one strategy for the scenario's horizon.

    Args:
        scenario: A :class:`Scenario` or a path to a scenario file.
        strategy: Strategy name; defaults to the first of ``compare`` (the baseline).
        seed: Root seed; defaults to the scenario's ``simulation.seed``.
        engine: ``"vectorized"`` (default) or ``"agents"``; both give identical results.
        replication: Replication index (selects independent random streams).
        months: Months to simulate; defaults to ``simulation.horizon_months``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    strategy = strategy or scenario.compare[0]
    model = CVMModel(scenario, strategy, seed=seed, replication=replication, engine=engine)
    horizon = months if months is not None else scenario.simulation.horizon_months
    for _ in range(horizon):
        model.step()
    monthly = pd.DataFrame.from_records(model.records)
    residual = residual_values(model.ctx, horizon, monthly)
    clv = cohort_clv(model, monthly, residual, horizon)
    segments = segments_table(model, model.segment_records, monthly)
    return RunResult(
        scenario=scenario, strategy=strategy, seed=model.seed, replication=replication,
        engine=engine, monthly=monthly, summary=summarize(model, monthly, residual, clv),
        customers=customers_table(model.ctx, residual), segments=segments,
        cohorts=with_cohort_clv(cohort_retention(model.ctx, horizon, model.weight), clv),
        equity=equity_parts(model, monthly, residual, segments),
        offers=offers_table(model))
