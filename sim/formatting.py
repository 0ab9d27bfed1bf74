"""Numbers for people: the formatting that the console, the report and the sweep summaries
share. Plain functions of numbers; no imports from the rest of the package."""

from __future__ import annotations

import math

from .outcomes import MARKET_SHARE, SERVICE_LEVEL


def format_number(value: float, signed: bool = False) -> str:
    """A number for people: thousands separators; no decimals from 100 up, else 4.

    ``signed`` puts a + before positive numbers (for differences). NaN gives "–".
    """
    if math.isnan(value):
        return "–"
    sign = "+" if signed else ""
    return f"{value:{sign},.0f}" if abs(value) >= 100 else f"{value:{sign},.4f}"


def format_interval(low: float, high: float, signed: bool = False) -> str:
    """A 95 % interval as ``[low, high]`` with :func:`format_number`."""
    return f"[{format_number(low, signed)}, {format_number(high, signed)}]"


def format_share(share: float) -> str:
    """A share (0..1) as a whole percentage, e.g. ``67 %``; NaN gives "–"."""
    return "–" if math.isnan(share) else f"{100 * share:.0f} %"


def format_market(market) -> str:
    """A scenario's ``market`` in the client's units, e.g. ``a market of 600,000 people
    (200,000 of them customers at the start), simulated as 60,000 agents of 10 people
    each``."""
    text = (f"a market of {market.population:,} people ({market.initial_customers:,} of "
            "them customers at the start)")
    if market.customers_per_agent > 1:
        text += (f", simulated as {market.agents:,} agents of "
                 f"{market.customers_per_agent:,} people each")
    return text


def format_payback(row) -> str:
    """A row of :func:`sim.experiment.payback`'s summary in words.

    Returns:
        ``payback: month 31 [24, 40]`` (the month and its 95 % interval; a bound not reached
        within the horizon shows as ``> HORIZON``), or ``no payback within the 120-month
        horizon``.
    """
    horizon = row["horizon"]
    if math.isnan(row["payback_month"]):
        return f"no payback within the {horizon:,.0f}-month horizon"
    low, high = (f"> {horizon:,.0f}" if math.isnan(v) else f"{v:,.0f}"
                 for v in (row["payback_low"], row["payback_high"]))
    return f"payback: month {row['payback_month']:,.0f} [{low}, {high}]"


def statement_rows(statement, offers, strategies: list[str],
                   targets: dict[str, tuple[float, float]]) -> list[tuple[str, list[str]]]:
    """What each strategy did, as (item, one text per strategy) rows: the offers to each
    label, then revenue, every cost line some strategy incurs (a lever none of them uses
    would only add rows of zeros), the discounted cash flow, residual value and customer
    equity (whole currency), then each human channel's service level against its target
    and each segment's market share at the end, where the statement has them.

    Args:
        statement: :func:`sim.statistics.statement` (items × strategies).
        offers: :func:`sim.statistics.offer_summary` (items × strategies).
        strategies: Strategies in ``compare`` order.
        targets: Per human channel, (share to answer in time, within seconds).
    """
    rows = [(item, [str(offers.at[item, s]) for s in strategies]) for item in offers.index]
    for item in statement.index:
        values = statement.loc[item, strategies]
        if item.endswith("_costs") and not values.any():
            continue
        channel = item.removeprefix(SERVICE_LEVEL)
        if item.startswith(SERVICE_LEVEL):
            name = item
            if channel in targets:
                target, seconds = targets[channel]
                name = (f"{channel} answered within {seconds:g} s (target "
                        f"{format_share(target)})")
            rows.append((name, [f"{100 * v:.1f} %" for v in values]))
        elif item.startswith(MARKET_SHARE):
            rows.append((f"market share of {item.removeprefix(MARKET_SHARE)} at the end",
                         [f"{100 * v:.1f} %" for v in values]))
        else:
            rows.append((item, [f"{v:,.0f}" for v in values]))
    return rows
