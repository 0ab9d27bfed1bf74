"""The results folder of an experiment: its runs, its combined tables and its manifest.

Each finished run is written to ``runs/<task key>/`` atomically as it arrives (a run is
either wholly there or absent), a failed one as ``runs/<task key>.error.txt``; ``combine``
joins the runs into one Parquet file per table. ``manifest.json`` records what made the
folder, so that a resumed experiment can check it is the same one.

The store knows runs only by their key (:attr:`sim.executors.Task.key`) and their tables:
it imports nothing of the engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

import pandas as pd

from .errors import ResultsError
from .scenario import Scenario

TABLES = {"summary": "summaries.parquet", "monthly": "monthly.parquet",
          "segments": "segments.parquet", "cohorts": "cohorts.parquet",
          "equity": "equity.parquet"}
"""Tables stored for every run, and the folder's file that combines all runs of each."""


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

    def save(self, outcome: Finished) -> None:
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

    def table(self, name: str, tasks: Iterable[Keyed]) -> pd.DataFrame:
        """One stored table of the given runs, concatenated in task order."""
        frames = [pd.read_parquet(self.runs / t.key / f"{name}.parquet") for t in tasks]
        return pd.concat(frames, ignore_index=True)

    def combine(self, tasks: list[Keyed]) -> None:
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
    """Write ``text`` to ``path`` through a temporary file, so ``path`` is never half written."""
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


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
    path = out / "manifest.json"
    recorded = json.loads(path.read_text())
    recorded.update(fields)
    write_atomic(path, json.dumps(recorded, indent=2, default=str))


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
