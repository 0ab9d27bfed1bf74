"""Negative controls: a practice of value-based management that has nothing to work with
gains nothing.

Tailored propositions have nothing to fit where the segments are alike; labels read at
chance (data_quality 1/S with S segments: each label equally likely whatever the segment)
give the firm nothing to tailor or target by. Each control pairs strategies within a
replication: the same warm-up and the same draws (common random numbers), so that their
difference is the practice's doing and not luck. "Nothing" means that the mean paired
difference over n replications lies within the half-width of its 95 % interval,
t(0.975, n − 1) · sd / √n, plus float rounding (where two firms' runs are exactly alike,
sd is 0 and so is the half-width). Each control also runs the same practice where it has
something to work with and requires a clear gain (the interval above 0), so that the
control can fail: a practice that gained regardless would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim

# 5,000 agents stand for the base market's 30,000 people: as cheap to run as a market of
# 5,000, yet fixed costs, staff and budgets keep their weight against the base (in a market
# of 5,000 people the base's fixed costs would swamp every difference).
SMALL = {"market.customers_per_agent": 6, "simulation.horizon_months": 48,
         "simulation.warmup_months": 24}
REPLICATIONS = 10


@pytest.fixture(scope="module")
def headline() -> sim.Scenario:
    path = Path(__file__).resolve().parents[1] / "scenarios" / "gsp_vs_segmented.yaml"
    return sim.load_scenario(path).override(SMALL)


def with_strategies(scenario: sim.Scenario, **strategies: dict) -> sim.Scenario:
    """``scenario`` with each strategy named added: gsp's keys with the given ones replaced."""
    data = scenario.to_dict()
    for name, keys in strategies.items():
        data["strategies"][name] = {**data["strategies"]["gsp"], **keys}
    return sim.load_scenario(data)


def with_one_size_firms(scenario: sim.Scenario, **keys) -> sim.Scenario:
    """``scenario`` with a one-size firm ``one_P`` for every proposition P: gsp offering P
    to everyone, with ``keys``."""
    return with_strategies(scenario, **{f"one_{p}": {"proposition": p, **keys}
                                        for p in scenario.propositions})


def runs(scenario: sim.Scenario, strategy: str | list[str]) -> list:
    """Replications 0..n−1 of ``strategy``, or of one strategy per replication."""
    names = [strategy] * REPLICATIONS if isinstance(strategy, str) else strategy
    return [sim.run(scenario, strategy=name, replication=r) for r, name in enumerate(names)]


def one_size_twin(run) -> str:
    """The one-size firm offering what ``run``'s firm offers, which must be one proposition
    for every label."""
    offered = set(run.offers["proposition"])
    assert len(offered) == 1, f"replication {run.replication}: offers {sorted(offered)}"
    return f"one_{offered.pop()}"


def gains(first: list, second: list, metric: str = "customer_equity") -> np.ndarray:
    """``metric`` of each run of ``first`` less that of ``second``'s run in the same
    replication."""
    return np.array([a.summary[metric] - b.summary[metric]
                     for a, b in zip(first, second, strict=True)])


def interval(differences: np.ndarray) -> tuple[float, float]:
    """Mean of paired differences and the half-width of its 95 % Student-t interval."""
    n = len(differences)
    half = stats.t.ppf(0.975, n - 1) * differences.std(ddof=1) / np.sqrt(n)
    return float(differences.mean()), float(half)


def assert_no_gain(first: list, second: list, metric: str = "customer_equity") -> None:
    mean, half = interval(gains(first, second, metric))
    rounding = 1e-9 * max(abs(run.summary[metric]) for run in first)
    assert abs(mean) <= half + rounding, f"{metric}: {mean:.6g} ± {half:.6g}, not 0"


def assert_clear_gain(differences: np.ndarray) -> None:
    mean, half = interval(differences)
    assert mean - half > 0, f"gain {mean:.6g} ± {half:.6g} is not clearly positive"


def alike(scenario: sim.Scenario, like: str = "mainstream") -> sim.Scenario:
    """``scenario`` with every segment like ``like`` in all but its share: the same needs
    (needs_contrast 0 gives each the share-weighted mean), price sensitivity, churn,
    margin, contacts, channels and adoption, and the same competitor. Shares only size
    the segments; no offer can exploit them."""
    model = scenario.market.segments[like].model_dump(mode="json")
    changes = {"market.needs_contrast": 0.0}
    for name in scenario.market.segments:
        changes |= {f"market.segments.{name}.{key}": value for key, value in model.items()
                    if key not in ("share", "needs")}
        changes[f"market.competitor_utility.{name}"] = scenario.market.competitor_utility[like]
    return scenario.override(changes)


def test_tailored_propositions_gain_nothing_beyond_their_costs_where_segments_are_alike(
        headline):
    """Segments alike in everything an offer could exploit, and a tailored firm with every
    other chance (labels right, so its research is exact): every label fits best with the
    same proposition, and it offers that one to all. It pays segmented's analytics and
    switch; what it gains beyond them is its equity less that of a one-size firm offering
    the same proposition and paying the same costs. (The costs are paid by the twin rather
    than subtracted from cash flows because the residual value charges serving costs per
    customer-month.) A gain baked into tailoring whatever the needs (a bonus for tailored
    offers, offers from needs other than the market's, a cost left uncharged) would show
    as a gain or as several offers. With the same segments but their needs as written
    (needs_contrast 1), the same pair must show a clear gain: only needs make it pay."""
    segmented = headline.strategies["segmented"]
    costs = {"analytics_cost": segmented.analytics_cost,
             "transition": segmented.transition.model_dump()}
    same_needs = with_one_size_firms(
        with_strategies(alike(headline), tailored={"propositions": "best_fit",
                                                   "data_quality": 1.0, **costs}), **costs)
    tailored = runs(same_needs, "tailored")
    twins = [one_size_twin(run) for run in tailored]
    assert_no_gain(tailored, runs(same_needs, twins))

    own_needs = same_needs.override({"market.needs_contrast": 1.0})
    assert_clear_gain(gains(runs(own_needs, "tailored"), runs(own_needs, twins)))


def test_tailored_propositions_on_labels_at_chance_gain_nothing(headline):
    """A tailored firm offers each label the proposition that fits best on its posterior
    over segments given the label. At chance that posterior is the same for every label,
    so it offers every label the same proposition: it is a one-size firm, and its equity
    and churn equal those of the one-size firm offering that proposition. (Which
    proposition varies by replication: at chance the firm's estimate of the segments'
    shares inverts a singular confusion matrix and is noise, so each replication is paired
    with its own twin.) With labels right, the same firm offers each segment its best fit:
    fewer customers leave than under that one-size firm. The gain checked is churn, what
    fitting buys; equity is not, as tailoring by fit need not beat a one-size firm whose
    proposition earns more."""
    chance = 1.0 / len(headline.market.segments)
    scenario = with_one_size_firms(with_strategies(
        headline, informed={"propositions": "best_fit", "data_quality": 1.0},
        at_chance={"propositions": "best_fit", "data_quality": chance}))
    at_chance = runs(scenario, "at_chance")
    twins = runs(scenario, [one_size_twin(run) for run in at_chance])
    assert_no_gain(at_chance, twins)
    assert_no_gain(at_chance, twins, "churn_rate_annual")

    assert_clear_gain(-gains(runs(scenario, "informed"), twins, "churn_rate_annual"))


def test_allocating_budgets_by_value_on_labels_at_chance_gains_nothing(headline):
    """Allocation by value ranks the labels by the estimated worth of reaching a prospect
    (acquisition) or a departed customer (win-back) so labelled, and spends each budget on
    the best labels first; gsp spreads it evenly. At chance every label is a random third
    of everyone, the worths differ by noise alone, and any order reaches the same mix of
    people as spreading evenly: the gain over gsp vanishes. With labels right it is clearly
    positive, and the interval at chance must lie within a fifth of that gain around 0, so
    that a gain merely shrunk (labels still leaking part of the segment) would fail.

    Only label-driven targeting is tested. Without value codes every customer is tier C,
    so the development budget has one group either way. The retention budget is 0: under
    complaint targeting every complaint cell is worth the same, and by value would spend
    it in the cells' fixed order (fewest products, shortest tenure first), a difference
    that owes nothing to labels. Value codes and the churn score are left out: they also
    read products held, tenure and complaints, which stay informative when the labels are
    noise, so part of their gain rightly survives at chance."""
    chance = 1.0 / len(headline.market.segments)
    scenario = with_strategies(
        headline.override({"strategies.gsp.budgets.retention": 0}),
        informed={"allocation": "by_value", "data_quality": 1.0},
        at_chance={"allocation": "by_value", "data_quality": chance})
    gsp = runs(scenario, "gsp")
    informed = gains(runs(scenario, "informed"), gsp)
    at_chance = runs(scenario, "at_chance")
    assert_clear_gain(informed)
    assert_no_gain(at_chance, gsp)
    mean, half = interval(gains(at_chance, gsp))
    assert abs(mean) + half <= informed.mean() / 5, (mean, half, informed.mean())
