"""Contacts and service: which customers contact the firm, through which channel, and
whether a human channel answers them within its service target.

Human channels are queues (M/M/N, Erlang C), one per opening hour: a day's contacts
spread over the hours by the channel's hourly profile, and each hour is served by that
hour's agents. The month's service level is the contact-weighted average over the hours,
so a peak staffed like a quiet hour drags it down (the Fekkai case: the peak needed five
times the normal staff).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..codes import NO_CONTACT
from .blend import select


def contacts(contact_rate: np.ndarray, eligible: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where an eligible customer contacts the firm this month."""
    return eligible & (u < contact_rate)


@functools.lru_cache(maxsize=64)
def contact_states(n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(channel, served) of every contact state code: 0 no contact, 2c + 1 channel c
    answered in time, 2c + 2 channel c not in time. Made once per channel count (the
    month's development table asks every month); read-only."""
    channel = np.concatenate(([NO_CONTACT], np.repeat(np.arange(n_channels), 2)))
    served = np.concatenate(([False], np.tile([True, False], n_channels)))
    channel, served = channel.astype(np.int8), served
    channel.flags.writeable = served.flags.writeable = False
    return channel, served


def contact_state(channel: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Contact state code (see :func:`contact_states`) of contacts made (channel ≥ 0)."""
    return (2 * channel + 2 - served).astype(np.int8)


def offered_load(contacts_per_month: np.ndarray | float, hourly_share: np.ndarray | float,
                 days_per_month: np.ndarray | float,
                 handle_time_seconds: np.ndarray | float) -> np.ndarray | float:
    """Offered load of an opening hour, in erlangs: the month's contacts × the hour's share
    of a day's contacts / opening days (calls in that hour of a day) × handle time in hours."""
    calls_per_hour = np.asarray(contacts_per_month) * hourly_share / days_per_month
    return calls_per_hour * np.asarray(handle_time_seconds) / 3600.0


def erlang_b(offered_load, agents):
    """Erlang B blocking probability of ``agents`` servers under ``offered_load`` erlangs
    (scalars or arrays of one shape; agents ≤ 0 block everything, no load blocks nothing).

    B(A, N) = P(X = N) / P(X ≤ N) for X ~ Poisson(A): the textbook ratio of A^N/N! to
    Σ_{k≤N} A^k/k!, from the log of the Poisson probability and the regularized incomplete
    gamma function, so its cost does not grow with the number of agents and nothing
    overflows. Far beyond capacity, where P(X ≤ N) underflows, it sums the inverse form
    1/B = Σ_j N!/((N − j)! A^j) instead, whose terms shrink geometrically there.
    """
    from scipy.special import gammaincc, gammaln

    load = np.asarray(offered_load, dtype=float)
    agents = np.asarray(agents)
    load, agents = np.broadcast_arrays(load, agents)
    shape = load.shape
    load, agents = load.ravel(), agents.ravel()
    busy = (load > 0.0) & (agents > 0)
    a = np.where(busy, load, 1.0)
    n = np.where(busy, agents, 1).astype(float)
    below = gammaincc(n + 1.0, a)                        # P(X ≤ N)
    with np.errstate(divide="ignore"):
        out = np.exp(n * np.log(a) - a - gammaln(n + 1.0) - np.log(below))
    overloaded = busy & (below < 1e-300)
    if overloaded.any():
        out[overloaded] = 1.0 / _inverse_erlang_b(a[overloaded], n[overloaded])
    out = np.where(busy, out, np.where(agents > 0, 0.0, 1.0)).reshape(shape)
    return float(out) if out.ndim == 0 else out


def _inverse_erlang_b(load: np.ndarray, agents: np.ndarray) -> np.ndarray:
    """1/B = Σ_j Π_{i<j} (N − i)/A for loads far above the agents (ratios below 1)."""
    total, term = np.ones(load.shape), np.ones(load.shape)
    for j in range(int(agents.max())):
        term = term * np.maximum(agents - j, 0.0) / load
        total += term
        if term.max() < 1e-17 * total.min():
            break
    return total


def erlang_c(offered_load, agents):
    """Erlang C: probability that a contact has to wait (0..1); 1 when the queue is unstable
    (agents ≤ load), 0 without load. Scalars or arrays of one shape.

    Args:
        offered_load: Load in erlangs (arrival rate × mean handle time).
        agents: Number of agents serving the queue.
    """
    load = np.asarray(offered_load, dtype=float)
    agents = np.asarray(agents)
    b = np.asarray(erlang_b(load, agents))
    stable = agents > load
    with np.errstate(divide="ignore", invalid="ignore"):
        c = agents * b / (agents - load * (1.0 - b))
    out = np.where(load <= 0.0, 0.0, np.where(stable, c, 1.0))
    return float(out) if out.ndim == 0 else out


def service_level(offered_load, agents, target_seconds, handle_time_seconds):
    """Share of contacts answered within ``target_seconds`` (0..1); scalars or arrays.

    SL = 1 − C(A, N) · exp(−(N − A) · target / handle time); 0 when N ≤ A, 1 without load.
    """
    load = np.asarray(offered_load, dtype=float)
    agents = np.asarray(agents)
    wait = np.asarray(erlang_c(load, agents))
    level = 1.0 - wait * np.exp(-np.maximum(agents - load, 0.0) * target_seconds
                                / handle_time_seconds)
    out = np.where(load <= 0.0, 1.0, np.where(agents > load, level, 0.0))
    return float(out) if out.ndim == 0 else out


def agents_needed(offered_load, answered: float, target_seconds, handle_time_seconds
                  ) -> np.ndarray:
    """Fewest agents whose Erlang C service level on ``offered_load`` erlangs answers the
    share ``answered`` (below 1) within ``target_seconds``; 0 without load. Arrays of one
    shape (or scalars broadcast to it).

    The level rises with agents and is 0 up to the load, so the answer lies above
    floor(load): found by widening an upper bound until it meets the standard, then
    bisecting, a few evaluations whatever the load.
    """
    load = np.asarray(offered_load, dtype=float)
    busy = load > 0.0

    def meets(n):
        return service_level(load, n, target_seconds, handle_time_seconds) >= answered

    low = np.floor(load)                      # fails: a queue needs more agents than load
    high = low + 1.0 + np.ceil(np.sqrt(load))
    while not (ok := meets(high) | ~busy).all():
        high = np.where(ok, high, low + 2.0 * (high - low))
    while (gap := (high - low > 1.0) & busy).any():
        middle = np.floor((low + high) / 2.0)
        ok = meets(middle)
        high = np.where(gap & ok, middle, high)
        low = np.where(gap & ~ok, middle, low)
    return np.where(busy, high, 0.0).astype(np.int64)


def average_speed_of_answer(offered_load: float, agents: int,
                            handle_time_seconds: float) -> float:
    """Mean wait before answer in seconds: C(A, N) · handle time / (N − A); inf if N ≤ A."""
    if offered_load <= 0.0:
        return 0.0
    if agents <= offered_load:
        return math.inf
    return erlang_c(offered_load, agents) * handle_time_seconds / (agents - offered_load)


def served_in_time(channel: np.ndarray, pool: np.ndarray, level: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    """True where a contact was answered within target.

    Args:
        channel: Channel per customer (``NO_CONTACT`` for none).
        pool: Agent pool per customer (0 general, 1 priority).
        level: (C, pools) service level of each channel's pool (1 for self-service).
        u: Uniforms in [0, 1).
    """
    n_pools = level.shape[1]
    cell = np.maximum(channel, 0).astype(np.intp) * n_pools + pool
    return (channel >= 0) & (u < level.ravel().take(cell))


def contact_utility(channel: np.ndarray, served: np.ndarray, quality: np.ndarray,
                    wait_penalty: np.ndarray) -> np.ndarray:
    """Utility a customer's contact adds to the month's experience.

    Args:
        channel: Channel per customer, ``NO_CONTACT`` (−1) for none.
        served: Contact answered within target.
        quality, wait_penalty: (C + 1,) per channel, with a last entry of 0 that
            ``NO_CONTACT`` selects, so no contact adds nothing.
    """
    return select(served, quality.take(channel), -wait_penalty.take(channel))


def service_levels(contacts: np.ndarray, agents: np.ndarray, human: np.ndarray,
                   hourly_share: np.ndarray, days_per_month: np.ndarray,
                   handle_time_seconds: np.ndarray,
                   service_target_seconds: np.ndarray) -> np.ndarray:
    """Service level of every (channel, pool) for the month: the contact-weighted average
    over opening hours of each hour's Erlang C level; 1 for self-service and idle pools.

    Pool 0 is the general queue; any further pool is a reserved team (priority service). In
    an hour when a reserved team has no agents its contacts are not left unanswered: they
    join the general queue and get its service level.

    Args:
        contacts: (C, pools) contacts this month.
        agents: (C, pools, H) agents on duty in each opening hour.
        human, days_per_month, handle_time_seconds, service_target_seconds: (C,) channel
            parameters.
        hourly_share: (C, H) share of a day's contacts in each hour (0 where shut).
    """
    share = hourly_share[:, None, :]
    load = offered_load(contacts[:, :, None], share, days_per_month[:, None, None],
                        handle_time_seconds[:, None, None])
    unstaffed = agents == 0
    unstaffed[:, 0, :] = False
    load[:, 0, :] += (load * unstaffed).sum(axis=1)
    load[unstaffed] = 0.0
    by_hour = service_level(load, agents, service_target_seconds[:, None, None],
                            handle_time_seconds[:, None, None])
    by_hour = np.where(unstaffed, by_hour[:, :1, :], by_hour)
    level = (by_hour * share).sum(axis=2)
    return np.where(human[:, None] & (contacts > 0), level, 1.0)
