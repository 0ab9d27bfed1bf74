"""Random streams: one NumPy generator per (replication, mechanism), spawned from the
scenario seed with ``SeedSequence`` (DESIGN decision 3).

Each month every mechanism draws a block of fixed shape for the whole population,
whether or not every number is used. Both engines therefore see the same numbers, and
strategies compared within a replication meet the same luck (common random numbers).
"""

from __future__ import annotations

import numpy as np

MECHANISMS: dict[str, int] = {
    "contact": 1,      # whether a customer contacts, and through which channel
    "service": 1,      # answered within target
    "retention": 1,    # reached by the retention programme
    "development": 1,  # buys another product
    "churn": 1,        # leaves
    "acquisition": 1,  # a prospect adopts
    "winback": 1,      # a departed customer returns
}
"""Monthly mechanisms and the uniforms each draws per customer."""

SETUP = "setup"


def stream(seed: int, replication: int, mechanism: str) -> np.random.Generator:
    """The generator of one mechanism in one replication.

    The key (replication, mechanism index) makes streams independent of each other and
    of the order in which they are created.
    """
    names = (SETUP, *MECHANISMS)
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(replication, names.index(mechanism)))
    # SFC64: a NumPy bit generator that passes the standard statistical batteries and
    # draws doubles about 20 % faster than PCG64 here; the engine draws ~8 per customer-month.
    return np.random.Generator(np.random.SFC64(seq))


class MonthlyDraws:
    """Per-mechanism generators that hand out one fixed-shape block of uniforms a month."""

    def __init__(self, seed: int, replication: int, population: int):
        self._population = population
        self._generators = {name: stream(seed, replication, name) for name in MECHANISMS}

    def draw(self) -> dict[str, np.ndarray]:
        """This month's uniforms: ``{mechanism: array (population,) or (k, population)}``.

        Several uniforms per customer come as k contiguous rows, so each is a contiguous
        array for the rules.
        """
        out = {}
        for name, k in MECHANISMS.items():
            shape = (self._population,) if k == 1 else (k, self._population)
            out[name] = self._generators[name].random(shape)
        return out
