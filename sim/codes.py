"""The integer codes everything else shares: lifecycle stages, value tiers, contact states,
events and month stamps. No imports beyond the standard library and NumPy, so any layer may
use them.
"""

from __future__ import annotations

import math

import numpy as np

STAGES: tuple[str, ...] = ("prospect", "acquisition", "growth", "maturity", "decline", "departed")
"""Lifecycle stages in code order; ``STAGES[i]`` is the name of stage code ``i``."""
ACTIVE_STAGES: tuple[str, ...] = STAGES[1:5]
"""The stages of a current customer."""
PROSPECT, ACQUISITION, GROWTH, MATURITY, DECLINE, DEPARTED = range(len(STAGES))

TIERS: tuple[str, ...] = ("A", "B", "C")
"""Value tiers of the ABC customer code: A best, B high potential, C general."""
TIER_A, TIER_B, TIER_C = range(len(TIERS))

EVENTS: tuple[str, ...] = ("none", "churned", "acquired", "won_back")
"""What happened to a person this month; ``EVENTS[i]`` names event code ``i``."""
NO_EVENT, CHURNED, ACQUIRED, WON_BACK = range(len(EVENTS))

PROGRAMMES: tuple[str, ...] = ("none", "retention", "onboarding", "loyalty")
"""The programme a customer is in this month; ``PROGRAMMES[i]`` names programme code
``i``. Retention, aimed at whoever the firm fears losing, comes before the others."""
NO_PROGRAMME, RETENTION, ONBOARDING, LOYALTY = range(len(PROGRAMMES))

STEERED: tuple[str, ...] = ("no", "moved", "forced")
"""Whether this month's contact was steered to another channel: not, moved willingly, or
moved against the customer's will; ``STEERED[i]`` names code ``i``."""
NOT_STEERED, MOVED, FORCED = range(len(STEERED))

ENGINES: tuple[str, ...] = ("vectorized", "agents")
"""The two schedulers of the same rules: arrays at once, or mesa agents one by one."""

NO_CONTACT = -1
"""Channel code of a customer who made no contact this month."""

NEVER = np.iinfo(np.int16).min
"""Month stamp of something that has not happened (months are int16; warm-up months are
0 and below, the measured horizon 1 and above)."""


def months_since(month: int, stamp: np.ndarray) -> np.ndarray:
    """Months from ``stamp`` to ``month`` in 32-bit integers (int16 stamps would wrap);
    :data:`NEVER` gives more months than any run has."""
    return month - stamp.astype(np.int32)


def is_active(stage: np.ndarray) -> np.ndarray:
    """True for current customers (stages acquisition to decline, codes 1..4).

    Two int8 operations (prospect, code 0, wraps round to 255) instead of a table lookup,
    which costs ten times as much and runs several times a month.
    """
    return (stage.view(np.uint8) - np.uint8(ACQUISITION)) <= np.uint8(DECLINE - ACQUISITION)


_INT16_MAX = int(np.iinfo(np.int16).max)


def flat_index(codes: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """Row-major index of each row's tuple of ``codes`` (each in range) into a table of
    shape ``sizes``, computed in place in int16 where every index of the table fits, else
    in int32: each step costs about half of the next wider type's, and ``take`` accepts
    the result."""
    dtype = np.int16 if math.prod(sizes) <= _INT16_MAX else np.int32
    index = codes[0].astype(dtype)
    for code, size in zip(codes[1:], sizes[1:], strict=True):
        index *= size
        index += code
    return index


def lookup(table: np.ndarray, *codes: np.ndarray) -> np.ndarray:
    """``table[code_0, code_1, ...]`` at each row's codes, one per axis of ``table``; each
    code in range (a single code may also be negative, counting from the end).

    ``take`` in wrap mode: for codes in range it reads what the default raise mode reads,
    in about two thirds of the time (a gather is the dearest step of most phases). A code
    out of range would wrap round rather than raise; the engine's codes are in range by
    construction."""
    if table.ndim == 1:
        return table.take(codes[0], mode="wrap")
    return table.ravel().take(flat_index(codes, table.shape), mode="wrap")
