"""The local process pool dies with the command that started it, and says what it saved.

Each test starts ``run_scenario.py --workers 2`` in a session of its own, so that whatever
it leaves behind can be found (and, if a test fails, killed) by that session's group.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_experiment import assert_same_tables, start_in_own_session

from sim.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="finds the worker processes through /proc")


def _stat(pid: int) -> tuple[str, int, int] | None:
    """State, parent pid and start time of ``pid`` from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may itself hold spaces and parentheses.
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """Every live process below ``root``: {pid: start time} (the start time tells a
    recycled pid from the process that had it)."""
    children: dict[int, list[int]] = {}
    starts = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[1], []).append(int(entry.name))
            starts[int(entry.name)] = stat[2]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def _alive(processes: dict[int, int]) -> list[int]:
    """The ``processes`` ({pid: start time}) still running; a zombie has ended."""
    alive = []
    for pid, start in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[0] != "Z" and stat[2] == start:
            alive.append(pid)
    return alive


def _wait_until(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


def _command(out: Path) -> list[str]:
    """A two-worker experiment of about 20 s writing to ``out``."""
    return [sys.executable, str(ROOT / "run_scenario.py"),
            str(ROOT / "scenarios" / "gsp_vs_segmented.yaml"), "--out", str(out),
            "--workers", "2", "--replications", "10", "--quiet",
            "--set", "market.population=20000", "--set", "market.initial_customers=6000"]


@pytest.fixture
def experiment(tmp_path):
    """Start the experiment of :func:`_command`; yield (process, results folder).

    Whatever of its session is still running at the end is killed, so that a failing test
    leaves nothing behind.
    """
    out = tmp_path / "out"
    process = start_in_own_session(_command(out))
    try:
        yield process, out
    finally:
        # The session's group outlives its leader: orphans keep the group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _tree_once_both_workers_run(main: int) -> dict[int, int]:
    """Every process below ``main`` ({pid: start time}) once both workers run (a worker is
    two levels below: main, forkserver, worker); until then, {}."""
    tree = _descendants(main)
    workers = {pid: start for pid, start in tree.items()
               if (stat := _stat(pid)) is not None and stat[1] != main}
    return tree if len(workers) >= 2 else {}


def _saved(out: Path) -> int:
    return len(ResultStore(out).done())


def test_killing_the_command_kills_its_workers_and_resume_finishes_it(experiment, tmp_path):
    """kill -9 of the command: no process of its tree survives, and --resume then gives
    tables equal to an uninterrupted run's."""
    process, out = experiment
    _wait_until(lambda: _saved(out) >= 1, 30, "a first stored run")
    tree = _wait_until(lambda: _tree_once_both_workers_run(process.pid), 30,
                       "two worker processes")
    process.kill()
    process.wait()
    _wait_until(lambda: not _alive(tree), 10,
                f"the killed command's processes {sorted(tree)} to end")
    assert _saved(out) < 20
    subprocess.run([*_command(out), "--resume"], cwd=ROOT, check=True, capture_output=True)
    reference = tmp_path / "reference"
    subprocess.run(_command(reference), cwd=ROOT, check=True, capture_output=True)
    assert_same_tables(out, reference)


def test_an_interrupt_counts_what_is_on_disk(experiment):
    process, out = experiment
    _wait_until(lambda: _saved(out) >= 1, 30, "a first stored run")
    tree = _descendants(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C does: the command and its workers
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    _wait_until(lambda: not _alive(tree), 10, "the pool's processes to end")
    reported = re.search(rb"interrupted: (\d+) finished runs are saved", err)
    assert reported is not None, err
    assert int(reported[1]) == _saved(out) < 20
    assert b"Traceback" not in err


def test_a_dead_worker_stops_the_experiment_and_says_so(experiment):
    process, out = experiment
    _wait_until(lambda: _saved(out) >= 1, 30, "a first stored run")
    tree = _descendants(process.pid)
    worker = next(pid for pid in tree if _stat(pid)[1] != process.pid)
    os.kill(worker, signal.SIGKILL)
    _, err = process.communicate(timeout=30)
    assert process.returncode != 0
    message = err.decode()
    assert "a worker process died (killed by signal SIGKILL)" in message, message
    saved = re.search(r"(\d+) finished runs are saved", message)
    assert saved is not None and int(saved[1]) == _saved(out) < 20, message
    assert "--resume" in message
    assert not ResultStore(out).failures(), "runs the pool dropped were recorded as failed"
    _wait_until(lambda: not _alive(tree), 10, "the pool's processes to end")
