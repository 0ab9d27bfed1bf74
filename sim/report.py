"""Charts and a self-contained HTML report from an experiment's results folder.

The folder holds ``manifest.json``, ``summaries.parquet``, ``monthly.parquet``,
``segments.parquet``, ``cohorts.parquet``, ``equity.parquet`` (one row per run, run × month,
run × month × segment, run × cohort × age, run × equity component; every table keyed by
``point``, ``strategy``, ``replication``) and ``comparison.csv`` (levels and paired
differences with 95 % intervals).

:func:`write_charts` draws the PNGs, :func:`write_report` writes one HTML file that embeds
them. What each chart plots comes from a small pure function
(:func:`sim.experiment.equity_paths`, :func:`equity_fan`, :func:`retention_curves`,
:func:`stage_mix`, :func:`cost_to_serve_by_segment`, :func:`sim.experiment.bridge`,
:func:`sim.experiment.payback`) so that the numbers can be checked without the pictures.
Money is in the scenario's currency units throughout.

matplotlib is imported inside :func:`write_charts`, after selecting the Agg backend, so that
importing this module stays cheap and never needs a display. Names from the scenario
(strategies, segments, components) are shown as they are: escaped in HTML and never read as
mathtext by matplotlib.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .codes import STAGES
from .experiment import BRIDGE_TOTAL, bridge, equity_paths, payback
from .formatting import (  # noqa: F401
    format_interval,
    format_market,
    format_number,
    format_payback,
    format_share,
    statement_rows,
)
from .outcomes import outcomes_of
from .statistics import ladder, offer_summary, service_warnings, statement

CUSTOMER_STAGES = STAGES[1:5]
"""The stages of a current customer (acquisition .. decline), as counted in customer-months."""

FAN_QUANTILES = {"p05": 0.05, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p95": 0.95}
"""Column of :func:`equity_fan` → quantile across replications (90 % and 50 % bands, median)."""

CHARTS = {
    "equity_distribution": "Customer equity of each replication (dots), with its median and "
                           "quartiles (box) and mean (diamond). Customer equity is the "
                           "discounted net cash flow over the horizon plus the discounted "
                           "residual value of the customers alive at its end.",
    "equity_fan": "Cumulative discounted net cash flow month by month: the median "
                  "replication (line), the middle 50 % (dark band) and the middle 90 % "
                  "(light band) of replications. It ends at the discounted cash flow over "
                  "the horizon; customer equity adds the residual value of the customers "
                  "alive at the end.",
    "retention": "Share of an acquisition cohort still a customer, by months since "
                 "acquisition, pooled over replications. Year 0 are the customers the firm "
                 "starts with; year y those acquired or won back in year y of the horizon. "
                 "The last months of each curve rest on the few customers acquired early "
                 "in their year, so they are noisy.",
    "stage_mix": "Customers by lifecycle stage at each month's end, mean over replications "
                 "(prospects and departed customers not shown).",
    "cost_to_serve": "Cost to serve per customer-month by true segment: the segment's "
                     "contact costs plus the staffing costs allocated by its share of the "
                     "month's contacts, divided by its customer-months; pooled over months "
                     "and replications.",
    "equity_bridge": "Equity bridge: how each strategy's customer-equity difference from the "
                     "baseline (paired by replication, mean over replications) builds up, by "
                     "revenue and cost line (left) and by true segment (right; firm-wide "
                     "holds what no segment causes: staffing, overheads, budgets). Each bar "
                     "starts where the previous one ends; whiskers are 95 % intervals of "
                     "each component's difference; the last bar is the total difference.",
    "payback": "J-curve: cumulative discounted net cash flow of each strategy minus the "
               "baseline's, paired by replication (line: mean; band: 95 % interval). The "
               "dashed line marks the payback month, from which the mean stays at or "
               "above zero to the horizon.",
}
"""Every chart :func:`write_charts` draws (file stem) and its caption in the report."""

_RUN_KEYS = ["strategy", "replication"]


def equity_fan(paths: pd.DataFrame) -> pd.DataFrame:
    """The fan chart's bands: quantiles of the cumulative paths across replications.

    Args:
        paths: Output of :func:`equity_paths`.

    Returns:
        One row per (``strategy``, ``month``) with the columns of :data:`FAN_QUANTILES`
        (currency; linear interpolation between replications).
    """
    grouped = paths.groupby(["strategy", "month"])["equity"]
    out = pd.DataFrame({name: grouped.quantile(q) for name, q in FAN_QUANTILES.items()})
    return out.reset_index()


def retention_curves(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Retention by cohort and age, pooled over replications.

    Args:
        cohorts: Rows of ``cohorts.parquet`` (``strategy``, ``replication``, ``cohort``,
            ``age_months``, ``at_risk``, ``retained``), for one point.

    Returns:
        One row per (``strategy``, ``cohort``, ``age_months``): ``at_risk`` and ``retained``
        summed over replications (customers) and ``retention`` = retained / at_risk (share).
    """
    out = (cohorts.groupby(["strategy", "cohort", "age_months"])[["at_risk", "retained"]]
           .sum().reset_index())
    out["retention"] = out["retained"] / out["at_risk"]
    return out


def stage_mix(monthly: pd.DataFrame) -> pd.DataFrame:
    """Mean number of customers in each customer stage at each month's end.

    Args:
        monthly: Rows of ``monthly.parquet`` for one point.

    Returns:
        One row per (``strategy``, ``month``) with one column per stage of
        :data:`CUSTOMER_STAGES` (customers, mean over replications).
    """
    return monthly.groupby(["strategy", "month"])[list(CUSTOMER_STAGES)].mean().reset_index()


def cost_to_serve_by_segment(monthly: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Cost to serve per customer-month of each true segment, pooled over months and runs.

    A segment's serving cost in a month is its contact costs (``service_costs``) plus the
    month's ``staffing_costs`` × its share of the month's contacts. In a month without
    contacts the staffing is shared by customers instead, so that the segments' serving
    costs always add up to the firm's.

    Args:
        monthly: Rows of ``monthly.parquet`` (``strategy``, ``replication``, ``month``,
            ``staffing_costs``, ...), for one point.
        segments: Rows of ``segments.parquet`` (``strategy``, ``replication``, ``month``,
            ``segment``, ``customers``, ``contacts``, ``service_costs``), for one point.

    Returns:
        One row per (``strategy``, ``segment``): ``serve_costs`` (currency),
        ``customer_months`` and ``cost_to_serve`` = serve_costs / customer_months
        (currency per customer-month; NaN for a segment that never had a customer).

    Raises:
        ValueError: if a (run, month) of ``segments`` has no row in ``monthly``.
    """
    keys = _RUN_KEYS + ["month"]
    seg = segments[keys + ["segment", "customers", "contacts", "service_costs"]]
    staffing = seg[keys].merge(monthly[keys + ["staffing_costs"]], on=keys, how="left",
                               validate="many_to_one")["staffing_costs"].to_numpy()
    if np.isnan(staffing).any():
        raise ValueError("segments.parquet has months that monthly.parquet lacks")
    totals = seg.groupby(keys)[["contacts", "customers"]].transform("sum")
    contacts, customers = totals["contacts"].to_numpy(), totals["customers"].to_numpy()
    # np.maximum(…, 1) only keeps the unused branch of np.where from dividing by zero.
    share = np.where(contacts > 0, seg["contacts"].to_numpy() / np.maximum(contacts, 1),
                     seg["customers"].to_numpy() / np.maximum(customers, 1))
    pooled = pd.DataFrame({
        "strategy": seg["strategy"].to_numpy(),
        "segment": seg["segment"].to_numpy(),
        "serve_costs": seg["service_costs"].to_numpy() + staffing * share,
        "customer_months": seg["customers"].to_numpy(),
    }).groupby(["strategy", "segment"], sort=False, observed=True).sum().reset_index()
    pooled["cost_to_serve"] = pooled["serve_costs"] / pooled["customer_months"].where(
        pooled["customer_months"] > 0)
    return pooled


def write_charts(results_dir: Path, point: int = 0) -> dict[str, Path]:
    """Draw every chart of :data:`CHARTS` for one point of the results folder.

    Args:
        results_dir: The experiment's results folder.
        point: Which point of a sweep (0 for a plain comparison).

    Returns:
        Chart name → PNG path in ``results_dir/charts/`` (``NAME.png`` for point 0,
        ``NAME_pointN.png`` otherwise, so that the points of a sweep do not overwrite
        each other).

    Raises:
        ValueError: if the folder has no runs for ``point``.
    """
    import matplotlib
    from matplotlib.figure import Figure  # not pyplot: the caller's backend and figures stay

    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    summaries = _read(results_dir, "summaries", point)
    strategies = _present(manifest, summaries)
    monthly = _read(results_dir, "monthly", point)
    curves, paid = payback(monthly, strategies)
    draw = {
        "equity_distribution": lambda ax: _plot_distribution(ax[0], summaries, strategies),
        "equity_fan": lambda ax: _plot_fan(ax[0], equity_fan(equity_paths(monthly)),
                                           strategies),
        "retention": lambda ax: _plot_retention(
            ax[0], retention_curves(_read(results_dir, "cohorts", point)), strategies),
        "stage_mix": lambda ax: _plot_stage_mix(ax[0], stage_mix(monthly), strategies),
        "cost_to_serve": lambda ax: _plot_cost_to_serve(
            ax[0], cost_to_serve_by_segment(monthly, _read(results_dir, "segments", point)),
            strategies),
        "equity_bridge": lambda ax: _plot_bridge(
            ax, bridge(_read(results_dir, "equity", point), strategies), strategies),
        "payback": lambda ax: _plot_payback(ax[0], curves, paid, strategies),
    }
    others = max(len(strategies) - 1, 1)  # panels of the charts against the baseline
    grid = {"retention": (1, len(strategies)), "stage_mix": (1, len(strategies)),
            "equity_bridge": (others, 2), "payback": (1, others)}
    """(rows, columns) of panels of each chart with more than one."""
    out_dir = results_dir / "charts"
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "" if point == 0 else f"_point{point}"
    paths = {}
    # Names from the scenario are text, not mathtext: a "$" in one must show as a "$".
    with matplotlib.rc_context({"text.parse_math": False}):
        for name in CHARTS:
            rows, columns = grid.get(name, (1, 1))
            fig = Figure(figsize=(max(8.0, 4.5 * columns), 4.8 * rows), layout="constrained")
            axes = fig.subplots(rows, columns, sharey=name != "equity_bridge", squeeze=False)
            draw[name](axes)
            paths[name] = out_dir / f"{name}{suffix}.png"
            fig.savefig(paths[name], dpi=110)
    return paths


def write_report(results_dir: Path, point: int = 0) -> Path:
    """Write one self-contained HTML report for one point of the results folder.

    The report shows the scenario, the run facts of ``manifest.json``, the comparison table
    of ``comparison.csv``, a plain-words reading of the customer-equity differences and the
    charts of :func:`write_charts` (drawn afresh and embedded as base64 PNGs). It links to
    nothing outside itself.

    Args:
        results_dir: The experiment's results folder.
        point: Which point of a sweep (0 for a plain comparison).

    Returns:
        The path of the report: ``results_dir/report.html`` for point 0,
        ``results_dir/report_pointN.html`` otherwise.
    """
    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    charts = write_charts(results_dir, point)
    # Only empty cells are missing: a strategy named "NA" or "null" stays a name.
    comparison = pd.read_csv(results_dir / "comparison.csv", keep_default_na=False,
                             na_values={c: [""] for c in ("mean", "ci_low", "ci_high", "n",
                                                          "share_won")})
    # comparison.csv may cover several points of a sweep; without a point column it is
    # taken to describe this one.
    if "point" in comparison.columns:
        comparison = comparison[comparison["point"] == point]
    strategies = _present(manifest, _read(results_dir, "summaries", point))
    bridged = bridge(_read(results_dir, "equity", point), strategies)
    monthly = _read(results_dir, "monthly", point)
    _, paid = payback(monthly, strategies)
    scenario = _scenario(manifest)
    targets = scenario.service_targets if scenario is not None else {}
    did = _statement_table(statement_rows(
        statement(_read(results_dir, "equity", point), _read(results_dir, "summaries", point),
                  strategies, monthly),
        offer_summary(_read_optional(results_dir, "offers", point), strategies), strategies,
        targets),
        strategies)
    warnings = "".join(f'<p class="warning">{_e(w)}</p>'
                       for w in service_warnings(monthly, strategies, targets))
    known = outcomes_of(scenario.human_channels if scenario is not None else ())
    title = str(manifest["scenario_name"]) + ("" if point == 0 else f", point {point}")
    description = manifest.get("scenario", {}).get("description") or ""
    figures = "\n".join(
        f'<figure><img src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode("ascii")}" '
        f'alt="{_e(name.replace("_", " "))}"><figcaption>{_e(CHARTS[name])}</figcaption>'
        f"</figure>" for name, path in charts.items())
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(title)} – CVM-Sim report</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<p class="description">{_e(description)}</p>
<h2>Run facts</h2>
{_facts_table(manifest, scenario)}
<h2>Headline</h2>
{_headline(comparison)}
{warnings}
<h2>Comparison</h2>
{_comparison_table(comparison, known)}
<p class="note">Mean over replications; 95 % CI as [low, high]; for a difference, share won
is the share of replications in which the strategy beats the baseline.</p>
{_ladder_section(scenario, _read(results_dir, "summaries", point), strategies)}
<h2>What each strategy did</h2>
{did}
<p class="note">Means over replications. The offer each label (the firm's reading of a
customer's segment) gets; where the firm's market research led replications to different
offers, each with its count of replications. Revenue and every cost line are discounted
to month 0 and add up to the discounted cash flow; with the residual value of the
customers alive at the end they make the customer equity. Service levels are the share of
the horizon's contacts answered within the channel's target time.</p>
<h2>Equity bridge</h2>
{_bridge_table(bridged)}
<p class="note">Each strategy's customer-equity difference from the baseline, paired by
replication, split by revenue and cost line and by true segment (currency, discounted to
month 0). The components of each split add up to the total.</p>
<h2>Payback</h2>
{_payback_table(paid)}
<p class="note">The payback month is the first from which the strategy's cumulative
discounted net cash flow stays ahead of the baseline's (mean over replications) until the
horizon; its interval runs from the month the upper 95 % bound does so to the month the
lower bound does (&gt; horizon: not within the horizon).</p>
<h2>Charts</h2>
{figures}
<details><summary>Resolved scenario</summary>
<pre>{_e(json.dumps(manifest.get("scenario", {}), indent=2, ensure_ascii=False))}</pre>
</details>
</body>
</html>
"""
    out = results_dir / ("report.html" if point == 0 else f"report_point{point}.html")
    out.write_text(page, encoding="utf-8")
    return out


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.description, .note { color: #555; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #f5f5f5; }
code { font-size: 0.9em; word-break: break-all; }
.headline { font-size: 1.1em; }
figure { margin: 1.5em 0; } img { max-width: 100%; height: auto; }
.warning { background: #fff4e5; border-left: 4px solid #e8a33d; padding: 0.4em 0.8em; }
figcaption { color: #444; font-size: 0.95em; max-width: 900px; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
"""


def _e(value: object) -> str:
    """HTML-escaped text of any value from the data (quotes included, for attributes)."""
    return html.escape(str(value), quote=True)


def _present(manifest: dict, summaries: pd.DataFrame) -> list[str]:
    """The manifest's strategies that have runs in ``summaries``, baseline first."""
    present = set(summaries["strategy"])
    return [s for s in manifest["strategies"] if s in present]


def _read(results_dir: Path, table: str, point: int) -> pd.DataFrame:
    """One Parquet table of the folder, only the rows of ``point``, without that column."""
    df = pd.read_parquet(results_dir / f"{table}.parquet", filters=[("point", "==", point)])
    if df.empty:
        raise ValueError(f"{results_dir / table}.parquet: no rows for point {point}")
    return df.drop(columns="point")


def _read_optional(results_dir: Path, table: str, point: int) -> pd.DataFrame:
    """Like :func:`_read`, but an empty table where the folder predates it."""
    try:
        return _read(results_dir, table, point)
    except FileNotFoundError:
        return pd.DataFrame(columns=["strategy", "replication", "label",
                                     "proposition"])


def _facts_table(manifest: dict, scenario=None) -> str:
    """The manifest's run facts (and the market of ``scenario``) as an HTML table."""
    versions = ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("versions", {}).items()))
    rows = [("market", format_market(scenario.market))] if scenario is not None else []
    rows += [
        ("strategies", " vs ".join(manifest["strategies"]) + " (first is the baseline)"),
        ("replications", f"{manifest['replications']:,} per strategy"),
        ("horizon", f"{manifest['horizon_months']:,} months"),
        ("seed", manifest["seed"]),
        ("scenario hash", manifest["scenario_hash"]),
        ("command", manifest["command"]),
        ("versions", versions),
        ("created", manifest["created"]),
    ]
    # Written by sim.experiment though not part of the folder contract: shown when present.
    rows += [(key.replace("_", " "), manifest[key]) for key in ("engine", "stopped_because")
             if manifest.get(key)]
    body = "\n".join(f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>"
                     if k in ("scenario hash", "command") else
                     f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>\n{body}\n</table>"


def _scenario(manifest: dict):
    """The scenario the folder ran (for its channels' targets), or None if the manifest's
    copy cannot be read as one (an older or edited folder)."""
    from .errors import InputError
    from .scenario import load_scenario

    try:
        return load_scenario(manifest.get("scenario") or {})
    except (InputError, TypeError, ValueError):
        return None


def _statement_table(rows: list[tuple[str, list[str]]], strategies: list[str]) -> str:
    """:func:`sim.formatting.statement_rows` as an HTML table."""
    head = "<tr><th></th>" + "".join(f"<th>{_e(s)}</th>" for s in strategies) + "</tr>"
    body = [f"<tr><td>{_e(name)}</td>"
            + "".join(f'<td class="num">{_e(v)}</td>' for v in values) + "</tr>"
            for name, values in rows]
    return "<table>\n" + head + "\n" + "\n".join(body) + "\n</table>"


def _comparison_table(comparison: pd.DataFrame, known: dict) -> str:
    """comparison.csv as an HTML table; differences signed, shares as percentages;
    ``known`` describes the metrics (:func:`sim.outcomes.outcomes_of`)."""
    head = ("<tr><th>metric</th><th>strategy</th><th>mean</th><th>95 % CI</th>"
            "<th>replications</th><th>share won</th></tr>")
    rows = []
    for r in comparison.itertuples(index=False):
        diff = r.kind == "paired_difference"
        who = f"{r.strategy} − {r.baseline}" if diff else r.strategy
        meaning = known[r.metric].description if r.metric in known else ""
        rows.append(
            f'<tr><td title="{_e(meaning)}">{_e(r.metric)}</td><td>{_e(who)}</td>'
            f'<td class="num">{_e(format_number(r.mean, diff))}</td>'
            f'<td class="num">{_e(format_interval(r.ci_low, r.ci_high, diff))}</td>'
            f'<td class="num">{r.n:,.0f}</td>'
            f'<td class="num">{_e(format_share(r.share_won) if diff else "")}</td></tr>')
    return "<table>\n" + head + "\n" + "\n".join(rows) + "\n</table>"


def _bridge_table(table: pd.DataFrame) -> str:
    """:func:`sim.experiment.bridge` as an HTML table; differences signed."""
    head = ("<tr><th>strategy</th><th>split</th><th>component</th><th>mean difference</th>"
            "<th>95 % CI</th><th>replications</th></tr>")
    rows = [f"<tr><td>{_e(f'{r.strategy} − {r.baseline}')}</td>"
            f"<td>by {_e(r.kind)}</td>"
            f"<td>{_e(r.component)}</td>"
            f'<td class="num">{_e(format_number(r.mean, signed=True))}</td>'
            f'<td class="num">{_e(format_interval(r.ci_low, r.ci_high, signed=True))}</td>'
            f'<td class="num">{r.n:,.0f}</td></tr>' for r in table.itertuples(index=False)]
    return "<table>\n" + head + "\n" + "\n".join(rows) + "\n</table>"


def _ladder_section(scenario, summaries: pd.DataFrame, strategies: list[str]) -> str:
    """The attribution ladder (:func:`sim.statistics.ladder`) as an HTML section, or ""
    unless the scenario's ``ladder`` is on."""
    if scenario is None or not scenario.ladder:
        return ""
    head = ("<tr><th>metric</th><th>step</th><th>mean difference</th><th>95 % CI</th>"
            "<th>share of the gap</th></tr>")
    rows = [f"<tr><td>{_e(r.metric)}</td><td>{_e(f'{r.strategy} − {r.previous}')}</td>"
            f'<td class="num">{_e(format_number(r.mean, signed=True))}</td>'
            f'<td class="num">{_e(format_interval(r.ci_low, r.ci_high, signed=True))}</td>'
            f'<td class="num">{_e(_share_or_blank(r.share_of_gap))}</td></tr>'
            for r in ladder(summaries, strategies).itertuples(index=False)]
    return ("<h2>Attribution ladder</h2>\n<table>\n" + head + "\n" + "\n".join(rows)
            + "\n</table>\n<p class=\"note\">Each step adds practices to the step before "
            "it; its difference is paired by replication against that step, and its share is "
            "of the whole gap between the last strategy and the first. Practices interact: "
            "another order of steps can attribute the gap differently.</p>")


def _share_or_blank(share: float) -> str:
    return "" if np.isnan(share) else format_share(share)


def _payback_table(summary: pd.DataFrame) -> str:
    """The summary of :func:`sim.experiment.payback` as an HTML table."""
    head = "<tr><th>strategy</th><th>payback month [95 % CI]</th><th>horizon</th></tr>"
    rows = [f"<tr><td>{_e(f'{r.strategy} − {r.baseline}')}</td>"
            f"<td>{_e(format_payback(r._asdict()))}</td>"
            f'<td class="num">{r.horizon:,.0f} months</td></tr>'
            for r in summary.itertuples(index=False)]
    return "<table>\n" + head + "\n" + "\n".join(rows) + "\n</table>"


def headline_sentences(comparison: pd.DataFrame) -> list[str]:
    """Each paired difference in customer equity of ``comparison.csv`` in plain words.

    Args:
        comparison: The rows of ``comparison.csv``.

    Returns:
        One text per difference row: the difference with its 95 % interval and share of
        replications won, then what the interval says (ahead, behind or not told apart).
    """
    rows = comparison[(comparison["kind"] == "paired_difference")
                      & (comparison["metric"] == "customer_equity")]
    out = []
    for r in rows.itertuples(index=False):
        fact = (f"{r.strategy} − {r.baseline} customer equity: "
                f"{format_number(r.mean, signed=True)} "
                f"(95 % CI {format_interval(r.ci_low, r.ci_high, signed=True)}); "
                f"{r.strategy} wins in {format_share(r.share_won)} of {r.n:,.0f} replications.")
        if r.ci_low > 0:
            reading = (f"The whole interval lies above zero: {r.strategy} creates more "
                       f"customer equity than {r.baseline}.")
        elif r.ci_high < 0:
            reading = (f"The whole interval lies below zero: {r.strategy} creates less "
                       f"customer equity than {r.baseline}.")
        else:
            reading = ("The interval includes zero: these replications do not tell the two "
                       "strategies apart on customer equity.")
        out.append(f"{fact} {reading}")
    return out


def _headline(comparison: pd.DataFrame) -> str:
    """The :func:`headline_sentences` as HTML paragraphs."""
    sentences = headline_sentences(comparison)
    if not sentences:
        return "<p>No paired difference in customer equity in comparison.csv.</p>"
    return "\n".join(f'<p class="headline">{_e(s)}</p>' for s in sentences)


def _colours(strategies: list[str]) -> dict[str, tuple]:
    """One colour per strategy, the same in every chart."""
    import matplotlib

    cycle = matplotlib.colormaps["tab10"]
    return {s: cycle(i % 10) for i, s in enumerate(strategies)}


def _money_axis(axis) -> None:
    """Tick labels like 1.5 M, 250 k, -3 M (currency units)."""
    from matplotlib.ticker import FuncFormatter

    def compact(value, _pos):
        for size, unit in ((1e9, " bn"), (1e6, " M"), (1e3, " k")):
            if abs(value) >= size:
                return f"{value / size:,.4g}{unit}"
        return f"{value:,.4g}"

    axis.set_major_formatter(FuncFormatter(compact))


def _plot_distribution(axes, summaries: pd.DataFrame, strategies: list[str]) -> None:
    """Box and dots of customer equity (currency) per strategy."""
    ax, colours = axes[0], _colours(strategies)
    values = [summaries.loc[summaries["strategy"] == s, "customer_equity"].to_numpy()
              for s in strategies]
    ax.boxplot(values, showmeans=True, widths=0.5, showfliers=False,
               meanprops={"marker": "D", "markerfacecolor": "black", "markeredgecolor": "black"},
               medianprops={"color": "black"})
    for i, (s, v) in enumerate(zip(strategies, values, strict=True), start=1):
        # Evenly spread, not random, offsets: the chart is the same on every drawing.
        offsets = np.linspace(-0.18, 0.18, len(v)) if len(v) > 1 else np.zeros(1)
        ax.scatter(i + offsets, np.sort(v), s=14, alpha=0.55, color=colours[s], zorder=3)
        ax.annotate(f"mean {v.mean():,.0f}", (i + 0.3, v.mean()), va="center",
                    fontsize="small")
    ax.set_xticks(np.arange(1, len(strategies) + 1), strategies)
    if min(v.min() for v in values) < 0 < max(v.max() for v in values):
        ax.axhline(0, color="grey", linewidth=0.8)
    n = max(len(v) for v in values)
    ax.set_title(f"Customer equity by strategy ({n:,} replications each)")
    ax.set_xlabel("strategy")
    ax.set_ylabel("customer equity (currency units)")
    _money_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)


def _plot_fan(axes, fan: pd.DataFrame, strategies: list[str]) -> None:
    """Median line and 50 %/90 % bands of :func:`equity_fan` (currency) per strategy."""
    ax, colours = axes[0], _colours(strategies)
    for s in strategies:
        f = fan[fan["strategy"] == s]
        c = colours[s]
        ax.fill_between(f["month"], f["p05"], f["p95"], color=c, alpha=0.15, linewidth=0)
        ax.fill_between(f["month"], f["p25"], f["p75"], color=c, alpha=0.35, linewidth=0)
        ax.plot(f["month"], f["p50"], color=c, linewidth=2, label=f"{s}: median")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_title("Cumulative discounted net cash flow (median, 50 % and 90 % bands)")
    ax.set_xlabel("month")
    ax.set_ylabel("discounted to month 0 (currency units)")
    _money_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    ax.legend(title="bands: 50 % dark, 90 % light", loc="best")


def _plot_retention(axes, curves: pd.DataFrame, strategies: list[str]) -> None:
    """One panel per strategy, one line per cohort of :func:`retention_curves` (share)."""
    import matplotlib
    from matplotlib.ticker import PercentFormatter

    cohorts = sorted(curves["cohort"].unique())
    shades = matplotlib.colormaps["viridis"]
    for ax, s in zip(axes, strategies, strict=True):
        for i, y in enumerate(cohorts):
            c = curves[(curves["strategy"] == s) & (curves["cohort"] == y)]
            if not c.empty:
                label = "initial customers" if y == 0 else f"acquired in year {y}"
                ax.plot(c["age_months"], c["retention"], label=label,
                        color=shades(i / max(len(cohorts) - 1, 1)))
        ax.set_title(f"Retention by cohort: {s}")
        ax.set_xlabel("months since acquisition")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of cohort still a customer")
    axes[-1].legend(title="cohort", loc="upper left", bbox_to_anchor=(1.02, 1),
                    fontsize="small")


def _plot_stage_mix(axes, mix: pd.DataFrame, strategies: list[str]) -> None:
    """One panel per strategy: :func:`stage_mix` stacked (customers)."""
    from matplotlib.ticker import StrMethodFormatter

    for ax, s in zip(axes, strategies, strict=True):
        m = mix[mix["strategy"] == s]
        ax.stackplot(m["month"], *(m[stage] for stage in CUSTOMER_STAGES),
                     labels=CUSTOMER_STAGES, alpha=0.85)
        ax.set_title(f"Customers by stage: {s}")
        ax.set_xlabel("month")
        ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("customers (mean over replications)")
    # Reversed, so that the legend lists the stages in the order they are stacked.
    axes[-1].legend(title="stage", loc="upper left", bbox_to_anchor=(1.02, 1),
                    fontsize="small", reverse=True)


def _plot_cost_to_serve(axes, cts: pd.DataFrame, strategies: list[str]) -> None:
    """Bars of :func:`cost_to_serve_by_segment` (currency per customer-month)."""
    ax, colours = axes[0], _colours(strategies)
    segments = list(pd.unique(cts["segment"]))
    width = 0.8 / len(strategies)
    x = np.arange(len(segments))
    for i, s in enumerate(strategies):
        per = cts[cts["strategy"] == s].set_index("segment")["cost_to_serve"].reindex(segments)
        bars = ax.bar(x + (i - (len(strategies) - 1) / 2) * width, per.to_numpy(), width,
                      label=s, color=colours[s])
        ax.bar_label(bars, fmt="{:,.2f}", fontsize="small", padding=2)
    ax.set_xticks(x, [str(s) for s in segments])
    ax.set_title("Cost to serve by segment (contacts + allocated staffing)")
    ax.set_xlabel("true segment")
    ax.set_ylabel("currency units per customer-month")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="strategy")


_NOTHING_TO_COMPARE = "only the baseline ran: nothing to compare it with"


def _plot_bridge(axes, table: pd.DataFrame, strategies: list[str]) -> None:
    """One row of panels per strategy against the baseline: the :func:`bridge` waterfall
    by line (left) and by segment (right), currency discounted to month 0."""
    if len(strategies) < 2:
        axes[0, 0].text(0.5, 0.5, _NOTHING_TO_COMPARE, ha="center", transform=axes[0, 0].transAxes)
        return
    titles = {"line": "by revenue and cost line", "segment": "by true segment"}
    for row, s in zip(axes, strategies[1:], strict=True):
        for ax, kind in zip(row, titles, strict=True):
            rows = table[(table["strategy"] == s) & (table["kind"] == kind)]
            _waterfall(ax, rows)
            ax.set_title(f"{s} − {strategies[0]}, {titles[kind]}")
            ax.set_ylabel("difference in customer equity (currency units)")


def _waterfall(ax, rows: pd.DataFrame) -> None:
    """Floating bars of the components of one (strategy, kind) of :func:`bridge`, each from
    the running sum, with 95 % whiskers at its end; then the total from zero."""
    parts = rows[rows["component"] != BRIDGE_TOTAL]
    total = rows[rows["component"] == BRIDGE_TOTAL]
    mean = parts["mean"].to_numpy()
    ends = np.cumsum(mean)
    starts = ends - mean
    x = np.arange(len(parts) + 1)
    ax.bar(x[:-1], mean, bottom=starts, width=0.7,
           color=np.where(mean >= 0, "tab:green", "tab:red"))
    ax.bar(x[-1:], total["mean"].to_numpy(), width=0.7, color="tab:grey")
    centres = np.append(ends, total["mean"].to_numpy())
    means = pd.concat([parts, total])
    # A whisker of no length where an interval is unknown (a single replication).
    below = np.nan_to_num((means["mean"] - means["ci_low"]).to_numpy())
    above = np.nan_to_num((means["ci_high"] - means["mean"]).to_numpy())
    ax.errorbar(x, centres, yerr=[below, above], fmt="none", ecolor="black", capsize=3,
                linewidth=1)
    ax.hlines(ends[:-1], x[:-2] + 0.35, x[1:-1] - 0.35, color="grey", linewidth=0.8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, [*map(str, parts["component"]), "total"], rotation=35, ha="right")
    ax.use_sticky_edges = False  # a margin below the lowest bar too
    _money_axis(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)


def _plot_payback(axes, curves: pd.DataFrame, summary: pd.DataFrame,
                  strategies: list[str]) -> None:
    """One panel per strategy against the baseline: the J-curve of :func:`payback` with
    its 95 % band, zero line and payback month (currency discounted to month 0)."""
    if len(strategies) < 2:
        axes[0].text(0.5, 0.5, _NOTHING_TO_COMPARE, ha="center", transform=axes[0].transAxes)
        return
    colours = _colours(strategies)
    for ax, s in zip(axes, strategies[1:], strict=True):
        c = curves[curves["strategy"] == s]
        ax.fill_between(c["month"], c["ci_low"], c["ci_high"], color=colours[s], alpha=0.25,
                        linewidth=0, label="95 % interval")
        ax.plot(c["month"], c["mean"], color=colours[s], linewidth=2, label="mean")
        ax.axhline(0, color="grey", linewidth=0.8)
        paid = summary[summary["strategy"] == s].iloc[0]
        if not math.isnan(paid["payback_month"]):
            ax.axvline(paid["payback_month"], color="black", linestyle="--", linewidth=1,
                       label=format_payback(paid))
        ax.set_title(f"J-curve: {s} − {strategies[0]}\n{format_payback(paid)}")
        ax.set_xlabel("month")
        _money_axis(ax.yaxis)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[0].set_ylabel("cumulative discounted net cash flow difference (currency units)")
