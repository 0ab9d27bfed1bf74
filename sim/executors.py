"""Running the simulations of an experiment: on this machine's cores or a Dask cluster.

A *task* is one simulation: (point, strategy, replication); a *job* is a task with the
scenario, seed and engine a worker needs to run it. Every outcome is stored in the results
folder (:class:`sim.store.ResultStore`) as it arrives, by the worker itself where it can
see the folder. A failing run comes back as its error, never as an exception, so it cannot
stop the others; at most twice the workers' jobs are in flight, however many jobs there are.

The local pool's workers end with the process that started them, however it ends; on an
interrupt they are stopped before the interrupt leaves :func:`execute`, so what is on disk
is final by then. A worker that dies breaks the pool: :class:`WorkerDied` says so.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import pandas as pd

from .errors import OptionError
from .scenario import Scenario
from .store import ResultStore

EXECUTORS = ("local", "dask")


class WorkerDied(RuntimeError):
    """A worker process of the local pool died (killed, out of memory, crashed): the pool
    cannot go on. The runs finished before are stored; resuming runs the others."""


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
        if self.executor == "dask" and self.scheduler is not None:
            _check_scheduler(self.scheduler)


SCHEDULER_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up (Dask's own is 30)."""


def _check_scheduler(address: str) -> None:
    """Raise OptionError unless ``address`` is a reachable ``tcp://host:port`` scheduler
    (other Dask protocols are left to Dask). Checked before a results folder is claimed,
    so an unreachable scheduler leaves nothing behind."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":
        return
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise OptionError(f"expected tcp://HOST:PORT, got {address!r}", "", "--scheduler")
    try:
        socket.create_connection((host.strip("[]"), int(port)), SCHEDULER_TIMEOUT).close()
    except OSError as err:
        raise OptionError(f"cannot reach the Dask scheduler at {address}: "
                          f"{err.strerror or err}", "", "--scheduler") from None


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
            "offers": result.offers.assign(**tag),
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
        WorkerDied: a worker of the local pool died; the other runs in flight were stopped.
        KeyboardInterrupt: raised only once the local pool's workers have ended, so the runs
            stored are all there will be.
    """
    Execution(executor, workers, scheduler)  # checks the executor
    cores = os.cpu_count() or 1
    workers = workers or cores
    if executor == "dask":  # a cluster's workers may not see this folder: store here
        outcomes = _dask(jobs, workers, scheduler, run)
    # Locally, more processes than cores or jobs would only compete for the cores.
    elif (workers := min(workers, cores, len(jobs))) <= 1:
        outcomes = (run(job) for job in jobs)
    else:
        outcomes = _process_pool(jobs, workers, store.path, run)
    # An interrupt may arrive here rather than inside the generator: closing it at once
    # stops its workers now, not whenever the traceback that holds it is released (after
    # the caller has counted the stored runs).
    with closing(outcomes):
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
        except BrokenProcessPool:  # the pool lost a worker and ended: nothing more can run
            raise
        except Exception:  # noqa: BLE001 - e.g. a Dask scheduler that went away
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
            except BrokenProcessPool:  # not this run's failure: every run in flight is lost
                raise
            except Exception:  # noqa: BLE001 - a Dask worker was lost: record, go on
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
    # Only this process holds the write end of ``alive``: it closes when this process ends,
    # however it ends (see _end_with_parent).
    alive, alive_end = context.Pipe(duplex=False)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_end_with_parent, initargs=(alive,))
    # The pool's own table of its worker processes (not public, hence the default): after a
    # worker died, it tells how. The table outlives shutdown, which only drops the pool's
    # reference to it.
    processes = getattr(pool, "_processes", {})
    try:
        yield from _bounded(lambda job: pool.submit(run_and_store, job, folder, run),
                            lambda pending: wait(pending, return_when=FIRST_COMPLETED),
                            jobs, 2 * workers)
    except BrokenProcessPool:
        # The pool has already stopped the other workers; wait until they have ended, so
        # the runs counted are all there will be.
        pool.shutdown(wait=True, cancel_futures=True)
        saved = len(ResultStore(folder).done())
        raise WorkerDied(
            f"a worker process died ({_how_ended(processes.values())}), and the other runs "
            f"in flight were stopped with it; {saved} finished runs are saved in {folder}; "
            "rerun the same command with --resume to run only what is missing") from None
    except BaseException:  # an interrupt, or the caller stopped early
        # Stop the workers now rather than let them finish their runs and those already
        # queued (a run can take minutes; --resume reruns the lost ones): closing ``alive``
        # ends them, and the shutdown waits until they have.
        alive_end.close()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        alive_end.close()
        alive.close()


# Why a pipe rather than the parent-death signal (prctl(PR_SET_PDEATHSIG)): a forkserver
# worker's parent is the forkserver, not the main process, and the forkserver exits only
# once every worker has ended (each holds the write end of the forkserver's own "alive"
# pipe), so a death signal tied to it would never come first. Setting the signal in the
# forkserver would need a preload module with a side effect and would tie the forkserver
# to whichever thread happened to start it; the spawn start method would make the workers
# direct children but re-import the engine (about 2 s) in each. The end of file of a pipe
# whose only writer is the main process needs none of that: it comes however the main
# process ends, even if it is never reaped or ends before a worker has started (the end of
# file waits in the pipe), cannot be confused with a recycled pid, and is not Linux-only.
# Once the workers are gone, the forkserver and the resource tracker lose their last
# clients and exit by themselves.
def _end_with_parent(alive: Connection) -> None:
    """Worker initializer: end this worker as soon as ``alive`` reaches end of file (the
    process that started the pool ended or closed it); ignore Ctrl-C, which that process
    handles for the whole pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        alive.poll(None)  # nothing is ever sent: this returns at end of file
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _how_ended(processes: Iterable[BaseProcess]) -> str:
    """How the worker that broke the pool ended: "killed by signal SIGKILL", "exited with
    code 3". The pool then terminates the others with SIGTERM, so the one ending otherwise
    is the culprit."""
    codes = [p.exitcode for p in processes if p.exitcode is not None]
    first = next((c for c in codes if c != -signal.SIGTERM), codes[0] if codes else None)
    if first is None:
        return "cause unknown"
    if first >= 0:
        return f"exited with code {first}"
    try:
        return f"killed by signal {signal.Signals(-first).name}"
    except ValueError:
        return f"killed by signal {-first}"


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
    try:
        client = Client(scheduler or cluster, timeout=f"{SCHEDULER_TIMEOUT}s")
    except (OSError, TimeoutError) as err:
        if cluster is not None:
            cluster.close()
        raise OptionError(f"cannot connect to the Dask scheduler at {scheduler}: {err}", "",
                          "--scheduler") from None
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
