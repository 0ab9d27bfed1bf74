"""Paired comparisons across two scenario files: the same strategies in two worlds.

A what-if that changes the market rather than a strategy (customers who prefer
self-service, a cheaper competitor) needs two files. When both files draw the same people
with the same luck, replication r of file A and replication r of file B meet the same
customers and the same random numbers, so their difference is paired exactly as two
strategies of one file are. Whether they do is decided by the keys that set who the people
are and how many random numbers a month draws: :data:`PEOPLE_KEYS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import OptionError
from .experiment import ExperimentResult, monte_carlo
from .outcomes import compared
from .scenario import Scenario
from .statistics import bridge, comparison, payback, t_interval

PEOPLE_KEYS = ("simulation.seed", "simulation.warmup_months", "simulation.horizon_months",
               "market.population",
               "market.initial_customers", "market.customers_per_agent",
               "market.initial_max_tenure_months", "market.segments",
               "propositions")
"""Keys two files must agree on to be paired: the seed, the warm-up and the horizon, the
people (how
many, their segments' names, shares and churn propensities, who starts as a customer and
for how long) and the propositions, on which the firm's market research draws its luck.
Every other key may differ, the segments' needs and channel preferences included."""


def unpaired_keys(a: Scenario, b: Scenario) -> list[str]:
    """The :data:`PEOPLE_KEYS` on which ``a`` and ``b`` differ (for segments and
    propositions: their names, order, shares and churn propensities, or their number)."""
    def people(s: Scenario, key: str):
        if key == "market.segments":
            return [(name, seg.share, seg.churn) for name, seg in s.market.segments.items()]
        if key == "propositions":
            return list(s.propositions)
        return s.value(key)

    return [key for key in PEOPLE_KEYS if people(a, key) != people(b, key)]


@dataclass
class CrossComparison:
    """Two files' experiments and their paired comparison, strategy by strategy."""

    path: Path
    labels: tuple[str, str]
    results: tuple[ExperimentResult, ExperimentResult]
    strategies: list[str]
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    """For each strategy, the rows of :func:`sim.statistics.comparison` of
    ``"B:strategy"`` against ``"A:strategy"`` (labels as in :attr:`labels`)."""
    bridge: pd.DataFrame = field(default_factory=pd.DataFrame)
    payback: pd.DataFrame = field(default_factory=pd.DataFrame)
    gains: pd.DataFrame = field(default_factory=pd.DataFrame)
    """With two strategies or more: :func:`gain_changes`."""

    @property
    def failures(self) -> dict[str, str]:
        return {**self.results[0].failures, **self.results[1].failures}

    def table(self, name: str) -> pd.DataFrame:
        """One table (``summaries``, ``equity``, ``monthly``, ...) of both experiments,
        each strategy renamed ``label:strategy``."""
        frames = []
        for result, label in zip(self.results, self.labels, strict=True):
            df = pd.read_parquet(result.path / f"{name}.parquet")
            frames.append(df.assign(strategy=label + ":" + df["strategy"].astype(str)))
        return pd.concat(frames, ignore_index=True)


GAIN_COLUMNS = ["strategy", "baseline", "metric", "gain_a", "gain_b", "mean", "ci_low",
                "ci_high", "n", "kept"]


def gain_changes(summaries: pd.DataFrame, labels: tuple[str, str], strategies: list[str],
                 metrics: dict[str, int]) -> pd.DataFrame:
    """How each strategy's gain over the first of ``strategies`` changes from file A to
    file B: does an advantage survive the change in the market?

    ``summaries`` holds both files' runs, strategies named ``label:strategy``. For each
    strategy after the first and each metric, one row: ``gain_a`` and ``gain_b``, the mean
    paired difference of the strategy over the first in A and in B; the change of that
    difference from A to B, replication by replication (``mean``, 95 % Student-t
    ``ci_low`` and ``ci_high``, in the metric's unit; ``n`` replications); and ``kept``,
    gain_b / gain_a (nan where gain_a is 0).
    """
    by = {(label, s): summaries[summaries["strategy"] == f"{label}:{s}"]
          .set_index("replication").sort_index()
          for label in labels for s in strategies}
    baseline, rows = strategies[0], []
    for s in strategies[1:]:
        for metric in metrics:
            gain = [by[label, s][metric].sub(by[label, baseline][metric]) for label in labels]
            change = gain[1].sub(gain[0]).dropna()
            mean, low, high = t_interval(change.to_numpy())
            a, b = float(gain[0].mean()), float(gain[1].mean())
            rows.append({"strategy": s, "baseline": baseline, "metric": metric, "gain_a": a,
                         "gain_b": b, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": len(change), "kept": b / a if a else math.nan})
    return pd.DataFrame(rows, columns=GAIN_COLUMNS)


def compare_scenarios(a: Scenario, b: Scenario, labels: tuple[str, str], out: str | Path,
                      strategies: list[str] | None = None, replications: int | None = None,
                      seed: int | None = None, **run_options) -> CrossComparison:
    """Run both scenarios' strategies with the same seed and replications and compare each
    strategy of ``b`` with the same strategy of ``a``, paired by replication.

    Each file's market is warmed up under its own baseline (the first of its ``compare``),
    which also runs; a file that changes its baseline changes the market every strategy
    takes over, and that is part of its what-if.

    Args:
        a, b: The scenarios; ``b`` is compared against ``a``.
        labels: Short names of the two (their file names), used in the tables.
        out: Folder holding one results folder per scenario (``out/<label>``) and the
            cross comparison (``comparison.csv``, ``bridge.csv``, ``payback.csv``; with
            two strategies or more, ``gains.csv``: :func:`gain_changes`).
        strategies: Strategies to compare (default: those both files compare, in ``a``'s
            order).
        replications, seed: As for :func:`sim.experiment.monte_carlo` (default: ``a``'s).
        run_options: Passed on to :func:`sim.experiment.monte_carlo`.

    Raises:
        OptionError: the files do not share their people and draws (naming the keys), or
            have no strategy in common.
    """
    if labels[0] == labels[1]:
        labels = (f"{labels[0]}_a", f"{labels[1]}_b")
    differ = unpaired_keys(a, b) if seed is None else [
        k for k in unpaired_keys(a, b) if k != "simulation.seed"]
    if differ:
        raise OptionError(
            f"{labels[1]} does not share the people and draws of {labels[0]}: they differ in "
            f"{', '.join(differ)}, so no replication would meet the same customers with the "
            "same luck. Make these keys equal (e.g. give both files the same market) to "
            "compare them.", "", "compare")
    common = [s for s in a.compare if s in b.compare]
    strategies = list(strategies or common)
    missing = [s for s in strategies if s not in a.strategies or s not in b.strategies]
    if missing or not strategies:
        raise OptionError(
            f"no strategy {'named ' + ', '.join(missing) if missing else ''} in both files "
            f"to compare (compared in both: {', '.join(common) or 'none'})", "", "--strategy")
    replications = replications or a.simulation.replications
    out = Path(out)
    # Each file keeps its own baseline first: it runs that file's warm-up, so each file's
    # results are those `cvm run` would give.
    results = tuple(
        monte_carlo(s.override({"compare": [s.compare[0]] + [x for x in strategies
                                                             if x != s.compare[0]]}),
                    replications=replications, seed=seed, out=out / label, **run_options)
        for s, label in zip((a, b), labels, strict=True))
    cross = CrossComparison(out, labels, results, strategies)
    if cross.failures:
        return cross
    tagged = {name: cross.table(name) for name in ("summaries", "equity", "monthly")}
    metrics = compared(a.human_channels) | compared(b.human_channels)
    pairs = [[f"{labels[0]}:{s}", f"{labels[1]}:{s}"] for s in strategies]
    cross.comparison = pd.concat([comparison(tagged["summaries"], p, metrics) for p in pairs],
                                 ignore_index=True)
    cross.bridge = pd.concat([bridge(tagged["equity"], p) for p in pairs], ignore_index=True)
    cross.payback = pd.concat([payback(tagged["monthly"], p)[1] for p in pairs],
                              ignore_index=True)
    if len(strategies) > 1:
        cross.gains = gain_changes(tagged["summaries"], labels, strategies, metrics)
        cross.gains.to_csv(out / "gains.csv", index=False)
    cross.comparison.to_csv(out / "comparison.csv", index=False)
    cross.bridge.to_csv(out / "bridge.csv", index=False)
    cross.payback.to_csv(out / "payback.csv", index=False)
    return cross

