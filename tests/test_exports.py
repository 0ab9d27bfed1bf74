"""Spreadsheet habits: ``--xlsx`` writes one workbook that pandas reads back as the same
tables, and ``--csv`` a CSV twin of every Parquet table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim import cli, exports
from sim.store import TABLES

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ROOT / "scenarios" / "gsp_vs_segmented.yaml"
TINY = ["--set", "market.population=300", "--set", "market.initial_customers=200",
        "--set", "simulation.horizon_months=3", "--set", "simulation.warmup_months=0",
        "--replications", "2", "--quiet", "--workers", "1"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("x") / "out"
    assert cli.main(["run", str(HEADLINE), *TINY, "--out", str(out), "--xlsx", "--csv"]) == 0
    return out


def test_the_workbook_holds_every_table_as_pandas_reads_it(folder):
    sheets = pd.read_excel(folder / "results.xlsx", sheet_name=None)
    assert list(sheets) == list(exports.WORKBOOK_SHEETS)
    for sheet, name in exports.WORKBOOK_SHEETS.items():
        original = exports._read(folder / name)
        original = original.astype({c: str for c in original.select_dtypes("category")})
        back = sheets[sheet]
        assert list(back.columns) == list(original.columns), sheet
        assert len(back) == len(original), sheet
        for column in original.columns:
            if pd.api.types.is_numeric_dtype(original[column]):
                pd.testing.assert_series_equal(back[column].astype(float),
                                               original[column].astype(float),
                                               check_names=False, rtol=1e-12, obj=sheet)


def test_every_parquet_table_has_a_csv_twin(folder):
    for name in TABLES.values():
        parquet = pd.read_parquet(folder / name)
        twin = pd.read_csv((folder / name).with_suffix(".csv"))
        assert list(twin.columns) == list(parquet.columns) and len(twin) == len(parquet), name


def test_a_table_too_long_for_a_sheet_is_left_out_and_named(folder, monkeypatch):
    # A sheet as long as the monthly table: with its header row, that table no longer fits.
    monthly = len(pd.read_parquet(folder / TABLES["monthly"]))
    monkeypatch.setattr(exports, "EXCEL_ROWS", monthly)
    path, left_out = exports.write_workbook(folder)
    assert "monthly" in left_out and "payback" not in left_out
    assert all(len(exports._read(folder / exports.WORKBOOK_SHEETS[s])) >= monthly
               for s in left_out)
    assert "monthly" not in pd.ExcelFile(path).sheet_names
