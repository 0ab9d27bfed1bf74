"""Customer state as a struct of arrays: row i of every array is customer i.

The vectorized engine works on whole arrays; a mesa ``Customer`` agent is a view on one
row. Nothing here holds a Python object per customer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .codes import NEVER, NO_CONTACT, PROSPECT
from .rules import churn, lifecycle
from .scenario import LifecycleParams, Scenario
from .tables import Tables


@dataclass
class CustomerState:
    """Every person's state; each field is an array of length ``population``.

    Months are stamped on one clock: warm-up months are 0 and below, the measured horizon
    1 and above; :data:`~sim.tables.NEVER` marks what has not happened.
    """

    segment: np.ndarray           # int8, true segment code (hidden from the firm)
    label_u: np.ndarray           # float32 (n, 2), the uniforms the firm's label is read from
    label: np.ndarray             # int8, the firm's label of the segment (firm's data)
    stage: np.ndarray             # int8, stage code (see sim.scenario.STAGES)
    months_in_stage: np.ndarray   # int16, months in the current stage while a customer
    tenure: np.ndarray            # int16, completed months as a customer this relationship
    cohort: np.ndarray            # int16, month this relationship began (NEVER: none yet)
    departed_month: np.ndarray    # int16, month of the last departure (NEVER: none)
    theta: np.ndarray             # float64, base churn propensity (hidden from the firm)
    log_survival: np.ndarray      # float32, log(1 − theta)
    satisfaction: np.ndarray      # float32, 0..1 (hidden from the firm)
    products: np.ndarray          # int8, products held (0 for non-customers)
    tier: np.ndarray              # int8, value tier 0=A 1=B 2=C, set by the firm
    proposition: np.ndarray       # int8, proposition held (-1 none)
    holding: np.ndarray           # int16, segment · P + proposition (0 if none): the row of
    #                               (segment, proposition) tables, looked up every month
    # The firm's records of each person (observable), kept over all relationships:
    customer_months: np.ndarray   # int16, months as a customer
    departures: np.ndarray        # int16, relationships ended by the customer
    contact_spend: np.ndarray     # float64, contact costs caused (currency)
    last_contact: np.ndarray      # int16, month of the last contact (NEVER: none)
    last_complaint: np.ndarray    # int16, month of the last contact not answered in time
    score_cell: np.ndarray        # int16, the firm's churn-score cell at the month's start
    # Per-month fields, cleared by reset_month at the start of every month:
    channel: np.ndarray           # int8, channel of this month's contact (-1 none)
    pool: np.ndarray              # int8, agent pool serving this month's contact
    contact: np.ndarray           # int8, this month's contact state: 0 none, 2c + 1 channel c
    #                               answered within target, 2c + 2 channel c not in time
    programme: np.ndarray         # int8, this month's programme (see PROGRAMMES)
    steered: np.ndarray           # int8, this month's contact steered (see STEERED)
    offered: np.ndarray           # int8, this month's cross-sell campaign contact with an
    #                               offer: 0 none, 2c + 1 made in cell c (see sim.learning)
    #                               without a sale, 2c + 2 with one
    event: np.ndarray             # int8, this month's event (see EVENTS)
    # Accumulated:
    value: np.ndarray             # float64, discounted (to month 0) net contribution of the
    #                               current (or last) relationship: margin less contact and
    #                               programme costs (currency)

    def reset_month(self) -> None:
        """Clear the per-month fields (contact, service, programme, event)."""
        self.channel.fill(NO_CONTACT)
        for name in ("pool", "contact", "programme", "steered", "offered", "event"):
            getattr(self, name).fill(0)

    def __len__(self) -> int:
        return len(self.segment)

    def recorded_stage(self, rows: slice | np.ndarray, life: LifecycleParams) -> np.ndarray:
        """Stage (code) of the customers in ``rows`` by the firm's records at last month's
        end: acquisition, growth or maturity from tenure and products held, tenure being a
        month less then (customers age after their stage moves). Decline, which follows
        satisfaction, the records cannot show."""
        return lifecycle.settled_stage(self.tenure[rows] - 1, self.products[rows],
                                       life.onboarding_months, life.maturity_tenure_months,
                                       life.maturity_products)


def label_segments(segment: np.ndarray, n_segments: int, data_quality: float,
                   u: np.ndarray) -> np.ndarray:
    """The firm's segment labels: correct with probability ``data_quality``, otherwise a
    uniformly chosen other segment. ``u`` has shape (n, 2); the same uniforms read with
    another data quality give that strategy's labels of the same people."""
    if n_segments == 1:
        return segment.copy()
    wrong = (segment + 1 + (u[:, 1] * (n_segments - 1)).astype(np.int8)) % n_segments
    return np.where(u[:, 0] < data_quality, segment, wrong).astype(np.int8)


def holding_index(segment: np.ndarray, proposition: np.ndarray, n_propositions: int
                  ) -> np.ndarray:
    """Index of (segment, proposition held) in flattened (S, P) tables; proposition 0 when
    none is held (such rows hold no products, so their lookups come to nothing). In int16
    (at most 100 × 100 holdings): the lookups that start from it convert it for less."""
    return segment.astype(np.int16) * n_propositions + np.maximum(proposition, 0)


def initial_state(scenario: Scenario, tables: Tables, rng: np.random.Generator,
                  data_quality: float, offer: np.ndarray, pull: np.ndarray,
                  start_month: int) -> CustomerState:
    """The population at the end of month ``start_month``, drawn from the setup stream.

    The draws do not depend on the strategy: only ``data_quality`` (how labels are read
    off the same uniforms), ``offer`` (proposition per label) and ``pull`` ((S, L) pull of
    each label's offer, a new customer's first satisfaction) do. The model starts every
    compared strategy from the baseline's, so they share the customers.
    """
    m = scenario.market
    n = m.agents
    n_seg = len(tables.segment_names)
    life = scenario.behaviour.lifecycle

    segment = np.searchsorted(np.cumsum(tables.share), rng.random(n), side="right")
    # Rows ordered by segment: a person's row says nothing about them within a segment.
    segment = np.sort(np.minimum(segment, n_seg - 1)).astype(np.int8)
    order = rng.permutation(n)
    tenure_draw = rng.integers(0, m.initial_max_tenure_months + 1, size=n)
    a, b, constant = _theta_parameters(tables, segment)
    theta = np.where(np.isnan(constant), rng.beta(a, b), constant)
    label_u = rng.random((n, 2), dtype=np.float32)

    customer = np.zeros(n, dtype=bool)
    customer[order[: m.initial_agents]] = True
    label = label_segments(segment, n_seg, data_quality, label_u)
    proposition = np.where(customer, offer[label], -1).astype(np.int8)

    # Initial customers were acquired before the start and have paid for its month.
    tenure = np.where(customer, 1 + tenure_draw, 0).astype(np.int16)
    products = customer.astype(np.int8)
    satisfaction = np.where(customer, pull[segment, label], 0.5).astype(np.float32)
    stage = np.where(
        customer,
        lifecycle.settled_stage(tenure, products, life.onboarding_months,
                                life.maturity_tenure_months, life.maturity_products),
        PROSPECT).astype(np.int8)

    def zeros(dtype=float):
        return np.zeros(n, dtype=dtype)

    def never():
        return np.full(n, NEVER, dtype=np.int16)

    return CustomerState(
        segment=segment, label_u=label_u, label=label, stage=stage,
        months_in_stage=zeros(np.int16), tenure=tenure,
        cohort=np.where(customer, start_month, NEVER).astype(np.int16),
        departed_month=never(), theta=theta, log_survival=churn.log_survival(theta),
        satisfaction=satisfaction, products=products, tier=np.full(n, 2, dtype=np.int8),
        proposition=proposition,
        holding=holding_index(segment, proposition, len(tables.proposition_names)),
        customer_months=tenure.copy(), departures=zeros(np.int16), contact_spend=zeros(),
        last_contact=never(), last_complaint=never(), score_cell=zeros(np.int16),
        channel=np.full(n, NO_CONTACT, dtype=np.int8), pool=zeros(np.int8),
        contact=zeros(np.int8), programme=zeros(np.int8), steered=zeros(np.int8),
        offered=zeros(np.int8),
        event=zeros(np.int8),
        value=zeros(),
    )


def new_theta(tables: Tables, segment: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Base churn propensity of people of ``segment``: the Beta quantile of uniform ``u``
    (heterogeneous segments, see :func:`beta_quantile`) or the segment's constant."""
    # Below 1: a uniform rescaled in single precision can round up to 1 (θ would be 1).
    u = np.minimum(u.astype(float), 1.0 - 1e-9)
    theta = tables.churn_constant[segment]
    for s in np.flatnonzero(np.isnan(tables.churn_constant)):
        mine = segment == s
        if mine.any():
            theta[mine] = beta_quantile(float(tables.churn_alpha[s]),
                                        float(tables.churn_beta[s]), u[mine])
    return theta


def beta_quantile(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """Quantile function of Beta(a, b) at ``u``, interpolated in a table of exact quantiles
    at 4,097 points evenly spaced in log-odds of u (so both tails are as finely tabulated
    as the middle). The exact inverse costs about a microsecond per value; the table is
    within 2e−6 of it in θ for α ≥ 0.3 (``tests/test_engine.py`` checks it)."""
    grid, quantiles = _beta_table(a, b)
    return np.interp(u, grid, quantiles)


_GRID = np.concatenate(([0.0], 1.0 / (1.0 + np.exp(-np.linspace(-24.0, 24.0, 4097))), [1.0]))


@functools.lru_cache(maxsize=256)
def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(grid, exact quantiles of Beta(a, b) on it), made once per (a, b) and process."""
    from scipy.special import betaincinv  # only markets with Beta-distributed θ need scipy

    return _GRID, betaincinv(a, b, _GRID)


def _theta_parameters(tables: Tables, segment: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per person: Beta α and β (1 where the segment's θ is constant) and the constant θ
    (nan where it is Beta-distributed)."""
    return (np.nan_to_num(tables.churn_alpha, nan=1.0)[segment],
            np.nan_to_num(tables.churn_beta, nan=1.0)[segment],
            tables.churn_constant[segment])
