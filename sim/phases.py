"""Customer phases of a month: each reads a range of customer rows, calls its rule and
writes the result back.

The vectorized engine calls a phase once with all rows; the agents engine calls it once
per ``Customer`` agent with that agent's single row. Either way the very same rule code
runs on the very same numbers, which is why the two engines agree exactly.

Writes that touch few customers (starts, departures) go through the indices of those
customers, so the whole-population engine does not rewrite every array for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .population import ACQUIRED, CHURNED, NO_EVENT, WON_BACK, CustomerState
from .rules import acquisition, churn, development, lifecycle, retention, satisfaction, service
from .rules import winback as winback_rule
from .scenario import Scenario
from .strategies import Decisions, Plan
from .tables import ACQUISITION, DEPARTED, PROSPECT, Tables

ALL = slice(None)


@dataclass
class Month:
    """What every customer phase of one month may read besides customer state."""

    t: int                              # month number, 1-based
    u: dict[str, np.ndarray]            # this month's uniforms per mechanism
    decisions: Decisions
    discount: float                     # (1 + d)^−t
    active: np.ndarray                  # customers at the start of the month (bool)
    contacts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (C, pools)
    service_level: np.ndarray = field(default_factory=lambda: np.ones((0, 0)))  # (C, pools)
    adopter_share: float = 0.0


@dataclass
class Context:
    """Everything a phase needs: state, parameters, the firm's plan and the month."""

    state: CustomerState
    scenario: Scenario
    tables: Tables
    plan: Plan
    month: Month | None = None


def _set_where(array: np.ndarray, rows: slice, mask: np.ndarray, values) -> None:
    """``array[rows][mask] = values[mask]`` (values may be a scalar), through indices."""
    idx = np.flatnonzero(mask)
    if idx.size:
        array[rows][idx] = values[idx] if np.ndim(values) else values


def retain(ctx: Context, rows: slice) -> None:
    """Reach declining customers with the retention programme."""
    st, m = ctx.state, ctx.month
    st.in_programme[rows] = retention.in_programme(
        st.stage[rows], m.decisions.retention_reach[st.tier[rows]], m.u["retention"][rows])


def contact(ctx: Context, rows: slice) -> None:
    """Decide who contacts the firm this month and through which channel."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    seg = st.segment[rows]
    u = m.u["contact"][rows]
    st.channel[rows] = service.choose_channel(t.contact_rate[seg], t.channel_cdf, seg,
                                              m.active[rows], u[:, 0], u[:, 1])
    st.pool[rows] = ctx.plan.pool_of_tier[st.tier[rows]]


def serve(ctx: Context, rows: slice) -> None:
    """Answer contacts within target or not, at the month's service levels."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    channel = st.channel[rows]
    st.served[rows] = service.served_in_time(channel, st.pool[rows], m.service_level,
                                             m.u["service"][rows])
    st.service_cost[rows] = t.contact_cost[channel]


def _fit_held(ctx: Context, rows: slice) -> np.ndarray:
    """Fit of the proposition each customer holds (utility units)."""
    st, t = ctx.state, ctx.tables
    cell = st.segment[rows].astype(np.intp) * t.fit.shape[1] + np.maximum(st.proposition[rows], 0)
    return t.fit.ravel().take(cell)


def experience(ctx: Context, rows: slice) -> None:
    """Update current customers' satisfaction with this month's experience."""
    st, t, m, beh = ctx.state, ctx.tables, ctx.month, ctx.scenario.behaviour
    contact_u = service.contact_utility(st.channel[rows], st.served[rows], t.quality,
                                        t.wait_penalty)
    programme_u = st.in_programme[rows] * beh.retention_boost
    month_exp = satisfaction.experience(_fit_held(ctx, rows), contact_u, programme_u,
                                        beh.satisfaction.proposition_weight,
                                        beh.satisfaction.service_weight)
    s = st.satisfaction[rows]
    st.satisfaction[rows] = np.where(
        m.active[rows], satisfaction.update(s, month_exp, beh.satisfaction.memory), s)


def develop(ctx: Context, rows: slice) -> None:
    """Sell further products to current customers."""
    st, t, m, plan = ctx.state, ctx.tables, ctx.month, ctx.plan
    dev = ctx.scenario.behaviour.development
    tier, channel = st.tier[rows], st.channel[rows]
    products = st.products[rows]
    sales = development.sales_contact(st.served[rows], plan.sales_prompt[tier],
                                      t.cross_sell[channel])
    prob = development.probability(
        dev.base_rate, m.decisions.development_reach[tier], dev.campaign_response, sales,
        t.development_stage_multiplier[st.stage[rows]], st.satisfaction[rows],
        m.active[rows] & (products < dev.max_products))
    st.products[rows] = products + development.buys(prob, m.u["development"][rows])


def leave(ctx: Context, rows: slice) -> None:
    """Let customers churn; departed customers keep their history for win-back."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    ch = ctx.scenario.behaviour.churn
    renew = ctx.scenario.behaviour.lifecycle.renewal_every_months
    log_m = churn.log_multiplier(
        st.satisfaction[rows], t.churn_stage_log_multiplier[st.stage[rows]], st.products[rows],
        st.in_programme[rows], ch.satisfaction_effect, ch.neutral_satisfaction,
        ch.product_effect, ch.retention_effect)
    at_risk = m.active[rows] & churn.renewal_due(st.tenure[rows], renew)
    gone = churn.churns(churn.probability(st.log_survival[rows], log_m), at_risk,
                        m.u["churn"][rows])
    st.event[rows] = NO_EVENT
    _set_where(st.stage, rows, gone, DEPARTED)
    _set_where(st.departed_month, rows, gone, m.t)
    _set_where(st.products, rows, gone, 0)
    _set_where(st.event, rows, gone, CHURNED)


def progress(ctx: Context, rows: slice) -> None:
    """Move current customers between acquisition, growth, maturity and decline."""
    st, t = ctx.state, ctx.tables
    life = ctx.scenario.behaviour.lifecycle
    stage = st.stage[rows]
    new = lifecycle.progress(stage, st.tenure[rows], st.products[rows], st.satisfaction[rows],
                             t.active[stage], life.onboarding_months,
                             life.maturity_tenure_months, life.maturity_products,
                             life.decline_threshold, life.recovery_threshold)
    _set_where(st.months_in_stage, rows, new != stage, 0)
    st.stage[rows] = new


def _start(ctx: Context, rows: slice, starts: np.ndarray, event: int) -> None:
    """Begin a relationship for the ``starts`` rows: onboarding, one product, the
    proposition offered to their label, satisfaction equal to the offer's pull."""
    st, m = ctx.state, ctx.month
    idx = np.flatnonzero(starts)
    if not idx.size:
        return
    seg, label = st.segment[rows][idx], st.label[rows][idx]
    for array, value in ((st.stage, ACQUISITION), (st.months_in_stage, 0), (st.tenure, 0),
                         (st.cohort, m.t), (st.products, 1), (st.event, event),
                         (st.proposition, ctx.plan.offer[label]),
                         (st.satisfaction, ctx.plan.pull[seg, label])):
        array[rows][idx] = value


def acquire(ctx: Context, rows: slice) -> None:
    """Turn prospects into customers (Bass p, paid reach, word of mouth)."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    seg, label = st.segment[rows], st.label[rows]
    prob = acquisition.probability(
        t.innovation[seg], m.decisions.acquisition_reach[label],
        ctx.scenario.behaviour.acquisition_response, t.word_of_mouth[seg],
        m.adopter_share, ctx.plan.pull[seg, label], st.stage[rows] == PROSPECT)
    _start(ctx, rows, acquisition.adopts(prob, m.u["acquisition"][rows]), ACQUIRED)


def win_back(ctx: Context, rows: slice) -> None:
    """Bring back departed customers reached by win-back who prefer the offer."""
    st, m = ctx.state, ctx.month
    beh = ctx.scenario.behaviour
    seg, label = st.segment[rows], st.label[rows]
    eligible = winback_rule.eligible(st.stage[rows], m.t - st.departed_month[rows],
                                     beh.winback_after_months)
    prob = winback_rule.probability(m.decisions.winback_reach[label], beh.winback_response,
                                    ctx.plan.pull[seg, label], eligible)
    _start(ctx, rows, winback_rule.returns(prob, m.u["winback"][rows]), WON_BACK)


def account(ctx: Context, rows: slice) -> None:
    """Book this month's revenue and variable costs, add the discounted contribution to each
    customer's value, and age customers by a month."""
    st, t, m = ctx.state, ctx.tables, ctx.month
    active = t.active[st.stage[rows]]
    n_prop, n_k = t.revenue.shape[1], t.revenue.shape[2]
    cell = ((st.segment[rows].astype(np.intp) * n_prop + np.maximum(st.proposition[rows], 0))
            * n_k + st.products[rows])
    # Non-customers hold 0 products, whose revenue and cost entries are 0.
    revenue = t.revenue.ravel().take(cell)
    delivery = t.delivery_cost.ravel().take(cell)
    st.revenue[rows] = revenue
    st.delivery_cost[rows] = delivery
    st.value[rows] += (revenue - delivery - st.service_cost[rows]) * m.discount
    st.tenure[rows] += active
    st.months_in_stage[rows] += 1


CUSTOMER_PHASES = ("retain", "contact", "serve", "experience", "develop", "leave", "progress",
                   "acquire", "win_back", "account")
