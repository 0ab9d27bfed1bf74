"""The results folder of an experiment: its runs, its combined tables and its manifest.

Each finished run is written to ``runs/<task key>/`` atomically as it arrives (a run is
either wholly there or absent), a failed one as ``runs/<task key>.error.txt``; ``combine``
joins the runs into one Parquet file per table. ``manifest.json`` records what made the
folder, so that a resumed experiment can check it is the same one, and ``lock.json`` names
the one process writing to the folder while an experiment runs.

The store knows runs only by their key (:attr:`sim.executors.Task.key`) and their tables:
it imports nothing of the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

import pandas as pd

from .errors import ResultsError
from .scenario import Scenario

TABLES = {"summary": "summaries.parquet", "monthly": "monthly.parquet",
          "segments": "segments.parquet", "cohorts": "cohorts.parquet",
          "equity": "equity.parquet", "offers": "offers.parquet"}
"""Tables stored for every run, and the folder's file that combines all runs of each."""

MANIFEST = "manifest.json"
"""What made the folder (see :func:`manifest`); a folder without it is not ours."""
LOCK = "lock.json"
"""Held by the process writing to the folder: {pid, host, started, command, token}."""
COMPLETE = "COMPLETE"
"""Written last into a run's folder: {"tables": {name: {"rows", "bytes"}}}."""
PARTIAL = ".partial"
"""Ending of a file or run folder being written (see :func:`_temporary`)."""
STALE = ".stale"
"""Ending of a stale lock being taken over."""


def default_folder(name: str, suffix: str = "") -> Path:
    """The default results folder of a scenario named ``name``: under ``results/``, the
    name reduced to letters, digits, ``.``, ``_`` and ``-`` (a name is text, never a
    path)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:100] or "experiment"
    return Path("results") / (safe + suffix)


def call_line(function: str, *args: str, **kwargs) -> str:
    """How a Python call is recorded in a manifest: ``function(args, key=value, ...)`` with
    the keyword arguments that were given (not None)."""
    given = [*args, *(f"{k}={(str(v) if isinstance(v, Path) else v)!r}"
                      for k, v in kwargs.items() if v is not None)]
    return f"{function}({', '.join(given)})"


class Keyed(Protocol):
    """A run as the store sees it: a key that names its folder (a :class:`sim.executors.Task`)."""

    @property
    def key(self) -> str: ...


class Finished(Protocol):
    """A finished run as the store sees it (a :class:`sim.executors.Outcome`): its task and
    either its tables or the error that stopped it."""

    @property
    def task(self) -> Keyed: ...

    @property
    def tables(self) -> dict[str, pd.DataFrame] | None: ...

    @property
    def error(self) -> str | None: ...


class ResultStore:
    """A results folder. Runs go to ``runs/<task key>/``, each written to a temporary
    folder first and renamed when complete, so a run is either wholly there or absent.

    :meth:`prepare` claims the folder for this process until :meth:`release`; use the store
    as a context manager so that the claim ends however the experiment does. Workers that
    only :meth:`save` runs for the claiming process need no claim of their own.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.runs = self.path / "runs"
        self.lock = self.path / LOCK
        self._claim: str | None = None  # our lock file's text, while we hold it

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def prepare(self, manifest: dict, resume: bool) -> None:
        """Create the folder and claim it for this process, or check that it belongs to
        the same experiment on resume; on resume, drop what a killed writer left half done
        (partial files, runs without their completion marker) and the errors of runs done
        since.

        Raises:
            ResultsError: the path is a file, the file system's root or the home folder; the
                folder is not empty and holds no manifest; another process holds it (or a
                stale lock, without resume); it holds another experiment's runs (without
                resume, or with a different scenario or seed); its manifest is damaged; or
                the folder cannot be created or written.
        """
        with _os_errors(self.path, "create the results folder"):
            self._check_place()
            self.path.mkdir(parents=True, exist_ok=True)
        self._refuse_foreign()  # before the lock, so a foreign folder gets no file of ours
        self._acquire(manifest.get("command"), resume)
        try:
            self._refuse_foreign()  # again: the folder may have changed before we held it
            existing = self.path / MANIFEST
            if existing.exists():
                old = read_manifest(existing)
                if not resume:
                    raise ResultsError(f"results folder {self.path} already holds an "
                                       "experiment; add --resume to finish it or choose "
                                       "another --out")
                for key in ("kind", "scenario_hash", "seed", "engine"):
                    if old.get(key) != manifest.get(key):
                        raise ResultsError(f"cannot resume {self.path}: it was made with a "
                                           f"different {key.replace('_', ' ')} "
                                           f"({old.get(key)!s:.16})")
            with _os_errors(self.path, "write"):
                write_atomic(existing, json.dumps(manifest, indent=2, default=str))
                self.runs.mkdir(exist_ok=True)
                self._tidy()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """End this process's claim on the folder (nothing if it holds none)."""
        if self._claim is None:
            return
        try:
            if self.lock.read_text(encoding="utf-8") == self._claim:
                self.lock.unlink()
        except OSError:
            # Gone already, or the folder went unwritable: a lock left behind names a dead
            # process, which the next run with --resume takes over.
            pass
        self._claim = None

    def done(self) -> set[str]:
        """Keys of the runs stored in full: those whose completion marker is there and
        whose table files have the sizes it records."""
        if not self.runs.is_dir():
            return set()
        return {p.name for p in self.runs.iterdir() if "." not in p.name and _complete(p)}

    def save(self, outcome: Finished) -> None:
        """Store a finished run atomically and delete an error it had before, or store its
        error as ``runs/<key>.error.txt``.

        Raises:
            ResultsError: the run cannot be written (no space, no permission).
        """
        key = outcome.task.key
        error_file = self.runs / f"{key}.error.txt"
        with _os_errors(self.runs, f"store run {key} in"):
            if outcome.error is not None:
                write_atomic(error_file, outcome.error)
                return
            partial = _temporary(self.runs / key)
            partial.mkdir()
            try:
                written = {}
                for name, table in outcome.tables.items():
                    file = partial / f"{name}.parquet"
                    table.to_parquet(file, index=False)
                    written[name] = {"rows": len(table), "bytes": file.stat().st_size}
                # Last, so that a folder holding the marker holds every table; the sizes
                # catch a file cut short later (a full disk, a crash before the data
                # reached the disk, an interrupted copy).
                (partial / COMPLETE).write_text(json.dumps({"tables": written}),
                                                encoding="utf-8")
                os.replace(partial, self.runs / key)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            error_file.unlink(missing_ok=True)

    def failures(self) -> dict[str, str]:
        """Errors of runs that failed and have not succeeded since: {key: traceback}."""
        done = self.done()
        with _os_errors(self.runs, "read"):
            return {key: p.read_text(encoding="utf-8")
                    for p in sorted(self.runs.glob("*.error.txt"))
                    if (key := p.name.removesuffix(".error.txt")) not in done}

    def table(self, name: str, tasks: Iterable[Keyed]) -> pd.DataFrame:
        """One stored table of the given runs, concatenated in task order.

        Raises:
            ResultsError: a run's file is missing, damaged or not what it recorded.
        """
        frames = [self._read(t.key, name, pd.read_parquet) for t in tasks]
        return pd.concat(frames, ignore_index=True)

    def combine(self, tasks: list[Keyed]) -> None:
        """Write ``summaries.parquet``, ``monthly.parquet``, ... from the runs of ``tasks``.

        Tables are appended one run at a time, so memory stays bounded however many runs.

        Raises:
            ResultsError: a run's file is missing, damaged or not what it recorded; or the
                combined file cannot be written.
        """
        for name, file in TABLES.items():
            target = self.path / file
            temporary = _temporary(target)
            with _os_errors(self.path, "write the combined table"):
                try:
                    self._append(temporary, name, tasks)
                    os.replace(temporary, target)
                except BaseException:
                    temporary.unlink(missing_ok=True)
                    raise

    def _append(self, file: Path, name: str, tasks: list[Keyed]) -> None:
        """Write table ``name`` of every run of ``tasks`` into ``file``, one run at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = None
        try:
            for task in tasks:
                table = self._read(task.key, name, pq.read_table)
                if writer is None:
                    writer = pq.ParquetWriter(file, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:  # no runs: an empty file still says what the columns are
            pq.write_table(pa.table({}), file)

    def _read(self, key: str, name: str, read: Callable[[Path], object]):
        """Table ``name`` of run ``key`` read by ``read``, checked against the run's
        completion marker."""
        import pyarrow as pa

        folder = self.runs / key
        file = folder / f"{name}.parquet"
        try:
            rows = _marker(folder)["tables"][name]["rows"]
            table = read(file)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as err:
            raise _damaged_run(folder, file, str(err)) from None
        if len(table) != rows:
            raise _damaged_run(folder, file, f"{len(table)} rows instead of {rows}")
        return table

    # ---------------------------------------------------------------- the folder's claim
    def _check_place(self) -> None:
        """Refuse a path that cannot be a results folder: a file, the root, the home."""
        if self.path.exists() and not self.path.is_dir():
            raise ResultsError(f"results folder {self.path} is a file; choose a folder with "
                               "--out")
        where = self.path.expanduser().resolve()
        if where == where.parent:
            raise ResultsError(f"results folder {self.path} is the root of the file system; "
                               "choose an empty or new folder with --out")
        try:
            home = Path.home().resolve()
        except RuntimeError:  # no home known: nothing to protect
            home = None
        if where == home:
            raise ResultsError(f"results folder {self.path} is your home folder; choose an "
                               "empty or new folder with --out")

    def _refuse_foreign(self) -> None:
        """Refuse a folder that holds files but no manifest: it is not ours to overwrite."""
        with _os_errors(self.path, "read the results folder"):
            names = {p.name for p in self.path.iterdir()}
        if MANIFEST in names:
            return
        # A writer starting in this folder has its lock and maybe a temporary manifest.
        foreign = sorted(n for n in names if n != LOCK and not (
            n.startswith((f"{MANIFEST}.", f"{LOCK}.")) and n.endswith((PARTIAL, STALE))))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise ResultsError(f"not a results folder of this tool: {self.path} holds files "
                               f"({shown}) but no {MANIFEST}; choose an empty or new folder "
                               "with --out")

    def _acquire(self, command: str | None, resume: bool) -> None:
        """Create our lock file, or take over a stale one on resume.

        Raises:
            ResultsError: another process holds the folder, or a stale lock without resume.
        """
        claim = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                            "started": datetime.now(UTC).isoformat(timespec="seconds"),
                            "command": command, "token": secrets.token_hex(8)})
        taken_over = False
        for _ in range(5):  # retried only when the holder goes away as we look at it
            try:
                descriptor = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pass
            except OSError as err:
                raise _os_error(err, self.path, "lock the results folder") from err
            else:
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    file.write(claim)
                self._claim = claim
                return
            text = self._lock_text()
            if text is None:
                continue
            holder = _holder(text)
            stale = holder is not None and _stale(holder)
            if not (stale and resume) or taken_over:
                raise ResultsError(self._in_use(holder, stale))
            self._take_over(text)
            taken_over = True
        raise ResultsError(f"results folder {self.path} keeps changing hands; make sure no "
                           "other experiment writes to it, then run again")

    def _lock_text(self) -> str | None:
        """The text of the lock file, None if it is gone. A lock just created may still be
        empty: wait a little for its holder to write it."""
        text = ""
        for _ in range(20):
            try:
                text = self.lock.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except OSError as err:
                raise ResultsError(f"cannot read the lock {self.lock}: {err.strerror}; "
                                   "check its permissions") from None
            if text:
                break
            time.sleep(0.05)
        return text

    def _in_use(self, holder: dict | None, stale: bool) -> str:
        """Why the folder cannot be claimed from ``holder`` (None: a lock we cannot read)."""
        if holder is None:
            return (f"results folder {self.path} is locked by {self.lock}, which cannot be "
                    "read; if no experiment is writing to this folder, delete the lock and "
                    "run again with --resume")
        who = (f"process {holder['pid']} on {holder['host']}, started "
               f"{holder.get('started', 'at an unknown time')}")
        if stale:
            return (f"results folder {self.path} has a stale lock: {who}, is no longer "
                    "running; add --resume to take the folder over and finish its "
                    "experiment")
        message = (f"results folder {self.path} is in use by another experiment: {who}; "
                   "wait for it to end or choose another --out")
        if holder["host"] != socket.gethostname():
            message += (f" (a lock from another machine is never taken over automatically: "
                        f"if that process is gone, delete {self.lock} and run again with "
                        "--resume)")
        return message

    def _take_over(self, seen: str) -> None:
        """Remove the stale lock whose text is ``seen``, unless someone did first."""
        aside = self.lock.with_name(f"{LOCK}.{os.getpid()}-{secrets.token_hex(4)}{STALE}")
        try:
            os.rename(self.lock, aside)
        except FileNotFoundError:  # another writer took it over: our retry meets its lock
            return
        with _os_errors(self.path, "take over the stale lock"):
            if aside.read_text(encoding="utf-8") != seen:
                # We moved a lock a writer had just made after taking the stale one over:
                # give it back, so that writer keeps the folder.
                os.replace(aside, self.lock)
                return
            aside.unlink()

    def _tidy(self) -> None:
        """Delete what killed writers left half done, the run folders that are not complete
        (they run again) and the errors of runs that are done."""
        for leftover in [*self.path.glob(f"*{PARTIAL}"), *self.path.glob(f"{LOCK}.*{STALE}"),
                         *self.runs.glob(f"*{PARTIAL}")]:
            _remove(leftover)
        done = self.done()
        for run in self.runs.iterdir():
            if "." not in run.name and run.name not in done:
                _remove(run)
        for key in done:
            (self.runs / f"{key}.error.txt").unlink(missing_ok=True)


def _temporary(path: Path) -> Path:
    """A name next to ``path`` for writing it, unique to this process and call, so that two
    writers never share one."""
    return path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL}")


def _remove(path: Path) -> None:
    """Delete a file or a folder with its content."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _marker(folder: Path) -> dict:
    """The completion marker of a run folder (raises OSError, ValueError if unreadable)."""
    marker = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
    if not isinstance(marker, dict) or not isinstance(marker.get("tables"), dict):
        raise ValueError(f"{folder / COMPLETE} is not a completion marker")
    return marker


def _complete(folder: Path) -> bool:
    """Whether a run folder holds its completion marker and the files it lists, of the
    sizes it records (a cheap check: the tables are not read)."""
    try:
        tables = _marker(folder)["tables"]
        return bool(tables) and all(
            (folder / f"{name}.parquet").stat().st_size == entry["bytes"]
            for name, entry in tables.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _damaged_run(folder: Path, file: Path, why: str) -> ResultsError:
    return ResultsError(f"run {folder.name} is damaged: {file} cannot be read ({why}); "
                        f"delete {folder} and run the same command again with --resume to "
                        "redo that run")


def _holder(text: str) -> dict | None:
    """The holder a lock file names, or None if it is damaged."""
    try:
        holder = json.loads(text)
    except ValueError:
        return None
    if (not isinstance(holder, dict) or not isinstance(holder.get("host"), str)
            or not isinstance(holder.get("pid"), int) or holder["pid"] <= 0):
        return None
    return holder


def _stale(holder: dict) -> bool:
    """Whether a lock's process is gone: only known on its own machine."""
    if holder["host"] != socket.gethostname():
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, run by another user
        return False
    except OverflowError:  # no such pid can exist
        return True
    return False


@contextmanager
def _os_errors(path: Path, doing: str) -> Iterator[None]:
    """Turn an error of the operating system (no permission, no space, a file where a
    folder should be) into a :class:`ResultsError` naming the path."""
    try:
        yield
    except OSError as err:
        raise _os_error(err, path, doing) from err


def _os_error(err: OSError, path: Path, doing: str) -> ResultsError:
    """``err`` as a :class:`ResultsError` naming the file it concerns (else ``path``)."""
    return ResultsError(f"cannot {doing} {err.filename or path}: {err.strerror or err}; "
                        "check the folder's permissions and free space, or choose another "
                        "--out")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so ``path`` is never half written."""
    temporary = _temporary(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------- the manifest
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


def update_manifest(out: Path, **fields) -> None:
    """Add or replace fields of ``out/manifest.json`` (atomically)."""
    path = out / MANIFEST
    recorded = read_manifest(path)
    recorded.update(fields)
    with _os_errors(out, "write"):
        write_atomic(path, json.dumps(recorded, indent=2, default=str))


def read_manifest(path: Path) -> dict:
    """The manifest at ``path``.

    Raises:
        ResultsError: it cannot be read, is not JSON or not a JSON object.
    """
    with _os_errors(path.parent, "read"):
        text = path.read_text(encoding="utf-8", errors="replace")
    try:
        recorded = json.loads(text)
    except ValueError as err:
        recorded = err
    if not isinstance(recorded, dict):
        why = recorded if isinstance(recorded, ValueError) else "not a JSON object"
        raise ResultsError(f"the manifest {path} is damaged ({why}); this folder cannot be "
                           "resumed: choose another --out, or delete the folder to start "
                           "again")
    return recorded


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
