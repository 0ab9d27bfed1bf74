"""Direction-of-effect and known-answer tests of sim.rules.service (contacts, Erlang C)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from sim.rules import draws, service

NO_CONTACT = service.NO_CONTACT


# ---------------------------------------------------------------------------------------------
# Independent Erlang formulas (textbook, exact rationals or log space), not the code under test
# ---------------------------------------------------------------------------------------------

def exact_erlang_b(load: int, agents: int) -> Fraction:
    """B(A, N) = (A^N / N!) / sum_{k=0..N} A^k / k!, exactly, for integer A."""
    terms = [Fraction(load**k, math.factorial(k)) for k in range(agents + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(load: int, agents: int) -> Fraction:
    """C(A, N) = T / (sum_{k<N} A^k / k! + T), T = A^N / N! · N / (N − A), exactly."""
    top = Fraction(load**agents, math.factorial(agents)) * Fraction(agents, agents - load)
    below = sum(Fraction(load**k, math.factorial(k)) for k in range(agents))
    return top / (below + top)


def log_space_erlang_c(load: float, agents: int) -> float:
    """Erlang C from the same textbook formula evaluated with log-gamma and log-sum-exp."""
    log_terms = np.array([k * math.log(load) - math.lgamma(k + 1) for k in range(agents)])
    peak = log_terms.max()
    log_below = peak + math.log(np.exp(log_terms - peak).sum())
    log_top = (agents * math.log(load) - math.lgamma(agents + 1)
               + math.log(agents) - math.log(agents - load))
    return 1.0 / (1.0 + math.exp(log_below - log_top))


# ---------------------------------------------------------------------------------------------
# contacts and draws.choose, composed as the contact phase composes them
# ---------------------------------------------------------------------------------------------

def choose_channel(rate, cdf, segment, eligible, u_contact, u_channel):
    """Channel of each customer's contact, or NO_CONTACT: who contacts, then the channel."""
    made = service.contacts(rate, eligible, u_contact)
    return np.where(made, draws.choose(cdf, segment, u_channel), NO_CONTACT)

def test_higher_contact_rate_gives_superset_of_contacts():
    """With the same uniforms, a higher contact rate makes every earlier contact still contact
    and adds more."""
    rng = np.random.default_rng(20240601)
    n = 2000
    u_contact, u_channel = rng.random(n), rng.random(n)
    cdf = np.array([[0.4, 1.0]])
    segment = np.zeros(n, dtype=np.int8)
    eligible = np.ones(n, dtype=bool)
    previous = None
    for rate in (0.0, 0.1, 0.3, 0.6, 1.0):
        ch = choose_channel(np.full(n, rate), cdf, segment, eligible, u_contact,
                                    u_channel)
        contacts = ch != NO_CONTACT
        if previous is not None:
            assert np.all(contacts[previous])
            assert contacts.sum() > previous.sum()
        previous = contacts
    assert previous.all(), "contact rate 1 means every eligible customer contacts"


def test_contact_rate_zero_means_no_contact_and_rate_is_per_customer():
    """Contact happens exactly where u_contact < that customer's own contact rate."""
    u_contact = np.array([0.0, 0.5, 0.5, 0.9, 0.2])
    rate = np.array([0.0, 0.5, 0.6, 0.95, 0.1])
    ch = choose_channel(rate, np.array([[1.0]]), np.zeros(5, dtype=np.int8),
                                np.ones(5, dtype=bool), u_contact, np.zeros(5))
    np.testing.assert_array_equal(ch != NO_CONTACT, [False, False, True, True, False])


def test_ineligible_customers_never_contact():
    """Non-customers (eligible False) get NO_CONTACT even with contact rate 1."""
    n = 6
    ch = choose_channel(np.ones(n), np.array([[0.5, 1.0]]), np.zeros(n, dtype=np.int8),
                                np.zeros(n, dtype=bool), np.zeros(n), np.linspace(0, 0.99, n))
    assert np.all(ch == NO_CONTACT)


@pytest.mark.parametrize(("u", "expected"), [
    (0.0, 0), (0.1999, 0), (0.2, 1), (0.6999, 1), (0.7, 2), (0.9999, 2),
])
def test_channel_follows_cumulative_preferences_at_boundaries(u, expected):
    """Channel c is chosen for u in [cdf[c−1], cdf[c]) of the customer's segment."""
    cdf = np.array([[0.2, 0.7, 1.0]])
    ch = choose_channel(np.ones(1), cdf, np.zeros(1, dtype=np.int8), np.ones(1, bool),
                                np.zeros(1), np.array([u]))
    assert ch[0] == expected


def test_channel_shares_match_preferences_per_segment():
    """Over evenly spread uniforms each segment's channel shares equal its preferences, so the
    segment's own row of the cumulative table is used."""
    prefs = np.array([[0.2, 0.5, 0.3], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    cdf = np.cumsum(prefs, axis=1)
    cdf[:, -1] = 1.0
    n = 4000
    u_channel = (np.arange(n) + 0.5) / n
    for s in range(len(prefs)):
        ch = choose_channel(np.ones(n), cdf, np.full(n, s, dtype=np.int8),
                                    np.ones(n, dtype=bool), np.zeros(n), u_channel)
        shares = np.bincount(ch, minlength=3) / n
        np.testing.assert_allclose(shares, prefs[s], atol=1.0 / n)


def test_zero_preference_channel_is_never_chosen():
    """A channel with preference 0 in the middle of the table is skipped, even at u equal to
    the shared cumulative boundary."""
    cdf = np.array([[0.5, 0.5, 1.0]])
    u_channel = np.array([0.0, 0.4999, 0.5, 0.75, 0.9999])
    ch = choose_channel(np.ones(5), cdf, np.zeros(5, dtype=np.int8), np.ones(5, bool),
                                np.zeros(5), u_channel)
    np.testing.assert_array_equal(ch, [0, 0, 2, 2, 2])


# ---------------------------------------------------------------------------------------------
# offered_load, Erlang B / C, service level, average speed of answer
# ---------------------------------------------------------------------------------------------

def test_offered_load_hand_example():
    """10 000 contacts a month, 20 % of a day's in this hour, 20 days: 100 calls in the
    hour; × 180 s = 5 erlangs."""
    assert service.offered_load(10_000, 0.2, 20.0, 180.0) == pytest.approx(5.0, rel=1e-12)


@pytest.mark.parametrize("lever", ["contacts", "share", "handle"])
def test_offered_load_rises_with_contacts_hour_share_and_handle_time(lever):
    """More contacts, a larger share of the day in the hour or longer calls all raise the
    hour's load in proportion."""
    base = {"contacts": 1000.0, "share": 0.1, "handle": 200.0}
    more = dict(base)
    more[lever] *= 2.0

    def load(p):
        return service.offered_load(p["contacts"], p["share"], 20.0, p["handle"])

    assert load(more) == pytest.approx(2.0 * load(base), rel=1e-12)


def test_offered_load_falls_with_opening_days():
    """The same contacts spread over more opening days give a lower hourly load."""
    assert service.offered_load(1000, 0.1, 22.0, 180.0) < service.offered_load(
        1000, 0.1, 11.0, 180.0)


@pytest.mark.parametrize(("load", "agents"), [(1, 1), (1, 2), (2, 3), (5, 7), (10, 12), (10, 15),
                                              (20, 25)])
def test_erlang_b_matches_factorial_formula(load, agents):
    """The inverse recursion equals B = (A^N/N!) / Σ A^k/k! computed exactly."""
    assert service.erlang_b(float(load), agents) == pytest.approx(
        float(exact_erlang_b(load, agents)), rel=1e-12)


@pytest.mark.parametrize(("load", "agents", "expected"), [
    (1, 2, Fraction(1, 3)),   # (1/2·2) / (1 + 1 + 1)
    (2, 3, Fraction(4, 9)),   # (8/6·3) / (1 + 2 + 2 + 4)
])
def test_erlang_c_hand_computed(load, agents, expected):
    """Erlang C on cases small enough to do by hand."""
    assert exact_erlang_c(load, agents) == expected  # the test's own formula, checked first
    assert service.erlang_c(float(load), agents) == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize(("load", "agents"), [(10, 11), (10, 12), (10, 13), (10, 14), (10, 20),
                                              (3, 4), (30, 33)])
def test_erlang_c_matches_textbook_formula(load, agents):
    """Erlang C for the textbook A = 10 erlangs (and others) against exact rationals."""
    assert service.erlang_c(float(load), agents) == pytest.approx(
        float(exact_erlang_c(load, agents)), rel=1e-12)


def test_service_level_and_asa_textbook_example():
    """A = 10 erlangs, N = 12 agents, 20 s target, 180 s handle time:
    SL = 1 − C·exp(−(N − A)·t/h) and ASA = C·h/(N − A), C from exact rationals."""
    c = float(exact_erlang_c(10, 12))
    assert service.service_level(10.0, 12, 20.0, 180.0) == pytest.approx(
        1.0 - c * math.exp(-2 * 20.0 / 180.0), rel=1e-12)
    assert service.average_speed_of_answer(10.0, 12, 180.0) == pytest.approx(c * 180.0 / 2,
                                                                            rel=1e-12)


@pytest.mark.parametrize(("load", "agents"), [(450.0, 480), (300.5, 320), (900.0, 950)])
def test_erlang_c_stable_for_hundreds_of_agents(load, agents):
    """Hundreds of agents give a finite Erlang C in [0, 1] equal to a log-space computation,
    and a finite service level in [0, 1]."""
    c = service.erlang_c(load, agents)
    assert math.isfinite(c) and 0.0 <= c <= 1.0
    assert c == pytest.approx(log_space_erlang_c(load, agents), rel=1e-9)
    sl = service.service_level(load, agents, 20.0, 180.0)
    assert math.isfinite(sl) and 0.0 <= sl <= 1.0
    assert sl == pytest.approx(1.0 - c * math.exp(-(agents - load) * 20.0 / 180.0), rel=1e-12)


@pytest.mark.parametrize("load", [2.0, 10.0, 45.5, 450.0])
def test_more_agents_raise_service_level_and_lower_wait(load):
    """Adding agents lowers Erlang C and the average speed of answer and raises the service
    level (strictly, for every extra agent above the load)."""
    agents = np.arange(math.floor(load) + 1, math.floor(load) + 40)
    c = np.array([service.erlang_c(load, int(n)) for n in agents])
    sl = np.array([service.service_level(load, int(n), 20.0, 180.0) for n in agents])
    asa = np.array([service.average_speed_of_answer(load, int(n), 180.0) for n in agents])
    assert np.all(np.diff(c) < 0)
    assert np.all(np.diff(asa) < 0)
    assert np.all(np.diff(sl) >= 0) and sl[-1] > sl[0]
    assert np.all((c >= 0) & (c <= 1) & (sl >= 0) & (sl <= 1))


def test_more_load_lowers_service_level():
    """With 12 agents, every increase of the load lowers the service level and raises Erlang C."""
    loads = np.linspace(0.5, 11.9, 40)
    sl = np.array([service.service_level(float(a), 12, 20.0, 180.0) for a in loads])
    c = np.array([service.erlang_c(float(a), 12) for a in loads])
    assert np.all(np.diff(sl) < 0)
    assert np.all(np.diff(c) > 0)


def test_longer_target_raises_service_level():
    """A more generous answer target counts more contacts as answered in time."""
    sl = [service.service_level(10.0, 12, t, 180.0) for t in (0.0, 10.0, 20.0, 60.0)]
    assert np.all(np.diff(sl) > 0)
    assert sl[0] == pytest.approx(1.0 - float(exact_erlang_c(10, 12)), rel=1e-12)


@pytest.mark.parametrize(("load", "agents"), [(10.0, 10), (10.0, 5), (10.0, 0), (0.5, 0),
                                              (450.0, 450)])
def test_unstable_queue_has_zero_service_level(load, agents):
    """With agents ≤ load nobody is answered in time: SL 0, Erlang C 1, infinite ASA."""
    assert service.service_level(load, agents, 20.0, 180.0) == 0.0
    assert service.erlang_c(load, agents) == 1.0
    assert service.average_speed_of_answer(load, agents, 180.0) == math.inf


def test_no_load_means_perfect_service():
    """No offered load: nobody waits (C = 0, ASA = 0) and service level is 1."""
    assert service.erlang_c(0.0, 3) == 0.0
    assert service.service_level(0.0, 3, 20.0, 180.0) == 1.0
    assert service.average_speed_of_answer(0.0, 3, 180.0) == 0.0


# ---------------------------------------------------------------------------------------------
# served_in_time, contact_utility, service_levels
# ---------------------------------------------------------------------------------------------

def test_served_in_time_uses_level_of_own_channel_and_pool():
    """Each contact is served where u < level[its channel, its pool]; no contact is never
    served."""
    level = np.array([[0.1, 0.2],
                      [0.3, 0.9]])
    channel = np.array([0, 0, 1, 1, 1, 1, NO_CONTACT], dtype=np.int8)
    pool = np.array([0, 1, 0, 1, 1, 0, 0], dtype=np.int8)
    u = np.array([0.15, 0.15, 0.5, 0.5, 0.95, 0.25, 0.0])
    np.testing.assert_array_equal(service.served_in_time(channel, pool, level, u),
                                  [False, True, False, True, False, True, False])


def test_higher_service_level_serves_more_contacts():
    """Raising every level keeps every served contact served and serves more."""
    rng = np.random.default_rng(7)
    n = 3000
    channel = rng.integers(-1, 2, n).astype(np.int8)
    pool = rng.integers(0, 2, n).astype(np.int8)
    u = rng.random(n)
    low = service.served_in_time(channel, pool, np.full((2, 2), 0.4), u)
    high = service.served_in_time(channel, pool, np.full((2, 2), 0.8), u)
    assert np.all(high[low]) and high.sum() > low.sum()
    assert not high[channel == NO_CONTACT].any()


def test_contact_utility_sign_by_outcome():
    """Served: + channel quality; not served: − channel wait penalty; no contact: 0 (the
    trailing entry of the (C + 1,) tables)."""
    quality = np.array([0.5, 1.5, 0.0])
    wait_penalty = np.array([2.0, 3.0, 0.0])
    channel = np.array([0, 1, 0, 1, NO_CONTACT, NO_CONTACT], dtype=np.int8)
    served = np.array([True, True, False, False, False, True])
    np.testing.assert_array_equal(service.contact_utility(channel, served, quality, wait_penalty),
                                  [0.5, 1.5, -2.0, -3.0, 0.0, 0.0])


def _levels(contacts, agents, human=(True, False), share=(1.0,)):
    """Service levels with 100 opening days and 180 s calls: 10 000 contacts in an hour
    holding the whole day are 100 calls/h, 5 erlangs."""
    c = len(human)
    agents = np.asarray(agents)
    return service.service_levels(np.asarray(contacts, dtype=float),
                                  agents if agents.ndim == 3 else agents[:, :, None],
                                  np.array(human), np.tile(share, (c, 1)), np.full(c, 100.0),
                                  np.full(c, 180.0), np.full(c, 20.0))


def _level(load: int, agents: int) -> float:
    """1 − C(A, N) e^(−(N − A) 20/180), from the exact Erlang C."""
    return 1 - float(exact_erlang_c(load, agents)) * math.exp(-(agents - load) * 20 / 180)


def test_service_levels_per_channel_and_pool():
    """Human channels get Erlang-C service levels of their pool's own load and agents;
    self-service channels and idle pools get 1."""
    # 10 000 contacts → 5 erlangs (see the hand example); 4 000 → 2 erlangs.
    level = _levels([[10_000, 4_000], [50_000, 0]], [[7, 3], [0, 0]])
    assert level[0, 0] == pytest.approx(_level(5, 7), rel=1e-12)
    assert level[0, 1] == pytest.approx(_level(2, 3), rel=1e-12)
    assert level[1, 0] == 1.0 and level[1, 1] == 1.0


def test_service_level_is_the_contact_weighted_average_over_hours():
    """Hours carrying 40 % and 60 % of a day's 10 000 contacts (2 and 3 erlangs), staffed
    with 4 and 5 agents: the month's level is 0.4 · SL(2, 4) + 0.6 · SL(3, 5)."""
    level = _levels([[10_000, 0]], [[[4, 5], [0, 0]]], human=(True,), share=(0.4, 0.6))
    assert level[0, 0] == pytest.approx(0.4 * _level(2, 4) + 0.6 * _level(3, 5), rel=1e-12)


def test_staffing_to_the_profile_beats_flat_staffing_with_the_same_agent_hours():
    """The Fekkai lesson: with a peak hour carrying five times a quiet hour's calls, the same
    agent-hours serve better when they follow the load than when spread flat."""
    share = np.array([1, 1, 5, 1, 1, 1]) / 10
    contacts = [[60_000, 0]]                         # 600 calls a day: 3 to 15 erlangs
    flat = _levels(contacts, [[[14] * 6, [0] * 6]], human=(True,), share=share)
    shaped = _levels(contacts, [[[9, 9, 39, 9, 9, 9], [0] * 6]], human=(True,), share=share)
    assert shaped[0, 0] > flat[0, 0] + 0.2


def test_service_levels_more_agents_or_fewer_contacts_is_better():
    """In the per-channel table, more agents raise and more contacts lower the level; a human
    pool with contacts and no agents has level 0."""
    base = _levels([[10_000, 10_000]], [[6, 8]], human=(True,))
    assert base[0, 1] > base[0, 0]
    busier = _levels([[10_000, 14_000]], [[6, 8]], human=(True,))
    assert busier[0, 1] < base[0, 1]
    assert _levels([[10, 0]], [[0, 0]], human=(True,))[0, 0] == 0.0


def test_a_reserved_team_without_agents_in_an_hour_sends_its_contacts_to_the_general_queue():
    """Hours with 40 % and 60 % of the day. The priority team has 2 agents in the first hour
    and none in the second: there its 2,000 contacts (0.6 erlang) join the general queue's
    10,000 (3 erlangs), which has 5 agents. General contacts see SL(2, 4) then SL(3.6, 5);
    priority contacts SL(0.4, 2) then SL(3.6, 5): never a level of 0."""
    def level(load, agents):     # the scalar formula, pinned to exact rationals above
        return 1 - service.erlang_c(load, agents) * math.exp(-(agents - load) * 20 / 180)

    got = _levels([[10_000, 2_000]], [[[4, 5], [2, 0]]], human=(True,), share=(0.4, 0.6))
    assert got[0, 0] == pytest.approx(0.4 * level(2.0, 4) + 0.6 * level(3.6, 5), rel=1e-12)
    assert got[0, 1] == pytest.approx(0.4 * level(0.4, 2) + 0.6 * level(3.6, 5), rel=1e-12)


@pytest.mark.parametrize(("load", "agents"), [(800, 1), (2000, 100), (1500, 30), (900, 850)])
def test_erlang_b_exact_far_beyond_capacity(load, agents):
    """Where the Poisson tail the closed form divides by underflows (load far above the
    agents), B still matches the factorial formula."""
    assert service.erlang_b(float(load), agents) == pytest.approx(
        float(exact_erlang_b(load, agents)), rel=1e-12)


def test_erlang_with_a_billion_agents():
    """A billion agents (an absurd but valid staffing) wait for nobody and block nothing:
    B = C = 0 and every contact is answered in time; the closed form needs no loop."""
    assert service.erlang_b(50.0, 10**9) == 0.0
    assert service.erlang_c(50.0, 10**9) == 0.0
    assert service.service_level(50.0, 10**9, 20.0, 300.0) == 1.0
