"""Stage progression: acquisition (onboarding) → growth → maturity, with decline (from any
of them) when satisfaction falls below a threshold and recovery above another.

Departures (churn) and returns (acquisition, win-back) are their own rules.
"""

from __future__ import annotations

import numpy as np

from ..codes import ACQUISITION, DECLINE, GROWTH, MATURITY
from .blend import select


def settled_stage(tenure: np.ndarray, products: np.ndarray, onboarding_months: int,
                  maturity_tenure_months: int, maturity_products: int) -> np.ndarray:
    """Stage of a customer who is not declining, from tenure (months) and products held."""
    mature = (tenure >= maturity_tenure_months) | (products >= maturity_products)
    settled = select(mature, np.int8(MATURITY), np.int8(GROWTH))
    return select(tenure < onboarding_months, np.int8(ACQUISITION), settled)


def progress(stage: np.ndarray, tenure: np.ndarray, products: np.ndarray,
             satisfaction: np.ndarray, active: np.ndarray, onboarding_months: int,
             maturity_tenure_months: int, maturity_products: int, decline_threshold: float,
             recovery_threshold: float) -> np.ndarray:
    """Next stage of each customer (unchanged where not ``active``)."""
    settled = settled_stage(tenure, products, onboarding_months, maturity_tenure_months,
                            maturity_products)
    declining = stage == DECLINE
    # Onboarding customers can fall into decline too: they are the riskiest.
    falls = ~declining & (satisfaction < decline_threshold)
    stays_down = declining & (satisfaction < recovery_threshold)
    new = select(falls | stays_down, np.int8(DECLINE), settled)
    return select(active, new, stage.astype(np.int8, copy=False))
