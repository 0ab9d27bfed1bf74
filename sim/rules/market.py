"""The open market: people who are not customers leave the market and newcomers take
their place, and departed customers who were not won back become prospects again.

Entries equal exits within each segment, so the market keeps its size and its segment
mix while its people turn over (a newcomer is a new person: a new churn propensity, a new
reading by the firm, no history with it).
"""

from __future__ import annotations

import numpy as np

from ..codes import DEPARTED, NEVER, PROSPECT


def exits(stage: np.ndarray, was_customer: np.ndarray, exit_rate: float,
          u: np.ndarray) -> np.ndarray:
    """True where a person who was not a customer at the month's start, and is not one
    now, leaves the market this month."""
    outside = (stage == PROSPECT) | (stage == DEPARTED)
    return outside & ~was_customer & (u < exit_rate)


def reconsiders(stage: np.ndarray, departed_month: np.ndarray, month: int,
                after_months: int | None) -> np.ndarray:
    """True where a departed customer has been gone ``after_months`` (and so becomes a
    prospect again); never when ``after_months`` is None."""
    if after_months is None:
        return np.zeros(np.shape(stage), dtype=bool)
    # Gone at least after_months: the stamp compared with a month, in the stamps' own int16
    # rather than months since widened to int32 (NEVER, which would wrap, is left out).
    return ((stage == DEPARTED) & (departed_month != NEVER)
            & (departed_month <= month - after_months))
