"""Acquisition: prospects become customers through spontaneous consideration (Bass p),
paid reach, and word of mouth from current customers (Bass q × adopter share), converted
by the pull of the offer against the competitor's.

With no paid reach and a competitor too weak to matter this is the discrete Bass model:
F(t+1) = F(t) + (1 − F(t)) · (p + q · F(t)).
"""

from __future__ import annotations

import numpy as np

from .satisfaction import logistic


def adopter_share(active: np.ndarray, satisfaction: np.ndarray, population: int,
                  satisfaction_weighted: bool) -> float:
    """Share of the population spreading word of mouth (fully mixed), in [0, 1]."""
    if satisfaction_weighted:
        # Multiply-and-sum, not np.dot: BLAS would start threads that spin on the other core.
        return float((satisfaction * active).sum()) / population
    return float(np.count_nonzero(active)) / population


def conversion(fit: np.ndarray, proposition_weight: float) -> np.ndarray:
    """Probability that a prospect who considers the offer takes it rather than the
    competitor's (logit choice between the two)."""
    return logistic(proposition_weight * fit)


def probability(innovation: np.ndarray, reach: np.ndarray, response: float,
                word_of_mouth: np.ndarray, share: float, pull: np.ndarray,
                is_prospect: np.ndarray) -> np.ndarray:
    """Monthly adoption probability of each prospect (0 for everyone else):
    min(1, p + reach · response + q · share) · pull."""
    consider = np.minimum(innovation + reach * response + word_of_mouth * share, 1.0)
    return consider * pull * is_prospect


def adopts(prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where a prospect becomes a customer this month."""
    return u < prob
