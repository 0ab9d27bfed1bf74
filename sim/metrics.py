"""Customer equity, CLV, churn, cost to serve and the equity's parts, from a finished run.

Timing convention: month t's cash flows fall at the end of month t and are discounted by
(1 + d)^−t, with d the monthly equivalent of the annual discount rate. A customer who
leaves in month t pays nothing for month t. The measured horizon is months 1..H; the
warm-up before it is never counted.

**Customer equity** (Rust, Lemon & Zeithaml 2004): the discounted net cash flows of
current *and future* customers over the horizon — every cost line included — plus the
discounted residual value of the customers alive at its end. The residual value of a
customer is the expected discounted net margin of a geometric lifetime at their final
churn hazard p (Fader & Hardie 2012's m(1 − p)/(d + p), margins at each month's end),
discounted from the horizon to month 0. Its net margin is revenue less delivery cost,
expected contact cost *and the customer's share of the costs that keep serving the base*:
the staffing, proposition, analytics and data costs of the horizon's last twelve months per
customer-month. Charging those per customer-month assumes that the firm sizes them to its
base over the long run (they shrink as the base does); stopping them at the horizon instead
would make a strategy with large fixed costs look better the more of its value lies beyond
the horizon. Budgets are not charged to the residual: acquisition and win-back buy future
customers, retention and development buy lower churn and more products, and the residual
(valued at the final hazard, without programmes or further sales) counts none of those.

**CLV per acquired customer** (``clv_mean``): for every relationship begun in the horizon
(an acquisition or a win-back), the margin it brought less the contact and programme costs
it caused, discounted to the month it began, plus its residual value if it is still alive
at the end, less the acquisition (or win-back) spend of its month shared among that month's
new customers. Fixed costs (staff, propositions, analytics) are not caused by one customer
and are not in it. The cohort table gives it per acquisition year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .codes import ACTIVE_STAGES, NEVER, STAGES, TIERS, is_active
from .outcomes import OUTCOMES, SERVICE_LEVEL
from .phases import Context
from .rules import churn
from .scoring import auc_and_lift
from .tables import by_holding

SUMMARY_METRICS: dict[str, str] = {o.name: f"{o.description} ({o.unit})"
                                   for o in OUTCOMES.values()}
"""Every summary metric and what it measures (from :data:`sim.outcomes.OUTCOMES`). A
missing or non-finite one is an error, except those in :data:`OPTIONAL_METRICS`."""
OPTIONAL_METRICS = tuple(o.name for o in OUTCOMES.values() if o.optional)
"""Metrics that are nan where they do not apply (a firm that fits no churn score)."""
BETTER: dict[str, int] = {o.name: o.better for o in OUTCOMES.values()}
"""For each summary metric, +1 if more is better for the firm, −1 if less is."""

SERVING_COSTS = ("staffing_costs", "overhead_costs", "data_costs")
"""Cost lines that keep serving the base, charged per customer-month in the residual.
Retention and development budgets are not: they buy effects (lower churn, more products)
that the residual, valued without programmes, does not credit either."""


SEGMENT_COSTS = ("delivery_costs", "service_costs")
"""Cost lines each true segment causes, booked by segment in the segments table; the equity
split by segment puts every other cost line in its ``firm_wide`` part."""


def final_churn_hazard(ctx: Context) -> np.ndarray:
    """Each customer's monthly churn hazard in the final state (no programme)."""
    st, t = ctx.state, ctx.tables
    ch = ctx.scenario.behaviour.churn
    log_m = churn.log_multiplier(st.satisfaction, t.churn_stage_log_multiplier[st.stage],
                                 st.products, np.zeros(len(st), dtype=np.int8),
                                 ch.satisfaction_effect, ch.neutral_satisfaction,
                                 ch.product_effect, np.zeros(1))
    per_opportunity = churn.probability(st.log_survival, log_m)
    return churn.monthly_equivalent(per_opportunity,
                                    ctx.scenario.behaviour.lifecycle.renewal_every_months)


def serving_cost_per_customer_month(monthly: pd.DataFrame) -> float:
    """The :data:`SERVING_COSTS` of the horizon's last twelve months per customer-month
    (currency)."""
    last = monthly.tail(12)
    customer_months = last[list(ACTIVE_STAGES)].to_numpy().sum()
    spent = last[list(SERVING_COSTS)].to_numpy().sum()
    return float(spent / customer_months) if customer_months else 0.0


def residual_values(ctx: Context, horizon: int, monthly: pd.DataFrame) -> np.ndarray:
    """Discounted (to month 0) residual value of a customer of each agent alive at the
    horizon, net of their share of the costs of serving the base (see the module
    docstring); per customer: an agent stands for ``market.customers_per_agent``."""
    st, t = ctx.state, ctx.tables
    active = is_active(st.stage)
    margin = (by_holding(t.margin, st.holding, st.products)
              - t.expected_service_cost.take(st.segment)
              - serving_cost_per_customer_month(monthly))
    p = final_churn_hazard(ctx)
    d = t.discount_monthly
    value = margin * (1.0 - p) / (d + p) * (1.0 + d) ** -horizon
    return np.where(active, value, 0.0)


def relationship_values(model, residual: np.ndarray) -> np.ndarray:
    """Discounted (to month 0) value of the relationships begun in each month (index: the
    model's month slots), the ones still alive valued with their residual."""
    st = model.ctx.state
    alive = np.flatnonzero(is_active(st.stage))
    values = model.ended_value.copy()
    np.add.at(values, model.slot(st.cohort[alive].astype(np.intp)),
              (st.value[alive] + residual[alive]) * model.weight)
    return values


def cohort_clv(model, monthly: pd.DataFrame, residual: np.ndarray, horizon: int
               ) -> pd.DataFrame:
    """Per month of the horizon: relationships begun and the sum of their CLVs, each
    discounted to its first month, less that month's acquisition and win-back spend."""
    months = np.arange(1, horizon + 1)
    slots = model.slot(months)
    d = model.ctx.tables.discount_monthly
    values = relationship_values(model, residual)[slots]
    spend = (monthly["acquisition_costs"] + monthly["winback_costs"]).to_numpy()
    discount = monthly["discount_factor"].to_numpy()
    return pd.DataFrame({"month": months, "begun": model.relationships_begun[slots],
                         "clv_sum": (values - spend * discount) * (1.0 + d) ** months})


def summarize(model, monthly: pd.DataFrame, residual: np.ndarray,
              clv: pd.DataFrame) -> dict[str, float]:
    """The run's summary metrics (see :data:`SUMMARY_METRICS`)."""
    st = model.ctx.state
    at_risk = monthly["at_risk"].sum()
    monthly_churn = monthly["churned"].sum() / at_risk if at_risk else 0.0
    dcf = float((monthly["net_cash_flow"] * monthly["discount_factor"]).sum())
    customer_months = monthly[list(ACTIVE_STAGES)].to_numpy().sum()
    serve_cost = monthly["service_costs"].sum() + monthly["staffing_costs"].sum()
    active = is_active(st.stage)
    # Counted from the flows, not from the people's rows: in an open market a row can hold
    # several people in turn, and a person's departure stamp is gone once they leave it.
    first = monthly.iloc[0]
    at_start = first["at_risk"]
    n_end = int(np.count_nonzero(active))
    residual_total = float(residual.sum()) * model.weight
    equity = dcf + residual_total
    begun = clv["begun"].sum()
    auc, lift = score_quality(model)
    out = {
        "customer_equity": equity,
        "discounted_cash_flow": dcf,
        "residual_value": residual_total,
        "residual_share": residual_total / equity if equity else 0.0,
        "churn_rate_annual": float(1.0 - (1.0 - monthly_churn) ** 12),
        "clv_mean": float(clv["clv_sum"].sum() / begun) if begun else 0.0,
        "customers_served": int(at_start + begun),
        "customers_end": n_end * model.weight,
        "acquisitions": int(monthly["acquisitions"].sum()),
        "winbacks": int(monthly["winbacks"].sum()),
        "churned": int(monthly["churned"].sum()),
        "revenue": float(monthly["revenue"].sum()),
        "costs": float(monthly["costs"].sum()),
        "cost_to_serve": float(serve_cost / customer_months) if customer_months else 0.0,
        "mean_satisfaction_end": float(st.satisfaction[active].mean()) if n_end else 0.0,
        "score_auc": auc,
        "score_lift": lift,
    }
    out.update(service_levels(monthly))
    bad = [k for k in SUMMARY_METRICS
           if k not in OPTIONAL_METRICS and not np.isfinite(out[k])]
    if bad:
        raise FloatingPointError(f"non-finite summary metrics: {', '.join(bad)}")
    return out


def service_levels(monthly: pd.DataFrame) -> dict[str, float]:
    """Each human channel's service level over the horizon (``service_level_<channel>``):
    contacts answered within target over contacts, 1 without contacts."""
    out = {}
    for column in monthly.columns:
        if column.startswith("answered_in_time_"):
            channel = column.removeprefix("answered_in_time_")
            contacts = monthly[f"contacts_{channel}"].sum()
            out[f"{SERVICE_LEVEL}{channel}"] = (float(monthly[column].sum() / contacts)
                                                if contacts else 1.0)
    return out


def score_quality(model) -> tuple[float, float]:
    """AUC and top-decile lift of the churn score the firm used in the horizon's months
    (each month scored by the model fitted before it, so out of sample); nan without one."""
    history = model.firm.score_history
    if not history:
        return float("nan"), float("nan")
    score, exposed, left = (np.concatenate(parts) for parts in zip(*history, strict=True))
    return auc_and_lift(score, exposed, left)


def equity_parts(model, monthly: pd.DataFrame, residual: np.ndarray,
                 segments: pd.DataFrame) -> pd.DataFrame:
    """Customer equity split two ways, each adding up to it (currency, discounted to month
    0): by ``line`` (revenue, minus each cost line, residual value) and by ``segment`` (each
    true segment's revenue less its delivery and contact costs plus its customers' residual
    value; ``firm_wide`` for the cost lines no segment causes alone, every line but
    :data:`SEGMENT_COSTS`: staff, propositions, analytics, budgets, programmes, steering,
    data, transition)."""
    from .model import COST_LINES

    discount = monthly["discount_factor"].to_numpy()
    rows = [("line", "revenue", float(monthly["revenue"].to_numpy() @ discount))]
    rows += [("line", line, -float(monthly[line].to_numpy() @ discount))
             for line in COST_LINES]
    rows.append(("line", "residual_value", float(residual.sum()) * model.weight))
    tables = model.ctx.tables
    by_month = dict(zip(monthly["month"], discount, strict=True))
    seg = segments.assign(disc=segments["month"].map(by_month))
    margin = (seg["revenue"] - seg["delivery_costs"] - seg["service_costs"]) * seg["disc"]
    per_segment = margin.groupby(seg["segment"], observed=False).sum()
    st = model.ctx.state
    residual_by_segment = np.bincount(st.segment, weights=residual,
                                      minlength=len(tables.segment_names)) * model.weight
    for s, name in enumerate(tables.segment_names):
        rows.append(("segment", name, float(per_segment[name] + residual_by_segment[s])))
    firm_wide = [line for line in COST_LINES if line not in SEGMENT_COSTS]
    rows.append(("segment", "firm_wide",
                 -float(sum(monthly[line].to_numpy() @ discount for line in firm_wide))))
    return pd.DataFrame(rows, columns=["kind", "component", "value"])


def offers_table(model) -> pd.DataFrame:
    """One row per label (the firm's segment labels): the proposition the strategy offers
    it over the horizon, as re-planned at the take-over from the firm's own research; the
    cross-sell offer its campaigns make to the label at the end (empty: campaigns without
    an offer) and the month a test adopted it (0: no test)."""
    t, plan, test = model.ctx.tables, model.ctx.plan, model.firm.experiment
    n_lab = len(t.segment_names)
    if plan.cross_sell is None:
        cross_sell = [""] * n_lab
    else:
        arm = test.champion if test is not None else np.full(n_lab, plan.start_arm)
        cross_sell = [t.offer_names[plan.cross_sell[a]] for a in arm]
    return pd.DataFrame({"label": list(t.segment_names),
                         "proposition": [t.proposition_names[o] for o in plan.offer],
                         "cross_sell_offer": cross_sell,
                         "adopted_month": (test.adopted_month if test is not None
                                           else np.zeros(n_lab, dtype=np.int32))})


def customers_table(ctx: Context, residual: np.ndarray) -> pd.DataFrame:
    """One row per agent at the end of the run (each stands for
    ``market.customers_per_agent`` people; ``value`` and ``residual_value`` are per person)."""
    st, t = ctx.state, ctx.tables
    prop_names = np.array(("",) + t.proposition_names, dtype=object)
    return pd.DataFrame({
        "customer": np.arange(len(st)),
        "segment": pd.Categorical.from_codes(st.segment, t.segment_names),
        "label": pd.Categorical.from_codes(st.label, t.segment_names),
        "stage": pd.Categorical.from_codes(st.stage, STAGES),
        "tier": pd.Categorical.from_codes(st.tier, TIERS),
        "proposition": prop_names[st.proposition + 1],
        "tenure": st.tenure,
        "cohort": np.where(st.cohort == NEVER, -1, st.cohort),
        "products": st.products,
        "satisfaction": st.satisfaction,
        "churn_propensity": st.theta,
        "value": st.value,
        "residual_value": residual,
    })


def segments_table(model, records: list[dict[str, np.ndarray]],
                   monthly: pd.DataFrame) -> pd.DataFrame:
    """Long table: one row per (month, true segment, value tier): customers at the month's
    end, revenue, delivery costs, contacts and contact costs per channel, the channel's
    staffing costs shared by contacts, contacts answered within target and the service
    level (their share; 1 without contacts) per human channel, and ``cost_to_serve``
    (contact and staffing costs per customer; currency)."""
    tables = model.ctx.tables
    names, channels = tables.segment_names, tables.channel_names
    n_seg, n_tier, months = len(names), len(TIERS), len(records)
    cells = n_seg * n_tier
    out = pd.DataFrame({
        "month": np.repeat(np.arange(1, months + 1), cells),
        "segment": pd.Categorical(np.tile(np.repeat(names, n_tier), months), categories=names),
        "tier": pd.Categorical(np.tile(TIERS, n_seg * months), categories=TIERS),
    })
    for key in ("customers", "revenue", "delivery_costs"):
        out[key] = np.stack([r[key] for r in records]).reshape(-1)
    contacts = np.stack([r["contacts"] for r in records]).reshape(months, cells, -1)
    per_channel = contacts.sum(axis=1, keepdims=True)                    # (months, 1, C)
    staffing = np.stack([monthly.get(f"staffing_costs_{c}", pd.Series(0.0, monthly.index))
                         .to_numpy() for c in channels], axis=1)[:, None, :]
    staff_share = np.divide(contacts * staffing, per_channel, out=np.zeros(contacts.shape),
                            where=per_channel > 0)
    answered = np.stack([r["answered_in_time"] for r in records]).reshape(months, cells, -1)
    costs = contacts * tables.contact_cost[:-1]
    out["contacts"] = contacts.sum(axis=2).reshape(-1)
    out["service_costs"] = costs.sum(axis=2).reshape(-1)
    for c, channel in enumerate(channels):
        out[f"contacts_{channel}"] = contacts[:, :, c].reshape(-1)
        out[f"service_costs_{channel}"] = costs[:, :, c].reshape(-1)
        out[f"staffing_costs_{channel}"] = staff_share[:, :, c].reshape(-1)
        if tables.human[c]:
            calls = contacts[:, :, c].reshape(-1)
            out[f"answered_in_time_{channel}"] = answered[:, :, c].reshape(-1)
            out[f"service_level_{channel}"] = np.divide(
                out[f"answered_in_time_{channel}"], calls, out=np.ones(len(out)),
                where=calls > 0)
    serving = out["service_costs"] + staff_share.sum(axis=2).reshape(-1)
    out["cost_to_serve"] = np.divide(serving, out["customers"],
                                     out=np.zeros(len(out)), where=out["customers"] > 0)
    return out


def cohort_retention(ctx: Context, horizon: int, weight: int = 1) -> pd.DataFrame:
    """Retention by acquisition cohort, from each customer's last relationship.

    Cohort 0 are the customers whose relationship began before month 1 (age counted from
    month 0), cohort y ≥ 1 those acquired or won back in year y of the horizon. For each
    cohort and age k (months since acquisition), ``at_risk`` counts customers observed for
    at least k months and ``retained`` those of them still customers at age k;
    retained / at_risk is the retention curve (a life table with censoring at the horizon).
    Earlier relationships of won-back customers, and relationships that ended before month
    1, are not counted. Counts are of agents times ``weight``, the people each stands for.
    """
    st = ctx.state
    active = is_active(st.stage)
    departed_all = st.departed_month.astype(np.int64)
    known = (st.cohort != NEVER) & (active | (departed_all >= 1))
    start = np.maximum(st.cohort[known].astype(np.int64), 0)
    departed = departed_all[known]
    # Censored: still a customer at the horizon (a departure before `start` belongs to an
    # earlier relationship). A customer leaving in month d was last a customer at age
    # d − 1 − start, so is retained at ages k < d − start.
    censored = active[known] | (departed < start)
    window = horizon - start
    lifetime = np.where(censored, window, departed - start)
    year = np.where(start == 0, 0, (start - 1) // 12 + 1)
    ages = np.arange(1, horizon + 1)

    def at_least(values: np.ndarray, k: np.ndarray) -> np.ndarray:
        """How many of ``values`` are ≥ each k (counting, not comparing, to stay O(n))."""
        tail = np.cumsum(np.bincount(values, minlength=horizon + 2)[::-1])[::-1]
        return tail[np.minimum(k, horizon + 1)]

    frames = []
    for y in np.unique(year):
        mine = year == y
        at_risk = at_least(window[mine], ages) * weight
        retained = (at_least(window[mine & censored], ages)
                    + at_least(lifetime[mine & ~censored], ages + 1)) * weight
        keep = at_risk > 0
        frames.append(pd.DataFrame({"cohort": int(y), "age_months": ages[keep],
                                    "at_risk": at_risk[keep], "retained": retained[keep]}))
    if not frames:
        return pd.DataFrame(columns=["cohort", "age_months", "at_risk", "retained"])
    return pd.concat(frames, ignore_index=True)


def with_cohort_clv(cohorts: pd.DataFrame, clv: pd.DataFrame) -> pd.DataFrame:
    """The cohort table with each cohort year's relationships begun (``acquired``) and CLV
    per acquired customer (``clv``; nan for cohort 0, acquired before the horizon)."""
    year = (clv["month"] - 1) // 12 + 1
    per_year = clv.groupby(year)[["begun", "clv_sum"]].sum()
    acquired = cohorts["cohort"].map(per_year["begun"]).to_numpy(dtype=float)
    total = cohorts["cohort"].map(per_year["clv_sum"]).to_numpy(dtype=float)
    return cohorts.assign(acquired=acquired,
                          clv=np.divide(total, acquired, out=np.full(len(cohorts), np.nan),
                                        where=acquired > 0))
