"""Retention programme: customers the firm chooses to reach get attention this month (an
experience boost and a lower churn hazard, both set in ``behaviour``). Whom it reaches is
the firm's decision, made from what it observes; whether they were about to leave is not
something it knows."""

from __future__ import annotations

import numpy as np


def in_programme(reach: np.ndarray, active: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a current customer is reached by the retention programme."""
    return active & (u < reach)
