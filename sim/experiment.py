"""Experiments: many runs, on all cores or a Dask cluster, streamed to a results folder.

A *task* is one simulation: (point, strategy, replication). Replication r uses the random
streams (seed, r) whatever the strategy or sweep point, so strategies compared in a
replication meet the same customers and the same luck (common random numbers), and every
run's result depends on nothing but its task. Hence the result tables are identical for
any number of workers, any executor and any order of completion.

Each finished run is written to the results folder atomically as it arrives; a killed
experiment resumes with the runs that are missing (``resume=True``), and a failing run is
recorded with its error while the others go on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import OptionError, ResultsError, ScenarioError
from .outcomes import COMPARED, OUTCOMES
from .scenario import Scenario

TABLES = {"summary": "summaries.parquet", "monthly": "monthly.parquet",
          "segments": "segments.parquet", "cohorts": "cohorts.parquet",
          "equity": "equity.parquet"}
"""Tables stored for every run, and the folder's file that combines all runs of each."""
EXECUTORS = ("local", "dask")

METRICS: dict[str, int] = {m: OUTCOMES[m].better for m in COMPARED}
"""Metrics of the comparison table, with the direction that counts as better."""


@dataclass(frozen=True, order=True)
class Task:
    """One simulation of an experiment."""

    point: int
    strategy: str
    replication: int

    @property
    def key(self) -> str:
        return f"p{self.point:05d}-{self.strategy}-r{self.replication:05d}"


@dataclass(frozen=True)
class Job:
    """A task with everything a worker needs to run it."""

    task: Task
    scenario: Scenario
    seed: int
    engine: str


@dataclass
class Outcome:
    """What a worker sends back: the run's tables, or the error that stopped it (neither
    when the worker stored the run itself)."""

    task: Task
    tables: dict[str, pd.DataFrame] | None = None
    error: str | None = None
    stored: bool = False


def run_job(job: Job) -> Outcome:
    """Run one job (in a worker). Errors come back as text, never as exceptions, so one
    failing run cannot stop the others."""
    from .runner import run

    task = job.task
    try:
        result = run(job.scenario, strategy=task.strategy, seed=job.seed,
                     replication=task.replication, engine=job.engine)
        tag = {"point": task.point, "strategy": task.strategy,
               "replication": task.replication, "seed": job.seed}
        tables = {
            "summary": pd.DataFrame([{**tag, **result.summary}]),
            "monthly": result.monthly.assign(**tag),
            "segments": result.segments.assign(**tag),
            "cohorts": result.cohorts.assign(**tag),
            "equity": result.equity.assign(**tag),
        }
        for name, table in tables.items():
            columns = list(tag) + [c for c in table.columns if c not in tag]
            tables[name] = table[columns]
        return Outcome(task, tables=tables)
    except Exception:  # noqa: BLE001 - the failure is recorded and reported, not lost
        return Outcome(task, error=traceback.format_exc())


def run_and_store(job: Job, folder: Path) -> Outcome:
    """Run one job and store it from the worker, sending back only whether it failed:
    the parent then has nothing to unpickle or write, and stays out of the workers' way."""
    outcome = run_job(job)
    ResultStore(folder).save(outcome)
    return Outcome(outcome.task, error=outcome.error, stored=True)


# ------------------------------------------------------------------------ the folder
class ResultStore:
    """A results folder. Runs go to ``runs/<task key>/``, each written to a temporary
    folder first and renamed when complete, so a run is either wholly there or absent."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs = self.path / "runs"

    def prepare(self, manifest: dict, resume: bool) -> None:
        """Create the folder, or check that it belongs to the same experiment on resume.

        Raises:
            ResultsError: the folder holds another experiment's runs (without resume, or
                with a different scenario or seed).
        """
        existing = self.path / "manifest.json"
        if existing.exists():
            old = json.loads(existing.read_text())
            if not resume:
                raise ResultsError(f"results folder {self.path} already holds an experiment;"
                                    " add --resume to finish it or choose another --out")
            for key in ("kind", "scenario_hash", "seed", "engine"):
                if old.get(key) != manifest.get(key):
                    raise ResultsError(f"cannot resume {self.path}: it was made with a "
                                        f"different {key.replace('_', ' ')} "
                                        f"({old.get(key)!s:.16})")
        self.runs.mkdir(parents=True, exist_ok=True)
        for leftover in self.runs.glob("*.partial"):  # from a run killed while writing
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        write_atomic(existing, json.dumps(manifest, indent=2, default=str))

    def done(self) -> set[str]:
        """Keys of the runs already stored."""
        if not self.runs.exists():
            return set()
        return {p.name for p in self.runs.iterdir() if p.is_dir() and "." not in p.name}

    def save(self, outcome: Outcome) -> None:
        """Store a finished run atomically, or its error as ``runs/<key>.error.txt``."""
        key = outcome.task.key
        error_file = self.runs / f"{key}.error.txt"
        if outcome.error is not None:
            write_atomic(error_file, outcome.error)
            return
        partial = self.runs / f"{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        for name, table in outcome.tables.items():
            table.to_parquet(partial / f"{name}.parquet", index=False)
        os.replace(partial, self.runs / key)
        error_file.unlink(missing_ok=True)

    def failures(self) -> dict[str, str]:
        """Errors of runs that failed and have not succeeded since: {key: traceback}."""
        return {p.name.removesuffix(".error.txt"): p.read_text()
                for p in sorted(self.runs.glob("*.error.txt"))}

    def table(self, name: str, tasks: Iterable[Task]) -> pd.DataFrame:
        """One stored table of the given runs, concatenated in task order."""
        frames = [pd.read_parquet(self.runs / t.key / f"{name}.parquet") for t in tasks]
        return pd.concat(frames, ignore_index=True)

    def combine(self, tasks: list[Task]) -> None:
        """Write ``summaries.parquet``, ``monthly.parquet``, ... from the runs of ``tasks``.

        Tables are appended one run at a time, so memory stays bounded however many runs.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        for name, file in TABLES.items():
            target = self.path / file
            temporary = target.with_suffix(".partial")
            writer = None
            try:
                for task in tasks:
                    table = pq.read_table(self.runs / task.key / f"{name}.parquet")
                    if writer is None:
                        writer = pq.ParquetWriter(temporary, table.schema)
                    writer.write_table(table.cast(writer.schema))
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:  # no runs: an empty file still says what the columns are
                pq.write_table(pa.table({}), temporary)
            os.replace(temporary, target)


def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


# ---------------------------------------------------------------------- executors
def execute(jobs: list[Job], store: ResultStore, executor: str = "local",
            workers: int | None = None, scheduler: str | None = None,
            progress: Callable[[int], None] | None = None) -> None:
    """Run ``jobs`` and store each outcome as it arrives.

    Args:
        executor: ``"local"`` (a process pool; in-process for one worker) or ``"dask"``
            (Dask distributed: the ``scheduler`` address, or a local cluster).
        workers: Processes (local) or workers of a local Dask cluster; default all cores.
        progress: Called with 1 after each stored run.
    """
    if executor not in EXECUTORS:
        raise OptionError(f"must be one of {', '.join(EXECUTORS)}, not {executor!r}", "",
                          "executor")
    workers = workers or os.cpu_count() or 1
    if executor == "dask":  # a cluster's workers may not see this folder: store here
        outcomes = _dask(jobs, workers, scheduler)
    elif workers == 1 or len(jobs) <= 1:
        outcomes = map(run_job, jobs)
    else:
        outcomes = _process_pool(jobs, workers, store.path)
    for outcome in outcomes:
        if not outcome.stored:
            store.save(outcome)
        if progress is not None:
            progress(1)


def _bounded(submit: Callable, collect: Callable, jobs: list[Job], window: int,
             ) -> Iterator[Outcome]:
    """Keep at most ``window`` jobs in flight, so memory does not grow with the number of
    jobs; yield outcomes as they complete."""
    pending, task_of = set(), {}
    queue = iter(jobs)

    def start(job: Job) -> Outcome | None:
        try:
            future = submit(job)
        except Exception:  # noqa: BLE001 - e.g. a pool broken by a dead worker
            return Outcome(job.task, error=traceback.format_exc())
        pending.add(future)
        task_of[future] = job.task
        return None

    for job in queue:
        if (failed := start(job)) is not None:
            yield failed
        if len(pending) >= window:
            break
    while pending:
        done, pending = collect(pending)
        for future in done:
            try:
                yield future.result()
            except Exception:  # noqa: BLE001 - a worker died or was lost: record, go on
                yield Outcome(task_of[future], error=traceback.format_exc())
            del task_of[future]
            nxt = next(queue, None)
            if nxt is not None and (failed := start(nxt)) is not None:
                yield failed


def _process_pool(jobs: list[Job], workers: int, folder: Path) -> Iterator[Outcome]:
    import multiprocessing

    # forkserver: workers start from a clean process, not a copy of a parent that may hold
    # threads (progress bar, Dask) or large arrays; the server imports the engine once, so
    # each worker starts without importing it again.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.runner", "sim.experiment"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            yield from _bounded(lambda job: pool.submit(run_and_store, job, folder),
                                lambda pending: wait(pending, return_when=FIRST_COMPLETED),
                                jobs, 2 * workers)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _dask(jobs: list[Job], workers: int, scheduler: str | None) -> Iterator[Outcome]:
    try:
        from distributed import Client, LocalCluster
        from distributed import wait as dask_wait
    except ImportError:
        raise OptionError("the dask executor needs Dask distributed: "
                            "pip install 'cvm-sim[dask]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        yield from _bounded(
            lambda job: client.submit(run_job, job, key=f"{job.task.key}-{id(job)}", pure=False),
            lambda pending: _dask_first(dask_wait, pending), jobs, 2 * workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_first(dask_wait, pending):
    result = dask_wait(list(pending), return_when="FIRST_COMPLETED")
    return set(result.done), set(result.not_done)


# ---------------------------------------------------------------- statistics
def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t confidence interval of the mean of ``values``."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def comparison(summaries: pd.DataFrame, strategies: list[str],
               metrics: dict[str, int] = METRICS) -> pd.DataFrame:
    """Mean and 95 % CI of each metric per strategy ("level" rows) and, against the first
    strategy, the paired difference per replication with its CI and the share of
    replications the strategy wins ("paired_difference" rows)."""
    rows = []
    by = {s: summaries[summaries["strategy"] == s].set_index("replication").sort_index()
          for s in strategies}
    baseline = strategies[0]
    for metric, better in metrics.items():
        for s in strategies:
            mean, low, high = t_interval(by[s][metric].to_numpy())
            rows.append({"kind": "level", "strategy": s, "baseline": "", "metric": metric,
                         "mean": mean, "ci_low": low, "ci_high": high, "n": len(by[s]),
                         "share_won": math.nan})
        for s in strategies[1:]:
            paired = by[s][metric].sub(by[baseline][metric]).dropna()
            mean, low, high = t_interval(paired.to_numpy())
            won = float(np.mean(np.sign(paired.to_numpy()) == better)) if len(paired) else 0.0
            rows.append({"kind": "paired_difference", "strategy": s, "baseline": baseline,
                         "metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": len(paired), "share_won": won})
    return pd.DataFrame(rows)


def equity_half_widths(table: pd.DataFrame) -> dict[str, float]:
    """CI half-width of every paired customer-equity difference, by strategy."""
    diffs = table[(table["kind"] == "paired_difference")
                  & (table["metric"] == "customer_equity")]
    return {row.strategy: (row.ci_high - row.ci_low) / 2 for row in diffs.itertuples()}


# ------------------------------------------------- equity bridge and payback
BRIDGE_TOTAL = "total"
"""Component of a :func:`bridge` row holding a kind's whole paired equity difference."""
BRIDGE_OTHER = "other"
"""Component of a :func:`bridge` row lumping the components outside the ``top``."""


def pair_keys(table: pd.DataFrame) -> list[str]:
    """The columns that pair runs of different strategies: ``point`` (if present) and
    ``replication``."""
    return [c for c in ("point", "replication") if c in table.columns]


def paired_differences(table: pd.DataFrame, by: list[str], value: str,
                       strategies: list[str]) -> pd.DataFrame:
    """Each strategy's ``value`` minus the baseline's, row by row, paired by replication.

    Args:
        table: Tidy rows with ``strategy``, ``replication`` (and ``point``, if a sweep),
            the ``by`` columns and ``value``; one row per run and ``by`` value.
        by: Columns that identify a row within a run (e.g. ``["month"]``).
        value: The column to take differences of (units kept).
        strategies: Strategies in ``compare`` order; the first is the baseline.

    Returns:
        Columns ``strategy``, ``baseline``, the pairing keys of :func:`pair_keys`, ``by``
        and ``difference``, for each strategy after the first. Rows whose run lacks one of
        the two strategies are left out.
    """
    index = pair_keys(table) + by
    wide = table.pivot(index=index, columns="strategy", values=value)
    baseline = strategies[0]
    frames = [wide[s].sub(wide[baseline]).dropna().rename("difference").reset_index()
              .assign(strategy=s, baseline=baseline) for s in strategies[1:]]
    columns = ["strategy", "baseline", *index, "difference"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns)


def intervals(differences: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, 95 % Student-t interval and count of ``difference`` per group of ``by``.

    Returns:
        Columns ``by``, ``mean``, ``ci_low``, ``ci_high`` (the units of ``difference``)
        and ``n`` (pairs), groups in order of first appearance.
    """
    rows = []
    for key, group in differences.groupby(by, sort=False):
        mean, low, high = t_interval(group["difference"].to_numpy())
        rows.append({**dict(zip(by, key, strict=True)), "mean": mean, "ci_low": low,
                     "ci_high": high, "n": len(group)})
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])


def bridge(equity: pd.DataFrame, strategies: list[str], top: int | None = None,
           ) -> pd.DataFrame:
    """The equity bridge: how each strategy's paired customer-equity difference from the
    baseline splits into components.

    A component missing from a run (a cost line the strategy does not have, a segment
    without customers) counts as 0 in that run. Since a run's components of each kind sum
    to its customer equity, the components of each (strategy, kind) sum, pair by pair, to
    the paired customer-equity difference; the ``total`` row is that difference.

    Args:
        equity: Rows of ``equity.parquet``: ``strategy``, ``replication`` (and ``point``),
            ``kind`` ("line" or "segment"), ``component`` and ``value`` (currency,
            discounted to month 0).
        strategies: Strategies in ``compare`` order; the first is the baseline.
        top: If given, keep only the ``top`` components of each (strategy, kind) with the
            largest absolute mean difference and lump the others, pair by pair, into one
            ``other`` row (only if there are more than ``top``).

    Returns:
        Columns ``strategy``, ``baseline``, ``kind``, ``component``, ``mean``, ``ci_low``,
        ``ci_high`` (paired difference strategy − baseline, currency, with its 95 %
        Student-t interval) and ``n`` (pairs); strategies in ``compare`` order, kinds and
        components in their order in ``equity``, then ``other`` and ``total``.
    """
    keys = pair_keys(equity)
    diffs = paired_differences(_complete(equity, keys), ["kind", "component"], "value",
                               strategies)
    if top is not None:
        diffs = _lump(diffs, top)
    groups = ["strategy", "baseline", "kind"]
    totals = (diffs.groupby([*groups, *keys], sort=False)["difference"].sum().reset_index()
              .assign(component=BRIDGE_TOTAL))
    rows = intervals(pd.concat([diffs, totals], ignore_index=True), [*groups, "component"])
    rank = {"strategy": strategies, "kind": list(dict.fromkeys(equity["kind"])),
            "component": [*_merged_order(equity, keys), BRIDGE_OTHER, BRIDGE_TOTAL]}
    rank = {column: {name: i for i, name in enumerate(names)}
            for column, names in rank.items()}
    return rows.sort_values(["strategy", "kind", "component"], kind="stable",
                            key=lambda col: col.map(rank[col.name])).reset_index(drop=True)


def _complete(equity: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every run of ``equity`` with every (kind, component) of any run, 0 where absent;
    names as plain strings (Parquet may hand them back as categories)."""
    equity = equity.astype({"strategy": str, "kind": str, "component": str})
    runs = equity[[*keys, "strategy"]].drop_duplicates()
    parts = equity[["kind", "component"]].drop_duplicates()
    on = [*keys, "strategy", "kind", "component"]
    return (runs.merge(parts, how="cross").merge(equity[[*on, "value"]], on=on, how="left")
            .fillna({"value": 0.0}))


def _merged_order(equity: pd.DataFrame, keys: list[str]) -> list[str]:
    """Components in the order the runs list them: one a run lacks goes right after the
    component it follows in the first run that has it."""
    order: list[str] = []
    runs = equity.groupby([*keys, "strategy"], sort=False, observed=True)["component"].agg(
        tuple)
    for sequence in runs.unique():
        previous = -1
        for component in sequence:
            if component not in order:
                order.insert(previous + 1, component)
            previous = order.index(component)
    return order


def _lump(diffs: pd.DataFrame, top: int) -> pd.DataFrame:
    """Rename to ``other`` the components of each (strategy, kind) beyond the ``top`` by
    absolute mean difference, if it has more than ``top``, and sum them pair by pair."""
    part = ["strategy", "kind", "component"]
    size = diffs.groupby(part, sort=False)["difference"].mean().abs()
    by_kind = size.groupby(level=["strategy", "kind"])
    keep = (by_kind.rank(ascending=False, method="first") <= top) | (
        by_kind.transform("size") <= top)
    kept = keep.reindex(pd.MultiIndex.from_frame(diffs[part])).to_numpy()
    lumped = diffs.assign(component=diffs["component"].where(kept, BRIDGE_OTHER))
    rest = [c for c in lumped.columns if c != "difference"]
    return lumped.groupby(rest, sort=False)["difference"].sum().reset_index()


def equity_paths(monthly: pd.DataFrame) -> pd.DataFrame:
    """Cumulative discounted net cash flow of each run, month by month.

    Args:
        monthly: Rows of ``monthly.parquet`` (``strategy``, ``replication``, ``month``,
            ``net_cash_flow``, ``discount_factor``, and ``point`` in a sweep).

    Returns:
        Columns ``point`` (if ``monthly`` has it), ``strategy``, ``replication``, ``month``
        and ``equity``: the sum of net_cash_flow × discount_factor over months 1..month
        (currency, discounted to month 0).
    """
    run = [c for c in ("point", "strategy", "replication") if c in monthly.columns]
    df = monthly[[*run, "month", "net_cash_flow", "discount_factor"]].sort_values(
        [*run, "month"])
    discounted = df["net_cash_flow"] * df["discount_factor"]
    out = df[[*run, "month"]].copy()
    out["equity"] = discounted.groupby([df[c] for c in run]).cumsum()
    return out.reset_index(drop=True)


def payback_month(months: np.ndarray, values: np.ndarray) -> float:
    """The first month from which ``values`` stay at or above 0 up to the last month.

    Args:
        months: Months in increasing order.
        values: A cumulative difference per month (NaN counts as below 0).

    Returns:
        That month, or NaN if the last value is below 0 (no payback within the months).
    """
    below = np.flatnonzero(~(np.asarray(values, dtype=float) >= 0))
    if len(below) == 0:
        return float(months[0])
    if below[-1] == len(months) - 1:
        return math.nan
    return float(months[below[-1] + 1])


def payback(monthly: pd.DataFrame, strategies: list[str],
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The J-curve and payback month of each strategy against the baseline.

    The J-curve is the cumulative discounted net cash flow of a strategy's run minus the
    baseline's, paired by replication, month by month. Its payback month is the first
    month from which the mean stays at or above 0 to the horizon; the interval runs from
    the month the upper 95 % bound does so to the month the lower bound does.

    Args:
        monthly: Rows of ``monthly.parquet`` (see :func:`equity_paths`).
        strategies: Strategies in ``compare`` order; the first is the baseline.

    Returns:
        ``(curves, summary)``. curves: ``strategy``, ``baseline``, ``month``, ``mean``,
        ``ci_low``, ``ci_high`` (currency, discounted to month 0) and ``n`` (pairs).
        summary: one row per strategy after the first with ``strategy``, ``baseline``,
        ``payback_month``, ``payback_low``, ``payback_high`` (months; NaN where never
        within the horizon) and ``horizon`` (the last month).
    """
    diffs = paired_differences(equity_paths(monthly), ["month"], "equity", strategies)
    rank = {s: i for i, s in enumerate(strategies)}
    diffs = diffs.sort_values(["strategy", "month"], kind="stable", key=lambda col: (
        col.map(rank) if col.name == "strategy" else col))
    curves = intervals(diffs, ["strategy", "baseline", "month"])
    horizon = int(monthly["month"].max())
    summary = [{"strategy": s, "baseline": b,
                "payback_month": payback_month(c["month"].to_numpy(), c["mean"].to_numpy()),
                "payback_low": payback_month(c["month"].to_numpy(), c["ci_high"].to_numpy()),
                "payback_high": payback_month(c["month"].to_numpy(), c["ci_low"].to_numpy()),
                "horizon": horizon}
               for (s, b), c in curves.groupby(["strategy", "baseline"], sort=False)]
    columns = ["strategy", "baseline", "payback_month", "payback_low", "payback_high",
               "horizon"]
    return curves, pd.DataFrame(summary, columns=columns)


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


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario's content (key order independent)."""
    text = json.dumps(scenario.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python, this package and its main dependencies."""
    out = {"python": platform.python_version()}
    for name in ("cvm-sim", "mesa", "numpy", "pandas", "pydantic", "pyarrow", "scipy",
                 "SALib", "dask", "distributed"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


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
        resume: Finish the experiment already in ``out``, running only missing runs.
        target_ci: Add replications until the 95 % CI half-width of every paired equity
            difference is below this (currency), or ``max_replications`` is reached.
        max_replications: Cap for ``target_ci`` (default 10 × replications).
        progress: Show a progress bar on standard error.

    The charts and ``report.html`` are written by :func:`sim.report.write_report` (the
    command line calls it after this).
    """
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
    strategies = list(scenario.compare)
    out = Path(out) if out else Path("results") / (scenario.name or "experiment")
    cap = 10 * replications if max_replications is None else max_replications
    store = ResultStore(out)
    store.prepare(manifest("comparison", scenario, seed, replications, engine, command,
                           target_ci=target_ci), resume)

    bar = progress_bar(progress)
    n = replications
    stopped = ""
    while True:
        tasks = [Task(0, s, r) for r in range(n) for s in strategies]
        failures = run_missing(store, tasks, lambda t: Job(t, scenario, seed, engine),
                               executor, workers, scheduler, bar)
        if failures:
            break
        summaries = store.table("summary", sorted(tasks, key=task_order(strategies)))
        table = comparison(summaries, strategies)
        if target_ci is None:
            break
        widths = equity_half_widths(table)
        if all(w < target_ci for w in widths.values()):
            stopped = (f"target reached: every equity difference has a 95 % CI half-width "
                       f"below {target_ci:,.0f} with {n} replications")
            break
        if n >= cap:
            stopped = (f"stopped at the maximum of {cap} replications; half-widths: "
                       + ", ".join(f"{s} {w:,.0f}" for s, w in widths.items()))
            break
        n = min(cap, 2 * n)
    if bar is not None:
        bar.close()
    if failures:
        return ExperimentResult(out, pd.DataFrame(), pd.DataFrame(), n, failures)
    ordered = sorted(tasks, key=task_order(strategies))
    store.combine(ordered)
    table.to_csv(out / "comparison.csv", index=False)
    bridged = bridge(pd.read_parquet(out / TABLES["equity"]), strategies)
    bridged.to_csv(out / "bridge.csv", index=False)
    _, paid = payback(pd.read_parquet(out / TABLES["monthly"], columns=[
        "strategy", "replication", "month", "net_cash_flow", "discount_factor"]), strategies)
    paid.to_csv(out / "payback.csv", index=False)
    update_manifest(out, replications=n, stopped_because=stopped)
    return ExperimentResult(out, summaries, table, n, {}, stopped, bridge=bridged,
                            payback=paid)


def manifest(kind: str, scenario: Scenario, seed: int, replications: int, engine: str,
             command: str | None, **extra) -> dict:
    """What a results folder records about the experiment that made it."""
    return {
        "kind": kind, "scenario_name": scenario.name,
        "scenario_hash": scenario_hash(scenario), "seed": seed,
        "replications": replications, "strategies": list(scenario.compare),
        "horizon_months": scenario.simulation.horizon_months, "engine": engine,
        **extra, "command": command or " ".join(sys.argv), "versions": versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenario": scenario.to_dict()}


def run_missing(store: ResultStore, tasks: list[Task], job_of: Callable[[Task], Job],
                executor: str, workers: int | None, scheduler: str | None,
                bar=None) -> dict[str, str]:
    """Run the ``tasks`` not yet stored (``job_of`` makes each one's job) and return the
    failures recorded in ``store`` ({key: traceback}); ``bar`` is an optional tqdm bar."""
    done = store.done()
    todo = [job_of(t) for t in tasks if t.key not in done]
    if bar is not None:
        bar.total, bar.n = len(tasks), len(tasks) - len(todo)
        bar.refresh()
    execute(todo, store, executor, workers, scheduler, None if bar is None else bar.update)
    return store.failures()


def task_order(strategies: list[str]) -> Callable[[Task], tuple]:
    """Sort key: point, replication, then strategies in ``compare`` order."""
    rank = {s: i for i, s in enumerate(strategies)}
    return lambda t: (t.point, t.replication, rank[t.strategy])


def update_manifest(out: Path, **fields) -> None:
    """Add or replace fields of ``out/manifest.json`` (atomically)."""
    path = out / "manifest.json"
    recorded = json.loads(path.read_text())
    recorded.update(fields)
    write_atomic(path, json.dumps(recorded, indent=2, default=str))


def progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=0, unit="run", desc="runs", file=sys.stderr, dynamic_ncols=True)
