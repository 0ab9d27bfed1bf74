"""The two engines, reproducibility, and the run result's shape."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model import COST_LINES

SCENARIOS = "scenarios"


@pytest.fixture(scope="module")
def busy():
    """A small market in which every mechanism fires: queues that overflow at the peak,
    decline and recovery, retention, cross-sell (also on sales calls), churn, paid and
    word-of-mouth acquisition, win-back, a competitor's price cut in one segment, a new
    entrant, and a competitor that answers the firm's gains in market share."""
    scenario = sim.load_scenario(f"{SCENARIOS}/gsp_vs_segmented.yaml").override({
        "market.population": 500,
        "market.initial_customers": 200,
        "simulation.horizon_months": 36,
        "simulation.warmup_months": 12,
        "market.reconsider_after_months": 6,
        "market.exit_rate": 0.05,
        "strategies.segmented.transition.months": 4,
        "behaviour.winback_after_months": 1,
        "behaviour.winback_response": 0.3,
        "behaviour.development.base_rate": 0.05,
        "strategies.gsp.sales_centre": True,
        "strategies.gsp.staffing": {"call_centre": 1, "branch": 1},
        "strategies.segmented.staffing": {"call_centre": 2, "branch": 1},
        "strategies.segmented.priority_share": 0.5,
        # Few opening days squeeze this small market's contacts into busy peaks.
        "channels.call_centre.days_per_month": 1,
        "channels.branch.days_per_month": 1,
        "market.competitor_moves": [
            {"from_month": 6, "utility_change": 0.4, "segments": ["affluent"]},
            {"from_month": 20, "utility_change": 0.1}],
        "market.reactive_competitor": {"threshold": 0.01, "delay_months": 2,
                                       "utility_change": 0.2, "max_responses": 2},
    })
    # Every lever at once, on a strategy of kind gsp: each practice set on its own, the
    # call centre staffed to a standard each hour and branches for the average hour,
    # onboarding and loyalty (tier A) programmes, win-back for the recently departed
    # whose odds fade, call-centre contacts of tiers B and C of two labels forced online, a
    # Thompson-sampling test among cross-sell offers within each label, and data quality
    # rising fast from 0.6 (labels re-read and customers moved every month).
    data = scenario.to_dict()
    data["behaviour"]["winback_half_life_months"] = 4.0
    segments = list(data["market"]["segments"])
    data["offers"] = {f"offer_{i}": {"response": {seg: 0.1 + 0.3 * (i == j)
                                                   for j, seg in enumerate(segments)}}
                      for i in range(len(segments))}
    data["strategies"]["levers"] = {
        **data["strategies"]["segmented"], "kind": "gsp", "proposition": "standard",
        "staffing": {"call_centre": {"sized_for": "each_hour", "forecast_months": 2},
                     "branch": {"answered": 0.7, "sized_for": "average_hour"}},
        # A retention budget small enough to leave customers for the other programmes.
        "budgets": {**data["strategies"]["segmented"]["budgets"], "retention": 300.0},
        "programmes": {"onboarding": {"cost_per_customer": 5.0},
                       "development": {"stages": ["growth", "maturity"],
                                       "tiers": ["A", "B"]},
                       "loyalty": {"cost_per_customer": 1.0, "tiers": ["A"]}},
        "winback_within_months": 9,
        "steering": {"to": "online", "away_from": ["call_centre"], "tiers": ["B", "C"],
                     "labels": segments[1:], "share": 0.5, "incentive": 1.0,
                     "forced": True},
        "offer": "offer_1",
        "test_and_learn": {"offers": list(data["offers"]), "method": "thompson",
                           "test_months": 12, "cost_per_month": 100.0},
        "data_quality": None,   # segmented's fixed quality gives way to the investment
        "data": {"spend_per_month": 500.0, "quality_start": 0.6, "quality_max": 0.95,
                 "months_to_half": 4}}
    return sim.load_scenario(data)


@pytest.fixture(scope="module")
def engine_pairs(busy):
    pairs = {}
    for strategy in ("gsp", "segmented", "levers"):
        for seed in (1, 2, 3):
            pairs[strategy, seed] = (
                sim.run(busy, strategy=strategy, seed=seed, engine="vectorized"),
                sim.run(busy, strategy=strategy, seed=seed, engine="agents"))
    return pairs


def test_busy_scenario_exercises_every_mechanism(engine_pairs):
    """Guards the engine comparison below: it is only meaningful if everything happens."""
    for (strategy, _), (run, _) in engine_pairs.items():
        m = run.monthly
        assert m["acquisitions"].sum() > 0 and m["churned"].sum() > 0
        assert m["winbacks"].sum() > 0
        assert m["retention_costs"].sum() > 0 and m["development_costs"].sum() > 0
        assert m["decline"].max() > 0 and m["growth"].max() > 0 and m["maturity"].max() > 0
        assert min(m["service_level_call_centre"].min(),
                   m["service_level_branch"].min()) < 0.8, "queues never overflowed"
        assert m["products_per_customer"].iloc[-1] > 1.0
        if strategy != "gsp":
            coded = run.segments[run.segments["customers"] > 0]
            assert set(coded["tier"]) >= {"A", "B", "C"}   # in some month
        if strategy == "levers":
            assert m["onboarding_costs"].sum() > 0 and m["loyalty_costs"].sum() > 0
            assert m["steering_costs"].sum() > 0
            assert m["test_sales"].sum() > 0 and m["offer_sales"].sum() > m["test_sales"].sum()
            assert m["data_costs"].sum() > 0 and m["data_quality"].is_monotonic_increasing
        # The competitor moved as scheduled, and answered the firm at least once (each
        # answer adds 0.2 to its utility beyond the moves).
        moved = {"affluent": 0.5, "mainstream": 0.1, "value_seekers": 0.1}
        answers = sum(m[f"competitor_utility_{s}"].iloc[-1]
                      - run.scenario.market.competitor_utility[s] - change
                      for s, change in moved.items())
        assert answers > 0.2 - 1e-9, "the reactive competitor never answered"


@pytest.mark.parametrize("strategy", ["gsp", "segmented", "levers"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_engines_identical(engine_pairs, strategy, seed):
    """Vectorized arrays and mesa agents stepped one by one give the same trajectories,
    to the last bit."""
    vec, agents = engine_pairs[strategy, seed]
    for table in ("monthly", "customers", "segments", "cohorts", "equity"):
        pd.testing.assert_frame_equal(getattr(vec, table), getattr(agents, table),
                                      check_exact=True, obj=table)
    np.testing.assert_equal(vec.summary, agents.summary)  # nan (no churn score) equals nan


@pytest.mark.parametrize("strategy", ["gsp", "segmented", "levers"])
def test_engines_identical_in_every_state_field(busy, strategy):
    """Every customer state array (not only what the result tables show) agrees after
    each month."""
    vec = sim.CVMModel(busy, strategy, seed=7)
    agents = sim.CVMModel(busy, strategy, seed=7, engine="agents")
    for _ in range(12):
        vec.step()
        agents.step()
        for f in dataclasses.fields(vec.ctx.state):
            np.testing.assert_array_equal(getattr(vec.ctx.state, f.name),
                                          getattr(agents.ctx.state, f.name), err_msg=f.name)
    assert vec.records == agents.records


def test_engines_identical_with_annual_renewals(busy):
    scenario = busy.override({"behaviour.lifecycle.renewal_every_months": 12})
    vec = sim.run(scenario, strategy="segmented", seed=5, engine="vectorized", months=26)
    agents = sim.run(scenario, strategy="segmented", seed=5, engine="agents", months=26)
    pd.testing.assert_frame_equal(vec.customers, agents.customers, check_exact=True)
    pd.testing.assert_frame_equal(vec.monthly, agents.monthly, check_exact=True)


def test_same_seed_same_result_different_seed_different(busy):
    a = sim.run(busy, strategy="segmented", seed=11)
    b = sim.run(busy, strategy="segmented", seed=11)
    c = sim.run(busy, strategy="segmented", seed=12)
    pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
    pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)
    assert not a.monthly.equals(c.monthly)
    assert not np.array_equal(a.customers["segment"], c.customers["segment"])


def test_replications_are_independent_streams(busy):
    a = sim.run(busy, strategy="gsp", seed=11, replication=0)
    b = sim.run(busy, strategy="gsp", seed=11, replication=1)
    assert not a.monthly.equals(b.monthly)


def test_every_strategy_takes_over_the_same_market(busy):
    """Common random numbers and a common start: after the warm-up (run under the baseline
    for every strategy) the people and their state are identical, bit for bit, whatever
    strategy is about to take over. Only the firm's labels differ: each strategy reads the
    same people with its own data quality."""
    models = {name: sim.CVMModel(busy, name, seed=4) for name in ("gsp", "segmented")}
    gsp, seg = (m.ctx.state for m in models.values())
    assert busy.simulation.warmup_months > 0 and models["gsp"].month == 0
    for f in dataclasses.fields(gsp):
        if f.name != "label":
            np.testing.assert_array_equal(getattr(gsp, f.name), getattr(seg, f.name),
                                          err_msg=f.name)
    np.testing.assert_array_equal(gsp.label, gsp.segment)  # gsp keeps no labels: exact
    assert 0 < np.mean(seg.label != seg.segment) < 0.5     # data quality 0.85: some wrong
    np.testing.assert_array_equal(models["gsp"].firm.ledger.exposed,
                                  models["segmented"].firm.ledger.exposed)


def test_result_shape(busy):
    r = sim.run(busy, strategy="gsp", seed=3)
    m = r.monthly
    assert list(m["month"]) == list(range(1, 37))
    required = ["month", *sim.STAGES, "acquisitions", "churned", "revenue", "costs",
                "net_cash_flow", *COST_LINES]
    assert set(required) <= set(m.columns)
    assert {"customer_equity", "churn_rate_annual", "clv_mean"} <= set(r.summary)
    assert len(r.customers) == 500
    assert set(r.customers["stage"].cat.categories) == set(sim.STAGES)


def test_unknown_engine_and_strategy_are_rejected(busy):
    with pytest.raises(ValueError, match="engine"):
        sim.run(busy, strategy="gsp", engine="quantum")
    with pytest.raises(ValueError, match="no strategy named"):
        sim.run(busy, strategy="nonesuch")


def test_vectorized_engine_creates_no_customer_objects(busy):
    model = sim.CVMModel(busy, "gsp", seed=1)
    assert len(model.agents) == 2  # the firm and the competitor
    agents = sim.CVMModel(busy, "gsp", seed=1, engine="agents")
    assert len(agents.agents) == 502


def test_every_phase_is_a_customer_verb():
    """The agents engine steps each phase through a Customer method of the same name."""
    from sim.agents import Customer
    from sim.phases import GROUP_OF_PHASE

    for phase in GROUP_OF_PHASE:
        assert callable(getattr(Customer, phase)), phase


def test_every_customer_phase_has_a_group():
    """Every function of sim.phases that works on (ctx, rows) is listed with its group, so
    both engines run it: the verbs are made from that list."""
    import inspect

    from sim import phases

    found = {name for name, f in vars(phases).items()
             if inspect.isfunction(f) and f.__module__ == phases.__name__
             and not name.startswith("_")
             and list(inspect.signature(f).parameters) == ["ctx", "rows"]}
    assert found == set(phases.GROUP_OF_PHASE)


def test_segment_table_adds_up_to_the_monthly_table(busy):
    r = sim.run(busy, strategy="segmented", seed=2)
    by_month = r.segments.groupby("month", observed=True)[
        ["customers", "contacts", "service_costs", "revenue"]].sum()
    m = r.monthly.set_index("month")
    current = m[["acquisition", "growth", "maturity", "decline"]].sum(axis=1)
    np.testing.assert_array_equal(by_month["customers"], current)
    np.testing.assert_array_equal(by_month["contacts"], m["contacts"])
    np.testing.assert_allclose(by_month["service_costs"], m["service_costs"], rtol=1e-12)
    np.testing.assert_allclose(by_month["revenue"], m["revenue"], rtol=1e-12)


def test_cohort_retention_by_hand():
    """Horizon 10. Cohort 0: one customer still there, one who left in month 3 (last a
    customer at age 2). Cohort year 1: acquired in month 4 and left in month 9 (retained at
    ages 1..4), acquired in month 8 and still there (observed 2 months)."""
    from types import SimpleNamespace

    from sim.codes import DEPARTED, GROWTH, NEVER, PROSPECT
    from sim.metrics import cohort_retention

    state = SimpleNamespace(
        cohort=np.array([0, 0, 4, 8, NEVER], dtype=np.int16),
        departed_month=np.array([NEVER, 3, 9, 2, NEVER], dtype=np.int16),  # 2 < 8: earlier
        stage=np.array([GROWTH, DEPARTED, DEPARTED, GROWTH, PROSPECT], dtype=np.int8))
    table = cohort_retention(SimpleNamespace(state=state), horizon=10).set_index(
        ["cohort", "age_months"])
    assert table.loc[(0, 2), "retained"] == 2 and table.loc[(0, 3), "retained"] == 1
    assert table.loc[(0, 10), "at_risk"] == 2 and table.loc[(0, 10), "retained"] == 1
    assert table.loc[(1, 1), "at_risk"] == 2 and table.loc[(1, 1), "retained"] == 2
    assert table.loc[(1, 2), "retained"] == 2
    assert table.loc[(1, 3), "at_risk"] == 1  # the month-8 customer is seen for 2 months
    assert table.loc[(1, 4), "retained"] == 1 and table.loc[(1, 5), "retained"] == 0
    assert (1, 7) not in table.index


def test_segment_table_with_an_empty_segment(busy):
    shares = {"market.segments.affluent.share": 0.0, "market.segments.mainstream.share": 0.7}
    r = sim.run(busy.override(shares), strategy="segmented", seed=2, months=6)
    affluent = r.segments[r.segments["segment"] == "affluent"]
    assert (affluent[["customers", "contacts", "service_costs", "revenue"]] == 0).all().all()
    np.testing.assert_allclose(r.segments.groupby("month", observed=True)["revenue"].sum(),
                               r.monthly["revenue"], rtol=1e-12)


def test_whole_array_phases_change_nothing_outside_their_groups(busy, monkeypatch):
    """The vectorized engine runs the phases in ``WHOLE_ARRAY`` on every row: run on their
    groups' rows alone instead, every state field ends the same, to the bit."""
    from sim import phases

    def final_state():
        model = sim.CVMModel(busy, "segmented", seed=4)
        for _ in range(12):
            model.step()
        return model.ctx.state

    whole = final_state()
    monkeypatch.setattr(phases, "WHOLE_ARRAY", frozenset())
    grouped = final_state()
    for field in dataclasses.fields(whole):
        np.testing.assert_array_equal(getattr(whole, field.name), getattr(grouped, field.name),
                                      field.name)


def test_newcomer_theta_table_matches_the_exact_beta_quantile():
    """A newcomer's θ comes from a table of the Beta quantile function; for each shipped
    segment (and a harsh α = 0.3) it must be within 2e-6 of the exact inverse at 200,000
    seeded uniforms and at the extremes (θ of the shipped segments is 0.005 to 0.025 on
    average, so that is below a thousandth of it)."""
    from scipy.special import betaincinv

    from sim.population import beta_quantile

    u = np.concatenate((np.random.default_rng(3).random(200_000), [0.0, 1e-9, 1.0 - 1e-9]))
    for a, b in [(1.5, 299.0), (1.2, 99.0), (0.8, 31.0), (0.3, 5.0)]:
        error = np.abs(beta_quantile(a, b, u) - betaincinv(a, b, u))
        assert error.max() < 2e-6, (a, b, error.max())


def test_flat_index_is_numpys_row_major_index():
    """The engine's in-place table index (int16 for small tables, int32 beyond) equals
    NumPy's ravel_multi_index for codes of mixed narrow types (int8, int16, bool), and a
    lookup reads what indexing the table reads."""
    from sim.codes import flat_index, lookup

    rng = np.random.default_rng(11)
    for shape, dtype in (((40, 9, 2), np.int16), ((400, 90, 2), np.int32)):
        codes = (rng.integers(0, shape[0], 500).astype(np.int16),
                 rng.integers(0, shape[1], 500).astype(np.int8), rng.random(500) < 0.5)
        index = flat_index(codes, shape)
        assert index.dtype == dtype
        np.testing.assert_array_equal(
            index, np.ravel_multi_index([c.astype(np.intp) for c in codes], shape))
        table = rng.random(shape)
        np.testing.assert_array_equal(lookup(table, *codes),
                                      table[tuple(c.astype(np.intp) for c in codes)])
    table = rng.random(5)
    np.testing.assert_array_equal(lookup(table, np.array([-1, 0, 4], dtype=np.int8)),
                                  table[[-1, 0, 4]])
