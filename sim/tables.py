"""A validated scenario as NumPy lookup tables, indexed by integer codes.

Segments, propositions and channels are numbered in scenario order; stages by
:data:`sim.codes.STAGES`. Rules gather per-customer values from these tables
(``table[segment_code]``) so the engine never looks anything up by name.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .codes import ACTIVE_STAGES, STAGES, lookup
from .rules import draws
from .scenario import Scenario, monthly_rate


def _stage_table(weights: dict[str, float], inactive: float) -> np.ndarray:
    """Per-stage values (length len(STAGES)): active stages missing from ``weights`` get 1,
    prospect and departed get ``inactive``."""
    out = np.full(len(STAGES), inactive)
    for name in ACTIVE_STAGES:
        out[STAGES.index(name)] = weights.get(name, 1.0)
    return out


def _hourly_shares(profiles) -> np.ndarray:
    """(C, H) each channel's hourly profile normalised to shares of a day, zero-padded to
    the longest day."""
    out = np.zeros((len(profiles), max(len(p) for p in profiles)))
    for c, profile in enumerate(profiles):
        out[c, :len(profile)] = np.asarray(profile) / sum(profile)
    return out


def _with_no_contact(per_channel) -> np.ndarray:
    return np.append(np.asarray(per_channel, dtype=float), 0.0)


@dataclass(frozen=True)
class Tables:
    """Numeric view of a scenario. Shapes use S segments, P propositions, C channels."""

    segment_names: tuple[str, ...]
    proposition_names: tuple[str, ...]
    channel_names: tuple[str, ...]
    offer_names: tuple[str, ...]  # cross-sell offers, O of them
    share: np.ndarray             # (S,) population share
    churn_alpha: np.ndarray       # (S,) Beta α, nan where constant
    churn_beta: np.ndarray        # (S,) Beta β, nan where constant
    churn_constant: np.ndarray    # (S,) constant θ, nan where Beta
    churn_mean: np.ndarray        # (S,) mean θ per churn opportunity
    contact_rate: np.ndarray      # (S,) monthly contact probability
    contact_threshold: np.ndarray  # (S,) the same rounded up to single precision, what the
    #                               contact uniforms meet (see sim.rules.draws.threshold)
    channel_cdf: np.ndarray       # (S, C) cumulative channel choice probabilities
    innovation: np.ndarray        # (S,) Bass p per month
    word_of_mouth: np.ndarray     # (S,) Bass q per month
    utility: np.ndarray           # (S, P) utility of each proposition to each segment:
    #                               needs · benefits − price sensitivity × price
    competitor_utility: np.ndarray  # (S,) utility of the competitor's offer in force
    fit: np.ndarray               # (S, P) utility of proposition minus competitor's
    revenue: np.ndarray           # (S, P, K+1) monthly revenue holding k products (k=0: none)
    delivery_cost: np.ndarray     # (S, P, K+1) monthly delivery cost holding k products
    margin: np.ndarray            # (S, P, K+1) revenue less delivery cost
    expected_service_cost: np.ndarray  # (S,) expected contact cost per month
    human: np.ndarray             # (C,) bool
    # Per-channel tables with one extra, last entry of 0 for "no contact", so that a
    # channel code of NO_CONTACT (−1) looks up 0 without a branch.
    contact_cost: np.ndarray      # (C+1,) currency per contact
    quality: np.ndarray           # (C+1,) utility of a contact served in time
    wait_penalty: np.ndarray      # (C+1,) utility lost by a contact not served in time
    cross_sell: np.ndarray        # (C+1,) sale probability of a prompted served human contact
    handle_time_seconds: np.ndarray     # (C,)
    service_target_seconds: np.ndarray  # (C,)
    service_level_target: np.ndarray    # (C,) share meant to be answered within the target
    hourly_share: np.ndarray            # (C, H) share of a day's contacts in each opening hour
    #                                     (H the longest day; hours a channel is shut are 0)
    days_per_month: np.ndarray          # (C,) opening days per month
    cost_per_agent_hour: np.ndarray     # (C,) currency per staffed agent-hour
    list_revenue: np.ndarray      # (P, K+1) the firm's list price of holding k products
    list_margin: np.ndarray       # (P, K+1) list price less list unit costs
    proposition_fixed_cost: np.ndarray  # (P,) currency per month while offered
    churn_stage_log_multiplier: np.ndarray   # (stages,) log m per stage
    development_stage_multiplier: np.ndarray  # (stages,) cross-sell multiplier per stage
    offer_response: np.ndarray    # (O, S) purchase probability of a customer reached by a
    #                               campaign with each offer (how customers respond; never
    #                               read by the firm's decisions)
    programme_boost: np.ndarray         # (programmes,) utility a month in each adds
    programme_churn_effect: np.ndarray  # (programmes,) proportional hazard cut of each
    discount_monthly: float       # monthly discount rate


def by_holding(table: np.ndarray, holding: np.ndarray, products: np.ndarray) -> np.ndarray:
    """Per person, the entry of an (S, P, K+1) table (revenue, delivery cost, margin) at
    their holding (``CustomerState.holding``) and products held; 0 for non-customers, who
    hold no products."""
    return lookup(table.reshape(-1, table.shape[2]), holding, products)


def with_competitor(tables: Tables, competitor_utility: np.ndarray) -> Tables:
    """``tables`` against a competitor whose offer is worth ``competitor_utility`` (S,) to
    each segment (utility units): the fit of every proposition follows, nothing else
    changes."""
    return replace(tables, competitor_utility=competitor_utility,
                   fit=tables.utility - competitor_utility[:, None])


def build_tables(s: Scenario) -> Tables:
    """Compile ``s`` into lookup tables (pure; no randomness)."""
    segs = list(s.market.segments.values())
    props = list(s.propositions.values())
    chans = list(s.channels.values())
    attrs = s.market.attributes
    dev = s.behaviour.development

    needs = np.array([[seg.needs.get(a, 0.0) for a in attrs] for seg in segs])
    shares = np.array([seg.share for seg in segs])
    mean_needs = shares @ needs / max(shares.sum(), 1e-12)
    needs = np.maximum(mean_needs + s.market.needs_contrast * (needs - mean_needs), 0.0)
    benefits = np.array([[p.benefits.get(a, 0.0) for a in attrs] for p in props])
    price = np.array([p.price for p in props])
    unit_cost = np.array([p.unit_cost for p in props])
    price_sens = np.array([seg.price_sensitivity for seg in segs])
    competitor = np.array([s.market.competitor_utility[name] for name in s.market.segments])
    utility = needs @ benefits.T - np.outer(price_sens, price)

    extra = np.arange(dev.max_products + 1) - 1.0
    extra[0] = 0.0
    holds = (np.arange(dev.max_products + 1) > 0).astype(float)
    # The firm's price list (a customer of margin potential 1); segments scale it.
    revenue_list = holds * price[:, None] + extra * dev.extra_product_price
    cost_list = holds * unit_cost[:, None] + extra * dev.extra_product_cost
    mp = np.array([seg.margin_potential for seg in segs])[:, None, None]
    revenue = mp * revenue_list[None]
    delivery = mp * cost_list[None]

    prefs = np.array([[seg.channel_preferences.get(c, 0.0) for c in s.channels] for seg in segs])
    prefs = prefs / prefs.sum(axis=1, keepdims=True)
    cdf = np.cumsum(prefs, axis=1)
    cdf[:, -1] = 1.0
    contact_cost = np.array([c.cost_per_contact for c in chans])
    contact_rate = np.array([seg.contact_rate for seg in segs])

    def churn_field(name):
        return np.array([np.nan if getattr(seg.churn, name) is None else getattr(seg.churn, name)
                         for seg in segs])

    churn = s.behaviour.churn
    # By programme code (sim.codes.PROGRAMMES): none, retention, onboarding, loyalty.
    lifecycle = (s.behaviour.programmes.onboarding, s.behaviour.programmes.loyalty)
    with np.errstate(divide="ignore"):
        stage_log = np.log(_stage_table(churn.stage_multipliers, inactive=1.0))
    return Tables(
        segment_names=tuple(s.market.segments),
        proposition_names=tuple(s.propositions),
        channel_names=tuple(s.channels),
        offer_names=tuple(s.offers),
        share=np.array([seg.share for seg in segs]),
        churn_alpha=churn_field("alpha"),
        churn_beta=churn_field("beta"),
        churn_constant=churn_field("constant"),
        churn_mean=np.array([seg.churn.mean for seg in segs]),
        contact_rate=contact_rate,
        contact_threshold=draws.threshold(contact_rate),
        channel_cdf=cdf,
        innovation=np.array([seg.innovation for seg in segs]),
        word_of_mouth=np.array([seg.word_of_mouth for seg in segs]),
        utility=utility,
        competitor_utility=competitor,
        fit=utility - competitor[:, None],
        revenue=revenue,
        delivery_cost=delivery,
        margin=revenue - delivery,
        expected_service_cost=contact_rate * (prefs @ contact_cost),
        human=np.array([c.human for c in chans]),
        contact_cost=_with_no_contact(contact_cost),
        quality=_with_no_contact([c.quality for c in chans]),
        wait_penalty=_with_no_contact([c.wait_penalty for c in chans]),
        cross_sell=_with_no_contact([c.cross_sell if c.human else 0.0 for c in chans]),
        handle_time_seconds=np.array([c.handle_time_seconds for c in chans]),
        service_target_seconds=np.array([c.service_target_seconds for c in chans]),
        service_level_target=np.array([c.service_level_target for c in chans]),
        hourly_share=_hourly_shares([c.hourly_profile for c in chans]),
        days_per_month=np.array([c.days_per_month for c in chans]),
        cost_per_agent_hour=np.array([c.cost_per_agent_hour for c in chans]),
        list_revenue=revenue_list,
        list_margin=revenue_list - cost_list,
        proposition_fixed_cost=np.array([p.fixed_cost for p in props]),
        churn_stage_log_multiplier=stage_log,
        development_stage_multiplier=_stage_table(dev.stage_multipliers, inactive=0.0),
        offer_response=np.array([[offer.response.get(seg, 0.0) for seg in s.market.segments]
                                 for offer in s.offers.values()]).reshape(len(s.offers),
                                                                          len(segs)),
        programme_boost=np.array([0.0, s.behaviour.retention_boost,
                                  *(p.experience_boost for p in lifecycle)]),
        programme_churn_effect=np.array([0.0, churn.retention_effect,
                                         *(p.churn_effect for p in lifecycle)]),
        discount_monthly=monthly_rate(s.economics.discount_rate_annual),
    )
