"""Results in the formats spreadsheets open: one Excel workbook of an experiment's tables,
and CSV twins of its Parquet tables.

Both read a finished results folder (``manifest.json``, the Parquet tables, the CSVs
written by :func:`sim.experiment.monte_carlo`) and change nothing in it but the files they
add.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .store import TABLES, write_atomic

EXCEL_ROWS = 1_048_576
"""Rows of an Excel sheet, header included: a larger table stays in Parquet and CSV only."""

WORKBOOK_SHEETS = {"comparison": "comparison.csv", "bridge": "bridge.csv",
                   "payback": "payback.csv", "summaries": TABLES["summary"],
                   "monthly": TABLES["monthly"], "segments": TABLES["segments"],
                   "cohorts": TABLES["cohorts"], "equity": TABLES["equity"]}
"""Sheets of the workbook, in order, and the file of the folder each comes from."""


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def write_workbook(folder: str | Path) -> tuple[Path, list[str]]:
    """Write ``results.xlsx`` into the results ``folder``: one sheet per table of
    :data:`WORKBOOK_SHEETS` that the folder holds. Returns the workbook's path and the
    tables left out because they exceed an Excel sheet (say so to the user)."""
    folder = Path(folder)
    target = folder / "results.xlsx"
    left_out = []
    # Written beside and renamed, so the workbook is never seen half written.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with pd.ExcelWriter(partial, engine="openpyxl") as book:
        for sheet, name in WORKBOOK_SHEETS.items():
            if not (folder / name).exists():
                continue
            table = _read(folder / name)
            if len(table) + 1 > EXCEL_ROWS:
                left_out.append(sheet)
                continue
            # Categories (segment, tier) as text: Excel has no categorical type.
            table.astype({c: str for c in table.select_dtypes("category")}).to_excel(
                book, sheet_name=sheet, index=False)
    partial.replace(target)
    return target, left_out


def write_csv_twins(folder: str | Path) -> list[Path]:
    """Write a CSV next to every Parquet table of the results ``folder`` (same name,
    ``.csv``); returns their paths."""
    folder = Path(folder)
    written = []
    for name in TABLES.values():
        source = folder / name
        if source.exists():
            target = source.with_suffix(".csv")
            write_atomic(target, pd.read_parquet(source).to_csv(index=False))
            written.append(target)
    return written
