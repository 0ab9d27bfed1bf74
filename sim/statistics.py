"""Statistics of an experiment: confidence intervals, the comparison of strategies, the
equity bridge and the payback of a strategy against the baseline.

Every difference is paired by replication (and sweep point): replication r of every
strategy meets the same customers and the same luck, so the paired difference measures the
strategies, not the noise. Intervals are 95 % Student-t intervals over the pairs. These
functions read tidy tables (``summaries.parquet``, ``equity.parquet``, ``monthly.parquet``)
and import nothing of the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .formatting import format_share
from .outcomes import MARKET_SHARE, SERVICE_LEVEL, compared

METRICS: dict[str, int] = compared(())
"""Metrics of the comparison table of a scenario without human channels, with the
direction that counts as better (see :func:`sim.outcomes.compared`)."""


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t confidence interval of the mean of ``values``."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def comparison(summaries: pd.DataFrame, strategies: list[str],
               metrics: dict[str, int] = METRICS) -> pd.DataFrame:
    """Mean and 95 % CI of each metric per strategy ("level" rows) and, against the first
    strategy, the paired difference per replication with its CI and the share of
    replications the strategy wins ("paired_difference" rows)."""
    rows = []
    by = {s: summaries[summaries["strategy"] == s].set_index("replication").sort_index()
          for s in strategies}
    baseline = strategies[0]
    for metric, better in metrics.items():
        for s in strategies:
            mean, low, high = t_interval(by[s][metric].to_numpy())
            rows.append({"kind": "level", "strategy": s, "baseline": "", "metric": metric,
                         "mean": mean, "ci_low": low, "ci_high": high, "n": len(by[s]),
                         "share_won": math.nan})
        for s in strategies[1:]:
            paired = by[s][metric].sub(by[baseline][metric]).dropna()
            mean, low, high = t_interval(paired.to_numpy())
            won = float(np.mean(np.sign(paired.to_numpy()) == better)) if len(paired) else 0.0
            rows.append({"kind": "paired_difference", "strategy": s, "baseline": baseline,
                         "metric": metric, "mean": mean, "ci_low": low, "ci_high": high,
                         "n": len(paired), "share_won": won})
    return pd.DataFrame(rows)


LADDER_METRICS: tuple[str, ...] = ("customer_equity", "churn_rate_annual")
"""Metrics of an attribution ladder."""


def ladder(summaries: pd.DataFrame, strategies: list[str],
           metrics: tuple[str, ...] = LADDER_METRICS) -> pd.DataFrame:
    """An attribution ladder: each strategy against the one before it in ``strategies``
    (each adds practices to its predecessor), paired by replication.

    Returns:
        One row per step and metric: ``strategy``, ``previous``, ``metric``, the paired
        difference's ``mean``, ``ci_low``, ``ci_high`` (the metric's unit) and ``n``, and
        ``share_of_gap``, the step's mean over the mean difference between the last and
        the first strategy (the steps' shares add up to 1; nan without a gap). What a step
        adds depends on what the steps before it already do: practices interact, so
        another order can attribute the gap differently.
    """
    rows = []
    by = {s: summaries[summaries["strategy"] == s].set_index(pair_keys(summaries))
          .sort_index() for s in strategies}
    for metric in metrics:
        gap = float(by[strategies[-1]][metric].sub(by[strategies[0]][metric]).mean())
        for previous, s in zip(strategies, strategies[1:], strict=False):
            paired = by[s][metric].sub(by[previous][metric]).dropna()
            mean, low, high = t_interval(paired.to_numpy())
            rows.append({"strategy": s, "previous": previous, "metric": metric,
                         "mean": mean, "ci_low": low, "ci_high": high, "n": len(paired),
                         "share_of_gap": mean / gap if gap else math.nan})
    return pd.DataFrame(rows, columns=["strategy", "previous", "metric", "mean", "ci_low",
                                       "ci_high", "n", "share_of_gap"])


def equity_half_widths(table: pd.DataFrame) -> dict[str, float]:
    """CI half-width of every paired customer-equity difference, by strategy."""
    diffs = table[(table["kind"] == "paired_difference")
                  & (table["metric"] == "customer_equity")]
    return {row.strategy: (row.ci_high - row.ci_low) / 2 for row in diffs.itertuples()}


# ------------------------------------------------- equity bridge and payback
BRIDGE_TOTAL = "total"
"""Component of a :func:`bridge` row holding a kind's whole paired equity difference."""
BRIDGE_OTHER = "other"
"""Component of a :func:`bridge` row lumping the components outside the ``top``."""


def pair_keys(table: pd.DataFrame) -> list[str]:
    """The columns that pair runs of different strategies: ``point`` (if present) and
    ``replication``."""
    return [c for c in ("point", "replication") if c in table.columns]


def paired_differences(table: pd.DataFrame, by: list[str], value: str,
                       strategies: list[str]) -> pd.DataFrame:
    """Each strategy's ``value`` minus the baseline's, row by row, paired by replication.

    Args:
        table: Tidy rows with ``strategy``, ``replication`` (and ``point``, if a sweep),
            the ``by`` columns and ``value``; one row per run and ``by`` value.
        by: Columns that identify a row within a run (e.g. ``["month"]``).
        value: The column to take differences of (units kept).
        strategies: Strategies in ``compare`` order; the first is the baseline.

    Returns:
        Columns ``strategy``, ``baseline``, the pairing keys of :func:`pair_keys`, ``by``
        and ``difference``, for each strategy after the first. Rows whose run lacks one of
        the two strategies are left out.
    """
    index = pair_keys(table) + by
    wide = table.pivot(index=index, columns="strategy", values=value)
    baseline = strategies[0]
    frames = [wide[s].sub(wide[baseline]).dropna().rename("difference").reset_index()
              .assign(strategy=s, baseline=baseline) for s in strategies[1:]]
    columns = ["strategy", "baseline", *index, "difference"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(
        columns=columns)


def intervals(differences: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, 95 % Student-t interval and count of ``difference`` per group of ``by``.

    Returns:
        Columns ``by``, ``mean``, ``ci_low``, ``ci_high`` (the units of ``difference``)
        and ``n`` (pairs), groups in order of first appearance.
    """
    rows = []
    for key, group in differences.groupby(by, sort=False):
        mean, low, high = t_interval(group["difference"].to_numpy())
        rows.append({**dict(zip(by, key, strict=True)), "mean": mean, "ci_low": low,
                     "ci_high": high, "n": len(group)})
    return pd.DataFrame(rows, columns=[*by, "mean", "ci_low", "ci_high", "n"])


def bridge(equity: pd.DataFrame, strategies: list[str], top: int | None = None,
           ) -> pd.DataFrame:
    """The equity bridge: how each strategy's paired customer-equity difference from the
    baseline splits into components.

    A component missing from a run (a cost line the strategy does not have, a segment
    without customers) counts as 0 in that run. Since a run's components of each kind sum
    to its customer equity, the components of each (strategy, kind) sum, pair by pair, to
    the paired customer-equity difference; the ``total`` row is that difference.

    Args:
        equity: Rows of ``equity.parquet``: ``strategy``, ``replication`` (and ``point``),
            ``kind`` ("line" or "segment"), ``component`` and ``value`` (currency,
            discounted to month 0).
        strategies: Strategies in ``compare`` order; the first is the baseline.
        top: If given, keep only the ``top`` components of each (strategy, kind) with the
            largest absolute mean difference and lump the others, pair by pair, into one
            ``other`` row (only if there are more than ``top``).

    Returns:
        Columns ``strategy``, ``baseline``, ``kind``, ``component``, ``mean``, ``ci_low``,
        ``ci_high`` (paired difference strategy − baseline, currency, with its 95 %
        Student-t interval) and ``n`` (pairs); strategies in ``compare`` order, kinds and
        components in their order in ``equity``, then ``other`` and ``total``.
    """
    keys = pair_keys(equity)
    diffs = paired_differences(_complete(equity, keys), ["kind", "component"], "value",
                               strategies)
    if top is not None:
        diffs = _lump(diffs, top)
    groups = ["strategy", "baseline", "kind"]
    totals = (diffs.groupby([*groups, *keys], sort=False)["difference"].sum().reset_index()
              .assign(component=BRIDGE_TOTAL))
    rows = intervals(pd.concat([diffs, totals], ignore_index=True), [*groups, "component"])
    rank = {"strategy": strategies, "kind": list(dict.fromkeys(equity["kind"])),
            "component": [*_merged_order(equity, keys), BRIDGE_OTHER, BRIDGE_TOTAL]}
    rank = {column: {name: i for i, name in enumerate(names)}
            for column, names in rank.items()}
    return rows.sort_values(["strategy", "kind", "component"], kind="stable",
                            key=lambda col: col.map(rank[col.name])).reset_index(drop=True)


def _complete(equity: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Every run of ``equity`` with every (kind, component) of any run, 0 where absent;
    names as plain strings (Parquet may hand them back as categories)."""
    equity = equity.astype({"strategy": str, "kind": str, "component": str})
    runs = equity[[*keys, "strategy"]].drop_duplicates()
    parts = equity[["kind", "component"]].drop_duplicates()
    on = [*keys, "strategy", "kind", "component"]
    return (runs.merge(parts, how="cross").merge(equity[[*on, "value"]], on=on, how="left")
            .fillna({"value": 0.0}))


def _merged_order(equity: pd.DataFrame, keys: list[str]) -> list[str]:
    """Components in the order the runs list them: one a run lacks goes right after the
    component it follows in the first run that has it."""
    order: list[str] = []
    runs = equity.groupby([*keys, "strategy"], sort=False, observed=True)["component"].agg(
        tuple)
    for sequence in runs.unique():
        previous = -1
        for component in sequence:
            if component not in order:
                order.insert(previous + 1, component)
            previous = order.index(component)
    return order


def _lump(diffs: pd.DataFrame, top: int) -> pd.DataFrame:
    """Rename to ``other`` the components of each (strategy, kind) beyond the ``top`` by
    absolute mean difference, if it has more than ``top``, and sum them pair by pair."""
    part = ["strategy", "kind", "component"]
    size = diffs.groupby(part, sort=False)["difference"].mean().abs()
    by_kind = size.groupby(level=["strategy", "kind"])
    keep = (by_kind.rank(ascending=False, method="first") <= top) | (
        by_kind.transform("size") <= top)
    kept = keep.reindex(pd.MultiIndex.from_frame(diffs[part])).to_numpy()
    lumped = diffs.assign(component=diffs["component"].where(kept, BRIDGE_OTHER))
    rest = [c for c in lumped.columns if c != "difference"]
    return lumped.groupby(rest, sort=False)["difference"].sum().reset_index()


def equity_paths(monthly: pd.DataFrame) -> pd.DataFrame:
    """Cumulative discounted net cash flow of each run, month by month.

    Args:
        monthly: Rows of ``monthly.parquet`` (``strategy``, ``replication``, ``month``,
            ``net_cash_flow``, ``discount_factor``, and ``point`` in a sweep).

    Returns:
        Columns ``point`` (if ``monthly`` has it), ``strategy``, ``replication``, ``month``
        and ``equity``: the sum of net_cash_flow × discount_factor over months 1..month
        (currency, discounted to month 0).
    """
    run = [c for c in ("point", "strategy", "replication") if c in monthly.columns]
    df = monthly[[*run, "month", "net_cash_flow", "discount_factor"]].sort_values(
        [*run, "month"])
    discounted = df["net_cash_flow"] * df["discount_factor"]
    out = df[[*run, "month"]].copy()
    out["equity"] = discounted.groupby([df[c] for c in run]).cumsum()
    return out.reset_index(drop=True)


def payback_month(months: np.ndarray, values: np.ndarray) -> float:
    """The first month from which ``values`` stay at or above 0 up to the last month.

    Args:
        months: Months in increasing order.
        values: A cumulative difference per month (NaN counts as below 0).

    Returns:
        That month, or NaN if the last value is below 0 (no payback within the months).
    """
    below = np.flatnonzero(~(np.asarray(values, dtype=float) >= 0))
    if len(below) == 0:
        return float(months[0])
    if below[-1] == len(months) - 1:
        return math.nan
    return float(months[below[-1] + 1])


def payback(monthly: pd.DataFrame, strategies: list[str],
            ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The J-curve and payback month of each strategy against the baseline.

    The J-curve is the cumulative discounted net cash flow of a strategy's run minus the
    baseline's, paired by replication, month by month. Its payback month is the first
    month from which the mean stays at or above 0 to the horizon; the interval runs from
    the month the upper 95 % bound does so to the month the lower bound does.

    Args:
        monthly: Rows of ``monthly.parquet`` (see :func:`equity_paths`).
        strategies: Strategies in ``compare`` order; the first is the baseline.

    Returns:
        ``(curves, summary)``. curves: ``strategy``, ``baseline``, ``month``, ``mean``,
        ``ci_low``, ``ci_high`` (currency, discounted to month 0) and ``n`` (pairs).
        summary: one row per strategy after the first with ``strategy``, ``baseline``,
        ``payback_month``, ``payback_low``, ``payback_high`` (months; NaN where never
        within the horizon) and ``horizon`` (the last month).
    """
    diffs = paired_differences(equity_paths(monthly), ["month"], "equity", strategies)
    rank = {s: i for i, s in enumerate(strategies)}
    diffs = diffs.sort_values(["strategy", "month"], kind="stable", key=lambda col: (
        col.map(rank) if col.name == "strategy" else col))
    curves = intervals(diffs, ["strategy", "baseline", "month"])
    horizon = int(monthly["month"].max())
    summary = [{"strategy": s, "baseline": b,
                "payback_month": payback_month(c["month"].to_numpy(), c["mean"].to_numpy()),
                "payback_low": payback_month(c["month"].to_numpy(), c["ci_high"].to_numpy()),
                "payback_high": payback_month(c["month"].to_numpy(), c["ci_low"].to_numpy()),
                "horizon": horizon}
               for (s, b), c in curves.groupby(["strategy", "baseline"], sort=False)]
    columns = ["strategy", "baseline", "payback_month", "payback_low", "payback_high",
               "horizon"]
    return curves, pd.DataFrame(summary, columns=columns)


STATEMENT_CASH = "discounted_cash_flow"
"""The statement's subtotal of revenue less every cost line (discounted)."""


def statement(equity: pd.DataFrame, summaries: pd.DataFrame, strategies: list[str],
              monthly: pd.DataFrame | None = None) -> pd.DataFrame:
    """What each strategy earned and spent: one row per item, one column per strategy, the
    mean over replications (and points).

    Items, in order: revenue and each cost line as rows of kind "line" of
    ``equity.parquet`` give them (discounted to month 0; costs negative), their sum
    ``discounted_cash_flow``, ``residual_value``, ``customer_equity`` (the sum of the two),
    then each human channel's ``service_level_<channel>`` of ``summaries.parquet`` and,
    given ``monthly`` (rows of ``monthly.parquet``), each segment's
    ``market_share_<segment>`` in the last month.
    """
    lines = equity[equity["kind"] == "line"]
    money = lines.pivot_table(index="component", columns="strategy", values="value",
                              aggfunc="mean", sort=False)
    money = money.reindex(columns=strategies)
    flows = money.drop(index="residual_value")
    rows = [flows, flows.sum().to_frame(STATEMENT_CASH).T,
            money.loc[["residual_value"]],
            (flows.sum() + money.loc["residual_value"]).to_frame("customer_equity").T]
    levels = [c for c in summaries.columns if c.startswith(SERVICE_LEVEL)]
    if levels:
        rows.append(summaries.groupby("strategy")[levels].mean().T.reindex(columns=strategies))
    shares = [] if monthly is None else [c for c in monthly.columns
                                         if c.startswith(MARKET_SHARE)]
    if shares:
        last = monthly[monthly["month"] == monthly["month"].max()]
        rows.append(last.groupby("strategy")[shares].mean().T.reindex(columns=strategies))
    out = pd.concat(rows)
    out.index.name = "item"
    return out


def offer_summary(offers: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
    """What each label is offered under each strategy: one row per label ("offer to
    <label>", the proposition) and, where some strategy makes cross-sell offers, one more
    ("cross-sell offer to <label>", the offer its campaigns make at the end, adopted after
    any test); one column per strategy. Where replications differ (the firm's research or
    test errs by luck) each choice comes with the number of replications that made it,
    most first."""
    columns = {"proposition": "offer to"}
    if offers.get("cross_sell_offer", pd.Series(dtype=object)).fillna("").ne("").any():
        columns["cross_sell_offer"] = "cross-sell offer to"
    out: dict[str, dict[str, str]] = {}
    for s in strategies:
        mine = offers[offers["strategy"] == s]
        cells = {}
        for column, item in columns.items():
            for label, rows in mine.groupby("label", sort=False):
                counts = rows[column].fillna("").value_counts(sort=True)
                cells[f"{item} {label}"] = (
                    (counts.index[0] or "none") if len(counts) == 1 else
                    ", ".join(f"{choice or 'none'} {n}" for choice, n in counts.items()))
        out[s] = cells
    return pd.DataFrame(out, columns=strategies)


def service_warnings(monthly: pd.DataFrame, strategies: list[str],
                     targets: dict[str, tuple[float, float]]) -> list[str]:
    """One line per strategy and human channel whose staff cannot carry the load: the share
    of contacts answered within target falls below the channel's target in most months
    (over every replication).

    Args:
        monthly: Rows of ``monthly.parquet``.
        strategies: Strategies to check, in order.
        targets: Per human channel, (share to answer in time, within seconds).
    """
    out = []
    for s in strategies:
        mine = monthly[monthly["strategy"] == s]
        for channel, (target, seconds) in targets.items():
            if f"contacts_{channel}" not in mine:   # a folder from before these records
                continue
            contacts = mine[f"contacts_{channel}"].to_numpy(dtype=float)
            answered = mine[f"answered_in_time_{channel}"].to_numpy(dtype=float)
            busy = contacts > 0
            below = np.mean(answered[busy] < target * contacts[busy]) if busy.any() else 0.0
            if below > 0.5:
                level = answered.sum() / contacts.sum()
                out.append(f"{s}: {channel} answered {format_share(level)} of contacts "
                           f"within {seconds:g} s against a target of {format_share(target)}, "
                           f"below it in {format_share(below)} of months: its staff cannot "
                           "carry the load")
    return out
