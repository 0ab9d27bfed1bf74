"""Programmes: customers the firm chooses to reach get attention this month (an experience
boost and a lower churn hazard, both set in ``behaviour``). The retention programme reaches
whom the firm targets; onboarding and loyalty programmes enrol every customer in their stage
by the firm's records (tenure, products) and in the tiers they serve. Whom they reach is the
firm's decision, made from what it observes; whether a customer was about to leave is not
something it knows."""

from __future__ import annotations

import numpy as np

from ..codes import RETENTION, lookup
from .blend import select


def in_programme(reach: np.ndarray, active: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a current customer is reached by the retention programme."""
    return active & (u < reach)


def enrolled(retained: np.ndarray, settled: np.ndarray, tier: np.ndarray,
             programme_of: np.ndarray) -> np.ndarray:
    """Programme code per customer (:data:`sim.codes.PROGRAMMES`): retention where
    ``retained``, else the lifecycle programme ``programme_of`` (stages, tiers) enrols
    customers of that settled stage (:func:`sim.rules.lifecycle.settled_stage`) and tier in.
    """
    code = lookup(programme_of, settled, tier)
    return select(retained, np.int8(RETENTION), code)
