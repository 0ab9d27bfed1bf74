"""Customer state as a struct of arrays: row i of every array is customer i.

The vectorized engine works on whole arrays; a mesa ``Customer`` agent is a view on one
row. Nothing here holds a Python object per customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rules import churn, lifecycle
from .rules.service import NO_CONTACT
from .scenario import Scenario
from .tables import PROSPECT, Tables


@dataclass
class CustomerState:
    """Every customer's state; each field is an array of length ``population``."""

    segment: np.ndarray           # int8, true segment code
    label: np.ndarray             # int8, the firm's label of the segment
    stage: np.ndarray             # int8, stage code (see sim.scenario.STAGES)
    months_in_stage: np.ndarray   # int16, months in the current stage while a customer
    tenure: np.ndarray            # int16, completed months as a customer this relationship
    cohort: np.ndarray            # int16, month acquired (0 = initial customer, -1 never)
    departed_month: np.ndarray    # int16, month of the last departure (-1 never)
    theta: np.ndarray             # float64, base churn propensity per churn opportunity
    log_survival: np.ndarray      # float64, log(1 − theta)
    satisfaction: np.ndarray      # float64, 0..1
    products: np.ndarray          # int8, products held (0 for non-customers)
    tier: np.ndarray              # int8, value tier 0=A 1=B 2=C, set by the firm
    proposition: np.ndarray       # int8, proposition held (-1 none)
    holding: np.ndarray           # intp, segment · P + proposition (0 if none): the row of
    #                               (segment, proposition) tables, looked up every month
    # Per-month fields, cleared by reset_month at the start of every month:
    channel: np.ndarray           # int8, channel of this month's contact (-1 none)
    pool: np.ndarray              # int8, agent pool serving this month's contact
    contact: np.ndarray           # int8, this month's contact state: 0 none, 2c + 1 channel c
    #                               answered within target, 2c + 2 channel c not in time
    in_programme: np.ndarray      # bool, in a retention programme this month
    event: np.ndarray             # int8, this month's event (see EVENTS)
    revenue: np.ndarray           # float64, this month's revenue (currency)
    delivery_cost: np.ndarray     # float64, this month's delivery cost (currency)
    service_cost: np.ndarray      # float64, this month's contact cost (currency)
    # Accumulated:
    value: np.ndarray             # float64, discounted contribution to date (currency)

    def segment_starts(self, n_segments: int) -> np.ndarray:
        """First row of each segment (rows are ordered by segment), length n_segments."""
        return np.searchsorted(self.segment, np.arange(n_segments))

    def reset_month(self) -> None:
        """Clear the per-month fields (contact, service, programme, event, money)."""
        self.channel.fill(NO_CONTACT)
        for name in ("pool", "contact", "in_programme", "event", "revenue", "delivery_cost",
                     "service_cost"):
            getattr(self, name).fill(0)

    def __len__(self) -> int:
        return len(self.segment)


EVENTS = ("none", "churned", "acquired", "won_back")
NO_EVENT, CHURNED, ACQUIRED, WON_BACK = range(len(EVENTS))


def label_segments(segment: np.ndarray, n_segments: int, data_quality: float,
                   u: np.ndarray) -> np.ndarray:
    """The firm's segment labels: correct with probability ``data_quality``, otherwise a
    uniformly chosen other segment. ``u`` has shape (n, 2)."""
    if n_segments == 1:
        return segment.copy()
    wrong = (segment + 1 + (u[:, 1] * (n_segments - 1)).astype(np.int8)) % n_segments
    return np.where(u[:, 0] < data_quality, segment, wrong).astype(np.int8)


def holding_index(segment: np.ndarray, proposition: np.ndarray, n_propositions: int
                  ) -> np.ndarray:
    """Index of (segment, proposition held) in flattened (S, P) tables; proposition 0 when
    none is held (such rows hold no products, so their lookups come to nothing)."""
    return segment.astype(np.intp) * n_propositions + np.maximum(proposition, 0)


def initial_state(scenario: Scenario, tables: Tables, rng: np.random.Generator,
                  data_quality: float, offer: np.ndarray, pull: np.ndarray) -> CustomerState:
    """Month-0 population, drawn from the setup stream.

    The draws do not depend on the strategy: only ``data_quality`` (how labels are read
    off the same uniforms), ``offer`` (proposition per label) and ``pull`` ((S, L) pull of
    each label's offer, a new customer's first satisfaction) do, so strategies compared in
    one replication start from the same customers.
    """
    m = scenario.market
    n = m.population
    n_seg = len(tables.segment_names)
    life = scenario.behaviour.lifecycle

    segment = np.searchsorted(np.cumsum(tables.share), rng.random(n), side="right")
    # Rows are ordered by segment, so per-segment totals are sums over contiguous ranges.
    segment = np.sort(np.minimum(segment, n_seg - 1)).astype(np.int8)
    order = rng.permutation(n)
    tenure_draw = rng.integers(0, m.initial_max_tenure_months + 1, size=n)
    beta_a = np.nan_to_num(tables.churn_alpha, nan=1.0)[segment]
    beta_b = np.nan_to_num(tables.churn_beta, nan=1.0)[segment]
    theta_beta = rng.beta(beta_a, beta_b)
    label_u = rng.random((n, 2))

    constant = tables.churn_constant[segment]
    theta = np.where(np.isnan(constant), theta_beta, constant)
    customer = np.zeros(n, dtype=bool)
    customer[order[: m.initial_customers]] = True
    label = label_segments(segment, n_seg, data_quality, label_u)
    proposition = np.where(customer, offer[label], -1).astype(np.int8)

    # Initial customers were acquired before month 1 and have paid for month 0.
    tenure = np.where(customer, 1 + tenure_draw, 0).astype(np.int16)
    products = customer.astype(np.int8)
    satisfaction = np.where(customer, pull[segment, label], 0.5)
    stage = np.where(
        customer,
        lifecycle.settled_stage(tenure, products, life.onboarding_months,
                                life.maturity_tenure_months, life.maturity_products),
        PROSPECT).astype(np.int8)
    zeros = np.zeros(n)
    return CustomerState(
        segment=segment, label=label, stage=stage,
        months_in_stage=np.zeros(n, dtype=np.int16), tenure=tenure,
        cohort=np.where(customer, 0, -1).astype(np.int16),
        departed_month=np.full(n, -1, dtype=np.int16),
        theta=theta, log_survival=churn.log_survival(theta), satisfaction=satisfaction,
        products=products, tier=np.full(n, 2, dtype=np.int8), proposition=proposition,
        holding=holding_index(segment, proposition, len(tables.proposition_names)),
        channel=np.full(n, NO_CONTACT, dtype=np.int8), pool=np.zeros(n, dtype=np.int8),
        contact=np.zeros(n, dtype=np.int8), in_programme=np.zeros(n, dtype=bool),
        event=np.zeros(n, dtype=np.int8), revenue=zeros.copy(), delivery_cost=zeros.copy(),
        service_cost=zeros.copy(), value=zeros.copy(),
    )
