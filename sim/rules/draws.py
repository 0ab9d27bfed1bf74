"""One uniform, several decisions: the rescalings that let a single pre-drawn uniform
decide whether something happens and then how (which channel, which offer, whether a
contact is answered in time), each decision with its own probability and independent of
the ones before it. The engine draws one uniform per person and mechanism a month
(DESIGN decision 3); these keep it from needing more.
"""

from __future__ import annotations

import numpy as np

from ..codes import lookup

_BELOW_ONE = np.nextafter(1.0, 0.0)


def threshold(probability: np.ndarray) -> np.ndarray:
    """Each probability rounded up to single precision (the least float32 not below it):
    a single-precision uniform is below the threshold exactly when it is below the
    probability, so comparing uniforms with a table of thresholds gives the outcomes of
    comparing them with the probabilities in double precision, without widening every
    uniform to double first (a fifth of the time)."""
    single = probability.astype(np.float32)
    return np.where(single < probability, np.nextafter(single, np.float32(np.inf)), single)


def rescaled(u: np.ndarray, probability: np.ndarray | float) -> np.ndarray:
    """u / probability: given u < probability this is again uniform on [0, 1), so one
    uniform decides both whether something happens and how (e.g. contact, then channel)."""
    return u / np.maximum(probability, np.finfo(float).tiny)


def split(u: np.ndarray, q: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(u < q, the uniform rescaled): u / q below q, (u − q) / (1 − q) above, each again
    uniform on [0, 1) given its side, so the same uniform decides an event and then what
    follows it on either side."""
    below = u < q
    q = np.clip(q, np.finfo(np.float32).tiny, 1.0 - np.finfo(np.float32).eps)
    return below, np.where(below, u / q, (u - q) / (1.0 - q)).astype(u.dtype)


def choose(cdf: np.ndarray, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The option each row chooses: c where cdf[g, c − 1] ≤ u < cdf[g, c] for the row's
    group g (``cdf`` (groups, options), cumulative choice probabilities ending at 1)."""
    choice = np.zeros(len(group), dtype=np.int8)
    for c in range(cdf.shape[1] - 1):
        choice += u >= lookup(cdf[:, c], group)
    return choice


def within_choice(u: np.ndarray, cdf: np.ndarray, group: np.ndarray,
                  choice: np.ndarray) -> np.ndarray:
    """Where ``u`` (which made ``choice`` by :func:`choose`) fell within the option's
    share, rescaled to [0, 1): uniform again given the choice, so the uniform that made it
    also decides what follows (whether a contact is answered in time, whether an offer
    sells)."""
    edges = np.concatenate((np.zeros((len(cdf), 1)), cdf), axis=1).ravel()
    cell = group.astype(np.intp) * (cdf.shape[1] + 1) + choice
    lo, hi = edges.take(cell), edges.take(cell + 1)
    # Below 1: rounding must not put a uniform beyond a probability of 1 (a self-service
    # contact always answered).
    return np.minimum((u - lo) / np.maximum(hi - lo, np.finfo(float).tiny), _BELOW_ONE)
