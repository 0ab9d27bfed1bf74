"""Win-back: departed customers reached by the firm's win-back effort may return."""

from __future__ import annotations

import numpy as np

from ..codes import DEPARTED


def eligible(stage: np.ndarray, months_departed: np.ndarray, after_months: int) -> np.ndarray:
    """True for departed customers gone at least ``after_months`` months."""
    return (stage == DEPARTED) & (months_departed >= after_months)


def probability(reach: np.ndarray, response: float, pull: np.ndarray,
                is_eligible: np.ndarray) -> np.ndarray:
    """Monthly return probability: reached × responds × prefers the offer."""
    return reach * response * pull * is_eligible


def returns(prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a departed customer comes back this month."""
    return u < prob
