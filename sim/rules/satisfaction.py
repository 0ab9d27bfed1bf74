"""Satisfaction: a 0..1 state smoothed over monthly experiences.

The month's experience is a logistic function of the fit of the proposition held
(against the competitor's offer), the service experience and any programme the customer
is in. Satisfaction moves towards it: s' = memory · s + (1 − memory) · experience.
"""

from __future__ import annotations

import numpy as np


def logistic(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−x), element-wise."""
    return 1.0 / (1.0 + np.exp(-x))


def experience(fit: np.ndarray, service_utility: np.ndarray, programme_utility: np.ndarray,
               proposition_weight: float, service_weight: float) -> np.ndarray:
    """The month's experience in (0, 1).

    Args:
        fit: Utility of the proposition held minus the competitor's (utility units).
        service_utility: Utility of this month's contact (0 without one).
        programme_utility: Utility of lifecycle programmes the customer is in.
        proposition_weight, service_weight: Weights of fit and service.
    """
    return logistic(proposition_weight * fit + service_weight * service_utility
                    + programme_utility)


def update(satisfaction: np.ndarray, month_experience: np.ndarray, memory: float) -> np.ndarray:
    """Satisfaction after this month: memory · s + (1 − memory) · experience."""
    return memory * satisfaction + (1.0 - memory) * month_experience
