"""Firm policies: what a strategy offers, how it spends its budgets and how it staffs and
prioritises service.

``gsp`` (one size fits all) offers one proposition and spreads every budget evenly.
``segmented`` reads each customer's segment with accuracy ``data_quality``, offers every
label the proposition that fits it best, spends budgets on the labels and value tiers it
estimates to be worth most, reserves agents for tier A and prompts sales contacts from
the customer code. What it estimates comes from segment profiles and its noisy labels,
never from a customer's true segment; what it costs (propositions, analytics) is charged.
Whether it wins therefore depends on the market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .population import CustomerState
from .rules import acquisition, churn
from .scenario import TIERS, Scenario, Strategy
from .tables import DECLINE, Tables

TIER_A, TIER_B, TIER_C = range(len(TIERS))
GENERAL_POOL, PRIORITY_POOL = 0, 1
N_POOLS = 2


@dataclass(frozen=True)
class Plan:
    """What the firm settles before month 1 and keeps: beliefs, offers, staffing, costs.

    Shapes: L labels (= segments), S segments, P propositions, C channels, K max products.
    """

    strategy: Strategy
    offer: np.ndarray          # (L,) proposition offered to each label
    label_value: np.ndarray    # (L,) estimated lifetime value of a customer so labelled
    label_pull: np.ndarray     # (L,) estimated conversion against the competitor
    pull: np.ndarray           # (S, L) true pull of label ℓ's offer on segment s, 0..1
    tier_score: np.ndarray     # (L, K+1) estimated value of a customer holding k products
    agents: np.ndarray         # (C, pools) agents on duty at the peak hour
    pool_of_tier: np.ndarray   # (tiers,) pool serving each tier's contacts
    sales_prompt: np.ndarray   # (tiers,) service contacts used to cross-sell
    overhead: float            # fixed costs: propositions offered + analytics (currency/month)
    staffing_cost: float       # agents' cost (currency/month)

    @property
    def segmented(self) -> bool:
        return self.strategy.kind == "segmented"


@dataclass(frozen=True)
class Decisions:
    """One month's spending decisions: reach probabilities and what they cost."""

    acquisition_reach: np.ndarray  # (L,) probability a prospect so labelled is reached
    retention_reach: np.ndarray    # (tiers,) probability a declining customer is reached
    development_reach: np.ndarray  # (tiers,) probability an eligible customer is reached
    winback_reach: np.ndarray      # (L,) probability an eligible departed customer is reached
    spend: dict[str, float]        # currency this month per budget line


def posterior(shares: np.ndarray, data_quality: float) -> np.ndarray:
    """P(true segment s | label ℓ), shape (L, S), for labels correct with ``data_quality``
    and otherwise uniformly wrong."""
    n = len(shares)
    if n == 1:
        return np.ones((1, 1))
    likelihood = np.full((n, n), (1.0 - data_quality) / (n - 1))
    np.fill_diagonal(likelihood, data_quality)
    joint = likelihood * shares[None, :]
    total = joint.sum(axis=1, keepdims=True)
    return np.divide(joint, total, out=np.full_like(joint, 1.0 / n), where=total > 0)


def make_plan(scenario: Scenario, tables: Tables, name: str) -> Plan:
    """The firm's plan for strategy ``name`` of ``scenario``."""
    strat = scenario.strategies[name]
    n_seg = len(tables.segment_names)
    post = posterior(tables.share, strat.data_quality if strat.kind == "segmented" else 1.0)
    w = scenario.behaviour.satisfaction.proposition_weight

    if strat.kind == "gsp":
        offer = np.full(n_seg, tables.proposition_names.index(strat.proposition))
    elif strat.propositions == "best_fit":
        offer = np.argmax(post @ tables.fit, axis=1)
    else:
        offer = np.array([tables.proposition_names.index(strat.propositions[s])
                          for s in tables.segment_names])
    offer = offer.astype(np.int8)

    renew = scenario.behaviour.lifecycle.renewal_every_months
    hazard = churn.monthly_equivalent(tables.churn_mean, renew)
    life = (1.0 - hazard) / (tables.discount_monthly + hazard)       # (S,) months, discounted
    margin = tables.revenue - tables.delivery_cost                     # (S, P, K+1)
    margin_offered = margin[:, offer, :]                               # (S, L, K+1)
    tier_score = np.einsum("ls,slk,s->lk", post, margin_offered, life)
    one_product = margin_offered[:, :, 1] - tables.expected_service_cost[:, None]  # (S, L)
    label_value = np.einsum("ls,sl,s->l", post, one_product, life)
    pull = acquisition.conversion(tables.fit[:, offer], w)
    label_pull = np.einsum("ls,sl->l", post, pull)

    agents = np.zeros((len(tables.channel_names), N_POOLS), dtype=np.int64)
    for c, channel in enumerate(tables.channel_names):
        staff = strat.staffing.get(channel, 0)
        priority = round(staff * strat.priority_share)
        agents[c] = (staff - priority, priority)
    pool_of_tier = np.full(len(TIERS), GENERAL_POOL)
    if agents[:, PRIORITY_POOL].any():
        pool_of_tier[TIER_A] = PRIORITY_POOL
    prompted = (TIER_A, TIER_B) if strat.kind == "segmented" else (TIER_A, TIER_B, TIER_C)
    sales_prompt = np.isin(np.arange(len(TIERS)), prompted) & strat.sales_centre

    overhead = float(tables.proposition_fixed_cost[np.unique(offer)].sum() + strat.analytics_cost)
    staffing_cost = float((agents.sum(axis=1) * tables.cost_per_agent_month).sum())
    return Plan(strategy=strat, offer=offer, label_value=label_value, label_pull=label_pull,
                pull=pull, tier_score=tier_score, agents=agents, pool_of_tier=pool_of_tier,
                sales_prompt=sales_prompt, overhead=overhead, staffing_cost=staffing_cost)


def assign_tiers(plan: Plan, state: CustomerState, active: np.ndarray) -> None:
    """Write the firm's ABC customer code into ``state.tier``: C for non-customers, and for
    everyone under gsp, which keeps no code.

    Customers (row indices ``active``) are ranked by estimated value (label, products
    held); the top ``tier_shares.A`` are A, the next ``tier_shares.B`` are B. Ranking works
    on the few (label, products) cells, so it costs one pass, not a sort.
    """
    state.tier.fill(TIER_C)
    if not plan.segmented:
        return
    n_k = plan.tier_score.shape[1]
    cell = state.label[active].astype(np.intp) * n_k + state.products[active]
    counts = np.bincount(cell, minlength=plan.tier_score.size)
    order = np.argsort(-plan.tier_score.ravel(), kind="stable")
    before = np.concatenate(([0], np.cumsum(counts[order])[:-1])) / max(counts.sum(), 1)
    shares = plan.strategy.tier_shares
    a, b = shares.get("A", 0.0), shares.get("B", 0.0)
    tier_sorted = np.where(before < a, TIER_A, np.where(before < a + b, TIER_B, TIER_C))
    cell_tier = np.empty(plan.tier_score.size, dtype=np.int8)
    cell_tier[order] = tier_sorted
    state.tier[active] = cell_tier.take(cell)


def allocate(budget: float, counts: np.ndarray, unit_cost: float, worth: np.ndarray,
             pooled: bool) -> tuple[np.ndarray, float]:
    """Spread ``budget`` over groups and return (reach probability per group, spend).

    Pooled: one reach for everyone. Otherwise groups are served in order of ``worth``
    (highest first), only where worth is positive, each until fully reached.
    """
    counts = np.asarray(counts, dtype=float)
    if unit_cost <= 0.0:
        reach = np.ones_like(counts) if budget > 0 else np.zeros_like(counts)
        if not pooled:
            reach = np.where(worth > 0, reach, 0.0)
        return reach, 0.0
    if pooled:
        need = counts.sum() * unit_cost
        spend = min(budget, need)
        reach = spend / need if need > 0 else 0.0
        return np.full_like(counts, reach), spend
    reach = np.zeros_like(counts)
    left = budget
    for g in np.argsort(-worth, kind="stable"):
        if worth[g] <= 0 or left <= 0 or counts[g] == 0:
            continue
        need = counts[g] * unit_cost
        spend = min(left, need)
        reach[g] = spend / need
        left -= spend
    return reach, budget - left


def decide(plan: Plan, scenario: Scenario, state: CustomerState,
           groups: dict[str, np.ndarray], month: int) -> Decisions:
    """This month's decisions, from counts of customers by label or tier.

    ``groups`` holds the row indices of current customers (``active``), ``prospects`` and
    ``departed`` customers at the start of the month.
    """
    n_lab = len(plan.offer)
    n_tier = len(TIERS)
    beh = scenario.behaviour
    econ = scenario.economics
    budgets = plan.strategy.budgets
    active, departed = groups["active"], groups["departed"]
    tier = state.tier[active]
    prospects_by_label = np.bincount(state.label[groups["prospects"]], minlength=n_lab)
    declining_by_tier = np.bincount(tier[state.stage[active] == DECLINE], minlength=n_tier)
    growable_by_tier = np.bincount(
        tier[state.products[active] < beh.development.max_products], minlength=n_tier)
    gone_long = month - state.departed_month[departed] >= beh.winback_after_months
    departed_by_label = np.bincount(state.label[departed[gone_long]], minlength=n_lab)

    pooled = not plan.segmented
    tier_worth = np.array([3.0, 2.0, 1.0])
    acq_reach, acq_spend = allocate(
        budgets.acquisition, prospects_by_label, econ.cost_per_reach,
        beh.acquisition_response * plan.label_pull * plan.label_value - econ.cost_per_reach,
        pooled)
    ret_reach, ret_spend = allocate(
        budgets.retention, declining_by_tier, econ.cost_per_retention, tier_worth, pooled)
    dev_reach, dev_spend = allocate(
        budgets.development, growable_by_tier, econ.cost_per_campaign_contact, tier_worth,
        pooled)
    win_reach, win_spend = allocate(
        budgets.winback, departed_by_label, econ.cost_per_winback,
        beh.winback_response * plan.label_pull * plan.label_value - econ.cost_per_winback,
        pooled)
    return Decisions(
        acquisition_reach=acq_reach, retention_reach=ret_reach, development_reach=dev_reach,
        winback_reach=win_reach,
        spend={"acquisition": acq_spend, "retention": ret_spend, "development": dev_spend,
               "winback": win_spend})
