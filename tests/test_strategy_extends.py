"""Strategies that inherit (``extends: NAME`` inside a strategy) and the warning for a
strategy written from scratch that leaves spending at its defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim import ScenarioError, cli
from sim.scenario import strategy_warnings

HEADLINE = Path(__file__).resolve().parents[1] / "scenarios" / "gsp_vs_segmented.yaml"


def _file(tmp_path: Path, strategies: str, compare: str) -> Path:
    path = tmp_path / "what_if.yaml"
    path.write_text(f"extends: {HEADLINE}\nstrategies:\n{strategies}compare: {compare}\n")
    return path


LEAN = """  segmented_lean:
    extends: segmented
    data_quality: 0.6
    staffing: {call_centre: 4}
"""


def test_a_strategy_inherits_every_key_it_does_not_set(tmp_path):
    """Deep merge: its own keys win (even one channel of staffing), every other key,
    nested ones included, is the extended strategy's."""
    s = sim.load_scenario(_file(tmp_path, LEAN, "[gsp, segmented, segmented_lean]"))
    parent, child = s.strategies["segmented"], s.strategies["segmented_lean"]
    assert child.data_quality == 0.6 and child.staffing["call_centre"] == 4
    assert child.staffing["branch"] == parent.staffing["branch"]
    for key in ("kind", "budgets", "analytics_cost", "priority_share", "sales_centre",
                "tier_shares", "research_error", "transition", "propositions"):
        assert getattr(child, key) == getattr(parent, key), key
    assert strategy_warnings(s) == []


def test_chains_resolve_and_errors_point_at_the_extends(tmp_path):
    chain = LEAN + "  leaner:\n    extends: segmented_lean\n    priority_share: 0.0\n"
    s = sim.load_scenario(_file(tmp_path, chain, "[gsp, leaner]"))
    assert s.strategies["leaner"].data_quality == 0.6
    assert s.strategies["leaner"].priority_share == 0.0
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(_file(tmp_path, "  x:\n    extends: nonesuch\n", "[gsp, x]"))
    assert err.value.path == "strategies.x.extends" and err.value.line == 4
    assert "no strategy named 'nonesuch'" in err.value.message
    cycle = "  a:\n    extends: b\n  b:\n    extends: a\n"
    with pytest.raises(ScenarioError, match="cycle: a -> b -> a"):
        sim.load_scenario(_file(tmp_path, cycle, "[gsp, a]"))


def test_an_inherited_bad_value_is_reported_at_the_child_key(tmp_path):
    """A value the child sets wrongly names the child's key and line."""
    bad = LEAN.replace("data_quality: 0.6", "data_quality: 1.6")
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(_file(tmp_path, bad, "[gsp, segmented_lean]"))
    assert err.value.path == "strategies.segmented_lean.data_quality" and err.value.line == 5


TRAP = """  segmented_lean:
    kind: segmented
    data_quality: 0.6
    staffing: {call_centre: 4, branch: 8}
"""


def test_a_strategy_written_from_scratch_warns_of_each_default_it_keeps(tmp_path, capsys):
    """The silent trap: budgets left at 0 while the baseline spends. Each such key gets one
    warning naming file, line, key, both values and the fix; the run still goes ahead."""
    path = _file(tmp_path, TRAP, "[gsp, segmented_lean]")
    warnings = strategy_warnings(sim.load_scenario(path))
    assert len(warnings) == 4, warnings             # the four budgets; gsp has no analytics
    assert warnings[0].startswith(f"{path}:3: strategies.segmented_lean.budgets.acquisition: "
                                  "left at its default 0.0 while the baseline 'gsp' has "
                                  "30000.0")
    assert all("`extends: segmented`" in w for w in warnings)
    code = cli.main(["schema"])                       # a command without a scenario: silent
    assert code == 0 and "warning" not in capsys.readouterr().err
    code = cli.main(["run", str(path), "--replications", "0"])   # warned before the checks
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("warning: ") == 4 and "--replications: must be at least 2" in err
