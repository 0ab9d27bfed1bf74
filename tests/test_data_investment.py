"""Information management: a firm investing in data sees its data quality rise along its
path, re-reads every label at it (labels only get better), moves customers to the offer of
their corrected label, and pays a cost line of its own; an investment that raises nothing
changes nothing but that line."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.codes import is_active
from sim.errors import ScenarioError
from sim.model import CVMModel
from sim.tables import build_tables

SMALL = {"market.population": 3000, "market.initial_customers": 2100,
         "simulation.horizon_months": 36, "simulation.warmup_months": 12}
DATA = {"spend_per_month": 2000.0, "quality_start": 0.5, "quality_max": 0.9,
        "months_to_half": 12.0}


@pytest.fixture(scope="module")
def small():
    return sim.load_scenario("scenarios/gsp_vs_segmented.yaml").override(SMALL)


def _with(scenario, **strategies):
    """``scenario`` with each of ``strategies`` (name: keys) added as segmented with those
    keys; a strategy given ``data`` has no fixed data quality."""
    data = scenario.to_dict()
    for name, keys in strategies.items():
        fixed = {"data_quality": None} if "data" in keys else {}
        data["strategies"][name] = {**data["strategies"]["segmented"], **fixed, **keys}
    return sim.load_scenario(data)


def _path(month: int, start: float, best: float, half: float) -> float:
    """The data quality of measured ``month`` by the documented formula."""
    return best - (best - start) * 2.0 ** (-month / half)


def test_data_quality_follows_its_path_and_labels_only_get_better(small):
    """The monthly ``data_quality`` is the formula's; each month every person's label is
    read at it from their own uniforms, so the share of labels right among all 3,000
    people stays within 4 binomial standard errors of it (about 0.036 at most), and no
    label of a person still in the market turns from right to wrong. Among customers the
    share right rises from month 1 (quality 0.52) to month 36 (0.85) by far more than its
    sampling error (about 0.011)."""
    scenario = _with(small, invest={"data": DATA})
    model = CVMModel(scenario, "invest", seed=3)
    st = model.ctx.state
    assert model.ctx.plan.data_quality == DATA["quality_start"]   # at the take-over
    accuracy_of_customers = []
    for month in range(1, 37):
        right_before, u_before = st.label == st.segment, st.label_u.copy()
        model.step()
        quality = _path(month, 0.5, 0.9, 12.0)
        assert model.records[-1]["data_quality"] == pytest.approx(quality, rel=1e-12)
        right = st.label == st.segment
        se = math.sqrt(quality * (1 - quality) / len(st))
        assert abs(right.mean() - quality) < 4 * se, month
        stayed = (st.label_u == u_before).all(axis=1)                # not replaced
        assert not (right_before & ~right & stayed).any(), month
        accuracy_of_customers.append(right[is_active(st.stage)].mean())
    assert accuracy_of_customers[-1] - accuracy_of_customers[0] > 0.2
    assert model.records[-1]["data_costs"] == DATA["spend_per_month"]


def test_a_customer_whose_label_is_corrected_moves_at_their_next_contact(small):
    """After the transition (all at once in month 1), labels only turn right, and every
    month each customer who contacts the firm holds the offer of their label by its end
    while the others keep their proposition: a customer whose label was corrected moves
    at their next contact."""
    scenario = _with(small, invest={"data": DATA, "transition": {"months": 0}})
    model = CVMModel(scenario, "invest", seed=2)
    model.step()
    st, offer = model.ctx.state, model.ctx.plan.offer
    moved = 0
    for _ in range(11):
        label, proposition = st.label.copy(), st.proposition.copy()
        model.step()
        kept = model.ctx.month.active & is_active(st.stage)     # customers all month
        corrected = kept & (st.label != label)
        assert corrected.any() and (st.label[corrected] == st.segment[corrected]).all()
        contacted = kept & (st.contact > 0)
        np.testing.assert_array_equal(st.proposition[contacted], offer[st.label[contacted]])
        np.testing.assert_array_equal(st.proposition[kept & ~contacted],
                                      proposition[kept & ~contacted])
        moved += np.count_nonzero(kept & (st.proposition != proposition))
    assert moved > 0


@pytest.mark.parametrize("spend", [0.0, 1000.0])
def test_an_investment_that_raises_nothing_changes_nothing_but_its_cost(small, spend):
    """Negative control: data quality 0.7 from the start to the end is the fixed data
    quality 0.7, month by month and customer by customer; only the data cost line (and
    with it costs, cash flow and the residual, charged its share) differs."""
    scenario = _with(small, fixed={"data_quality": 0.7},
                     flat={"data": {**DATA, "spend_per_month": spend, "quality_start": 0.7,
                                    "quality_max": 0.7}})
    money = ["data_costs", "costs", "net_cash_flow"]
    for replication in (0, 1):
        fixed = sim.run(scenario, strategy="fixed", replication=replication)
        flat = sim.run(scenario, strategy="flat", replication=replication)
        pd.testing.assert_frame_equal(fixed.monthly.drop(columns=money),
                                      flat.monthly.drop(columns=money), check_exact=True)
        assert (fixed.monthly["data_costs"] == 0).all()
        assert (flat.monthly["data_costs"] == spend).all()
        assert (flat.monthly["data_quality"] == 0.7).all()
        np.testing.assert_allclose(fixed.monthly["costs"] + spend, flat.monthly["costs"],
                                   rtol=1e-12)
        pd.testing.assert_frame_equal(fixed.customers.drop(columns="residual_value"),
                                      flat.customers.drop(columns="residual_value"),
                                      check_exact=True)
        if spend == 0:
            pd.testing.assert_frame_equal(fixed.monthly, flat.monthly, check_exact=True)
            assert fixed.summary == flat.summary
        else:
            assert flat.summary["residual_value"] < fixed.summary["residual_value"]


def test_investing_in_data_puts_more_customers_on_the_proposition_that_fits_them(small):
    """Direction of effect, paired under common random numbers in each of three
    replications: investing in data (quality 0.5 rising to 0.85 by month 36) ends with
    more customers whose label is right, and more customers holding the proposition that
    truly fits their segment best of those the firm offers, than the same strategy at
    data quality 0.5. The firm offers each label its own proposition here: its market
    research at data quality 0.5 often settles one offer for every label, and then no
    label, right or wrong, changes anyone's proposition. Its data cost is booked
    firm-wide: the equity split by segment still adds up to customer equity."""
    offers = {"affluent": "premium", "mainstream": "standard", "value_seekers": "basic"}
    scenario = _with(small, fixed={"data_quality": 0.5, "propositions": offers},
                     invest={"data": DATA, "propositions": offers})
    tables = build_tables(scenario)
    names = list(tables.proposition_names)
    for replication in range(3):
        counts = {}
        for name in ("fixed", "invest"):
            run = sim.run(scenario, strategy=name, replication=replication)
            offered = [names.index(p) for p in run.offers["proposition"].unique()]
            best = np.array(names)[np.array(offered)[
                tables.fit[:, offered].argmax(axis=1)]]
            c = run.customers[~run.customers["stage"].isin(["prospect", "departed"])]
            seg = c["segment"].cat.codes.to_numpy()
            counts[name] = ((c["label"] == c["segment"]).sum(),
                            (c["proposition"].to_numpy() == best[seg]).sum())
            by_segment = run.equity[run.equity["kind"] == "segment"]["value"].sum()
            assert by_segment == pytest.approx(run.summary["customer_equity"], rel=1e-9)
        assert counts["invest"][0] > counts["fixed"][0], counts
        assert counts["invest"][1] > counts["fixed"][1], counts


@pytest.mark.parametrize(("keys", "path", "words"), [
    ({"segmented.data": DATA}, "strategies.segmented",
     "data (an investment that raises data quality over time) and data_quality"),
    ({"gsp.data": DATA}, "strategies.gsp", "no practice of this strategy reads them"),
    ({"segmented.data_quality": None,
      "segmented.data": {**DATA, "quality_start": 0.95}},
     "strategies.segmented.data", "quality_start (0.95) must not exceed quality_max (0.9)"),
    ({"segmented.data_quality": None}, "strategies.segmented",
     "data_quality null leaves the firm without a data quality"),
])
def test_bad_data_investment_is_refused_with_its_path(small, keys, path, words):
    with pytest.raises(ScenarioError) as err:
        small.override({f"strategies.{k}": v for k, v in keys.items()})
    assert err.value.path == path and words in err.value.message


def test_a_strategy_investing_in_data_survives_a_schedule(small):
    """A scheduled change re-validates the strategy from its own dump: the investment (and
    its null data quality) come through it unchanged."""
    scenario = _with(small, invest={"data": DATA, "schedule": [
        {"from_month": 6, "set": {"analytics_cost": 0.0}}]})
    later = scenario.strategies["invest"].at(6)
    assert later.data == scenario.strategies["invest"].data and later.data_quality is None
    assert later.analytics_cost == 0.0
