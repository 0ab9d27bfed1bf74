"""sim.report: the numbers behind each chart, the PNGs and the self-contained HTML report."""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.report import (
    CHARTS,
    _plot_payback,
    _waterfall,
    cost_to_serve_by_segment,
    equity_fan,
    equity_paths,
    format_interval,
    format_number,
    format_payback,
    format_share,
    headline_sentences,
    retention_curves,
    stage_mix,
    write_charts,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = ["gsp", "segmented"]
REPLICATIONS = 3
HORIZON = 24
SCENARIO_NAME = 'gsp_vs_segmented <script>alert("x")</script>'
COMMAND = "python -m sim.experiment scenarios/gsp_vs_segmented.yaml --set a=1 && echo <done>"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LOWER_IS_BETTER = {"churn_rate_annual"}
COMPARED = ["customer_equity", "churn_rate_annual", "clv_mean"]
"""The metrics of the fixture's comparison.csv."""
ODD_SEGMENT = r"value <seekers> $\alpha_{x$"
"""The fixture's name for the value_seekers segment in equity.parquet: HTML to escape and
mathtext that matplotlib would fail to parse."""


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and a normal 95 % interval: test data, the report only formats it."""
    mean = float(values.mean())
    half = 1.96 * float(values.std(ddof=1)) / np.sqrt(len(values))
    return mean, mean - half, mean + half


def _comparison(summaries: pd.DataFrame) -> pd.DataFrame:
    """comparison.csv per the contract: levels, then paired differences to the baseline."""
    rows = []
    wide = {m: summaries.pivot(index="replication", columns="strategy", values=m)
            for m in COMPARED}
    for metric, table in wide.items():
        for s in STRATEGIES:
            mean, low, high = _interval(table[s].to_numpy())
            rows.append({"kind": "level", "strategy": s, "baseline": "", "metric": metric,
                         "mean": mean, "ci_low": low, "ci_high": high, "n": len(table),
                         "share_won": ""})
        for s in STRATEGIES[1:]:
            diff = (table[s] - table[STRATEGIES[0]]).to_numpy()
            won = diff < 0 if metric in LOWER_IS_BETTER else diff > 0
            mean, low, high = _interval(diff)
            rows.append({"kind": "paired_difference", "strategy": s, "baseline": STRATEGIES[0],
                         "metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": len(diff), "share_won": float(won.mean())})
    return pd.DataFrame(rows)


def _equity(run) -> pd.DataFrame:
    """A run's equity table per its contract (lines and segments each summing to customer
    equity), made from the run's monthly and segment accounts so that these tests do not
    depend on how the engine attributes costs to segments."""
    monthly, discount = run.monthly, run.monthly["discount_factor"]
    lines = {"revenue": (monthly["revenue"] * discount).sum()}
    lines |= {c: -(monthly[c] * discount).sum() for c in monthly if c.endswith("_costs")}
    lines["residual_value"] = run.summary["residual_value"]
    seg = run.segments.merge(monthly[["month", "discount_factor"]], on="month")
    own = ((seg["revenue"] - seg["service_costs"]) * seg["discount_factor"]).groupby(
        seg["segment"].astype(str).replace({"value_seekers": ODD_SEGMENT})).sum()
    segments = {**own, "firm_wide": run.summary["customer_equity"] - own.sum()}
    return pd.DataFrame([{"kind": kind, "component": c, "value": float(v)}
                         for kind, parts in (("line", lines), ("segment", segments))
                         for c, v in parts.items()])


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A real results folder: both strategies × 3 replications of a shrunk headline scenario."""
    scenario = sim.load_scenario(ROOT / "scenarios" / "gsp_vs_segmented.yaml").override({
        "market.population": 2000, "market.initial_customers": 600,
        "simulation.horizon_months": HORIZON})
    folder = tmp_path_factory.mktemp("results")
    tables: dict[str, list[pd.DataFrame]] = {
        "summaries": [], "monthly": [], "segments": [], "cohorts": [], "equity": []}
    for strategy in STRATEGIES:
        for r in range(REPLICATIONS):
            run = sim.run(scenario, strategy=strategy, replication=r)
            keys = {"point": 0, "strategy": strategy, "replication": r}
            tables["summaries"].append(pd.DataFrame([{**keys, "seed": run.seed,
                                                      **run.summary}]))
            for name in ("monthly", "segments", "cohorts", "equity"):
                df = _equity(run) if name == "equity" else getattr(run, name)
                tables[name].append(df.assign(**keys)[[*keys, *df.columns]])
    for name, frames in tables.items():
        pd.concat(frames, ignore_index=True).to_parquet(folder / f"{name}.parquet",
                                                        index=False)
    summaries = pd.concat(tables["summaries"], ignore_index=True)
    _comparison(summaries).to_csv(folder / "comparison.csv", index=False)
    manifest = {
        "scenario_name": SCENARIO_NAME, "scenario_hash": "0123abcd" * 8,
        "seed": scenario.simulation.seed, "replications": REPLICATIONS,
        "strategies": STRATEGIES, "horizon_months": HORIZON, "command": COMMAND,
        "versions": {"cvm-sim": sim.__version__, "pandas": pd.__version__},
        "created": "2026-01-02T03:04:05+00:00", "scenario": scenario.to_dict(),
        # Not in the contract, written by sim.experiment: shown when set.
        "engine": "vectorized", "stopped_because": "",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def charts(results) -> dict[str, Path]:
    return write_charts(results)


@pytest.fixture(scope="module")
def report(results) -> str:
    return write_report(results).read_text(encoding="utf-8")


# --- the numbers behind the charts, on hand-made tables --------------------------------------


def _monthly(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["strategy", "replication", "month", "net_cash_flow",
                                       "discount_factor"])


def test_equity_paths_cumulate_discounted_net_cash_flow_per_run():
    # Rows deliberately out of order: the cumulation must follow the months of each run.
    monthly = _monthly([
        ("a", 1, 3, 40.0, 0.5), ("a", 0, 1, 100.0, 0.9), ("a", 0, 3, -10.0, 0.7),
        ("a", 1, 1, 200.0, 0.9), ("a", 0, 2, 50.0, 0.8), ("a", 1, 2, -20.0, 0.8),
        ("b", 0, 1, 10.0, 0.9),
    ])
    paths = equity_paths(monthly).set_index(["strategy", "replication", "month"])["equity"]
    assert paths[("a", 0, 1)] == pytest.approx(90.0)
    assert paths[("a", 0, 2)] == pytest.approx(90.0 + 40.0)
    assert paths[("a", 0, 3)] == pytest.approx(130.0 - 7.0)
    assert paths[("a", 1, 1)] == pytest.approx(180.0)
    assert paths[("a", 1, 2)] == pytest.approx(180.0 - 16.0)
    assert paths[("a", 1, 3)] == pytest.approx(164.0 + 20.0)
    assert paths[("b", 0, 1)] == pytest.approx(9.0)
    assert len(paths) == 7


def test_equity_fan_bands_are_quantiles_across_replications():
    paths = pd.DataFrame({"strategy": "a", "replication": [0, 1, 0, 1],
                          "month": [1, 1, 2, 2], "equity": [90.0, 180.0, 130.0, 164.0]})
    fan = equity_fan(paths).set_index("month")
    # Two replications: linear interpolation between the lower (x) and the upper (y).
    for month, x, y in ((1, 90.0, 180.0), (2, 130.0, 164.0)):
        for column, q in (("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75),
                          ("p95", 0.95)):
            assert fan.loc[month, column] == pytest.approx(x + q * (y - x)), (month, column)


def test_retention_curves_pool_replications_before_dividing():
    cohorts = pd.DataFrame({
        "strategy": "a", "replication": [0, 1, 0, 1, 0],
        "cohort": [0, 0, 0, 0, 1], "age_months": [1, 1, 2, 2, 1],
        "at_risk": [100, 50, 100, 40, 10], "retained": [90, 40, 80, 20, 5]})
    curves = retention_curves(cohorts).set_index(["cohort", "age_months"])
    assert curves.loc[(0, 1), "at_risk"] == 150
    assert curves.loc[(0, 1), "retained"] == 130
    assert curves.loc[(0, 1), "retention"] == pytest.approx(130 / 150)
    # Pooled (100 / 140), not the mean of the replications' ratios (0.65).
    assert curves.loc[(0, 2), "retention"] == pytest.approx(100 / 140)
    assert curves.loc[(1, 1), "retention"] == pytest.approx(0.5)


def test_stage_mix_is_the_mean_count_per_stage_and_month():
    stages = ["acquisition", "growth", "maturity", "decline"]
    monthly = pd.DataFrame({
        "strategy": "a", "replication": [0, 1, 0, 1], "month": [1, 1, 2, 2],
        "prospect": 999, "departed": 7,
        "acquisition": [10, 20, 5, 5], "growth": [1, 2, 3, 4], "maturity": [0, 0, 8, 9],
        "decline": [3, 3, 0, 1]})
    mix = stage_mix(monthly).set_index("month")
    assert list(mix.columns) == ["strategy", *stages]
    assert mix.loc[1, stages].tolist() == [15.0, 1.5, 0.0, 3.0]
    assert mix.loc[2, stages].tolist() == [5.0, 3.5, 8.5, 0.5]


def test_cost_to_serve_allocates_staffing_by_contacts_then_by_customers():
    monthly = pd.DataFrame({"strategy": "a", "replication": 0, "month": [1, 2],
                            "staffing_costs": [100.0, 60.0]})
    segments = pd.DataFrame({
        "strategy": "a", "replication": 0, "month": [1, 1, 2, 2],
        "segment": ["rich", "poor", "rich", "poor"],
        "customers": [10, 30, 10, 20], "contacts": [3, 1, 0, 0],
        "service_costs": [6.0, 2.0, 0.0, 0.0], "revenue": 0.0})
    cts = cost_to_serve_by_segment(monthly, segments).set_index("segment")
    # Month 1 by contacts: rich 3/4 and poor 1/4 of 100; month 2 has no contacts, so by
    # customers: rich 10/30 and poor 20/30 of 60.
    assert cts.loc["rich", "serve_costs"] == pytest.approx(6.0 + 75.0 + 20.0)
    assert cts.loc["poor", "serve_costs"] == pytest.approx(2.0 + 25.0 + 40.0)
    assert cts.loc["rich", "customer_months"] == 20
    assert cts.loc["poor", "customer_months"] == 50
    assert cts.loc["rich", "cost_to_serve"] == pytest.approx(101.0 / 20)
    assert cts.loc["poor", "cost_to_serve"] == pytest.approx(67.0 / 50)


def test_cost_to_serve_refuses_segments_without_their_month():
    monthly = pd.DataFrame({"strategy": "a", "replication": 0, "month": [1],
                            "staffing_costs": [100.0]})
    segments = pd.DataFrame({"strategy": "a", "replication": 0, "month": [1, 2],
                             "segment": "rich", "customers": 10, "contacts": 1,
                             "service_costs": 1.0})
    with pytest.raises(ValueError, match="monthly.parquet lacks"):
        cost_to_serve_by_segment(monthly, segments)


@pytest.mark.parametrize(("value", "signed", "text"), [
    (1234567.8, True, "+1,234,568"), (-26492014.4, True, "-26,492,014"),
    (27428716.0, False, "27,428,716"), (-0.026812, True, "-0.0268"), (0.0875, False, "0.0875"),
    (float("nan"), False, "–"),
])
def test_format_number(value, signed, text):
    assert format_number(value, signed) == text


def test_format_interval_and_share():
    assert format_interval(-1500.0, 2.5e6, signed=True) == "[-1,500, +2,500,000]"
    assert format_share(2 / 3) == "67 %"
    assert format_share(float("nan")) == "–"


@pytest.mark.parametrize(("low", "high", "says"), [
    (10.0, 30.0, "above zero: seg creates more customer equity than base"),
    (-30.0, -10.0, "below zero: seg creates less customer equity than base"),
    (-10.0, 30.0, "includes zero"),
])
def test_headline_reads_the_interval(low, high, says):
    comparison = pd.DataFrame([
        {"kind": "level", "strategy": "seg", "baseline": "", "metric": "customer_equity",
         "mean": 5.0, "ci_low": 1.0, "ci_high": 9.0, "n": 4, "share_won": float("nan")},
        {"kind": "paired_difference", "strategy": "seg", "baseline": "base",
         "metric": "clv_mean", "mean": 1.0, "ci_low": 0.5, "ci_high": 1.5, "n": 4,
         "share_won": 1.0},
        {"kind": "paired_difference", "strategy": "seg", "baseline": "base",
         "metric": "customer_equity", "mean": 20.0, "ci_low": low, "ci_high": high,
         "n": 4, "share_won": 0.75},
    ])
    [sentence] = headline_sentences(comparison)
    assert sentence.startswith(
        f"seg − base customer equity: +20.0000 (95 % CI {format_interval(low, high, True)}); "
        "seg wins in 75 % of 4 replications.")
    assert says in sentence


@pytest.mark.parametrize(("row", "text"), [
    ({"payback_month": 31.0, "payback_low": 24.0, "payback_high": 40.0, "horizon": 120},
     "payback: month 31 [24, 40]"),
    ({"payback_month": 31.0, "payback_low": 24.0, "payback_high": math.nan, "horizon": 120},
     "payback: month 31 [24, > 120]"),
    ({"payback_month": math.nan, "payback_low": 100.0, "payback_high": math.nan,
      "horizon": 120}, "no payback within the 120-month horizon"),
])
def test_format_payback(row, text):
    assert format_payback(row) == text


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    return fig, ax


def test_waterfall_bars_float_from_the_running_sum_and_total_from_zero():
    import matplotlib.pyplot as plt
    from matplotlib.container import ErrorbarContainer

    rows = pd.DataFrame({"component": ["revenue", "cost $x$", "residual", "total"],
                         "mean": [100.0, -30.0, -20.0, 50.0],
                         "ci_low": [90.0, -35.0, -21.0, 40.0],
                         "ci_high": [110.0, -25.0, -19.0, 60.0]})
    fig, ax = _axes()
    _waterfall(ax, rows)
    bars = [(p.get_y(), p.get_height()) for p in ax.patches]
    assert bars == [(0.0, 100.0), (100.0, -30.0), (70.0, -20.0), (0.0, 50.0)]
    # Whiskers at each bar's end: 100 ± 10, 70 ± 5, 50 ± 1, total 50 ± 10.
    [errorbar] = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    _, _, [whiskers] = errorbar.lines
    spans = [tuple(sorted(seg[:, 1])) for seg in whiskers.get_segments()]
    assert spans == [(90.0, 110.0), (65.0, 75.0), (49.0, 51.0), (40.0, 60.0)]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "revenue", "cost $x$", "residual", "total"]
    plt.close(fig)


def test_jcurve_marks_the_payback_month():
    import matplotlib.pyplot as plt

    curves = pd.DataFrame({"strategy": "seg", "month": [1, 2, 3], "mean": [-2.0, 1.0, 3.0],
                           "ci_low": [-3.0, -1.0, 2.0], "ci_high": [-1.0, 2.0, 4.0]})
    summary = pd.DataFrame([{"strategy": "seg", "baseline": "base", "payback_month": 2.0,
                             "payback_low": 2.0, "payback_high": 3.0, "horizon": 3}])
    fig, ax = _axes()
    _plot_payback([ax], curves, summary, ["base", "seg"])
    vertical = [line.get_xdata()[0] for line in ax.lines
                if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2]
    assert vertical == [2.0]
    assert "payback: month 2 [2, 3]" in ax.get_title()
    plt.close(fig)


# --- the real results folder ------------------------------------------------------------------


def test_equity_paths_end_at_each_runs_discounted_cash_flow(results):
    paths = equity_paths(pd.read_parquet(results / "monthly.parquet"))
    last = paths[paths["month"] == HORIZON].set_index(["strategy", "replication"])["equity"]
    summaries = pd.read_parquet(results / "summaries.parquet").set_index(
        ["strategy", "replication"])
    assert len(last) == len(STRATEGIES) * REPLICATIONS
    np.testing.assert_allclose(last.sort_index(),
                               summaries["discounted_cash_flow"].sort_index(), rtol=1e-12)


def test_cost_to_serve_of_one_run_agrees_with_its_summary(results):
    monthly = pd.read_parquet(results / "monthly.parquet")
    segments = pd.read_parquet(results / "segments.parquet")
    summaries = pd.read_parquet(results / "summaries.parquet")
    for (strategy, r), summary in summaries.groupby(["strategy", "replication"]):
        one = [df[(df["strategy"] == strategy) & (df["replication"] == r)]
               for df in (monthly, segments)]
        cts = cost_to_serve_by_segment(*one)
        assert len(cts) == 3
        # The segments' serving costs add up to the firm's, whatever the allocation.
        assert cts["serve_costs"].sum() == pytest.approx(
            (one[0]["service_costs"] + one[0]["staffing_costs"]).sum(), rel=1e-12)
        assert cts["serve_costs"].sum() / cts["customer_months"].sum() == pytest.approx(
            summary["cost_to_serve"].item(), rel=1e-12)


def test_every_chart_is_a_png_of_reasonable_size(results, charts):
    assert set(charts) == set(CHARTS)
    for name, path in charts.items():
        assert path == results / "charts" / f"{name}.png"
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, name
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert 800 <= width <= 3000 and 400 <= height <= 2000, (name, width, height)
        assert 10_000 < len(data) < 2_000_000, (name, len(data))


def test_report_is_self_contained(results, report):
    assert 'src="http' not in report and 'href="http' not in report
    assert "<script" not in report and "<link" not in report and "url(" not in report
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    assert len(images) == report.count("data:image/png;base64,") == len(CHARTS)
    on_disk = {p.read_bytes() for p in (results / "charts").glob("*.png")}
    assert {base64.b64decode(i) for i in images} == on_disk


def test_report_shows_strategies_facts_and_headline(results, report):
    summaries = pd.read_parquet(results / "summaries.parquet")
    equity = summaries.pivot(index="replication", columns="strategy", values="customer_equity")
    diff = equity["segmented"] - equity["gsp"]
    assert f"segmented − gsp customer equity: {diff.mean():+,.0f} (95 % CI [" in report
    assert f"segmented wins in {100 * (diff > 0).mean():.0f} % of 3 replications" in report
    for text in ("gsp", "segmented", "0123abcd" * 8, "24 months", "3 per strategy",
                 f"pandas {pd.__version__}", str(sim.load_scenario(
                     ROOT / "scenarios" / "gsp_vs_segmented.yaml").simulation.seed)):
        assert text in report, text
    row = pd.read_csv(results / "comparison.csv").query(
        "kind == 'paired_difference' and metric == 'clv_mean'").iloc[0]
    assert format_interval(row.ci_low, row.ci_high, signed=True) in report
    assert report.count("<figcaption>") == len(CHARTS)
    assert "<tr><th>engine</th><td>vectorized</td></tr>" in report
    assert "stopped because" not in report


def test_report_escapes_strings_from_the_data(report):
    assert "<script>" not in report
    assert "gsp_vs_segmented &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in report
    assert "&amp;&amp; echo &lt;done&gt;" in report
    assert "<seekers>" not in report
    assert "<td>value &lt;seekers&gt; $\\alpha_{x$</td>" in report


def test_report_shows_the_bridge_and_payback(results, report):
    summaries = pd.read_parquet(results / "summaries.parquet")
    wide = {m: summaries.pivot(index="replication", columns="strategy", values=m)
            for m in ("customer_equity", "discounted_cash_flow")}
    equity = wide["customer_equity"]["segmented"] - wide["customer_equity"]["gsp"]
    total = format_number(equity.mean(), signed=True)
    for kind in ("line", "segment"):
        assert (f"<td>segmented − gsp</td><td>by {kind}</td><td>total</td>"
                f'<td class="num">{total}</td>') in report
    # The J-curve ends at the mean difference in discounted cash flow: below zero there,
    # the strategy has not paid back within the horizon.
    cash = wide["discounted_cash_flow"]["segmented"] - wide["discounted_cash_flow"]["gsp"]
    paid_back = "payback: month " in report
    assert paid_back == (cash.mean() >= 0)
    assert paid_back or f"no payback within the {HORIZON}-month horizon" in report


def test_a_sweep_point_gets_its_own_files(results, tmp_path):
    folder = tmp_path / "sweep"
    shutil.copytree(results, folder, ignore=shutil.ignore_patterns("charts", "*.html"))
    for name in ("summaries", "monthly", "segments", "cohorts", "equity"):
        df = pd.read_parquet(folder / f"{name}.parquet")
        # Point 2 keeps only the baseline: its charts must not expect the other strategy.
        df[df["strategy"] == "gsp"].assign(point=2).to_parquet(folder / f"{name}.parquet")
    path = write_report(folder, point=2)
    assert path == folder / "report_point2.html"
    assert not (folder / "report.html").exists()
    assert sorted(p.name for p in (folder / "charts").iterdir()) == sorted(
        f"{name}_point2.png" for name in CHARTS)
    with pytest.raises(ValueError, match="no rows for point 0"):
        write_charts(folder, point=0)


def test_importing_the_module_does_not_import_pyplot():
    code = "import sys, sim.report; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_drawing_charts_leaves_the_callers_matplotlib_alone(results, tmp_path):
    """Charts are drawn to files without pyplot: a notebook that writes a report keeps its
    own backend and open figures, so its later charts still show."""
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    matplotlib.use("pdf")   # any backend other than the one charts are written with
    try:
        figure = plt.figure()
        write_charts(results)
        assert matplotlib.get_backend() == "pdf"
        assert plt.get_fignums() == [figure.number]
    finally:
        plt.close("all")
        matplotlib.use(before)
