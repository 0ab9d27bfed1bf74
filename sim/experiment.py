"""Experiments: many runs, on all cores or a Dask cluster, streamed to a results folder.

A *task* is one simulation: (point, strategy, replication). Replication r uses the random
streams (seed, r) whatever the strategy or sweep point, so strategies compared in a
replication meet the same customers and the same luck (common random numbers), and every
run's result depends on nothing but its task. Hence the result tables are identical for
any number of workers, any executor and any order of completion.

Each finished run is written to the results folder atomically as it arrives; a killed
experiment resumes with the runs that are missing (``resume=True``), and a failing run is
recorded with its error while the others go on.

This module holds :func:`monte_carlo` and the :class:`Evaluator` it shares with
:func:`sim.sweeps.sweep`. Running jobs lives in :mod:`sim.executors`, the results folder in
:mod:`sim.store`, intervals, comparisons, the equity bridge and payback in
:mod:`sim.statistics`; their names are importable from here too.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .codes import ENGINES
from .errors import OptionError, ScenarioError
from .executors import (
    EXECUTORS,
    Execution,
    Job,
    Outcome,
    Task,
    _bounded,
    execute,
    run_and_store,
    run_job,
    task_order,
)
from .outcomes import compared
from .scenario import Scenario
from .statistics import (
    BRIDGE_OTHER,
    BRIDGE_TOTAL,
    METRICS,
    bridge,
    comparison,
    equity_half_widths,
    equity_paths,
    intervals,
    ladder,
    pair_keys,
    paired_differences,
    payback,
    payback_month,
    t_interval,
)
from .store import (
    TABLES,
    ResultStore,
    call_line,
    default_folder,
    manifest,
    scenario_hash,
    update_manifest,
    versions,
    write_atomic,
)

__all__ = [
    "BRIDGE_OTHER", "BRIDGE_TOTAL", "EXECUTORS", "METRICS", "TABLES", "Evaluator",
    "Execution", "ExperimentResult", "Job", "Outcome", "ResultStore", "Task", "_bounded",
    "bridge", "comparison", "equity_half_widths", "equity_paths", "execute", "intervals",
    "ladder", "manifest", "monte_carlo", "pair_keys", "paired_differences", "payback",
    "payback_month", "progress_bar", "run_and_store", "run_job", "scenario_hash",
    "t_interval", "task_order", "update_manifest", "versions", "write_atomic",
]


# ------------------------------------------------------------------ the evaluator
@dataclass
class Evaluator:
    """Runs the tasks of one experiment into its results folder: what :func:`monte_carlo`
    and :func:`sim.sweeps.sweep` share. Use it as a context manager, so that the progress
    bar is closed however the experiment ends.

    Attributes:
        store: The results folder (prepared: see :meth:`ResultStore.prepare`).
        scenarios: The scenario of each point (a comparison has one point, 0).
        seed: Root seed; replication r runs on the streams (seed, r) at every point.
        engine: ``"vectorized"`` or ``"agents"``.
        execution: Where runs execute: executor, workers, scheduler.
        progress: Show a progress bar of the runs on standard error.
    """

    store: ResultStore
    scenarios: Mapping[int, Scenario]
    seed: int
    engine: str = "vectorized"
    execution: Execution = field(default_factory=Execution)
    progress: bool = False
    bar: Any = field(default=None, init=False, repr=False)

    def job(self, task: Task) -> Job:
        """What a worker needs to run ``task``."""
        return Job(task, self.scenarios[task.point], self.seed, self.engine)

    def run_missing(self, tasks: list[Task]) -> dict[str, str]:
        """Run the ``tasks`` not yet stored and return the failures recorded in the store
        ({key: traceback}; empty if every run is stored)."""
        done = self.store.done()
        todo = [self.job(t) for t in tasks if t.key not in done]
        if self.progress and self.bar is None:
            self.bar = progress_bar(True)
        if self.bar is not None:
            self.bar.total, self.bar.n = len(tasks), len(tasks) - len(todo)
            self.bar.refresh()
        # ``run_job`` is read from this module when called: replacing
        # ``sim.experiment.run_job`` replaces what the executors run.
        execute(todo, self.store, self.execution.executor, self.execution.workers,
                self.execution.scheduler, None if self.bar is None else self.bar.update,
                run=run_job)
        return self.store.failures()

    def close(self) -> None:
        """Close the progress bar, if any."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(enabled: bool):
    """A tqdm bar of runs on standard error, or None."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=0, unit="run", desc="runs", file=sys.stderr, dynamic_ncols=True)


# ---------------------------------------------------------------- Monte Carlo
@dataclass
class ExperimentResult:
    """What an experiment produced; the same tables are in ``path``."""

    path: Path
    summaries: pd.DataFrame
    comparison: pd.DataFrame
    replications: int
    failures: dict[str, str] = field(default_factory=dict)
    stopped_because: str = ""
    bridge: pd.DataFrame = field(default_factory=pd.DataFrame)
    """See :func:`bridge` (also ``bridge.csv``)."""
    payback: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The summary of :func:`payback` (also ``payback.csv``)."""
    ladder: pd.DataFrame = field(default_factory=pd.DataFrame)
    """An attribution ladder's steps (see :func:`ladder`; also ``ladder.csv``), if the
    scenario's ``ladder`` is on; else empty."""


def monte_carlo(scenario: Scenario, replications: int | None = None, seed: int | None = None,
                out: str | Path | None = None, workers: int | None = None,
                executor: str = "local", scheduler: str | None = None,
                engine: str = "vectorized", resume: bool = False,
                target_ci: float | None = None, max_replications: int | None = None,
                progress: bool = False, command: str | None = None) -> ExperimentResult:
    """Run every compared strategy for each replication and compare them.

    Args:
        scenario: The scenario; its ``compare`` list names the strategies, the first being
            the baseline.
        replications: Replications per strategy (default ``simulation.replications``).
        seed: Root seed (default ``simulation.seed``).
        out: Results folder (default ``results/<scenario name>``).
        workers, executor, scheduler: Where runs execute (see :func:`execute`).
        engine: ``"vectorized"`` or ``"agents"`` (see :func:`sim.runner.run`).
        resume: Finish the experiment already in ``out``, running only missing runs.
        target_ci: Add replications until the 95 % CI half-width of every paired equity
            difference is below this (currency), or ``max_replications`` is reached.
        max_replications: Cap for ``target_ci`` (default 10 × replications).
        progress: Show a progress bar on standard error.
        command: The command line recorded in the manifest (default: this call).

    Raises:
        OptionError: too few replications, a cap without a target or below the
            replications, an unknown executor or engine.
        ScenarioError: the scenario's own ``simulation.replications`` is below 2.
        ResultsError: ``out`` holds another experiment or is in use by another process,
            or cannot be used (see :meth:`ResultStore.prepare`).

    The charts and ``report.html`` are written by :func:`sim.report.write_report` (the
    command line calls it after this).
    """
    plan = _plan(scenario, replications, seed, out, engine, target_ci, max_replications)
    command = command or call_line(
        "sim.monte_carlo", repr(scenario.name or "scenario"), replications=replications,
        seed=seed, out=out, workers=workers, executor=executor, scheduler=scheduler,
        engine=engine, resume=resume, target_ci=target_ci, max_replications=max_replications)
    execution = Execution(executor, workers, scheduler)
    store = ResultStore(plan.out)
    store.prepare(manifest("comparison", scenario, plan.seed, plan.replications, engine,
                           command, target_ci=target_ci), resume)
    try:
        with Evaluator(store, {0: scenario}, plan.seed, engine, execution,
                       progress) as evaluator:
            done = _replicate(evaluator, plan)
        if done.failures:
            return ExperimentResult(plan.out, pd.DataFrame(), pd.DataFrame(),
                                    done.replications, done.failures)
        return _write_tables(store, plan, done)
    finally:
        store.release()


@dataclass(frozen=True)
class _Plan:
    """The checked arguments of :func:`monte_carlo`."""

    strategies: list[str]
    seed: int
    replications: int
    """Replications to start with."""
    cap: int
    """Most replications when aiming at ``target_ci``."""
    target_ci: float | None
    out: Path
    metrics: dict[str, int]
    """The comparison's metrics and their better directions."""
    ladder: bool
    """Whether ``strategies`` is an attribution ladder."""


@dataclass(frozen=True)
class _Replicated:
    """Where the replications of :func:`monte_carlo` stopped."""

    replications: int
    tasks: list[Task]
    """Every run, in table order (see :func:`task_order`)."""
    summaries: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: dict[str, str] = field(default_factory=dict)
    stopped_because: str = ""


def _plan(scenario: Scenario, replications: int | None, seed: int | None,
          out: str | Path | None, engine: str, target_ci: float | None,
          max_replications: int | None) -> _Plan:
    """Check :func:`monte_carlo`'s arguments and fill in the scenario's defaults."""
    seed = scenario.simulation.seed if seed is None else int(seed)
    too_few = "at least 2 replications are needed for confidence intervals"
    if replications is None:
        replications = scenario.simulation.replications
        if replications < 2:
            raise ScenarioError(too_few, "simulation.replications", scenario.source)
    if replications < 2:
        raise OptionError(too_few, "", "replications")
    if max_replications is not None and (target_ci is None or max_replications < replications):
        raise OptionError("goes with a target CI and must be at least the replications "
                          f"({replications})", "", "max_replications")
    if engine not in ENGINES:
        raise OptionError(f"must be one of {', '.join(ENGINES)}, not {engine!r}", "",
                          "engine")
    cap = 10 * replications if max_replications is None else max_replications
    out = Path(out) if out else default_folder(scenario.name)
    return _Plan(list(scenario.compare), seed, replications, cap, target_ci, out,
                 compared(scenario.human_channels), scenario.ladder)


def _replicate(evaluator: Evaluator, plan: _Plan) -> _Replicated:
    """Run the replications, doubling them until every paired equity difference is as
    precise as ``target_ci`` asks or the cap is reached (once, without a target)."""
    n = plan.replications
    while True:
        tasks = [Task(0, s, r) for r in range(n) for s in plan.strategies]
        failures = evaluator.run_missing(tasks)
        if failures:
            return _Replicated(n, tasks, failures=failures)
        summaries = evaluator.store.table("summary", tasks)
        table = comparison(summaries, plan.strategies, plan.metrics)
        stopped = _stop(table, n, plan)
        if stopped is not None:
            return _Replicated(n, tasks, summaries, table, stopped_because=stopped)
        n = min(plan.cap, 2 * n)


def _stop(table: pd.DataFrame, n: int, plan: _Plan) -> str | None:
    """Why the replications stop at ``n`` ("" without a target), or None to add more."""
    if plan.target_ci is None:
        return ""
    widths = equity_half_widths(table)
    if all(w < plan.target_ci for w in widths.values()):
        return (f"target reached: every equity difference has a 95 % CI half-width "
                f"below {plan.target_ci:,.0f} with {n} replications")
    if n >= plan.cap:
        return (f"stopped at the maximum of {plan.cap} replications; half-widths: "
                + ", ".join(f"{s} {w:,.0f}" for s, w in widths.items()))
    return None


def _write_tables(store: ResultStore, plan: _Plan, done: _Replicated) -> ExperimentResult:
    """Combine the runs into the folder's tables and write the comparison, the equity
    bridge, the payback and any attribution ladder next to them."""
    out = store.path
    store.combine(done.tasks)
    done.comparison.to_csv(out / "comparison.csv", index=False)
    bridged = bridge(pd.read_parquet(out / TABLES["equity"]), plan.strategies)
    bridged.to_csv(out / "bridge.csv", index=False)
    _, paid = payback(pd.read_parquet(out / TABLES["monthly"], columns=[
        "strategy", "replication", "month", "net_cash_flow", "discount_factor"]),
        plan.strategies)
    paid.to_csv(out / "payback.csv", index=False)
    steps = pd.DataFrame()
    if plan.ladder:
        steps = ladder(done.summaries, plan.strategies)
        steps.to_csv(out / "ladder.csv", index=False)
    update_manifest(out, replications=done.replications, stopped_because=done.stopped_because)
    return ExperimentResult(out, done.summaries, done.comparison, done.replications, {},
                            done.stopped_because, bridge=bridged, payback=paid, ladder=steps)
