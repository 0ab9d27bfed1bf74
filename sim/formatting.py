"""Numbers for people: the formatting that the console, the report and the sweep summaries
share. Plain functions of numbers; no imports from the rest of the package."""

from __future__ import annotations

import math


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
