"""Development: current customers taking further products (cross-sell).

A customer buys an extra product with probability
(base + campaign reach × response + sales contact) × stage multiplier × satisfaction,
capped at 1, until ``max_products``.
"""

from __future__ import annotations

import numpy as np


def sales_contact(served: np.ndarray, prompted: np.ndarray, cross_sell: np.ndarray) -> np.ndarray:
    """Sale probability from this month's contact: served in time and prompted by the
    customer code; ``cross_sell`` is the channel's (0 for self-service and no contact)."""
    return cross_sell * (served & prompted)


def rate(base_rate: float, campaign_reach: np.ndarray, campaign_response: float,
         sales: np.ndarray, stage_multiplier: np.ndarray) -> np.ndarray:
    """Purchase probability of a fully satisfied eligible customer, capped at 1."""
    raw = (base_rate + campaign_reach * campaign_response + sales) * stage_multiplier
    return np.minimum(raw, 1.0)


def scaled(full_rate: np.ndarray, satisfaction: np.ndarray) -> np.ndarray:
    """The rate of a fully satisfied customer, scaled by satisfaction."""
    return full_rate * satisfaction


def buys(prob: np.ndarray, eligible: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where an eligible customer (a current customer below the most products) takes
    another product."""
    return eligible & (u < prob)
