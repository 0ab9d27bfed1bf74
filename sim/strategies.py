"""Firm policies: what a strategy offers, how it spends its budgets and how it staffs and
prioritises service.

``gsp`` (one size fits all) offers one proposition, spreads every budget evenly and, having
no churn model, spends retention on customers who recently complained (a contact not
answered in time). ``segmented`` reads each customer's segment with accuracy
``data_quality`` (rising month by month where the strategy invests in ``data``), offers
every label the proposition its market research says fits best, spends budgets on the
labels and value tiers it estimates to be worth most, targets retention by its churn
score × estimated value, reserves agents for tier A and prompts sales contacts from the
customer code. Each of these practices is a key of the strategy
(``propositions``, ``value_codes``, ``allocation``, ``retention_targeting``,
``priority_share``, ``sales_prompts``) that ``kind`` only gives a default, so a gsp can take
them up one at a time; nothing here reads ``kind`` itself.

The firm decides only from what a firm can observe (DESIGN decision 8): its labels, tiers,
products, tenure, spend, contacts and whether they were answered, and its own records of
who joined and left; its market research on the segments has an error that shrinks with
data quality. True segments, satisfaction and churn propensities are never read here.
What the strategy costs (propositions, analytics, staff) is charged. Whether it wins
therefore depends on the market.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import scoring
from .codes import (
    ACQUISITION,
    GROWTH,
    LOYALTY,
    MATURITY,
    ONBOARDING,
    PROGRAMMES,
    PROSPECT,
    STAGES,
    TIER_A,
    TIER_B,
    TIER_C,
    TIERS,
    flat_index,
    is_active,
    lookup,
    months_since,
)
from .population import CustomerState
from .rules import acquisition, steering, winback
from .rules.blend import select
from .rules.satisfaction import logistic
from .rules.service import agents_needed, offered_load
from .scenario import LifecycleParams, Scenario, StaffingTarget, Strategy
from .tables import Tables, by_holding

GENERAL_POOL, PRIORITY_POOL = 0, 1
N_POOLS = 2

RECORDED_STAGES: tuple[int, ...] = (ACQUISITION, GROWTH, MATURITY)
"""The stages the firm's records can show (consecutive codes; see
:meth:`sim.population.CustomerState.recorded_stage`)."""


PRIOR_CHURN = 0.01
"""Monthly churn the firm assumes for a label before it has any record of customers."""


@dataclass(frozen=True)
class Standard:
    """A channel the firm staffs each month to a service standard (a resolved
    :class:`~sim.scenario.StaffingTarget`)."""

    channel: int               # index of the human channel
    answered: float            # share to answer within ...
    within_seconds: float      # ... this many seconds
    sized_for: str             # each_hour, average_hour or peak_hour
    forecast_months: int       # months of observed contacts the forecast averages


@dataclass(frozen=True)
class SteeringPlan:
    """Channel steering as the firm runs it (a resolved :class:`~sim.scenario.Steering`)."""

    to: int                    # channel suggested
    away: np.ndarray           # (C+1,) bool: contacts of these channels are steered (the
    #                            last entry, no contact, is False)
    tiers: np.ndarray          # (tiers,) bool: contacts of these value tiers are steered
    labels: np.ndarray         # (L,) bool: contacts of customers so labelled are steered
    share: float               # of those contacts, the share the firm suggests a move to
    incentive: float           # currency per contact that moves
    forced: bool               # every suggested contact moves, willing or not
    log_preference: np.ndarray  # (S, C+1) log(preference for `to` / for the channel used)


PRIOR_CONTACT_RATE = 0.25
"""Contacts per customer-month a firm staffing to a standard assumes for a channel's pool
before it has observed any (then replaced by what it observes)."""


@dataclass(frozen=True)
class Plan:
    """What the firm settles when it takes over the market and keeps: beliefs, offers,
    staffing, costs (a scheduled change amends staffing, service and costs; an investment
    in data raises the data quality month by month).

    Shapes: L labels (= segments), S segments, P propositions, C channels, H opening hours,
    K max products.
    """

    strategy: Strategy
    offer: np.ndarray          # (L,) proposition offered to each label
    label_value: np.ndarray    # (L,) estimated lifetime value of a customer so labelled
    label_pull: np.ndarray     # (L,) estimated conversion against the competitor
    pull: np.ndarray           # (S, L) true pull of label ℓ's offer on segment s, 0..1: how
    #                            customers respond, never read by the firm's decisions
    tier_score: np.ndarray     # (L, K+1) estimated value of a customer holding k products
    agents: np.ndarray         # (C, pools, H) agents on duty in each opening hour
    pool_of_tier: np.ndarray   # (tiers,) pool serving each tier's contacts
    sales_prompt: np.ndarray   # (tiers,) service contacts used to cross-sell
    overhead: float            # fixed costs: propositions offered + analytics (currency/month)
    staffing_costs: np.ndarray  # (C,) agents' cost per channel (currency/month)
    programme_of: np.ndarray   # (stages, tiers) lifecycle programme code (PROGRAMMES) of
    #                            customers of each settled stage and tier; 0 = none
    programme_cost: np.ndarray  # (programmes,) lifecycle programmes' cost per enrolled
    #                             customer-month (currency); retention's is economics'
    data_quality: float        # accuracy of the firm's labels in force (probability; 1
    #                            where no practice reads them); with an investment in data
    #                            it rises month by month (see improve_data)
    standards: tuple[Standard, ...] = ()  # channels staffed each month to a standard
    steering: SteeringPlan | None = None   # contacts steered to another channel
    cross_sell: np.ndarray | None = None   # (arms,) offer codes campaigns may make: the
    #                                        offers tested, or the strategy's one offer;
    #                                        None: campaigns without an offer
    start_arm: int = 0                      # arm made outside a test until one ends
    development_aim: np.ndarray | None = None  # (tiers, RECORDED_STAGES) whom development
    #                                           campaigns reach, by tier and stage in the
    #                                           firm's records; None: every stage, by tier

    @property
    def scores_churn(self) -> bool:
        """Whether the firm fits a churn score (to target retention)."""
        return self.strategy.retention_targeting == "churn_score"

    @property
    def by_value(self) -> bool:
        """Whether budgets go to the groups of highest estimated value first."""
        return self.strategy.allocation == "by_value"


@dataclass(frozen=True)
class Records:
    """What the firm's books say about each label: people, customer-months, departures,
    contact costs, and spend relative to list price (shapes (L,))."""

    people: np.ndarray
    customer_months: np.ndarray
    departures: np.ndarray
    contact_spend: np.ndarray
    spend_index: np.ndarray

    @classmethod
    def empty(cls, n_labels: int) -> Records:
        """The records of a firm that has seen nobody yet."""
        zeros = np.zeros(n_labels)
        return cls(zeros, zeros, zeros, zeros, np.ones(n_labels))

    @classmethod
    def read(cls, state: CustomerState, label: np.ndarray, tables: Tables) -> Records:
        """The records of ``state`` read under the labels ``label``."""
        n_lab = len(tables.segment_names)

        def by_label(weights=None, rows=slice(None)):
            return np.bincount(label[rows], weights=weights, minlength=n_lab).astype(float)

        revenue = by_holding(tables.revenue, state.holding, state.products)
        paying = np.flatnonzero(is_active(state.stage) & (revenue > 0))
        listed = tables.list_revenue[np.maximum(state.proposition[paying], 0),
                                     state.products[paying]]
        spent, listed = by_label(revenue[paying], paying), by_label(listed, paying)
        return cls(people=by_label(), customer_months=by_label(state.customer_months),
                   departures=by_label(state.departures),
                   contact_spend=by_label(state.contact_spend),
                   spend_index=np.divide(spent, listed, out=np.ones(n_lab), where=listed > 0))

    def churn(self) -> np.ndarray:
        """Observed monthly churn per label (departures per customer-month): the overall rate
        where a label has no customer-months, :data:`PRIOR_CHURN` without any record."""
        months, gone = self.customer_months, self.departures
        overall = gone.sum() / months.sum() if months.sum() > 0 else PRIOR_CHURN
        return np.divide(gone, months, out=np.full(len(months), overall), where=months > 0)

    def contact_cost(self) -> np.ndarray:
        """Observed contact cost per customer-month per label (currency)."""
        months = self.customer_months
        return np.divide(self.contact_spend, months, out=np.zeros(len(months)),
                         where=months > 0)


def confusion(n: int, data_quality: float) -> np.ndarray:
    """(L, S) probability of label ℓ given true segment s: ``data_quality`` on the diagonal,
    the rest spread evenly over the other segments (n ≥ 2)."""
    matrix = np.full((n, n), (1.0 - data_quality) / (n - 1))
    np.fill_diagonal(matrix, data_quality)
    return matrix


def label_shares(records: Records, data_quality: float) -> np.ndarray:
    """The firm's estimate of the segments' shares: its label frequencies corrected for
    known labelling error (the confusion matrix inverted), clipped to shares."""
    n = len(records.people)
    freq = records.people / max(records.people.sum(), 1.0)
    if n == 1:
        return np.ones(1)
    # At data quality 1/n labels say nothing about segments. The confusion matrix is then
    # singular, though in floating point only nearly so (condition ~1e16), and solving
    # would turn rounding noise into extreme shares: compare, do not rely on LinAlgError.
    if math.isclose(data_quality, 1.0 / n, rel_tol=1e-9):
        return freq if freq.sum() > 0 else np.full(n, 1.0 / n)
    shares = np.linalg.solve(confusion(n, data_quality), freq)
    shares = np.clip(shares, 0.0, None)
    return shares / shares.sum() if shares.sum() > 0 else np.full(n, 1.0 / n)


def research(tables: Tables, proposition_weight: float, research_error: float,
             data_quality: float, errors: np.ndarray) -> np.ndarray:
    """(S, P) the firm's market research: each segment's share choosing each proposition
    over the competitor, measured with an error on the log-odds of standard deviation
    ``research_error`` × (1 − ``data_quality``). ``errors`` are standard normal, (S, P)."""
    sd = research_error * (1.0 - data_quality)
    return logistic(proposition_weight * tables.fit + sd * errors)


@dataclass(frozen=True)
class Decisions:
    """One month's spending decisions: reach probabilities and what they cost."""

    acquisition_reach: np.ndarray  # (L,) probability a prospect so labelled is reached
    retention_reach: np.ndarray    # (cells × L,) probability a customer of each (score
    #                                cell, label) is reached by the retention programme
    development_reach: np.ndarray  # (development groups,) probability an eligible customer
    #                                of each group (see development_group) is reached
    winback_reach: np.ndarray      # (L,) probability an eligible departed customer is reached
    development_cost: np.ndarray   # (tiers,) campaign spend per customer of each tier
    spend: dict[str, float]        # currency this month per budget line


def posterior(shares: np.ndarray, data_quality: float) -> np.ndarray:
    """P(true segment s | label ℓ), shape (L, S), for labels correct with ``data_quality``
    and otherwise uniformly wrong."""
    n = len(shares)
    if n == 1:
        return np.ones((1, 1))
    joint = confusion(n, data_quality) * shares[None, :]
    total = joint.sum(axis=1, keepdims=True)
    return np.divide(joint, total, out=np.full_like(joint, 1.0 / n), where=total > 0)


def data_quality_of(strategy: Strategy, month: int = 0) -> float:
    """Accuracy of the strategy's labels in measured ``month`` (probability; month 0 is the
    take-over): its data quality if any practice reads them, rising month by month when it
    invests in data; a firm that reads none keeps none, which is the same as reading them
    all right."""
    if not strategy.reads_labels:
        return 1.0
    return strategy.data_quality if strategy.data is None else strategy.data.quality(month)


def improve_data(plan: Plan, month: int) -> Plan:
    """``plan`` with the data quality its investment in data has reached in measured
    ``month``; offers, valuations and research stay as settled at the take-over."""
    return dataclasses.replace(plan, data_quality=data_quality_of(plan.strategy, month))


def make_plan(scenario: Scenario, tables: Tables, name: str, records: Records,
              research_errors: np.ndarray) -> Plan:
    """The firm's plan for strategy ``name`` of ``scenario``, from its ``records`` and its
    market research (``research_errors``: (S, P) standard normal errors)."""
    strat = scenario.strategies[name]
    w = scenario.behaviour.satisfaction.proposition_weight
    data_quality = data_quality_of(strat)
    post = posterior(label_shares(records, data_quality), data_quality)
    measured = research(tables, w, strat.research_error, data_quality,
                        research_errors)                                 # (S, P)

    if strat.propositions == "one":
        offer = np.full(len(tables.segment_names),
                        tables.proposition_names.index(strat.proposition))
    elif strat.propositions == "best_fit":
        offer = np.argmax(post @ measured, axis=1)
    else:
        offer = np.array([tables.proposition_names.index(strat.propositions[s])
                          for s in tables.segment_names])
    offer = offer.astype(np.int8)

    hazard = records.churn()
    life = (1.0 - hazard) / (tables.discount_monthly + hazard)       # (L,) months, discounted
    margin = records.spend_index[:, None] * tables.list_margin[offer]  # (L, K+1)
    tier_score = margin * life[:, None]
    label_value = (margin[:, 1] - records.contact_cost()) * life
    label_pull = np.einsum("ls,sl->l", post, measured[:, offer])

    return Plan(strategy=strat, offer=offer, data_quality=data_quality,
                label_value=label_value, label_pull=label_pull,
                pull=_true_pull(tables, offer, w), tier_score=tier_score,
                **_cross_sell(strat, tables), **_operations(strat, tables, offer))


def _cross_sell(strat: Strategy, tables: Tables) -> dict:
    """The offers the strategy's campaigns may make (``cross_sell``, offer codes) and the
    one made outside a test (``start_arm``, its place among them)."""
    test = strat.test_and_learn
    if test is None:
        if strat.offer is None:
            return {}
        return {"cross_sell": np.array([tables.offer_names.index(strat.offer)])}
    start = test.offers.index(strat.offer) if strat.offer is not None else 0
    return {"cross_sell": np.array([tables.offer_names.index(o) for o in test.offers]),
            "start_arm": start}


def _true_pull(tables: Tables, offer: np.ndarray, proposition_weight: float) -> np.ndarray:
    """(S, L) pull of label ℓ's offer on segment s, 0..1: the logit choice between the offer
    and the competitor's (see :attr:`Plan.pull`)."""
    return acquisition.conversion(tables.fit[:, offer], proposition_weight)


def facing(plan: Plan, tables: Tables, proposition_weight: float) -> Plan:
    """``plan`` after the competitor's utility changed (``tables`` carry the new fit): the
    true pull of each offer follows; the offers, and the firm's beliefs about them (its
    market research), stay as settled at the take-over."""
    return dataclasses.replace(plan, pull=_true_pull(tables, plan.offer, proposition_weight))


def amend_plan(plan: Plan, tables: Tables, strat: Strategy) -> Plan:
    """``plan`` run under ``strat`` from now on (a scheduled change): the same offers and
    valuations, with the staffing, service, budgets and costs of ``strat``."""
    return dataclasses.replace(plan, strategy=strat, **_operations(strat, tables, plan.offer))


def _operations(strat: Strategy, tables: Tables, offer: np.ndarray) -> dict:
    """The parts of a plan that follow from how the strategy staffs and serves: agents on
    duty by (channel, pool, hour), each tier's pool, sales prompts by tier, the monthly
    overhead of the ``offer``'s propositions and analytics, and staffing costs."""
    n_hours = tables.hourly_share.shape[1]
    agents = np.zeros((len(tables.channel_names), N_POOLS, n_hours), dtype=np.int64)
    standards = []
    for c, channel in enumerate(tables.channel_names):
        staff = np.zeros(n_hours, dtype=np.int64)
        spec = strat.staffing.get(channel, 0)
        if isinstance(spec, StaffingTarget):
            # Staffed month by month (staff_to_standards); no agents until then.
            standards.append(Standard(
                c, tables.service_level_target[c] if spec.answered is None else spec.answered,
                (tables.service_target_seconds[c] if spec.within_seconds is None
                 else spec.within_seconds), spec.sized_for, spec.forecast_months))
            continue
        given = np.atleast_1d(spec)
        open_hours = np.flatnonzero(tables.hourly_share[c] > 0) if len(given) == 1 else None
        if open_hours is None:
            staff[:len(given)] = given
        else:
            staff[open_hours] = given[0]
        priority = np.round(staff * strat.priority_share).astype(np.int64)
        agents[c] = (staff - priority, priority)
    pool_of_tier = np.full(len(TIERS), GENERAL_POOL)
    if agents[:, PRIORITY_POOL].any() or (standards and strat.priority_share > 0):
        pool_of_tier[TIER_A] = PRIORITY_POOL
    prompted = (TIER_A, TIER_B) if strat.sales_prompts == "by_code" else (TIER_A, TIER_B, TIER_C)
    sales_prompt = np.isin(np.arange(len(TIERS)), prompted) & strat.sales_centre

    overhead = float(tables.proposition_fixed_cost[np.unique(offer)].sum() + strat.analytics_cost)
    return {"agents": agents, "pool_of_tier": pool_of_tier, "sales_prompt": sales_prompt,
            "overhead": overhead, "staffing_costs": staffing_costs(agents, tables),
            "standards": tuple(standards), "steering": _steering(strat, tables),
            **_lifecycle_programmes(strat)}


def _steering(strat: Strategy, tables: Tables) -> SteeringPlan | None:
    """The strategy's channel steering resolved to channel and tier codes (None without)."""
    spec = strat.steering
    if spec is None:
        return None
    names = tables.channel_names
    to = names.index(spec.to)
    away = np.zeros(len(names) + 1, dtype=bool)
    away[[names.index(c) for c in spec.away_from]
         if spec.away_from else np.flatnonzero(tables.human)] = True
    away[to] = False
    preference = np.diff(tables.channel_cdf, axis=1, prepend=0.0)
    labels = (np.isin(tables.segment_names, spec.labels) if spec.labels
              else np.ones(len(tables.segment_names), dtype=bool))
    return SteeringPlan(to=to, away=away, tiers=np.isin(TIERS, spec.tiers), labels=labels,
                        share=spec.share, incentive=spec.incentive, forced=spec.forced,
                        log_preference=steering.log_preference(preference, to))


def _lifecycle_programmes(strat: Strategy) -> dict:
    """Whom the strategy's onboarding and loyalty programmes enrol (``programme_of``, by
    settled stage and tier), what a month in each costs (``programme_cost``) and whom its
    development campaigns reach (``development_aim``)."""
    programme_of = np.zeros((len(STAGES), len(TIERS)), dtype=np.int8)
    programme_cost = np.zeros(len(PROGRAMMES))
    for code, stage, programme in ((ONBOARDING, ACQUISITION, strat.programmes.onboarding),
                                   (LOYALTY, MATURITY, strat.programmes.loyalty)):
        if programme is not None:
            programme_of[stage, [TIERS.index(t) for t in programme.tiers]] = code
            programme_cost[code] = programme.cost_per_customer
    aim = strat.programmes.development
    return {"programme_of": programme_of, "programme_cost": programme_cost,
            "development_aim": None if aim is None else (
                np.isin(TIERS, aim.tiers)[:, None]
                & np.isin([STAGES[s] for s in RECORDED_STAGES], aim.stages)[None, :])}


def development_group(state: CustomerState, rows: slice | np.ndarray, plan: Plan,
                      life: LifecycleParams) -> np.ndarray:
    """Each customer's group for the development campaigns' reach: its tier, or, for a
    strategy aiming them at stages (``plan.development_aim``), tier × stage in the firm's
    records (row-major over (tiers, RECORDED_STAGES))."""
    tier = state.tier[rows]
    if plan.development_aim is None:
        return tier
    return tier * np.int8(len(RECORDED_STAGES)) + (state.recorded_stage(rows, life)
                                                   - np.int8(RECORDED_STAGES[0]))


def staffing_costs(agents: np.ndarray, tables: Tables) -> np.ndarray:
    """(C,) what ``agents`` (C, pools, H) on duty cost a month (currency/month)."""
    return agents.sum(axis=(1, 2)) * tables.days_per_month * tables.cost_per_agent_hour


def forecast_contacts(history: list[tuple[np.ndarray, np.ndarray]], months: int,
                      pool_customers: np.ndarray, n_channels: int) -> np.ndarray:
    """(C, pools) contacts the firm expects this month: each pool's contacts per customer
    over the last ``months`` observed months × the pool's customers now.

    Args:
        history: Observed months, oldest first, each (contacts (C, pools), customers of
            each pool at the month's start (pools,)).
        months: How many of the latest months to average.
        pool_customers: (pools,) customers each pool serves now.
        n_channels: C.

    A pool the firm has not yet seen customers in takes its channel's rate over every
    pool; without any observed month every channel takes :data:`PRIOR_CONTACT_RATE`.
    """
    recent = history[-months:]
    if not recent:
        return np.full((n_channels, len(pool_customers)), PRIOR_CONTACT_RATE) * pool_customers
    contacts = sum(c for c, _ in recent)                             # (C, pools)
    customers = sum(n for _, n in recent).astype(float)              # (pools,)
    channel_rate = contacts.sum(axis=1, keepdims=True) / max(customers.sum(), 1.0)
    rate = np.divide(contacts, customers, out=np.repeat(channel_rate, len(customers), axis=1),
                     where=customers > 0)
    return rate * pool_customers


def staff_to_standards(plan: Plan, tables: Tables, history: list[tuple[np.ndarray, np.ndarray]],
                       pool_customers: np.ndarray) -> Plan:
    """``plan`` with each standard's channel staffed for this month, and what its agents
    cost: in each pool and opening hour the fewest agents that meet the standard on the
    forecast load (see :func:`forecast_contacts`; ``history`` and ``pool_customers`` as
    there), one level all day when sized for the average or the busiest hour."""
    agents = plan.agents.copy()
    for std in plan.standards:
        c = std.channel
        forecast = forecast_contacts(history, std.forecast_months, pool_customers,
                                     len(tables.channel_names))[c]
        share = tables.hourly_share[c]
        hours = share > 0
        load = offered_load(forecast[:, None], share[None, :], tables.days_per_month[c],
                            tables.handle_time_seconds[c])          # (pools, H)
        if std.sized_for == "average_hour":
            load = np.where(hours, load[:, hours].mean(axis=1, keepdims=True), 0.0)
        elif std.sized_for == "peak_hour":
            load = np.where(hours, load.max(axis=1, keepdims=True), 0.0)
        agents[c] = agents_needed(load, std.answered, std.within_seconds,
                                  tables.handle_time_seconds[c])
    return dataclasses.replace(plan, agents=agents, staffing_costs=staffing_costs(agents, tables))


@dataclass(frozen=True)
class Census:
    """What the firm counts at the start of a month, from its own records.

    ``customers`` (score cells, L, K+1): current customers by churn-score cell, label and
    products held; ``prospects`` (L,) by label; ``lapsed`` (L,): departed customers gone
    long enough for win-back, by label; for a strategy aiming development at stages,
    ``growable`` (tiers × RECORDED_STAGES,): customers who could buy another product, by
    :func:`development_group` (None otherwise).
    """

    customers: np.ndarray
    prospects: np.ndarray
    lapsed: np.ndarray
    growable: np.ndarray | None = None

    @classmethod
    def count(cls, state: CustomerState, active: np.ndarray, shape: tuple[int, int, int],
              month: int, winback_after_months: int,
              winback_within_months: int | None = None) -> Census:
        """Count everyone in one pass over whole arrays (cheaper than gathering groups).

        ``active``: who is a customer (bool per person); ``state.score_cell`` must be
        current for them; ``shape`` is (score cells, L, K+1); lapsed customers are those
        win-back may reach (see :func:`sim.rules.winback.eligible`).
        """
        n_cells, n_lab, n_k = shape
        customers = n_cells * n_lab * n_k
        # Non-customers take three cells past the score cells: prospects, lapsed, others
        # (chosen in int16); the key of (cell, label, products) is then formed in place in
        # int32, a third of the time of the same arithmetic in intp.
        lapsed = winback.eligible(state.stage, months_since(month, state.departed_month),
                                  winback_after_months, winback_within_months)
        outside = np.full(len(state), n_cells + 2, dtype=np.int16)
        outside -= (state.stage == PROSPECT).view(np.int8) * np.int8(2)
        outside -= lapsed.view(np.int8)
        key = select(active, state.score_cell, outside).astype(np.int32)
        key *= n_lab * n_k
        key += flat_index((state.label, state.products), (n_lab, n_k))
        counts = np.bincount(key, minlength=customers + 3 * n_lab * n_k)
        others = counts[customers:].reshape(3, n_lab, n_k).sum(axis=2)
        return cls(customers=counts[:customers].reshape(shape), prospects=others[0],
                   lapsed=others[1])

    def by_label_products(self) -> np.ndarray:
        """(L, K+1) current customers by label and products held."""
        return self.customers.sum(axis=0)

    def by_tier(self, cell_tier: np.ndarray) -> np.ndarray:
        """(tiers,) current customers by value tier, given each (label, products) cell's
        tier (see :func:`tier_of_cells`)."""
        return np.bincount(cell_tier.ravel(), weights=self.by_label_products().ravel(),
                           minlength=len(TIERS))

    def by_cell(self) -> np.ndarray:
        """(cells,) current customers by churn-score cell."""
        return self.customers.sum(axis=(1, 2))


def tier_of_cells(plan: Plan, customers: np.ndarray) -> np.ndarray:
    """(L, K+1) the firm's ABC customer code of each (label, products held) cell, given
    ``customers`` counted in each: C everywhere for a firm without value codes.

    Cells are ranked by estimated value; the top ``tier_shares.A`` of customers are A, the
    next ``tier_shares.B`` are B (a cell on a boundary goes to the higher tier). Ranking
    the few cells costs one pass, not a sort of customers.
    """
    if not plan.strategy.value_codes:
        return np.full(plan.tier_score.shape, TIER_C, dtype=np.int8)
    counts = customers.ravel()
    order = np.argsort(-plan.tier_score.ravel(), kind="stable")
    before = np.concatenate(([0], np.cumsum(counts[order])[:-1])) / max(counts.sum(), 1)
    shares = plan.strategy.tier_shares
    a, b = shares.get("A", 0.0), shares.get("B", 0.0)
    tier_sorted = np.where(before < a, TIER_A, np.where(before < a + b, TIER_B, TIER_C))
    cell_tier = np.empty(plan.tier_score.size, dtype=np.int8)
    cell_tier[order] = tier_sorted
    return cell_tier.reshape(plan.tier_score.shape)


def assign_tiers(state: CustomerState, active: np.ndarray, cell_tier: np.ndarray) -> None:
    """Write each customer's code from ``cell_tier`` (see :func:`tier_of_cells`) into
    ``state.tier``; C for non-customers (``active`` false)."""
    code = lookup(cell_tier, state.label, state.products)
    state.tier[:] = select(active, code, np.int8(TIER_C))


def allocate(budget: float, counts: np.ndarray, unit_cost: float, worth: np.ndarray,
             pooled: bool) -> tuple[np.ndarray, float]:
    """Spread ``budget`` over groups and return (reach probability per group, spend).

    Pooled: one reach for every group with positive ``worth``. Otherwise groups are served
    in order of ``worth`` (highest first), only where worth is positive, each until fully
    reached.
    """
    counts = np.asarray(counts, dtype=float)
    worth = np.asarray(worth, dtype=float)
    eligible = (worth > 0) & (counts > 0)
    if unit_cost <= 0.0:
        return np.where(eligible & (budget > 0), 1.0, 0.0), 0.0
    # Products with the mask rather than np.where: the same numbers (counts are finite and
    # not negative) with fewer calls, as this runs four times a month on a few groups.
    need = counts * unit_cost * eligible
    total = need.sum()
    if pooled:
        spend = min(budget, total)
        return eligible * (spend / total if total > 0 else 0.0), spend
    order = np.argsort(-worth, kind="stable")
    need = need[order]
    funded = np.minimum(np.maximum(budget - (np.cumsum(need) - need), 0.0), need)
    reach = np.zeros_like(counts)
    reach[order] = np.divide(funded, need, out=np.zeros_like(funded), where=need > 0)
    return reach, float(funded.sum())


def retention_worth(plan: Plan, score: np.ndarray | None, n_propositions: int) -> np.ndarray:
    """(cells × L,) what reaching a customer of each (score cell, label) is worth to the
    firm: targeting complaints, 1 for cells with a recent complaint, else 0; targeting
    the churn score, score × estimated value of the label at the cell's products (value
    alone before a score is fitted)."""
    lv = scoring.levels(n_propositions)
    if not plan.scores_churn:
        recent = lv[:, 3] < scoring.RECENT_COMPLAINTS
        return np.repeat(recent.astype(float), len(plan.offer))
    products = np.minimum(lv[:, 1] + 1, plan.tier_score.shape[1] - 1)
    value = plan.tier_score[:, products].T                            # (cells, L)
    risk = np.ones(len(lv)) if score is None else score
    return (risk[:, None] * np.maximum(value, 0.0)).ravel()


def decide(plan: Plan, scenario: Scenario, census: Census, cell_tier: np.ndarray,
           worth_of_retention: np.ndarray) -> Decisions:
    """This month's decisions, from the month's ``census`` of customers by score cell,
    label and products, of prospects and of lapsed customers; ``cell_tier`` comes from
    :func:`tier_of_cells` and ``worth_of_retention`` from :func:`retention_worth`.

    Budgets buy reach among the client's people: the census counts agents, each standing
    for ``market.customers_per_agent`` of them."""
    n_lab = len(plan.offer)
    n_tier = len(TIERS)
    beh = scenario.behaviour
    econ = scenario.economics
    budgets = plan.strategy.budgets
    k = scenario.market.customers_per_agent
    census = Census(customers=census.customers * k, prospects=census.prospects * k,
                    lapsed=census.lapsed * k,
                    growable=None if census.growable is None else census.growable * k)
    by_lp = census.by_label_products()
    by_cell = census.customers.sum(axis=2).ravel()          # (cells × L,)
    by_tier = census.by_tier(cell_tier)
    pooled = not plan.by_value
    tier_worth = np.array([3.0, 2.0, 1.0])
    if plan.development_aim is None:
        fewer = slice(0, beh.development.max_products)      # fewer products than the most
        growable = np.bincount(cell_tier[:, fewer].ravel(), weights=by_lp[:, fewer].ravel(),
                               minlength=n_tier)
        dev_worth = tier_worth
    else:
        growable = census.growable
        dev_worth = (tier_worth[:, None] * plan.development_aim).ravel()
    # Spent evenly, every label is reached alike; by value, only labels worth more than
    # the contact.
    everyone = np.ones(n_lab)
    acq_worth = (beh.acquisition_response * plan.label_pull * plan.label_value
                 - econ.cost_per_reach) if plan.by_value else everyone
    win_worth = (beh.winback_response * plan.label_pull * plan.label_value
                 - econ.cost_per_winback) if plan.by_value else everyone
    customers = float(by_tier.sum())
    acq_reach, acq_spend = allocate(
        budgets.month("acquisition", customers), census.prospects, econ.cost_per_reach,
        acq_worth, pooled)
    ret_reach, ret_spend = allocate(
        budgets.month("retention", customers), by_cell, econ.cost_per_retention,
        worth_of_retention, pooled)
    dev_reach, dev_spend = allocate(
        budgets.month("development", customers), growable,
        econ.cost_per_campaign_contact, dev_worth, pooled)
    win_reach, win_spend = allocate(
        budgets.month("winback", customers), census.lapsed, econ.cost_per_winback, win_worth,
        pooled)
    return Decisions(
        acquisition_reach=acq_reach, retention_reach=ret_reach, development_reach=dev_reach,
        winback_reach=win_reach, development_cost=np.divide(
            (dev_reach * econ.cost_per_campaign_contact * growable).reshape(n_tier, -1)
            .sum(axis=1), by_tier, out=np.zeros(n_tier), where=by_tier > 0),
        spend={"acquisition": acq_spend, "retention": ret_spend, "development": dev_spend,
               "winback": win_spend})
