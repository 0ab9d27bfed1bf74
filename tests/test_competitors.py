"""Competitor moves: scheduled shocks to the outside option, a competitor that answers the
firm's gains in market share, and market share per segment as an output."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim import phases
from sim.codes import CHURNED, is_active
from sim.errors import ScenarioError
from sim.model import CVMModel
from sim.rules import acquisition
from sim.tables import build_tables, with_competitor

SMALL = {"market.population": 6000, "market.initial_customers": 4200,
         "simulation.horizon_months": 36, "simulation.warmup_months": 12}
SEGMENTS = ("affluent", "mainstream", "value_seekers")
PRICE_CUT = {"from_month": 6, "utility_change": 0.5, "segments": ["affluent"]}


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/gsp_vs_segmented.yaml").override(SMALL)


def _churn_by_segment(scenario, strategy: str, replication: int):
    """(S,) churn per customer-month by true segment over the horizon, (S,) the
    customer-months at risk, and the model at the end."""
    model = CVMModel(scenario, strategy, replication=replication)
    left, at_risk = np.zeros(len(SEGMENTS)), np.zeros(len(SEGMENTS))
    for _ in range(scenario.simulation.horizon_months):
        model.step()
        st = model.ctx.state
        left += np.bincount(st.segment[st.event == CHURNED], minlength=len(SEGMENTS))
        at_risk += np.bincount(st.segment[model.ctx.month.active], minlength=len(SEGMENTS))
    return left / at_risk, at_risk, model


def test_a_new_competitor_utility_rebuilds_the_fit_as_the_scenario_would(small):
    """The tables against a changed competitor equal, bit for bit, those built from a
    scenario that had that competitor utility all along."""
    utility = np.array([2.9, 0.55, 0.1])
    rebuilt = with_competitor(build_tables(small), utility)
    written = build_tables(small.override({
        f"market.competitor_utility.{name}": u for name, u in zip(SEGMENTS, utility,
                                                                  strict=True)}))
    np.testing.assert_array_equal(rebuilt.fit, written.fit)
    np.testing.assert_array_equal(rebuilt.competitor_utility, written.competitor_utility)


def test_a_move_changes_what_customers_meet_but_not_what_the_firm_offers(small):
    """From the move's month on, the experience tables and the true pull of the firm's
    offers are those of a market whose competitor was that much better from the start;
    the offers stay as settled at the take-over."""
    scenario = small.override({"market.competitor_moves": [PRICE_CUT]})
    model = CVMModel(scenario, "segmented")
    offer, pull = model.ctx.plan.offer.copy(), model.ctx.plan.pull.copy()
    for _ in range(PRICE_CUT["from_month"]):
        model.step()
    better = build_tables(scenario.override({"market.competitor_utility.affluent": 2.9}))
    w = scenario.behaviour.satisfaction.proposition_weight
    np.testing.assert_array_equal(model.ctx.plan.offer, offer)
    np.testing.assert_array_equal(model.ctx.plan.pull,
                                  acquisition.conversion(better.fit[:, offer], w))
    assert (model.ctx.plan.pull[0] < pull[0]).all()            # affluent: less pull
    np.testing.assert_array_equal(model.ctx.plan.pull[1:], pull[1:])
    np.testing.assert_array_equal(model.ctx.experience,
                                  phases.experience_table(scenario, better))
    np.testing.assert_array_equal(model.ctx.forced_experience,
                                  phases.experience_table(scenario, better, forced=True))


def test_moves_of_nothing_and_a_competitor_never_provoked_change_nothing(small):
    """Negative control: moves of 0 (in one segment, then in all) and a reactive
    competitor whose threshold no share can exceed give, month by month and customer by
    customer, the run of the market without them, although the moves rebuild the fit."""
    quiet = small.override({
        "market.competitor_moves": [{"from_month": 3, "utility_change": 0.0,
                                     "segments": ["affluent"]},
                                    {"from_month": 10, "utility_change": 0.0}],
        "market.reactive_competitor": {"threshold": 1.0, "delay_months": 1,
                                       "utility_change": 0.5, "max_responses": 3}})
    for strategy in ("gsp", "segmented"):
        for replication in (0, 1):
            a = sim.run(small, strategy=strategy, replication=replication)
            b = sim.run(quiet, strategy=strategy, replication=replication)
            pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
            pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)
    model = CVMModel(quiet, "gsp")
    before = model.ctx.tables
    for _ in range(3):
        model.step()
    assert model.ctx.tables is not before                        # the fit was rebuilt


def test_a_price_cut_in_one_segment_costs_the_firm_that_segment(small):
    """Direction of effect, paired under common random numbers in each of four
    replications and both strategies: a competitor better by 0.5 utility units to the
    affluent from month 6 lowers the firm's market share of the affluent at the end and
    raises their churn. The other segments meet it only indirectly (word of mouth, shorter
    queues), so their churn changes by less than one binomial standard error of the
    rate, √(p(1 − p)/n) over their n customer-months: an independent rerun would differ
    by about √2 of them (measured here: at most 0.23 of one)."""
    cut = small.override({"market.competitor_moves": [PRICE_CUT]})
    for strategy in ("gsp", "segmented"):
        for replication in range(4):
            before, at_risk, plain = _churn_by_segment(small, strategy, replication)
            after, _, moved = _churn_by_segment(cut, strategy, replication)
            assert moved.records[-1]["market_share_affluent"] < \
                plain.records[-1]["market_share_affluent"]
            assert after[0] > before[0]
            error = np.sqrt(before * (1 - before) / at_risk)
            assert (np.abs(after[1:] - before[1:]) < error[1:]).all(), (after, before, error)
            utility = [row["competitor_utility_affluent"] for row in moved.records]
            assert utility[:5] == [2.4] * 5 and utility[5:] == [2.9] * 31


def _expected_answers(share: np.ndarray, share_0: np.ndarray, reaction: dict,
                      max_responses: int) -> np.ndarray:
    """(months, S) the reactive competitor's utility change in force each month, worked out
    from the recorded shares (``share``: (months, S), at each month's end; ``share_0`` at
    the take-over) by the rule as written: a gain of more than ``threshold`` over the
    reference is answered ``delay_months`` later, the share seen last before the answer
    becomes the reference, one answer pending at a time, at most ``max_responses``."""
    months, n = share.shape
    out = np.zeros((months, n))
    for s in range(n):
        reference, due, given, change = share_0[s], None, 0, 0.0
        for t in range(1, months + 1):
            if due == t:
                change += reaction["utility_change"]
                reference, due, given = share[t - 2, s], None, given + 1
            out[t - 1, s] = change
            if (due is None and given < max_responses
                    and share[t - 1, s] - reference > reaction["threshold"]):
                due = t + reaction["delay_months"]
    return out


def test_the_reactive_competitor_answers_gains_in_share_after_its_delay(small):
    """Against the recorded market shares, the competitor's utility rises by
    utility_change delay_months after the share first exceeds the reference by the
    threshold, the reference then being the share at the answer, and at most
    max_responses times per segment; the cap binds here (without it there would be more
    answers)."""
    reaction = {"threshold": 0.01, "delay_months": 3, "utility_change": 0.3,
                "max_responses": 2}
    scenario = small.override({"market.reactive_competitor": reaction})
    for replication in (0, 1):
        model = CVMModel(scenario, "segmented", replication=replication)
        st = model.ctx.state
        people = np.bincount(st.segment, minlength=len(SEGMENTS))
        share_0 = np.bincount(st.segment[is_active(st.stage)],
                              minlength=len(SEGMENTS)) / people
        for _ in range(scenario.simulation.horizon_months):
            model.step()
        monthly = pd.DataFrame(model.records)
        share = monthly[[f"market_share_{s}" for s in SEGMENTS]].to_numpy()
        utility = monthly[[f"competitor_utility_{s}" for s in SEGMENTS]].to_numpy()
        base = np.array([scenario.market.competitor_utility[s] for s in SEGMENTS])
        expected = _expected_answers(share, share_0, reaction, reaction["max_responses"])
        np.testing.assert_allclose(utility - base, expected, rtol=0, atol=1e-12)
        answers = np.round(expected[-1] / reaction["utility_change"])
        assert answers.max() == reaction["max_responses"]
        uncapped = _expected_answers(share, share_0, reaction, 100)
        assert (uncapped[-1] > expected[-1] + 1e-9).any(), "the cap never bound"


@pytest.mark.parametrize("per_agent", [1, 3])
def test_market_share_is_customers_over_people_of_the_segment(small, per_agent):
    """The last month's market_share_<segment> equals the segment's customers over its
    people counted from the final customers table; every month's equals the segments
    table's customers over the same people."""
    scenario = small.override({"market.customers_per_agent": per_agent})
    run = sim.run(scenario, strategy="segmented", seed=3)
    people = run.customers.groupby("segment", observed=False).size() * per_agent
    active = run.customers["stage"].isin(["acquisition", "growth", "maturity", "decline"])
    customers = run.customers[active].groupby("segment", observed=False).size() * per_agent
    by_month = run.segments.groupby(["month", "segment"], observed=False)["customers"].sum()
    for name in SEGMENTS:
        assert run.monthly[f"market_share_{name}"].iloc[-1] == pytest.approx(
            customers[name] / people[name], rel=1e-12)
        np.testing.assert_allclose(run.monthly[f"market_share_{name}"],
                                   by_month.xs(name, level="segment") / people[name],
                                   rtol=1e-12)
        assert run.monthly[f"market_share_{name}"].min() > 0


@pytest.mark.parametrize(("change", "path", "fragment"), [
    ({"market.competitor_moves": [{"from_month": 24, "utility_change": 0.4,
                                   "segments": ["afluent"]}]},
     "market.competitor_moves.0.segments.0", "did you mean 'affluent'"),
    ({"market.competitor_moves": [{"from_month": 48, "utility_change": 0.4}]},
     "market.competitor_moves.0.from_month", "after the horizon"),
    ({"market.competitor_moves": [{"from_month": 0, "utility_change": 0.4}]},
     "market.competitor_moves.0.from_month", "at least 1"),
    ({"market.competitor_moves": [{"from_month": 5, "utility_change": 0.4,
                                   "segmnts": ["affluent"]}]},
     "market.competitor_moves.0.segmnts", "did you mean 'segments'"),
    ({"market.reactive_competitor": {"threshold": 2, "delay_months": 3,
                                     "utility_change": 0.2}},
     "market.reactive_competitor.threshold", "at most 1"),
    ({"market.reactive_competitor": {"threshold": 0.02, "delay_months": 0,
                                     "utility_change": 0.2}},
     "market.reactive_competitor.delay_months", "at least 1"),
])
def test_bad_competitor_keys_are_refused_with_their_path(small, change, path, fragment):
    with pytest.raises(ScenarioError) as err:
        small.override(change)
    assert err.value.path == path and fragment in err.value.message, str(err.value)
