"""Channel steering: the firm suggests another channel for a contact (a message on the
line, a prompt with an incentive); the customer goes along as far as their channel
preferences and satisfaction allow. Which contacts the firm steers is its decision, made
from what it observes (the channel used, the customer's value code)."""

from __future__ import annotations

import numpy as np

from .satisfaction import logistic

LOG_PREFERENCE_FLOOR = -50.0
"""log preference ratio of a customer who never uses the suggested channel: logistic(−50)
≈ 2e−22, so they accept with probability nil, without the infinities of log 0."""


def log_preference(preference: np.ndarray, to: int) -> np.ndarray:
    """(S, C + 1) log(preference for channel ``to`` / preference for each channel) per
    segment, from the segments' channel choice shares (S, C); the extra last column (no
    contact) is never read for a contact."""
    with np.errstate(divide="ignore", invalid="ignore"):   # log 0; −inf − (−inf)
        ratio = np.log(preference[:, [to]]) - np.log(preference)
    ratio = np.nan_to_num(ratio, nan=LOG_PREFERENCE_FLOOR, posinf=0.0,
                          neginf=LOG_PREFERENCE_FLOOR)
    return np.pad(np.maximum(ratio, LOG_PREFERENCE_FLOOR), ((0, 0), (0, 1)))


def acceptance(log_pref: np.ndarray, incentive_utility: float, satisfaction: np.ndarray,
               satisfaction_weight: float) -> np.ndarray:
    """Probability of accepting the suggested channel: logistic(log preference ratio +
    utility of the incentive + satisfaction_weight × (satisfaction − ½))."""
    return logistic(log_pref + incentive_utility + satisfaction_weight * (satisfaction - 0.5))
