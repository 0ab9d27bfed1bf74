"""Customer equity, CLV and churn from a finished run.

Timing convention: month t's cash flows fall at the end of month t and are discounted by
(1 + d)^−t, with d the monthly equivalent of the annual discount rate. A customer who
leaves in month t pays nothing for month t. Initial customers count as acquired at the
end of month 0 (they paid for month 0, outside the horizon).

Customer equity (Rust, Lemon & Zeithaml 2004): the discounted net cash flows of current
*and future* customers over the horizon — every cost line included — plus the discounted
residual value of the customers alive at its end. The residual value of a customer is the
expected discounted margin of a geometric lifetime at their final churn hazard p:
margin · (1 − p) / (d + p), discounted from the horizon to month 0. The residual margin is
revenue less delivery cost and expected contact cost; fixed costs stop at the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .phases import Context
from .rules import churn
from .scenario import STAGES, TIERS
from .tables import is_active

SUMMARY_METRICS: dict[str, str] = {
    "customer_equity": "discounted net cash flow over the horizon + residual value (currency)",
    "discounted_cash_flow": "discounted net cash flow over the horizon (currency)",
    "residual_value": "discounted expected value of customers alive at the end (currency)",
    "churn_rate_annual": "1 − (1 − churned / customer-months at risk)^12",
    "clv_mean": "mean discounted contribution + residual per customer served (currency)",
    "customers_served": "customers active at any time in the horizon",
    "customers_end": "customers active at the end",
    "acquisitions": "prospects acquired over the horizon",
    "winbacks": "departed customers won back over the horizon",
    "churned": "departures over the horizon",
    "revenue": "undiscounted revenue over the horizon (currency)",
    "costs": "undiscounted costs over the horizon (currency)",
    "cost_to_serve": "contact and staffing cost per customer-month (currency)",
    "mean_satisfaction_end": "mean satisfaction of customers at the end (0..1)",
}
"""Every summary metric and what it measures. A missing or non-finite one is an error."""

BETTER: dict[str, int] = {
    "customer_equity": +1, "discounted_cash_flow": +1, "residual_value": +1,
    "churn_rate_annual": -1, "clv_mean": +1, "customers_served": +1, "customers_end": +1,
    "acquisitions": +1, "winbacks": +1, "churned": -1, "revenue": +1, "costs": -1,
    "cost_to_serve": -1, "mean_satisfaction_end": +1,
}
"""For each summary metric, +1 if more is better for the firm, −1 if less is."""


def final_churn_hazard(ctx: Context) -> np.ndarray:
    """Each customer's monthly churn hazard in the final state (no programme)."""
    st, t = ctx.state, ctx.tables
    ch = ctx.scenario.behaviour.churn
    log_m = churn.log_multiplier(st.satisfaction, t.churn_stage_log_multiplier[st.stage],
                                 st.products, np.zeros(len(st), dtype=bool),
                                 ch.satisfaction_effect, ch.neutral_satisfaction,
                                 ch.product_effect, ch.retention_effect)
    per_opportunity = churn.probability(st.log_survival, log_m)
    return churn.monthly_equivalent(per_opportunity,
                                    ctx.scenario.behaviour.lifecycle.renewal_every_months)


def residual_values(ctx: Context, horizon: int) -> np.ndarray:
    """Discounted (to month 0) residual value of each customer alive at the horizon."""
    st, t = ctx.state, ctx.tables
    active = is_active(st.stage)
    cell = st.holding * t.revenue.shape[2] + st.products
    margin = (t.revenue.ravel().take(cell) - t.delivery_cost.ravel().take(cell)
              - t.expected_service_cost.take(st.segment))
    p = final_churn_hazard(ctx)
    d = t.discount_monthly
    value = margin * (1.0 - p) / (d + p) * (1.0 + d) ** -horizon
    return np.where(active, value, 0.0)


def summarize(ctx: Context, monthly: pd.DataFrame, residual: np.ndarray) -> dict[str, float]:
    """The run's summary metrics (see :data:`SUMMARY_METRICS`)."""
    st = ctx.state
    served = st.cohort >= 0
    at_risk = monthly["at_risk"].sum()
    monthly_churn = monthly["churned"].sum() / at_risk if at_risk else 0.0
    dcf = float((monthly["net_cash_flow"] * monthly["discount_factor"]).sum())
    customer_months = monthly[list(STAGES[1:5])].to_numpy().sum()
    serve_cost = monthly["service_costs"].sum() + monthly["staffing_costs"].sum()
    n_served = int(np.count_nonzero(served))
    active = is_active(st.stage)
    n_end = int(np.count_nonzero(active))
    out = {
        "customer_equity": dcf + float(residual.sum()),
        "discounted_cash_flow": dcf,
        "residual_value": float(residual.sum()),
        "churn_rate_annual": float(1.0 - (1.0 - monthly_churn) ** 12),
        "clv_mean": float((st.value[served] + residual[served]).mean()) if n_served else 0.0,
        "customers_served": n_served,
        "customers_end": n_end,
        "acquisitions": int(monthly["acquisitions"].sum()),
        "winbacks": int(monthly["winbacks"].sum()),
        "churned": int(monthly["churned"].sum()),
        "revenue": float(monthly["revenue"].sum()),
        "costs": float(monthly["costs"].sum()),
        "cost_to_serve": float(serve_cost / customer_months) if customer_months else 0.0,
        "mean_satisfaction_end": float(st.satisfaction[active].mean()) if n_end else 0.0,
    }
    bad = [k for k in SUMMARY_METRICS if not np.isfinite(out[k])]
    if bad:
        raise FloatingPointError(f"non-finite summary metrics: {', '.join(bad)}")
    return out


def customers_table(ctx: Context, residual: np.ndarray) -> pd.DataFrame:
    """One row per customer at the end of the run."""
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
        "cohort": st.cohort,
        "products": st.products,
        "satisfaction": st.satisfaction,
        "churn_propensity": st.theta,
        "value": st.value,
        "residual_value": residual,
    })


SEGMENT_COLUMNS = ("customers", "contacts", "service_costs", "revenue")
"""Per month and true segment: customers at the month's end, contacts, their variable cost
and revenue (currency)."""


def segments_table(segment_names: tuple[str, ...], records: list[np.ndarray]) -> pd.DataFrame:
    """Long table: one row per (month, segment) with :data:`SEGMENT_COLUMNS`."""
    data = np.stack(records)                     # (months, columns, segments)
    months, _, n_seg = data.shape
    out = pd.DataFrame({
        "month": np.repeat(np.arange(1, months + 1), n_seg),
        "segment": pd.Categorical(np.tile(segment_names, months), categories=segment_names),
    })
    for i, name in enumerate(SEGMENT_COLUMNS):
        values = data[:, i, :].ravel()
        out[name] = values.astype(np.int64) if name in ("customers", "contacts") else values
    return out


def cohort_retention(ctx: Context, horizon: int) -> pd.DataFrame:
    """Retention by acquisition cohort, from each customer's last relationship.

    Cohort 0 are the initial customers (age counted from month 0), cohort y ≥ 1 those
    acquired or won back in year y of the horizon. For each cohort and age k (months since
    acquisition), ``at_risk`` counts customers observed for at least k months and
    ``retained`` those of them still customers at age k; retained / at_risk is the
    retention curve (a life table with censoring at the horizon). Earlier relationships of
    won-back customers are not counted.
    """
    st = ctx.state
    start = st.cohort.astype(np.int64)
    known = start >= 0
    start, departed = start[known], st.departed_month[known].astype(np.int64)
    # Censored: still a customer at the horizon (a departure before `start` belongs to an
    # earlier relationship). A customer leaving in month d was last a customer at age
    # d − 1 − start, so is retained at ages k < d − start.
    censored = is_active(st.stage[known]) | (departed < start)
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
        at_risk = at_least(window[mine], ages)
        retained = (at_least(window[mine & censored], ages)
                    + at_least(lifetime[mine & ~censored], ages + 1))
        keep = at_risk > 0
        frames.append(pd.DataFrame({"cohort": int(y), "age_months": ages[keep],
                                    "at_risk": at_risk[keep], "retained": retained[keep]}))
    if not frames:
        return pd.DataFrame(columns=["cohort", "age_months", "at_risk", "retained"])
    return pd.concat(frames, ignore_index=True)
