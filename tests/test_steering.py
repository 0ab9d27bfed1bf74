"""Channel migration: the firm steers contacts to another channel; customers go along as
far as their preferences and satisfaction allow; forced moves cost satisfaction; and the
results show contacts, cost to serve and service level by segment and tier."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.codes import FORCED, MOVED, TIER_A
from sim.errors import ScenarioError
from sim.model import CVMModel
from sim.rules import steering

SMALL = {"market.population": 6000, "market.initial_customers": 4200,
         "simulation.horizon_months": 36, "simulation.warmup_months": 12}
STEER = {"to": "online", "away_from": ["call_centre"], "share": 0.5, "incentive": 1.0}


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/gsp_vs_segmented.yaml").override(SMALL)


def _with(scenario, base, **strategies):
    """``scenario`` with each of ``strategies`` (name: steering block) added as ``base``
    plus that steering."""
    data = scenario.to_dict()
    for name, steer in strategies.items():
        data["strategies"][name] = {**data["strategies"][base], "steering": steer}
    return sim.load_scenario(data)


def test_customers_accept_as_far_as_preference_incentive_and_satisfaction_allow():
    preference = np.array([[0.5, 0.5, 0.0], [0.2, 0.8, 0.0]])   # online, phone, branch
    log_pref = steering.log_preference(preference, to=0)
    assert log_pref.shape == (2, 4)
    np.testing.assert_allclose(log_pref[:, 1], [0.0, math.log(0.25)])
    at = [0.0, 1.0, 2.0]
    willing = steering.acceptance(log_pref[1, 1], np.array(at), 0.5, 2.0)
    assert np.all(np.diff(willing) > 0)                      # more incentive, more accept
    assert willing[0] == pytest.approx(0.2)                  # 0.2 / (0.2 + 0.8)
    by_satisfaction = steering.acceptance(0.0, 0.0, np.array([0.2, 0.5, 0.9]), 2.0)
    assert np.all(np.diff(by_satisfaction) > 0)
    never = steering.log_preference(np.array([[0.0, 1.0]]), to=0)
    assert steering.acceptance(never[0, 1], 5.0, 1.0, 2.0) < 1e-15


def test_steering_lowers_cost_to_serve_at_a_small_satisfaction_loss(small):
    """Direction of effect, paired under common random numbers in each of four
    replications: fewer call-centre contacts, lower cost to serve, and mean satisfaction
    over the horizon at most 0.02 lower (online is worth less to a customer than a call
    answered, 0.2 against 0.6 in utility, and only steered contacts meet it)."""
    scenario = _with(small, "gsp", steered=STEER)
    for replication in range(4):
        gsp = sim.run(scenario, strategy="gsp", replication=replication)
        steered = sim.run(scenario, strategy="steered", replication=replication)
        assert (steered.monthly["contacts_call_centre"].sum()
                < gsp.monthly["contacts_call_centre"].sum())
        assert steered.summary["cost_to_serve"] < gsp.summary["cost_to_serve"]
        loss = (gsp.monthly["mean_satisfaction"].mean()
                - steered.monthly["mean_satisfaction"].mean())
        assert loss < 0.02
        moved = steered.monthly["steered_contacts"].sum()
        assert moved > 0
        assert steered.monthly["steering_costs"].sum() == pytest.approx(moved * 1.0)


def test_forcing_moves_more_and_costs_satisfaction(small):
    """Forced steering moves every suggested contact (more than invitation does); those
    who would have refused are marked and lose satisfaction, so mean satisfaction falls
    below invited steering's."""
    forced = {**STEER, "incentive": 0.0, "forced": True}
    scenario = _with(small, "gsp", invited=STEER, forced=forced)
    invited = sim.run(scenario, strategy="invited")
    run = sim.run(scenario, strategy="forced")
    assert (run.monthly["steered_contacts"].sum()
            > invited.monthly["steered_contacts"].sum())
    assert run.monthly["mean_satisfaction"].mean() < invited.monthly["mean_satisfaction"].mean()
    model = CVMModel(scenario, "forced")
    model.step()
    st = model.ctx.state
    assert (st.steered == FORCED).any() and (st.steered == MOVED).any()
    assert (st.channel[st.steered > 0] == 0).all()            # all online now


def test_steering_by_tier_moves_only_that_tiers_contacts(small):
    scenario = _with(small, "segmented", a_only={**STEER, "tiers": ["A"]})
    model = CVMModel(scenario, "a_only")
    for _ in range(3):
        model.step()
        st = model.ctx.state
        assert (st.steered > 0).any()
        assert (st.tier[st.steered > 0] == TIER_A).all()


def test_steering_by_label_moves_only_contacts_so_labelled(small):
    """The firm steers by its own labels, not by true segments: every steered contact
    carries the label, and with labels read imperfectly some come from other segments."""
    scenario = _with(small, "segmented", value_only={**STEER, "labels": ["value_seekers"]})
    code = list(scenario.market.segments).index("value_seekers")
    model = CVMModel(scenario, "value_only")
    other_segments = 0
    for _ in range(3):
        model.step()
        st = model.ctx.state
        steered = st.steered > 0
        assert steered.any()
        assert (st.label[steered] == code).all()
        other_segments += int((st.segment[steered] != code).sum())
    assert scenario.strategies["value_only"].data_quality < 1 and other_segments > 0


def test_a_share_of_zero_changes_nothing_month_by_month(small):
    """Negative control: steering that suggests the move to nobody runs identically, month
    by month and customer by customer, to no steering."""
    scenario = _with(small, "gsp", nobody={**STEER, "share": 0.0})
    for replication in (0, 1):
        a = sim.run(scenario, strategy="gsp", replication=replication)
        b = sim.run(scenario, strategy="nobody", replication=replication)
        pd.testing.assert_frame_equal(a.monthly, b.monthly, check_exact=True)
        pd.testing.assert_frame_equal(a.customers, b.customers, check_exact=True)


def test_results_by_segment_and_tier_carry_service_levels(small):
    """The segments table gives each human channel's contacts answered in time and service
    level by segment and tier; summed, they are the month's answered contacts."""
    run = sim.run(small, strategy="segmented")
    seg = run.segments
    for channel in ("call_centre", "branch"):
        assert (seg[f"answered_in_time_{channel}"] <= seg[f"contacts_{channel}"]).all()
        assert seg[f"service_level_{channel}"].between(0, 1).all()
        by_month = seg.groupby("month")[f"answered_in_time_{channel}"].sum()
        np.testing.assert_array_equal(by_month.to_numpy(),
                                      run.monthly[f"answered_in_time_{channel}"].to_numpy())


@pytest.mark.parametrize(("steer", "path", "fragment"), [
    ({"to": "onlin"}, "steering.to", "did you mean 'online'"),
    ({"to": "online", "away_from": ["online"]}, "steering.away_from.0", "to itself"),
    ({"to": "online", "tiers": ["A"]}, "steering", "needs value_codes true"),
    ({"to": "online", "labels": ["afluent"]}, "steering.labels.0", "did you mean 'affluent'"),
])
def test_bad_steering_is_refused_with_its_path(small, steer, path, fragment):
    with pytest.raises(ScenarioError) as err:
        small.override({"strategies.gsp.steering": steer})
    assert path in str(err.value) and fragment in str(err.value)
