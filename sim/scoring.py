"""The firm's churn score: a logistic model of next month's departure fitted on what the
firm observes of its customers, never on their hidden state.

A customer's *cell* combines four observables: the proposition held, products held
(1, 2, 3, 4+), tenure (0–2, 3–5, 6–11, 12–23, 24–47, 48+ months) and how long ago a contact
of theirs went unanswered in time (last month, 2–3, 4–12 months ago, never or longer).
The firm counts, per cell and month, the customers at the month's start and those of them
who left; every ``REFIT_MONTHS`` it fits a logistic regression with one dummy per level of
each observable on the last ``REFIT_MONTHS`` of counts (binomial likelihood, Newton steps,
a small ridge penalty so that levels never observed get no effect). The score of a cell is
the fitted probability. Because cells are few, scoring a customer is a table lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRODUCT_LEVELS = 4
TENURE_EDGES = np.array([3, 6, 12, 24, 48])
COMPLAINT_EDGES = np.array([2, 4, 13])
"""Months since the last unanswered contact: 1 | 2–3 | 4–12 | 13+ or never."""
RECENT_COMPLAINTS = 2
"""Complaint levels that count as recent (last month, or 2–3 months ago)."""
REFIT_MONTHS = 12
RIDGE = 1.0
"""Penalty on each dummy's coefficient (log-odds²): one pseudo-observation's worth."""


def n_cells(n_propositions: int) -> int:
    return n_propositions * PRODUCT_LEVELS * (len(TENURE_EDGES) + 1) * (len(COMPLAINT_EDGES) + 1)


def levels(n_propositions: int) -> np.ndarray:
    """(cells, 4) the level of each observable (proposition, products, tenure, complaint)
    in every cell, in cell order."""
    shape = (n_propositions, PRODUCT_LEVELS, len(TENURE_EDGES) + 1, len(COMPLAINT_EDGES) + 1)
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)


def _count(conditions, shape: tuple[int, ...]) -> np.ndarray:
    """How many of the boolean ``conditions`` (arrays of ``shape``) hold at each element, in
    int8. Levels counted from a comparison per edge cost less than searching the edges or
    a table lookup for every customer; the comparisons' bools, read as int8, add without
    a conversion."""
    level = np.zeros(shape, dtype=np.int8)
    for condition in conditions:
        level += condition.view(np.int8)
    return level


def complaint_level(month: int, last_complaint: np.ndarray) -> np.ndarray:
    """Complaint level (0 = last month ... 3 = long ago or never) at the start of ``month``:
    how many of :data:`COMPLAINT_EDGES` the months since the last complaint reach, i.e.
    for how many edges the stamp is at most ``month`` − edge. A complaint never made is
    stamped NEVER, the most negative month: as long ago as can be."""
    return _count((last_complaint <= month - int(edge) for edge in COMPLAINT_EDGES),
                  last_complaint.shape)


def cells(proposition: np.ndarray, products: np.ndarray, tenure: np.ndarray,
          last_complaint: np.ndarray, month: int) -> np.ndarray:
    """Cell code of each customer at the start of ``month`` (int16)."""
    n_tenure, n_complaint = len(TENURE_EDGES) + 1, len(COMPLAINT_EDGES) + 1
    # The levels of products, tenure and complaint code a cell within the proposition
    # (0..95), in int8; the proposition's part is added once, in int16. np.clip with bounds
    # of the array's own type, not np.maximum against a scalar: a vector loop, several
    # times faster.
    product_level = np.clip(products - np.int8(1), np.int8(0), np.int8(PRODUCT_LEVELS - 1))
    tenure_level = _count((tenure >= int(edge) for edge in TENURE_EDGES), tenure.shape)
    within = (product_level * n_tenure + tenure_level) * n_complaint
    within += complaint_level(month, last_complaint)
    held = np.clip(proposition, np.int8(0), np.int8(np.iinfo(np.int8).max)).astype(np.int16)
    return held * np.int16(PRODUCT_LEVELS * n_tenure * n_complaint) + within


def design(n_propositions: int) -> np.ndarray:
    """(cells, features) intercept and one dummy per level of each observable except its
    first."""
    lv = levels(n_propositions)
    sizes = (n_propositions, PRODUCT_LEVELS, len(TENURE_EDGES) + 1, len(COMPLAINT_EDGES) + 1)
    columns = [np.ones(len(lv))]
    for j, size in enumerate(sizes):
        columns += [(lv[:, j] == level).astype(float) for level in range(1, size)]
    return np.stack(columns, axis=1)


def fit(exposed: np.ndarray, left: np.ndarray, x: np.ndarray, iterations: int = 50
        ) -> np.ndarray | None:
    """Coefficients of the logistic model of leaving, from per-cell counts of customers
    ``exposed`` and of those who ``left``; ``None`` without any departure or exposure."""
    total, gone = exposed.sum(), left.sum()
    if total <= 0 or gone <= 0 or gone >= total:
        return None
    beta = np.zeros(x.shape[1])
    beta[0] = np.log(gone / (total - gone))
    penalty = np.full(x.shape[1], RIDGE)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        gradient = x.T @ (left - exposed * p) - penalty * beta
        hessian = (x.T * (exposed * p * (1.0 - p))) @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.abs(step).max() < 1e-9:
            break
    return beta


def scores(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fitted probability of leaving next month for every cell."""
    return 1.0 / (1.0 + np.exp(-(x @ beta)))


@dataclass
class Ledger:
    """Per cell, customers at each month's start and those who left in it, for the last
    :data:`REFIT_MONTHS` months (a ring buffer)."""

    exposed: np.ndarray   # (REFIT_MONTHS, cells)
    left: np.ndarray      # (REFIT_MONTHS, cells)

    @classmethod
    def empty(cls, n_propositions: int) -> Ledger:
        shape = (REFIT_MONTHS, n_cells(n_propositions))
        return cls(np.zeros(shape), np.zeros(shape))

    def record(self, month: int, exposed: np.ndarray, left_cells: np.ndarray) -> None:
        """Note ``exposed``, the customers at the month's start per cell, and the cells of
        those who left (one entry per leaver)."""
        slot, size = month % REFIT_MONTHS, self.exposed.shape[1]
        self.exposed[slot] = exposed
        self.left[slot] = np.bincount(left_cells, minlength=size)


def auc_and_lift(score: np.ndarray, exposed: np.ndarray, left: np.ndarray
                 ) -> tuple[float, float]:
    """Area under the ROC curve and top-decile lift of a score given per observation as
    cell-level counts (``score``, ``exposed``, ``left`` of equal length; ties count half).

    Lift: the departure rate among the tenth of exposures with the highest scores (a cell
    on the boundary counted pro rata) over the overall departure rate. nan without both
    leavers and stayers.
    """
    stayed = exposed - left
    n_pos, n_neg = left.sum(), stayed.sum()
    if n_pos <= 0 or n_neg <= 0:
        return float("nan"), float("nan")
    values, inverse = np.unique(score, return_inverse=True)
    pos = np.bincount(inverse, weights=left, minlength=len(values))
    neg = np.bincount(inverse, weights=stayed, minlength=len(values))
    neg_below = np.cumsum(neg) - neg
    auc = float(((neg_below + 0.5 * neg) * pos).sum() / (n_pos * n_neg))
    order = np.argsort(-values, kind="stable")
    n = pos[order] + neg[order]
    take = np.clip(0.1 * n.sum() - (np.cumsum(n) - n), 0.0, n)
    share = np.divide(take, n, out=np.zeros_like(n), where=n > 0)
    top_rate = (pos[order] * share).sum() / take.sum()
    return auc, float(top_rate / (n_pos / (n_pos + n_neg)))
