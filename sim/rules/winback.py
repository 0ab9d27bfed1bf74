"""Win-back: departed customers reached by the firm's win-back effort may return."""

from __future__ import annotations

import numpy as np

from ..codes import DEPARTED


def eligible(stage: np.ndarray, months_departed: np.ndarray, after_months: int,
             within_months: int | None = None) -> np.ndarray:
    """True for departed customers gone at least ``after_months`` months (and, if
    ``within_months`` is given, at most that many)."""
    gone = (stage == DEPARTED) & (months_departed >= after_months)
    return gone if within_months is None else gone & (months_departed <= within_months)


def fade(months_departed: np.ndarray, after_months: int, half_life_months: float
         ) -> np.ndarray | float:
    """Factor on a departed customer's odds of returning: 1 at ``after_months`` months
    since departure, halving every ``half_life_months`` after (1 throughout when the
    half-life is 0)."""
    if half_life_months <= 0.0:
        return 1.0
    return np.exp2(-np.maximum(months_departed - after_months, 0) / half_life_months)


def probability(reach: np.ndarray, response: float, pull: np.ndarray,
                is_eligible: np.ndarray) -> np.ndarray:
    """Monthly return probability: reached × responds × prefers the offer."""
    return reach * response * pull * is_eligible


def returns(prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a departed customer comes back this month."""
    return u < prob
