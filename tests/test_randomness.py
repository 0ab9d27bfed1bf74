"""Random streams: what each monthly mechanism reads, and common random numbers."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from sim import phases
from sim.codes import ACTIVE_STAGES, DEPARTED, PROSPECT, STAGES
from sim.randomness import MECHANISMS, STREAMS, MonthlyDraws

# The phase that reads each mechanism's uniform.
PHASE_OF_MECHANISM = {"contact": "contact", "retention": "retain", "development": "develop",
                      "churn": "leave", "acquisition": "acquire", "winback": "win_back",
                      "market": "turn_over"}
# The stages (at the month's start) of the people in each group of sim.phases.
ACTIVE = {STAGES.index(s) for s in ACTIVE_STAGES}
STAGES_OF_GROUP = {"active": ACTIVE, "prospects": {PROSPECT}, "departed": {DEPARTED},
                   "outside": {PROSPECT, DEPARTED}}


def test_mechanisms_that_share_a_stream_concern_different_people():
    """Two mechanisms may read the same stream only if no person is in both their groups
    at the month's start, so no one's two decisions hang on one uniform."""
    assert set(PHASE_OF_MECHANISM) == set(MECHANISMS)
    assert set(MECHANISMS.values()) == set(STREAMS)

    def people(mechanism):
        return STAGES_OF_GROUP[phases.GROUP_OF_PHASE[PHASE_OF_MECHANISM[mechanism]]]

    for a, b in combinations(MECHANISMS, 2):
        if MECHANISMS[a] == MECHANISMS[b]:
            assert not people(a) & people(b), (a, b)


def test_draws_follow_the_seed_and_streams_are_distinct():
    """The same seed and replication give the same blocks; mechanisms on one stream share
    its block; different streams and replications differ."""
    first, again = MonthlyDraws(7, 0, 1000).draw(), MonthlyDraws(7, 0, 1000).draw()
    other = MonthlyDraws(7, 1, 1000).draw()
    for mechanism, name in MECHANISMS.items():
        np.testing.assert_array_equal(first[mechanism], again[mechanism])
        assert first[mechanism] is first[name]
        assert not np.array_equal(first[mechanism], other[mechanism])
    for a, b in combinations(STREAMS, 2):
        assert not np.array_equal(first[a], first[b])
    assert first["contact"].dtype == np.float32
