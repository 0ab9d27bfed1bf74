"""Customer phases of a month: each reads some customer rows, calls its rule and writes
the result back.

``rows`` is a slice or an array of row indices. The agents engine calls every phase once
per ``Customer`` agent with that agent's single row; the vectorized engine calls it once
with the rows of the group the phase concerns (see :data:`GROUP_OF_PHASE`). Every phase
leaves rows outside its group exactly as they were (per-month fields start the month
reset by :meth:`CustomerState.reset_month`), so skipping them changes nothing, and the very
same rule code runs on the very same numbers in both engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .codes import (
    ACQUIRED,
    ACQUISITION,
    CHURNED,
    DEPARTED,
    FORCED,
    MOVED,
    NEVER,
    NOT_STEERED,
    PROSPECT,
    RETENTION,
    WON_BACK,
    is_active,
    lookup,
    months_since,
)
from .population import CustomerState, holding_index, label_segments, new_theta
from .rules import (
    acquisition,
    churn,
    development,
    draws,
    lifecycle,
    market,
    retention,
    satisfaction,
    service,
    steering,
)
from .rules import winback as winback_rule
from .rules.blend import select
from .scenario import Scenario
from .strategies import Decisions, Plan, development_group
from .tables import Tables

GROUP_OF_PHASE: dict[str, str] = {
    "retain": "active", "contact": "active", "steer": "contacted", "serve": "contacted",
    "migrate": "active",
    "experience": "active", "develop": "active", "leave": "active", "progress": "active",
    "acquire": "prospects", "win_back": "departed", "turn_over": "outside",
    "account": "active_or_new",
}
"""The people each phase can change: current customers at the start of the month, those
who contacted the firm this month, prospects, departed customers, everyone who was not a
customer at the start, or customers at the start or the end of the month."""

WHOLE_ARRAY: frozenset[str] = frozenset({
    "retain", "contact", "migrate", "experience", "develop", "leave", "progress", "acquire",
    "turn_over", "account"})
"""Phases the vectorized engine runs on every row rather than on its group's rows: their
group is a large part of the population, and arithmetic on whole arrays of narrow codes
costs less than gathering and scattering the group's rows (a gather costs about as much
as ten additions). They change nothing outside their group, so the result is the same."""


@dataclass
class Month:
    """What every customer phase of one month may read besides customer state."""

    t: int                              # month number (1 = first measured month)
    u: dict[str, np.ndarray]            # this month's uniforms per mechanism
    decisions: Decisions
    discount: float                     # (1 + d)^−t
    active: np.ndarray                  # customers at the start of the month (bool)
    migrate_all: bool = False           # every customer moves to their label's offer now
    contacts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (C, pools)
    service_level: np.ndarray = field(default_factory=lambda: np.ones((0, 0)))  # (C, pools)
    adopter_share: float = 0.0
    # (development groups, stages, C+1), see development_table
    development: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    # (2, T, progs) by customer at the month's start, see programme_cost_table
    programme_cost: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    # With cross-sell offers: per label, the cumulative probability of each campaign cell
    # (sim.learning) and the arm (place in Plan.cross_sell) each cell offers.
    offer_cdf: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (L, cells)
    offer_arm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int8))
    # Thresholds (sim.rules.draws.threshold): see adoption_table and retention_table.
    adoption: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))   # (S, L)
    retention: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (cells, L)
    return_: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))   # (S, L)
    products_sold: int = 0              # further products bought so far this month (agents)


@dataclass
class Context:
    """Everything a phase needs: state, parameters, the firm's plan and the month."""

    state: CustomerState
    scenario: Scenario
    tables: Tables
    plan: Plan
    experience: np.ndarray     # month's experience by (segment·proposition, contact, programme)
    contribution: np.ndarray   # margin less contact cost by (holding, products, contact)
    forced_experience: np.ndarray | None = None  # experience of a contact moved against
    #                                              the customer's will (forced steering)
    month: Month | None = None


# Several rules depend on a customer only through a few discrete codes (segment, label,
# proposition, channel, ...). Those are evaluated once for every combination of codes and
# looked up per customer: the same rule on the same inputs, at a fraction of the cost.

def experience_table(scenario: Scenario, tables: Tables, forced: bool = False) -> np.ndarray:
    """The month's experience for every (segment·proposition cell, contact state,
    programme) with contact state 0 none, 2c + 1 channel c served, 2c + 2 not served; in
    single precision, as satisfaction is kept. ``forced``: of a contact moved to its
    channel against the customer's will (``behaviour.steering.forced_penalty`` less)."""
    beh = scenario.behaviour
    channel, served = service.contact_states(len(tables.channel_names))
    contact_u = service.contact_utility(channel, served, tables.quality, tables.wait_penalty)
    if forced:
        contact_u = contact_u - beh.steering.forced_penalty
    return satisfaction.experience(
        tables.fit.reshape(-1, 1, 1), contact_u.reshape(1, -1, 1),
        tables.programme_boost.reshape(1, 1, -1),
        beh.satisfaction.proposition_weight, beh.satisfaction.service_weight).astype(np.float32)


def adoption_table(ctx: Context) -> np.ndarray:
    """This month's adoption probability of a prospect, by (segment, label), rounded up to
    single precision: what the acquisition uniforms meet (see
    :func:`sim.rules.draws.threshold`)."""
    t, m, plan = ctx.tables, ctx.month, ctx.plan
    return draws.threshold(acquisition.probability(
        t.innovation[:, None], m.decisions.acquisition_reach[None, :],
        ctx.scenario.behaviour.acquisition_response, t.word_of_mouth[:, None],
        m.adopter_share, plan.pull, True))


def retention_table(ctx: Context) -> np.ndarray:
    """This month's probability that the retention programme reaches a customer, by
    (score cell, label), rounded up to single precision: what the retention uniforms meet
    (see :func:`sim.rules.draws.threshold`)."""
    return draws.threshold(ctx.month.decisions.retention_reach).reshape(-1, len(ctx.plan.offer))


def return_table(ctx: Context) -> np.ndarray:
    """This month's return probability of an eligible departed customer, by (segment, label)."""
    return winback_rule.probability(ctx.month.decisions.winback_reach[None, :],
                                    ctx.scenario.behaviour.winback_response, ctx.plan.pull, True)


def development_table(ctx: Context) -> np.ndarray:
    """This month's purchase rate of a satisfied customer by (development group, stage,
    contact state), the group as :func:`sim.strategies.development_group`; with cross-sell
    offers by (campaign row, segment, tier, stage, contact state), row 0 for a customer the
    campaign did not reach and row a + 1 for one it reached with arm a (see
    :func:`develop`)."""
    t, plan, dev = ctx.tables, ctx.plan, ctx.scenario.behaviour.development
    channel, served = service.contact_states(len(t.channel_names))
    sales = development.sales_contact(served[None, :], plan.sales_prompt[:, None],
                                      t.cross_sell.take(channel)[None, :])
    stage = t.development_stage_multiplier
    if plan.cross_sell is None:
        reach = ctx.month.decisions.development_reach
        # A development group is a tier, or a tier's recorded stage: the tier's sales prompt.
        sales = np.repeat(sales, len(reach) // len(sales), axis=0)
        return development.rate(dev.base_rate, reach[:, None, None], dev.campaign_response,
                                sales[:, None, :], stage[None, :, None])
    response = np.vstack((np.zeros((1, len(t.segment_names))),
                          t.offer_response[plan.cross_sell]))          # (arms + 1, S)
    reached = (np.arange(len(response)) > 0).astype(float)
    return development.rate(dev.base_rate, reached[:, None, None, None, None],
                            response[:, :, None, None, None], sales[None, None, :, None, :],
                            stage[None, None, None, :, None])


def programme_cost_table(ctx: Context) -> np.ndarray:
    """This month's programme costs a person causes, by (customer at the month's start,
    value tier, programme code): none for someone who was not a customer; for a customer,
    the development campaign's cost per customer of the tier, plus the month in the
    programme (see :attr:`sim.strategies.Plan.programme_cost`)."""
    per_month = ctx.plan.programme_cost.copy()
    # Retention is paid per customer reached, at the market's price of a contact.
    per_month[RETENTION] += ctx.scenario.economics.cost_per_retention
    cost = ctx.month.decisions.development_cost[:, None] + per_month[None, :]
    return np.stack((np.zeros_like(cost), cost))


def contribution_table(scenario: Scenario, tables: Tables) -> np.ndarray:
    """(S·P, K+1, contact states) a month's margin of a holding less the cost of the
    month's contact (see :func:`sim.rules.service.contact_states`)."""
    channel, _ = service.contact_states(len(tables.channel_names))
    margin = tables.margin.reshape(-1, tables.margin.shape[2])
    return margin[:, :, None] - tables.contact_cost.take(channel)[None, None, :]


def _by_segment_label(table: np.ndarray, segment: np.ndarray, label: np.ndarray) -> np.ndarray:
    return lookup(table, segment, label)


def _positions(rows: slice | np.ndarray, which: np.ndarray) -> np.ndarray:
    """Row numbers of the ``rows`` selected by ``which`` (a mask, or indices into rows)."""
    idx = np.flatnonzero(which) if which.dtype == bool else which
    return idx + (rows.start or 0) if isinstance(rows, slice) else rows[idx]


def _set_where(rows: slice | np.ndarray, mask: np.ndarray, *writes: tuple[np.ndarray, object]
               ) -> np.ndarray:
    """For the ``rows`` where ``mask`` holds, set ``array[row] = value`` for each
    (array, value) in ``writes`` (scalar values); returns those rows' positions.

    Writing through the few positions, not ``np.where`` over every row, is what keeps
    rare events (departures, stage changes) cheap."""
    pos = _positions(rows, mask)
    if pos.size:
        for array, value in writes:
            array[pos] = value
    return pos


def retain(ctx: Context, rows: slice | np.ndarray) -> None:
    """Reach the customers the firm targets with the retention programme, and enrol the
    rest of those its lifecycle programmes serve (by their stage in its records)."""
    st, m, plan = ctx.state, ctx.month, ctx.plan
    retained = retention.in_programme(lookup(m.retention, st.score_cell[rows], st.label[rows]),
                                      m.active[rows], m.u["retention"][rows])
    if not plan.programme_of.any():
        st.programme[rows] = retained
        return
    # A customer who joined last month is in their first month of onboarding by the
    # records now.
    recorded = st.recorded_stage(rows, ctx.scenario.behaviour.lifecycle)
    st.programme[rows] = retention.enrolled(retained, recorded, st.tier[rows],
                                            plan.programme_of) * m.active[rows]


def contact(ctx: Context, rows: slice | np.ndarray) -> None:
    """Decide who contacts the firm this month and through which channel; note, for
    serve, where their uniform fell within the channel's share."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    seg, u = st.segment[rows], m.u["contact"][rows]
    made = np.flatnonzero(service.contacts(lookup(t.contact_threshold, seg), m.active[rows], u))
    pos = _positions(rows, made)
    # The channel, and whether answered in time, from the same uniform rescaled, only for
    # the few who contact.
    seg = seg[made]
    v = draws.rescaled(u[made], lookup(t.contact_rate, seg))
    channel = draws.choose(t.channel_cdf, seg, v)
    st.channel[pos] = channel
    m.u["service"][pos] = draws.within_choice(v, t.channel_cdf, seg, channel)
    st.pool[pos] = lookup(ctx.plan.pool_of_tier, st.tier[pos])


def steer(ctx: Context, rows: slice | np.ndarray) -> None:
    """Suggest the steered channel to the contacts the firm steers (by channel, tier and
    label); move those who accept, or, when forced, all of them (noting who was
    unwilling)."""
    st, m, plan = ctx.state, ctx.month, ctx.plan
    spec, beh = plan.steering, ctx.scenario.behaviour.steering
    targeted = np.flatnonzero(lookup(spec.away, st.channel[rows])
                              & lookup(spec.tiers, st.tier[rows])
                              & lookup(spec.labels, st.label[rows]))
    pos = _positions(rows, targeted)
    if not pos.size:
        return
    seg, channel = st.segment[pos], st.channel[pos]
    accepts = spec.share * steering.acceptance(
        spec.log_preference[seg, channel], beh.incentive_weight * spec.incentive,
        st.satisfaction[pos], beh.satisfaction_weight)
    u = m.u["service"][pos]
    # One uniform: below share × acceptance the customer moves willingly; forced, everyone
    # below the share moves, those above share × acceptance unwillingly. Rescaled, it then
    # decides whether the contact is answered in time.
    moved, m.u["service"][pos] = draws.split(u, spec.share if spec.forced else accepts)
    st.steered[pos] = select(moved, np.int8(MOVED), np.int8(NOT_STEERED))
    if spec.forced:
        st.steered[pos] += moved & (u >= accepts)
    st.channel[pos] = select(moved, np.int8(spec.to), channel)


def serve(ctx: Context, rows: slice | np.ndarray) -> None:
    """Answer contacts within target or not, at the month's service levels."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    channel = st.channel[rows]
    served = service.served_in_time(channel, st.pool[rows], m.service_level,
                                     m.u["service"][rows])
    made = channel >= 0
    state = service.contact_state(channel, served) * made
    st.contact[rows] = state
    # The firm's records: what each customer's contacts cost, when they last called, and
    # when they last waited too long.
    st.contact_spend[rows] += lookup(t.contact_cost, channel)
    _set_where(rows, made, (st.last_contact, m.t))
    _set_where(rows, made & ~served, (st.last_complaint, m.t))


def migrate(ctx: Context, rows: slice | np.ndarray) -> None:
    """Move customers to the proposition their label is now offered: at their contact
    this month, or all of them when the transition ends."""
    st, m = ctx.state, ctx.month
    offer = lookup(ctx.plan.offer, st.label[rows])
    moves = (m.active[rows] & (offer != st.proposition[rows])
             & (m.migrate_all | (st.contact[rows] > 0)))
    pos = _positions(rows, moves)
    st.proposition[pos] = offer[moves]
    st.holding[pos] = holding_index(st.segment[pos], offer[moves], ctx.tables.fit.shape[1])


def experience(ctx: Context, rows: slice | np.ndarray) -> None:
    """Update current customers' satisfaction with this month's experience."""
    st, m, beh = ctx.state, ctx.month, ctx.scenario.behaviour
    codes = st.holding[rows], st.contact[rows], st.programme[rows]
    month_exp = lookup(ctx.experience, *codes)
    if ctx.plan.steering is not None and ctx.plan.steering.forced:
        month_exp = select(st.steered[rows] == FORCED, lookup(ctx.forced_experience, *codes),
                           month_exp)
    s = st.satisfaction[rows]
    st.satisfaction[rows] = select(
        m.active[rows], satisfaction.update(s, month_exp, beh.satisfaction.memory), s)


def develop(ctx: Context, rows: slice | np.ndarray) -> None:
    """Sell further products to current customers."""
    st, m = ctx.state, ctx.month
    products = st.products[rows]
    eligible = m.active[rows] & (products < ctx.scenario.behaviour.development.max_products)
    u = m.u["development"][rows]
    group = development_group(st, rows, ctx.plan, ctx.scenario.behaviour.lifecycle)
    if ctx.plan.cross_sell is None:
        full_rate = lookup(m.development, group, st.stage[rows], st.contact[rows])
    else:
        u, row, offered = _campaign(ctx, rows, eligible, u, group)
        full_rate = lookup(m.development, row, st.segment[rows], st.tier[rows], st.stage[rows],
                           st.contact[rows])
    # Eligibility applied after the comparison, not as a factor of every probability: the
    # same purchases, one pass fewer over double-precision rates.
    bought = development.buys(development.scaled(full_rate, st.satisfaction[rows]), eligible, u)
    st.products[rows] = products + bought
    m.products_sold += int(np.count_nonzero(bought))
    if ctx.plan.cross_sell is not None:
        st.offered[rows] = offered + (offered > 0) * bought


def _campaign(ctx: Context, rows: slice | np.ndarray, eligible: np.ndarray, u: np.ndarray,
              group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A campaign making offers reaches a customer (of development ``group``) or not, and
    in which cell (see :mod:`sim.learning`), all from the development uniform ``u``;
    returns the uniform rescaled for the purchase, each row's development table row (0 not
    reached, arm + 1) and its ``offered`` code before the sale (0, or 2 × cell + 1)."""
    st, m = ctx.state, ctx.month
    reached, v = draws.split(u, lookup(m.decisions.development_reach, group))
    reached &= eligible
    label = st.label[rows]
    cell = draws.choose(m.offer_cdf, label, v)
    arm = lookup(m.offer_arm, label, cell)
    rescaled = select(reached, draws.within_choice(v, m.offer_cdf, label, cell), v)
    return (rescaled, (reached * (arm + 1)).astype(np.int8),
            (reached * (2 * cell + 1)).astype(np.int8))


def leave(ctx: Context, rows: slice | np.ndarray) -> None:
    """Let customers churn; departed customers keep their history for win-back."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    ch = ctx.scenario.behaviour.churn
    renew = ctx.scenario.behaviour.lifecycle.renewal_every_months
    satisfaction = st.satisfaction[rows]
    log_m = churn.log_multiplier(
        satisfaction,
        lookup(t.churn_stage_log_multiplier.astype(satisfaction.dtype), st.stage[rows]),
        st.products[rows],
        st.programme[rows], ch.satisfaction_effect, ch.neutral_satisfaction,
        ch.product_effect, t.programme_churn_effect)
    at_risk = m.active[rows] & churn.renewal_due(st.tenure[rows], renew)
    gone = churn.churns(churn.probability(st.log_survival[rows], log_m), at_risk,
                        m.u["churn"][rows])
    left = _set_where(rows, gone, (st.stage, DEPARTED), (st.departed_month, m.t),
                      (st.products, 0), (st.event, CHURNED))
    st.departures[left] += 1


def progress(ctx: Context, rows: slice | np.ndarray) -> None:
    """Move current customers between acquisition, growth, maturity and decline."""
    st = ctx.state
    life = ctx.scenario.behaviour.lifecycle
    stage = st.stage[rows]
    new = lifecycle.progress(stage, st.tenure[rows], st.products[rows], st.satisfaction[rows],
                             is_active(stage), life.onboarding_months,
                             life.maturity_tenure_months, life.maturity_products,
                             life.decline_threshold, life.recovery_threshold)
    _set_where(rows, new != stage, (st.months_in_stage, 0))
    st.stage[rows] = new


def _start(ctx: Context, rows: slice | np.ndarray, starts: np.ndarray, event: int) -> None:
    """Begin a relationship for the ``starts`` rows: onboarding, one product, the
    proposition offered to their label, satisfaction equal to the offer's pull."""
    st, m = ctx.state, ctx.month
    pos = _positions(rows, starts)
    if not pos.size:
        return
    seg, label = st.segment[pos], st.label[pos]
    offer = lookup(ctx.plan.offer, label)
    for array, value in ((st.stage, ACQUISITION), (st.months_in_stage, 0), (st.tenure, 0),
                         (st.cohort, m.t), (st.products, 1), (st.event, event), (st.value, 0.0),
                         (st.proposition, offer),
                         (st.holding, holding_index(seg, offer, ctx.tables.fit.shape[1])),
                         (st.satisfaction, _by_segment_label(ctx.plan.pull, seg, label))):
        array[pos] = value


def acquire(ctx: Context, rows: slice | np.ndarray) -> None:
    """Turn prospects into customers (Bass p, paid reach, word of mouth)."""
    st, m = ctx.state, ctx.month
    # Everyone is compared with their cell's probability and the prospects kept: cheaper
    # than zeroing the others' probabilities first, with the same outcome.
    prob = _by_segment_label(m.adoption, st.segment[rows], st.label[rows])
    _start(ctx, rows, acquisition.adopts(prob, m.u["acquisition"][rows])
           & (st.stage[rows] == PROSPECT), ACQUIRED)


def win_back(ctx: Context, rows: slice | np.ndarray) -> None:
    """Bring back departed customers reached by win-back who prefer the offer."""
    st, m = ctx.state, ctx.month
    beh = ctx.scenario.behaviour
    months = months_since(m.t, st.departed_month[rows])
    eligible = winback_rule.eligible(st.stage[rows], months, beh.winback_after_months,
                                     ctx.plan.strategy.winback_within_months)
    prob = (_by_segment_label(m.return_, st.segment[rows], st.label[rows]) * eligible
            * winback_rule.fade(months, beh.winback_after_months, beh.winback_half_life_months))
    _start(ctx, rows, winback_rule.returns(prob, m.u["winback"][rows]), WON_BACK)


def turn_over(ctx: Context, rows: slice | np.ndarray) -> None:
    """People outside the firm's base leave the market and newcomers take their place;
    departed customers who were not won back become prospects again."""
    st, m, mk = ctx.state, ctx.month, ctx.scenario.market
    stage = st.stage[rows]
    _set_where(rows, market.reconsiders(stage, st.departed_month[rows], m.t,
                                        mk.reconsider_after_months), (st.stage, PROSPECT))
    if mk.exit_rate <= 0.0:
        return
    u = m.u["market"][rows]
    leaving = market.exits(stage, m.active[rows], mk.exit_rate, u)
    pos = _positions(rows, leaving)
    if not pos.size:
        return
    # The newcomer's draws: the exit uniform rescaled (uniform again given the exit) for θ,
    # and for the label two uniforms that the churn and development mechanisms drew for this
    # row but never use for someone who was not a customer at the month's start.
    seg = st.segment[pos]
    theta = new_theta(ctx.tables, seg, draws.rescaled(u[leaving], mk.exit_rate))
    label_u = np.stack([m.u["churn"][pos], m.u["development"][pos]], axis=1)
    st.theta[pos], st.log_survival[pos] = theta, churn.log_survival(theta)
    st.label_u[pos] = label_u
    st.label[pos] = label_segments(seg, ctx.tables.fit.shape[0], ctx.plan.data_quality,
                                   label_u)
    st.holding[pos] = holding_index(seg, np.full(len(pos), -1), ctx.tables.fit.shape[1])
    for array, value in ((st.stage, PROSPECT), (st.satisfaction, 0.5), (st.cohort, NEVER),
                         (st.tenure, 0), (st.months_in_stage, 0), (st.proposition, -1),
                         (st.departed_month, NEVER), (st.customer_months, 0),
                         (st.departures, 0), (st.contact_spend, 0.0), (st.last_contact, NEVER),
                         (st.last_complaint, NEVER), (st.value, 0.0)):
        array[pos] = value


def account(ctx: Context, rows: slice | np.ndarray) -> None:
    """Add the month's discounted contribution (margin less contact costs) less the
    programme costs each customer caused to their value, and age customers by a month.
    (The month's revenue and delivery costs are booked from the holdings at its end.)"""
    st, m = ctx.state, ctx.month
    active = is_active(st.stage[rows])
    contribution = lookup(ctx.contribution, st.holding[rows], st.products[rows],
                          st.contact[rows])
    # Whether the row was a customer at the month's start is the table's first code:
    # cheaper than multiplying every row's cost by it, with the same numbers.
    programmes = lookup(m.programme_cost, m.active[rows], st.tier[rows], st.programme[rows])
    if ctx.plan.steering is not None and ctx.plan.steering.incentive > 0:
        # Only customers contact the firm, so only they have steered contacts.
        programmes = programmes + ctx.plan.steering.incentive * (st.steered[rows] > 0)
    st.value[rows] += (contribution - programmes) * m.discount
    st.tenure[rows] += active
    st.customer_months[rows] += active
    st.months_in_stage[rows] += active | m.active[rows]
