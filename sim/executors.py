"""Running the simulations of an experiment: on this machine's cores or a Dask cluster.

A *task* is one simulation: (point, strategy, replication); a *job* is a task with the
scenario, seed and engine a worker needs to run it. Every outcome is stored in the results
folder (:class:`sim.store.ResultStore`) as it arrives, by the worker itself where it can
see the folder. A failing run comes back as its error, never as an exception, so it cannot
stop the others; at most twice the workers' jobs are in flight, however many jobs there are.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import OptionError
from .scenario import Scenario
from .store import ResultStore

EXECUTORS = ("local", "dask")


@dataclass(frozen=True, order=True)
class Task:
    """One simulation of an experiment."""

    point: int
    strategy: str
    replication: int

    @property
    def key(self) -> str:
        return f"p{self.point:05d}-{self.strategy}-r{self.replication:05d}"


def task_order(strategies: list[str]) -> Callable[[Task], tuple]:
    """Sort key: point, replication, then strategies in ``compare`` order."""
    rank = {s: i for i, s in enumerate(strategies)}
    return lambda t: (t.point, t.replication, rank[t.strategy])


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


@dataclass(frozen=True)
class Execution:
    """Where runs execute (see :func:`execute`).

    Raises:
        OptionError: an executor that is not one of :data:`EXECUTORS`.
    """

    executor: str = "local"
    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise OptionError(f"must be one of {', '.join(EXECUTORS)}, not "
                              f"{self.executor!r}", "", "executor")


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


def run_and_store(job: Job, folder: Path, run: Callable[[Job], Outcome] = run_job) -> Outcome:
    """Run one job and store it from the worker, sending back only whether it failed:
    the parent then has nothing to unpickle or write, and stays out of the workers' way."""
    outcome = run(job)
    ResultStore(folder).save(outcome)
    return Outcome(outcome.task, error=outcome.error, stored=True)


def execute(jobs: list[Job], store: ResultStore, executor: str = "local",
            workers: int | None = None, scheduler: str | None = None,
            progress: Callable[[int], None] | None = None,
            run: Callable[[Job], Outcome] = run_job) -> None:
    """Run ``jobs`` and store each outcome as it arrives.

    Args:
        executor: ``"local"`` (a process pool; in-process for one worker) or ``"dask"``
            (Dask distributed: the ``scheduler`` address, or a local cluster).
        workers: Processes (local) or workers of a local Dask cluster; default all cores.
        progress: Called with 1 after each stored run.
        run: What runs a job (a module-level function, so that workers can import it).

    Raises:
        OptionError: an unknown executor.
    """
    Execution(executor, workers, scheduler)  # checks the executor
    workers = workers or os.cpu_count() or 1
    if executor == "dask":  # a cluster's workers may not see this folder: store here
        outcomes = _dask(jobs, workers, scheduler, run)
    elif workers == 1 or len(jobs) <= 1:
        outcomes = map(run, jobs)
    else:
        outcomes = _process_pool(jobs, workers, store.path, run)
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


def _process_pool(jobs: list[Job], workers: int, folder: Path,
                  run: Callable[[Job], Outcome] = run_job) -> Iterator[Outcome]:
    import multiprocessing

    # forkserver: workers start from a clean process, not a copy of a parent that may hold
    # threads (progress bar, Dask) or large arrays; the server imports the engine once, so
    # each worker starts without importing it again.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.runner", "sim.executors"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            yield from _bounded(lambda job: pool.submit(run_and_store, job, folder, run),
                                lambda pending: wait(pending, return_when=FIRST_COMPLETED),
                                jobs, 2 * workers)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _dask(jobs: list[Job], workers: int, scheduler: str | None,
          run: Callable[[Job], Outcome] = run_job) -> Iterator[Outcome]:
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
            lambda job: client.submit(run, job, key=f"{job.task.key}-{id(job)}", pure=False),
            lambda pending: _dask_first(dask_wait, pending), jobs, 2 * workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dask_first(dask_wait, pending):
    result = dask_wait(list(pending), return_when="FIRST_COMPLETED")
    return set(result.done), set(result.not_done)
