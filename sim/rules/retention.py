"""Retention programme: declining customers reached by the firm get attention this month
(an experience boost and a lower churn hazard, both set in ``behaviour``)."""

from __future__ import annotations

import numpy as np

from ..tables import DECLINE


def in_programme(stage: np.ndarray, reach: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a declining customer is reached by the retention programme."""
    return (stage == DECLINE) & (u < reach)
