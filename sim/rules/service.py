"""Contacts and service: which customers contact the firm, through which channel, and
whether a human channel answers them within its service target.

Human channels are queues (M/M/N, Erlang C) dimensioned for the peak hour: the
month's contacts spread over the opening hours, with the busiest hour carrying
``peak_to_average`` times the average (the Fekkai case: the peak needs several times
the normal staff).
"""

from __future__ import annotations

import math

import numpy as np

from .blend import select

NO_CONTACT = -1


def choose_channel(contact_rate: np.ndarray, channel_cdf: np.ndarray, segment: np.ndarray,
                   eligible: np.ndarray, u_contact: np.ndarray,
                   u_channel: np.ndarray) -> np.ndarray:
    """Channel index of each customer's contact this month, or ``NO_CONTACT``.

    Args:
        contact_rate: Monthly contact probability per customer.
        channel_cdf: (S, C) cumulative channel choice probabilities per segment.
        segment: Segment code per customer.
        eligible: True for customers who can contact (current customers).
        u_contact, u_channel: Uniforms in [0, 1), one each per customer.
    """
    channel = channel_choice(channel_cdf, segment, u_channel)
    return select(contacts(contact_rate, eligible, u_contact), channel, np.int8(NO_CONTACT))


def contacts(contact_rate: np.ndarray, eligible: np.ndarray, u: np.ndarray) -> np.ndarray:
    """True where an eligible customer contacts the firm this month."""
    return eligible & (u < contact_rate)


def channel_choice(channel_cdf: np.ndarray, segment: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    """Channel a contacting customer uses: c where cdf[c − 1] ≤ u < cdf[c] for their segment."""
    channel = np.zeros(len(segment), dtype=np.int8)
    for c in range(channel_cdf.shape[1] - 1):
        channel += u >= channel_cdf[:, c].take(segment)
    return channel


def contact_states(n_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(channel, served) of every contact state code: 0 no contact, 2c + 1 channel c
    answered in time, 2c + 2 channel c not in time."""
    channel = np.concatenate(([NO_CONTACT], np.repeat(np.arange(n_channels), 2)))
    served = np.concatenate(([False], np.tile([True, False], n_channels)))
    return channel.astype(np.int8), served


def contact_state(channel: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Contact state code (see :func:`contact_states`) of contacts made (channel ≥ 0)."""
    return (2 * channel + 2 - served).astype(np.int8)


def rescaled(u: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """u / probability: given u < probability this is again uniform on [0, 1), so one
    uniform decides both whether something happens and how (here: contact, then channel)."""
    return u / np.maximum(probability, np.finfo(float).tiny)


def offered_load(contacts_per_month: np.ndarray | float, hours_per_month: np.ndarray | float,
                 peak_to_average: np.ndarray | float,
                 handle_time_seconds: np.ndarray | float) -> np.ndarray | float:
    """Offered load at the peak hour, in erlangs (calls per hour × handle time in hours)."""
    calls_per_peak_hour = np.asarray(contacts_per_month) / hours_per_month * peak_to_average
    return calls_per_peak_hour * np.asarray(handle_time_seconds) / 3600.0


def erlang_b(offered_load: float, agents: int) -> float:
    """Erlang B blocking probability of ``agents`` servers under ``offered_load`` erlangs.

    Uses the recursion 1/B(k) = 1 + k / (A · B(k−1)) in its inverse form, which neither
    overflows nor loses precision for hundreds of agents (no factorials, no powers).
    """
    if agents <= 0:
        return 1.0
    if offered_load <= 0.0:
        return 0.0
    inv_b = 1.0
    for k in range(1, agents + 1):
        inv_b = 1.0 + inv_b * k / offered_load
    return 1.0 / inv_b


def erlang_c(offered_load: float, agents: int) -> float:
    """Erlang C: probability that a contact has to wait (0..1); 1 when the queue is unstable.

    Args:
        offered_load: Load in erlangs (arrival rate × mean handle time).
        agents: Number of agents serving the queue.
    """
    if offered_load <= 0.0:
        return 0.0
    if agents <= offered_load:
        return 1.0
    b = erlang_b(offered_load, agents)
    return agents * b / (agents - offered_load * (1.0 - b))


def service_level(offered_load: float, agents: int, target_seconds: float,
                  handle_time_seconds: float) -> float:
    """Share of contacts answered within ``target_seconds`` (0..1).

    SL = 1 − C(A, N) · exp(−(N − A) · target / handle time); 0 when N ≤ A.
    """
    if offered_load <= 0.0:
        return 1.0
    if agents <= offered_load:
        return 0.0
    wait = erlang_c(offered_load, agents)
    return 1.0 - wait * math.exp(-(agents - offered_load) * target_seconds / handle_time_seconds)


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
                   hours_per_month: np.ndarray, peak_to_average: np.ndarray,
                   handle_time_seconds: np.ndarray,
                   service_target_seconds: np.ndarray) -> np.ndarray:
    """Peak-hour service level of every (channel, pool): 1 for self-service.

    Args:
        contacts: (C, pools) contacts this month.
        agents: (C, pools) agents on duty at the peak hour.
        human, hours_per_month, peak_to_average, handle_time_seconds,
        service_target_seconds: (C,) channel parameters.
    """
    load = offered_load(contacts, hours_per_month[:, None], peak_to_average[:, None],
                        handle_time_seconds[:, None])
    level = np.ones(contacts.shape)
    for c, p in zip(*np.nonzero(human[:, None] & (contacts > 0)), strict=True):
        level[c, p] = service_level(float(load[c, p]), int(agents[c, p]),
                                    float(service_target_seconds[c]),
                                    float(handle_time_seconds[c]))
    return level
