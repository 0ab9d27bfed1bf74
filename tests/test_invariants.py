"""Invariants that hold every month, for the shipped scenarios and for random valid ones."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.codes import NEVER, is_active
from sim.metrics import OPTIONAL_METRICS, final_churn_hazard
from sim.model import COST_LINES

SHIPPED = sorted(Path("scenarios").glob("*.yaml"))


def check_month(model: sim.CVMModel) -> None:
    """Assert every invariant on the model's state after a step."""
    ctx = model.ctx
    state, month, row = ctx.state, ctx.month, model.records[-1]
    # Every agent is counted once in some stage, as the people it stands for.
    n = len(state) * ctx.scenario.market.customers_per_agent
    assert sum(row[s] for s in sim.STAGES) == n
    for name, value in row.items():
        assert np.isfinite(value), name
    assert row["net_cash_flow"] == pytest.approx(
        row["revenue"] - sum(row[line] for line in COST_LINES), rel=1e-12, abs=1e-6)
    assert row["costs"] == pytest.approx(sum(row[line] for line in COST_LINES), rel=1e-12)
    assert min(row[line] for line in COST_LINES) >= 0
    for name in ("theta", "log_survival", "satisfaction", "value"):
        assert np.isfinite(getattr(state, name)).all(), name
    probabilities = {
        "satisfaction": state.satisfaction, "theta": state.theta,
        "service_level": month.service_level, "adoption": month.adoption,
        "return": month.return_, "experience": ctx.experience,
        "churn_hazard": final_churn_hazard(ctx),
        **{f"reach_{k}": v for k, v in vars(month.decisions).items() if k.endswith("reach")},
    }
    for name, p in probabilities.items():
        assert ((p >= 0) & (p <= 1)).all(), name
    assert (state.products >= 0).all()
    assert (state.products <= ctx.scenario.behaviour.development.max_products).all()
    assert (month.contacts <= n).all() and month.contacts.sum() == row["contacts"]
    # Month stamps lie in the past, and every current customer has a relationship start.
    for stamp in ("cohort", "departed_month", "last_contact", "last_complaint"):
        stamps = getattr(state, stamp)
        assert ((stamps == NEVER) | (stamps <= model.month)).all(), stamp
    active = is_active(state.stage)
    assert (state.cohort[active] != NEVER).all()
    assert (state.proposition[active] >= 0).all() and (state.products[active] >= 1).all()
    assert (state.products[~active] == 0).all()
    assert (state.tenure >= 0).all() and (state.customer_months >= state.tenure).all()


def run_checked(scenario, strategy, seed=0, months=None):
    model = sim.CVMModel(scenario, strategy, seed=seed)
    for _ in range(months or scenario.simulation.horizon_months):
        model.step()
        check_month(model)
    return model


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_keep_invariants(path):
    scenario = sim.load_scenario(path)
    for strategy in scenario.compare:
        run_checked(scenario, strategy, seed=1)


@st.composite
def random_scenarios(draw):
    """Valid variations of the base scenario: small markets with every lever drawn."""
    unit = st.floats(0.0, 1.0)
    segments = ("affluent", "mainstream", "value_seekers")
    weights = [draw(st.floats(0.05, 1.0)) for _ in segments]
    shares = [w / sum(weights) for w in weights]
    shares[-1] = 1.0 - sum(shares[:-1])
    per_agent = draw(st.integers(1, 4))
    agents = draw(st.integers(20, 300))
    changes = {
        "market.customers_per_agent": per_agent,
        "market.population": agents * per_agent,
        "market.initial_customers": draw(st.integers(0, agents)) * per_agent,
        "market.initial_max_tenure_months": draw(st.integers(0, 60)),
        "simulation.horizon_months": draw(st.integers(1, 24)),
        "economics.discount_rate_annual": draw(st.floats(0.001, 1.0)),
        "behaviour.satisfaction.memory": draw(unit),
        "behaviour.satisfaction.service_weight": draw(st.floats(0.0, 5.0)),
        "behaviour.churn.satisfaction_effect": draw(st.floats(0.0, 50.0)),
        "behaviour.churn.product_effect": draw(unit),
        "behaviour.churn.retention_effect": draw(unit),
        "behaviour.churn.stage_multipliers": {
            s: draw(st.floats(0.0, 10.0)) for s in ("acquisition", "growth", "maturity",
                                                    "decline")},
        "behaviour.development.base_rate": draw(unit),
        "behaviour.development.max_products": draw(st.integers(1, 6)),
        "behaviour.lifecycle.renewal_every_months": draw(st.integers(1, 12)),
        "behaviour.lifecycle.decline_threshold": draw(st.floats(0.0, 0.45)),
        "behaviour.acquisition_response": draw(unit),
        "behaviour.winback_response": draw(unit),
        "behaviour.winback_after_months": draw(st.integers(1, 6)),
        "behaviour.retention_boost": draw(st.floats(-3.0, 3.0)),
        "strategies.segmented.data_quality": draw(unit),
        "strategies.segmented.priority_share": draw(unit),
        "strategies.segmented.sales_centre": draw(st.booleans()),
        "strategies.gsp.proposition": draw(st.sampled_from(["basic", "standard", "premium"])),
        "simulation.warmup_months": draw(st.integers(0, 24)),
        "market.exit_rate": draw(st.sampled_from([0.0, 0.05, 1.0])),
        "market.reconsider_after_months": draw(st.sampled_from([None, 1, 12])),
        "strategies.segmented.transition.months": draw(st.integers(0, 6)),
        "strategies.segmented.transition.one_off_cost": draw(st.floats(0.0, 1e6)),
        "strategies.segmented.research_error": draw(st.floats(0.0, 10.0)),
    }
    for name, share in zip(segments, shares, strict=True):
        base = f"market.segments.{name}"
        changes[f"{base}.share"] = share
        changes[f"{base}.contact_rate"] = draw(unit)
        changes[f"{base}.word_of_mouth"] = draw(st.floats(0.0, 3.0))
        changes[f"{base}.innovation"] = draw(unit)
        changes[f"{base}.price_sensitivity"] = draw(st.floats(0.0, 1.0))
        if draw(st.booleans()):
            changes[f"{base}.churn"] = {"constant": draw(unit)}
        else:
            changes[f"{base}.churn"] = {"alpha": draw(st.floats(0.05, 50.0)),
                                        "beta": draw(st.floats(0.05, 500.0))}
    for strategy in ("gsp", "segmented"):
        for line in ("acquisition", "retention", "development", "winback"):
            changes[f"strategies.{strategy}.budgets.{line}"] = draw(st.floats(0.0, 1e5))
        changes[f"strategies.{strategy}.staffing"] = {
            "call_centre": draw(st.integers(0, 5)),
            "branch": draw(st.lists(st.integers(0, 5), min_size=8, max_size=8))}
    return sim.load_scenario("scenarios/base.yaml").override(changes)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario=random_scenarios(), strategy=st.sampled_from(["gsp", "segmented"]),
       seed=st.integers(0, 2**32 - 1))
def test_random_valid_scenarios_keep_invariants(scenario, strategy, seed):
    model = run_checked(scenario, strategy, seed=seed)
    result_ok = sim.run(scenario, strategy=strategy, seed=seed)
    for name, value in result_ok.summary.items():
        assert np.isfinite(value) or name in OPTIONAL_METRICS, name
    for kind, parts in result_ok.equity.groupby("kind"):
        assert parts["value"].sum() == pytest.approx(
            result_ok.summary["customer_equity"], rel=1e-9, abs=1e-6), kind
    numeric = result_ok.customers.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert len(model.records) == scenario.simulation.horizon_months
