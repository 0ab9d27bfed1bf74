"""The results store owns its folder: one writer at a time, never a foreign folder, runs
checked when read and redone when damaged, clear errors instead of tracebacks."""

from __future__ import annotations

import errno
import io
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_experiment import assert_same_tables

import sim
import sim.runner
from sim import store as store_module
from sim.experiment import Outcome, ResultStore, Task, monte_carlo

ROOT = Path(__file__).resolve().parents[2]
TASKS = [Task(0, s, r) for r in range(2) for s in ("gsp", "segmented")]
"""Every run of :func:`tiny`, in table order."""


def tiny() -> sim.Scenario:
    """Two strategies, two replications of a market small enough for a run in a blink."""
    return sim.load_scenario(ROOT / "scenarios" / "gsp_vs_segmented.yaml").override({
        "market.population": 400, "market.initial_customers": 280,
        "simulation.horizon_months": 6, "simulation.warmup_months": 0,
        "simulation.replications": 2})


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted experiment's folder: what every recovered folder must equal."""
    return monte_carlo(tiny(), out=tmp_path_factory.mktemp("reference") / "out",
                       workers=1).path


@pytest.fixture
def copy(reference, tmp_path) -> Path:
    """A copy of the reference folder, to damage."""
    return Path(shutil.copytree(reference, tmp_path / "copy"))


def dead_pid() -> int:
    """The pid of a process of this machine that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(folder: Path, pid: int, host: str | None = None) -> str:
    text = json.dumps({"pid": pid, "host": host or socket.gethostname(),
                       "started": "2024-05-01T08:00:00+00:00", "command": "cvm run x.yaml"})
    (folder / "lock.json").write_text(text)
    return text


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file's content and every folder (None) under ``folder``."""
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


# -------------------------------------------------------------------- one writer
def _writer(out: str, resume: bool, barrier, answers) -> None:
    """Start an experiment in ``out`` together with another process (in a child)."""
    real_run = sim.runner.run

    def slow(*args, **kw):  # long enough that the other writer comes while this one runs
        time.sleep(0.25)
        return real_run(*args, **kw)

    sim.runner.run = slow
    scenario = tiny()
    barrier.wait()
    try:
        monte_carlo(scenario, out=out, workers=1, resume=resume)
        answers.put(("ran", os.getpid(), ""))
    except sim.ResultsError as err:
        answers.put(("refused", os.getpid(), str(err)))
    except Exception as err:  # noqa: BLE001 - the test reports what else went wrong
        answers.put(("crashed", os.getpid(), repr(err)))


@pytest.mark.parametrize("start", ["fresh folder", "stale lock, both resuming"])
def test_two_writers_on_one_folder_one_runs_and_the_other_is_refused(start, reference,
                                                                     tmp_path):
    out = tmp_path / "out"
    resume = start != "fresh folder"
    if resume:  # a writer killed just after it claimed the folder
        out.mkdir()
        write_lock(out, dead_pid())
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(2), context.Queue()
    writers = [context.Process(target=_writer, args=(str(out), resume, barrier, answers))
               for _ in range(2)]
    for writer in writers:
        writer.start()
    got = sorted(answers.get(timeout=120) for _ in writers)
    for writer in writers:
        writer.join(timeout=30)
    assert [g[0] for g in got] == ["ran", "refused"], got
    (_, holder, _), (_, _, message) = got
    assert f"process {holder} on {socket.gethostname()}, started 20" in message
    assert str(out) in message and "in use" in message
    assert not (out / "lock.json").exists()
    assert_same_tables(out, reference)


# ---------------------------------------------------------------------- the lock
def test_the_lock_names_its_holder_while_running_and_goes_when_interrupted(tmp_path,
                                                                          monkeypatch):
    out = tmp_path / "out"
    seen = []

    def interrupted(*args, **kw):
        seen.append(json.loads((out / "lock.json").read_text()))
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.runner, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        monte_carlo(tiny(), out=out, workers=1, command="cvm run tiny.yaml")
    assert seen[0]["pid"] == os.getpid() and seen[0]["host"] == socket.gethostname()
    assert seen[0]["command"] == "cvm run tiny.yaml" and seen[0]["started"].startswith("20")
    assert not (out / "lock.json").exists()


def test_a_stale_lock_is_refused_without_resume_and_taken_over_with_it(copy, reference):
    shutil.rmtree(copy / "runs" / TASKS[3].key)  # the killed writer's last run
    pid = dead_pid()
    lock = write_lock(copy, pid)
    with pytest.raises(sim.ResultsError, match=rf"stale lock: process {pid} on .*--resume"):
        monte_carlo(tiny(), out=copy, workers=1)
    assert (copy / "lock.json").read_text() == lock
    result = monte_carlo(tiny(), out=copy, workers=1, resume=True)
    assert not result.failures and not (copy / "lock.json").exists()
    assert not list(copy.glob("lock.json.*"))
    assert_same_tables(copy, reference)


@pytest.mark.parametrize("resume", [False, True])
def test_a_lock_of_another_machine_is_never_taken_over(copy, resume):
    lock = write_lock(copy, dead_pid(), host="elsewhere.example")
    with pytest.raises(sim.ResultsError, match="in use by another experiment: process "
                       r"\d+ on elsewhere.example, started 2024-05-01.*another machine"):
        monte_carlo(tiny(), out=copy, workers=1, resume=resume)
    assert (copy / "lock.json").read_text() == lock


def test_the_command_line_refuses_a_folder_in_use_with_exit_code_2(copy, tmp_path, capsys):
    from sim import cli

    write_lock(copy, os.getpid())  # alive: this very process
    scenario_file = tmp_path / "tiny.yaml"
    scenario_file.write_text(f"extends: {ROOT / 'scenarios' / 'gsp_vs_segmented.yaml'}\n"
                             "market: {population: 400, initial_customers: 280}\n"
                             "simulation: {horizon_months: 6, warmup_months: 0}\n")
    code = cli.main(["run", str(scenario_file), "--out", str(copy), "--replications", "2",
                     "--workers", "1", "--resume", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"in use by another experiment: process {os.getpid()}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------- whose folder it is
@pytest.mark.parametrize("content", ["report", "runs without manifest"])
def test_a_folder_that_is_not_ours_is_refused_and_left_untouched(content, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    if content == "report":
        (out / "report.html").write_text("<html>my thesis</html>")
    else:  # another scenario's runs: they must not count as done for this one
        (out / "runs" / TASKS[0].key).mkdir(parents=True)
        (out / "runs" / TASKS[0].key / "summary.parquet").write_bytes(b"PAR1 other")
    before = snapshot(out)
    with pytest.raises(sim.ResultsError, match="not a results folder of this tool: .*"
                       "choose an empty or new folder"):
        monte_carlo(tiny(), out=out, workers=1)
    with pytest.raises(sim.ResultsError, match="not a results folder"):
        monte_carlo(tiny(), out=out, workers=1, resume=True)
    assert snapshot(out) == before


def test_an_empty_existing_folder_is_used_and_held_until_the_store_is_done(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with ResultStore(out) as store:
        store.prepare({"kind": "comparison", "command": "cvm run x.yaml"}, resume=False)
        assert json.loads((out / "lock.json").read_text())["command"] == "cvm run x.yaml"
        with pytest.raises(sim.ResultsError, match=f"in use .*process {os.getpid()}"):
            ResultStore(out).prepare({"kind": "comparison"}, resume=True)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "runs"]


@pytest.mark.parametrize("where", ["a file", "the home folder"])
def test_an_out_that_cannot_be_a_results_folder_is_refused(where, tmp_path, monkeypatch):
    if where == "a file":
        out = tmp_path / "results.txt"
        out.write_text("notes")
        message = "is a file"
    else:
        out = tmp_path / "home"
        out.mkdir()
        monkeypatch.setenv("HOME", str(out))
        message = "your home folder"
    with pytest.raises(sim.ResultsError, match=message):
        monte_carlo(tiny(), out=out, workers=1)
    if where == "a file":
        assert out.read_text() == "notes"
    else:
        assert not list(out.iterdir())


@pytest.fixture
def root_read_only(monkeypatch):
    """Fail on any attempt to create, write or rename a file directly in ``/``: a store
    that wrongly accepts the root must not leave files there (the tests run as root)."""

    def in_root(path) -> bool:
        return isinstance(path, str | os.PathLike) and Path(path).resolve().parent == Path("/")

    def guard(function, writes):
        def guarded(path, *args, **kw):
            if in_root(path) and writes(args, kw):
                raise AssertionError(f"{function.__name__} {path} in the root")
            return function(path, *args, **kw)
        return guarded

    monkeypatch.setattr(os, "mkdir", guard(os.mkdir, lambda a, k: True))
    monkeypatch.setattr(os, "rename", guard(os.rename, lambda a, k: True))
    monkeypatch.setattr(os, "replace", guard(os.replace, lambda a, k: True))
    monkeypatch.setattr(os, "open", guard(os.open, lambda a, k: (a[0] if a else k["flags"])
                                          & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)))
    monkeypatch.setattr(io, "open", guard(io.open, lambda a, k: set(
        a[0] if a else k.get("mode", "r")) & set("wax+")))


def test_the_root_is_refused(root_read_only):
    with pytest.raises(sim.ResultsError, match="/ is the root of the file system"):
        ResultStore("/").prepare({"kind": "comparison"}, resume=False)


def test_an_out_inside_a_file_is_a_results_error(tmp_path):
    (tmp_path / "results.txt").write_text("notes")
    with pytest.raises(sim.ResultsError, match=r"results.txt.*choose another --out"):
        monte_carlo(tiny(), out=tmp_path / "results.txt" / "out", workers=1)


def test_a_full_disk_is_a_results_error_and_releases_the_folder(tmp_path, monkeypatch):
    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store_module, "write_atomic", full)
    with pytest.raises(sim.ResultsError, match=r"manifest.json: No space left on device"):
        monte_carlo(tiny(), out=tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "lock.json").exists()


@pytest.mark.parametrize("text", ['{"kind": "compar', "[1, 2, 3]", "\x00\xff garbage"])
@pytest.mark.parametrize("resume", [False, True])
def test_a_damaged_manifest_is_a_results_error(copy, text, resume):
    (copy / "manifest.json").write_text(text)
    with pytest.raises(sim.ResultsError, match=r"manifest .*manifest.json is damaged"):
        monte_carlo(tiny(), out=copy, workers=1, resume=resume)
    assert not (copy / "lock.json").exists()


def test_a_damaged_manifest_is_a_results_error_for_a_sweep_too(tmp_path):
    scenario = tiny().override({"sweep": {
        "design": "grid", "replications": 2, "outcome": "discounted_cash_flow",
        "parameters": {"strategies.segmented.data_quality": {"values": [0.5, 1.0]}}}})
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "manifest.json").write_text('{"kind": "sw')
    with pytest.raises(sim.ResultsError, match="manifest.json is damaged"):
        sim.sweep(scenario, out=out, workers=1, resume=True)


# ------------------------------------------------------------------------- runs
def truncate(run: Path) -> None:
    summary = run / "summary.parquet"
    summary.write_bytes(summary.read_bytes()[: summary.stat().st_size // 2])


def empty(run: Path) -> None:
    for file in run.iterdir():
        file.unlink()


def unmarked(run: Path) -> None:
    (run / "COMPLETE").unlink()


@pytest.mark.parametrize("damage", [truncate, empty, unmarked])
def test_a_damaged_run_is_not_done_and_is_redone_on_resume(copy, reference, damage):
    damage(copy / "runs" / TASKS[1].key)
    assert ResultStore(copy).done() == {t.key for t in TASKS} - {TASKS[1].key}
    result = monte_carlo(tiny(), out=copy, workers=1, resume=True)
    assert not result.failures
    assert ResultStore(copy).done() == {t.key for t in TASKS}
    assert_same_tables(copy, reference)


def test_a_run_damaged_without_changing_size_is_a_results_error_when_read(copy):
    summary = copy / "runs" / TASKS[2].key / "summary.parquet"
    data = bytearray(summary.read_bytes())
    data[-8:] = b"\x00" * 8  # the footer's length and magic bytes
    summary.write_bytes(bytes(data))
    store = ResultStore(copy)
    for read in (lambda: store.table("summary", TASKS), lambda: store.combine(TASKS)):
        with pytest.raises(sim.ResultsError, match=rf"(?s)run {TASKS[2].key} is damaged: "
                           rf".*summary.parquet cannot be read.*delete .*--resume"):
            read()
    assert not list(copy.glob("*.partial"))


def test_a_stale_error_record_is_cleared_on_resume(copy, reference):
    # A worker stored its run, then the pool broke before the run came back: the run is
    # done and its error recorded; resuming must not report it as failed forever.
    (copy / "runs" / f"{TASKS[0].key}.error.txt").write_text("BrokenProcessPool")
    result = monte_carlo(tiny(), out=copy, workers=1, resume=True)
    assert not result.failures
    assert not list((copy / "runs").glob("*.error.txt"))
    assert_same_tables(copy, reference)


def test_saving_a_run_deletes_its_error_record(copy):
    store = ResultStore(copy)
    tables = {name: store.table(name, [TASKS[0]]) for name in store_module.TABLES}
    shutil.rmtree(copy / "runs" / TASKS[0].key)
    store.save(Outcome(TASKS[0], error="Traceback: boom"))
    assert list(store.failures()) == [TASKS[0].key]
    store.save(Outcome(TASKS[0], tables=tables))
    assert store.failures() == {} and TASKS[0].key in store.done()
    assert not list((copy / "runs").glob("*.partial"))
