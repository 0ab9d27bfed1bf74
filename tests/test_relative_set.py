"""Relative what-ifs on the command line: ``--set KEY*=X`` scales and ``--set KEY+=X``
shifts the scenario's value ("a third fewer agents" without retyping twelve hours)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import sim
from sim import OptionError, ScenarioError, cli

HEADLINE = Path(__file__).resolve().parents[1] / "scenarios" / "gsp_vs_segmented.yaml"


def _load(*sets: str):
    return cli._load(SimpleNamespace(scenario=str(HEADLINE), set=list(sets)))


def test_scaling_and_shifting_every_kind_of_number():
    base = sim.load_scenario(HEADLINE)
    s = _load("strategies.segmented.staffing.call_centre*=0.67", "market.population*=2",
              "strategies.segmented.data_quality+=-0.1", "economics.cost_per_reach*=1.5",
              "strategies.gsp.staffing*=2")
    hours = base.strategies["segmented"].staffing["call_centre"]
    assert s.strategies["segmented"].staffing["call_centre"] == tuple(round(h * 0.67)
                                                                      for h in hours)
    assert s.market.population == 2 * base.market.population
    assert s.strategies["segmented"].data_quality == pytest.approx(
        base.strategies["segmented"].data_quality - 0.1, abs=1e-12)
    assert s.economics.cost_per_reach == 1.5 * base.economics.cost_per_reach
    for channel, staff in base.strategies["gsp"].staffing.items():     # a whole mapping
        doubled = s.strategies["gsp"].staffing[channel]
        assert doubled == (tuple(2 * h for h in staff) if isinstance(staff, tuple)
                           else 2 * staff)


@pytest.mark.parametrize(("item", "error", "says"), [
    ("strategies.gsp.kind*=2", OptionError, "not a number"),
    ("market.population*=abc", OptionError, "needs a number"),
    ("market.population*=.nan", OptionError, "needs a number"),
    ("market.populaton*=2", ScenarioError, "did you mean"),
    ("strategies.segmented.data_quality*=3", ScenarioError, "at most 1"),
])
def test_bad_relative_changes_are_named(item, error, says):
    with pytest.raises(error) as err:
        _load(item)
    assert says in str(err.value) and "--set" in str(err.value), str(err.value)
