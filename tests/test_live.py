"""The dashboard's model: two strategies side by side on one market, customer journeys that
are the state month by month, levers that are scenario keys, and settings refused with a
message that names the key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.codes import CHURNED, EVENTS, STAGES
from sim.errors import InputError, OptionError, ScenarioError
from sim.live import (
    DEFAULT_SCENARIO,
    JOURNEY_FIELDS,
    LIVE_AGENTS,
    Lever,
    LiveComparison,
    Settings,
    base_scenario,
    levers,
    live_market,
    shipped_scenarios,
)
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = shipped_scenarios()


@pytest.fixture(scope="module")
def headline() -> Settings:
    return Settings.of(DEFAULT_SCENARIO)


def test_the_page_offers_every_shipped_scenario_and_the_practices():
    names = {str(p.relative_to(ROOT / "scenarios")) for p in SHIPPED}
    assert {"gsp_vs_segmented.yaml", "base.yaml", "practices/channel_migration.yaml",
            "practices/staffing_to_a_standard.yaml"} <= names
    assert not any(name.startswith("validation/") for name in names)


def test_settings_of_a_file_are_its_first_two_compared_strategies_and_its_seed(headline):
    assert headline.strategies == ("gsp", "segmented")
    assert headline.seed == "20261122"
    assert headline.changes == ()
    ladder = Settings.of(ROOT / "scenarios" / "practices" / "channel_migration.yaml")
    assert ladder.strategies == ("to_standard", "steered")


def test_side_by_side_models_share_seed_and_customers_at_month_0(headline):
    live = LiveComparison(headline)
    a, b = live.models
    assert live.month == 0 and a.month == b.month == 0
    assert a.seed == b.seed == 20261122
    assert (a.strategy, b.strategy) == ("gsp", "segmented")
    for name in ("segment", "theta", "stage", "tenure", "products", "satisfaction",
                 "cohort", "departed_month", "label_u"):
        np.testing.assert_array_equal(getattr(a.ctx.state, name),
                                      getattr(b.ctx.state, name), err_msg=name)


def test_the_strategies_differ_after_the_take_over(headline):
    """Not two copies of one model: their offers differ from month 1 on."""
    live = LiveComparison(headline)
    for _ in range(3):
        live.step()
    a, b = (rows.set_index("month")
            for _, rows in live.monthly().groupby("strategy", sort=False))
    assert list(a.index) == list(b.index) == [1, 2, 3]
    assert not np.array_equal(a["revenue"], b["revenue"])


def test_step_runs_both_strategies_a_month_and_stops_at_the_horizon(headline):
    live = LiveComparison(headline.change("simulation.horizon_months", 2))
    assert live.running
    live.step()
    assert live.running and [m.month for m in live.models] == [1, 1]
    live.step()
    assert not live.running
    live.step()   # past the horizon: nothing runs
    assert [m.month for m in live.models] == [2, 2]
    assert [j.months for j in live.journeys] == [[0, 1, 2], [0, 1, 2]]


def test_journey_table_matches_the_model_state_month_by_month(headline):
    live = LiveComparison(headline)
    rows = (0, 17, live.people - 1)
    states = [[_fields(m, row) for m in live.models] for row in rows]
    for _ in range(4):
        live.step()
    leaver = live.random_leaver()
    for row, at_zero in zip(rows, states, strict=True):
        for i, (model, table) in enumerate(zip(live.models, live.journey(row), strict=True)):
            assert list(table["month"]) == [0, 1, 2, 3, 4]
            assert _line(table, 0) == at_zero[i]
            assert _line(table, 4) == _fields(model, row)
    assert leaver is not None
    events = [table["event"].tolist() for table in live.journey(leaver)]
    assert any("churned" in e for e in events)


def _fields(model, row: int) -> dict:
    """The journey fields of ``row`` in ``model``'s state, as the table shows them."""
    st, tables = model.ctx.state, model.ctx.tables
    contact = int(st.contact[row])
    return {
        "stage": STAGES[st.stage[row]],
        "satisfaction": round(float(st.satisfaction[row]), 2),
        "proposition": (tables.proposition_names[st.proposition[row]]
                        if st.proposition[row] >= 0 else ""),
        "channel": tables.channel_names[st.channel[row]] if st.channel[row] >= 0 else "",
        "contact": ("" if contact == 0 else "answered in time" if contact % 2
                    else "kept waiting"),
        "products": int(st.products[row]),
        "event": EVENTS[st.event[row]] if st.event[row] else "",
    }


def _line(table, month: int) -> dict:
    line = table[table["month"] == month].iloc[0].to_dict()
    line.pop("month")
    line["satisfaction"] = round(line["satisfaction"], 2)
    return line


def test_journeys_record_every_field_of_every_row_each_month(headline):
    live = LiveComparison(headline)
    live.step()
    for journeys, model in zip(live.journeys, live.models, strict=True):
        assert set(journeys.fields) == set(JOURNEY_FIELDS)
        for name, months in journeys.fields.items():
            assert len(months) == 2
            np.testing.assert_array_equal(months[-1], getattr(model.ctx.state, name))
            # A copy: the next month does not rewrite what was recorded.
            assert months[-1] is not getattr(model.ctx.state, name)


def test_a_random_leaver_left_and_the_same_seed_picks_the_same(headline):
    picks = []
    for _ in range(2):
        live = LiveComparison(headline)
        assert live.random_leaver() is None   # nobody has left at month 0
        for _ in range(3):
            live.step()
        picks.append([live.random_leaver() for _ in range(5)])
        left = [row for row in picks[-1]
                if any((j.fields["event"][t][row] == CHURNED) for j in live.journeys
                       for t in range(1, 4))]
        assert left == picks[-1]
    assert picks[0] == picks[1]


def test_monthly_adds_customers_cumulative_cash_and_cost_to_serve(headline):
    live = LiveComparison(headline)
    for _ in range(3):
        live.step()
    monthly = live.monthly()
    assert len(monthly) == 6
    for name, model in zip(headline.strategies, live.models, strict=True):
        mine = monthly[monthly["strategy"] == name]
        records = model.records
        dcf = np.cumsum([r["net_cash_flow"] * r["discount_factor"] for r in records])
        np.testing.assert_allclose(mine["cumulative_dcf"], dcf)
        customers = [sum(r[s] for s in STAGES[1:5]) for r in records]
        assert list(mine["customers"]) == customers
        serve = [(r["service_costs"] + r["staffing_costs"]) / c
                 for r, c in zip(records, customers, strict=True)]
        np.testing.assert_allclose(mine["cost_to_serve"], serve)


# ------------------------------------------------------------------------------ market size
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_live_market_keeps_the_market_and_steps_few_enough_people(path):
    original = load_scenario(path)
    live = base_scenario(path)
    assert live.market.population == original.market.population
    assert live.market.initial_customers == original.market.initial_customers
    assert live.market.agents <= LIVE_AGENTS
    assert live.market.customers_per_agent >= original.market.customers_per_agent


def test_live_market_takes_the_fewest_people_per_agent_that_divide_the_market():
    headline = load_scenario(DEFAULT_SCENARIO)   # 30,000 people, 21,000 customers
    assert live_market(headline) == {"market.customers_per_agent": 6}
    small = headline.override({"market.population": 4000, "market.initial_customers": 2800})
    assert live_market(small) == {}


# ------------------------------------------------------------------------------ levers
@pytest.mark.parametrize(("path", "pair"), [
    pytest.param(path, Settings.of(path).strategies, id=path.name) for path in SHIPPED])
def test_levers_are_valid_scenario_keys_holding_the_scenarios_values(path, pair):
    scenario = base_scenario(path)
    page = levers(scenario, pair)
    keys = [lever.key for lever in page]
    assert len(keys) == len(set(keys))
    assert all(k.startswith((*(f"strategies.{s}." for s in pair), "market.")) for k in keys)
    same = scenario.model_dump()
    for lever in page:
        # The key exists, and its value on the page is the scenario's own.
        assert scenario.override({lever.key: lever.value}).model_dump() == same, lever.key
        if lever.kind == "slider":
            assert lever.low <= lever.value <= lever.high, lever.key
            for end in (lever.low, lever.high):
                scenario.override({lever.key: lever.snap(end)})
        elif lever.kind == "picker":
            assert lever.shown(lever.value) == lever.choices[0][0] or \
                lever.value in dict(lever.choices).values()
            for text, value in lever.choices:
                _valid_or_refused_for_its_meaning(scenario, lever.key, value, text)


def _valid_or_refused_for_its_meaning(scenario, key, value, text):
    """A choice either applies, or is refused for what it means (propositions 'one'
    without a proposition), never because the key does not exist."""
    try:
        scenario.override({key: value})
    except ScenarioError as err:
        assert "unknown key" not in err.message and "holds a value" not in err.message, \
            f"{key} = {text}: {err}"


def test_the_headline_levers_are_those_a_teacher_needs():
    scenario = base_scenario(DEFAULT_SCENARIO)
    keys = {lever.key for lever in levers(scenario, ("gsp", "segmented"))}
    assert {"strategies.segmented.data_quality", "strategies.gsp.staffing.call_centre",
            "strategies.segmented.staffing.branch", "strategies.gsp.budgets.retention",
            "strategies.segmented.budgets.development", "strategies.gsp.proposition",
            "strategies.segmented.propositions", "strategies.segmented.priority_share",
            "market.needs_contrast"} <= keys
    # gsp reads no labels: a data-quality lever would do nothing.
    assert "strategies.gsp.data_quality" not in keys


def test_steering_levers_appear_where_the_strategy_steers():
    path = ROOT / "scenarios" / "practices" / "channel_migration.yaml"
    keys = {lever.key for lever in levers(base_scenario(path), ("to_standard", "steered"))}
    assert {"strategies.steered.steering.share", "strategies.steered.steering.incentive"} \
        <= keys
    assert "strategies.to_standard.steering.share" not in keys


def test_staffing_choices_shift_every_hour_and_offer_the_standards():
    scenario = base_scenario(DEFAULT_SCENARIO)
    lever = next(lv for lv in levers(scenario, ("gsp", "segmented"))
                 if lv.key == "strategies.gsp.staffing.call_centre")
    values = [v for _, v in lever.choices]
    roster = scenario.strategies["gsp"].staffing["call_centre"]
    assert values[0] == roster
    assert tuple(max(0, n - 1) for n in roster) in values
    assert tuple(n + 2 for n in roster) in values
    assert {"sized_for": "peak_hour"} in values
    assert lever.choices[0][0].endswith("(the file's)")


def test_a_slider_position_snaps_to_its_steps():
    share = Lever("strategies.segmented.data_quality", 0.85, 0.0, 1.0, 0.05)
    assert share.snap(0.30000000000000004) == 0.3
    assert share.snap(0.849) == 0.85
    budget = Lever("strategies.gsp.budgets.retention", 6000.0, 0.0, 20000.0, 500.0)
    assert budget.snap(6240.0) == 6000 and isinstance(budget.snap(6240.0), int)


# ------------------------------------------------------------------------------ settings
def test_a_lever_change_reaches_both_models(headline):
    live = LiveComparison(headline.change("strategies.segmented.data_quality", 0.5)
                          .change("strategies.gsp.budgets.retention", 0))
    for model in live.models:
        assert model.ctx.scenario.strategies["segmented"].data_quality == 0.5
        assert model.ctx.scenario.strategies["gsp"].budgets.retention == 0
    # A second change of the same key replaces the first.
    assert dict(headline.change("market.needs_contrast", 2.0)
                .change("market.needs_contrast", 0.5).changes) == {"market.needs_contrast": 0.5}


def test_a_typed_seed_is_read_as_a_whole_number(headline):
    live = LiveComparison(replace(headline, seed=" 7 "))
    assert live.parameters.simulation.seed == 7
    assert [m.seed for m in live.models] == [7, 7]


@pytest.mark.parametrize(("change", "error", "says"), [
    ({"seed": "abc"}, ScenarioError, "simulation.seed: should be a whole number (got 'abc')"),
    ({"seed": ""}, ScenarioError, "simulation.seed: should be a whole number"),
    ({"seed": "-1"}, ScenarioError, "simulation.seed: "),
    ({"strategies": ("gsp", "gsp")}, OptionError, "shows 'gsp' twice"),
    ({"strategies": ("gsp", "segmentd")}, OptionError, "no strategy named 'segmentd'"),
    ({"changes": (("strategies.segmented.propositions", "one"),)}, ScenarioError,
     "propositions 'one' needs 'proposition'"),
    ({"changes": (("strategies.segmented.data_quality", 1.5),)}, ScenarioError,
     "strategies.segmented.data_quality: "),
    ({"file": "nowhere.yaml"}, ScenarioError, "nowhere.yaml: file not found"),
])
def test_settings_a_scenario_refuses_raise_input_errors_naming_the_key(headline, change,
                                                                        error, says):
    with pytest.raises(error) as raised:
        LiveComparison(replace(headline, **change))
    assert isinstance(raised.value, InputError)
    assert says in str(raised.value)
