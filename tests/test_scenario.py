"""Bad input to :func:`sim.load_scenario` and :meth:`sim.Scenario.override`."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import sim
from sim import Scenario, ScenarioError

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BASE = SCENARIOS / "base.yaml"


def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _line_of(path: Path, start: str) -> int:
    """The 1-based number of the only line of ``path`` that starts with ``start``."""
    found = [i for i, row in enumerate(path.read_text().splitlines(), 1) if row.startswith(start)]
    assert len(found) == 1, f"{start!r} starts {len(found)} lines of {path}"
    return found[0]


@pytest.fixture(scope="module")
def base() -> Scenario:
    return sim.load_scenario(BASE)


# ------------------------------------------------------------------------ bad files
def test_bad_file_error_names_file_line_and_key(bad_file):
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario(bad_file.path)
    err = caught.value
    assert (err.file, err.line, err.path) == (str(bad_file.file), bad_file.line, bad_file.key)
    text = str(err)
    assert text.startswith(bad_file.prefix)
    assert bad_file.says in text
    assert "\n" not in text


def test_error_in_base_names_the_base_file(tmp_path):
    # A what-if file is often run when the mistake is in the file it extends.
    (tmp_path / "base.yaml").write_text("name: broken\nname: twice\n")
    (tmp_path / "whatif.yaml").write_text("extends: base.yaml\n")
    with pytest.raises(ScenarioError, match="duplicate key") as caught:
        sim.load_scenario(tmp_path / "whatif.yaml")
    assert (caught.value.file, caught.value.line) == (str(tmp_path / "base.yaml"), 2)


def test_file_extending_itself_is_a_cycle(tmp_path):
    (tmp_path / "self.yaml").write_text("name: me\nextends: self.yaml\n")
    with pytest.raises(ScenarioError, match="cycle") as caught:
        sim.load_scenario(tmp_path / "self.yaml")
    assert caught.value.line == 2


def test_yaml_error_names_where_an_unclosed_bracket_opened(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("market:\n  attributes: [a, b\n  population: 5\n")
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario(path)
    # PyYAML only notices at line 3; the bracket to close is on line 2.
    assert "started on line 2" in str(caught.value)


def test_recursive_yaml_alias_is_an_error_not_a_crash(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("name: &x [*x]\n")
    with pytest.raises(ScenarioError):
        sim.load_scenario(path)


def test_mapping_with_extends_is_refused():
    with pytest.raises(ScenarioError) as caught:
        sim.load_scenario({"extends": str(BASE)})
    assert caught.value.path == "extends"


# ------------------------------------------------------------------------ extends
def test_extends_deep_merges_only_the_keys_named(tmp_path):
    whatif = tmp_path / "whatif.yaml"
    whatif.write_text(f"""\
extends: {BASE}
name: low data quality
market:
  population: 1000
  initial_customers: 300
strategies:
  segmented:
    data_quality: 0.5
""")
    expected = _read(BASE)
    expected["name"] = "low data quality"
    expected["market"]["population"] = 1000
    expected["market"]["initial_customers"] = 300
    expected["strategies"]["segmented"]["data_quality"] = 0.5
    scenario = sim.load_scenario(whatif)
    assert scenario.to_dict() == expected
    # Siblings of a changed key are kept, not replaced by defaults.
    assert scenario.strategies["segmented"].priority_share == 0.25
    assert scenario.market.segments["affluent"].share == 0.2


def test_shipped_what_if_is_base_plus_its_own_keys():
    own = _read(SCENARIOS / "gsp_vs_segmented.yaml")
    assert own.pop("extends") == "base.yaml"
    expected = {**_read(BASE), **own}  # its keys are all top-level: a shallow merge will do
    assert all(not isinstance(v, dict) for v in own.values())
    assert sim.load_scenario(SCENARIOS / "gsp_vs_segmented.yaml").to_dict() == expected


# ------------------------------------------------------------------------ override
def test_override_returns_a_new_scenario_and_keeps_the_original(base):
    before = base.to_dict()
    changed = base.override({"market.population": 50000})
    assert isinstance(changed, Scenario)
    assert changed.market.population == 50000
    assert base.market.population == _read(BASE)["market"]["population"] != 50000
    assert base.to_dict() == before
    expected = copy.deepcopy(before)
    expected["market"]["population"] = 50000
    assert changed.to_dict() == expected


@pytest.mark.parametrize("changes, key, says", [
    ({"market.population": 0}, "market.population", "at least 1 (got 0)"),
    ({"strategies.segmented.data_quality": 1.5}, "strategies.segmented.data_quality",
     "at most 1 (got 1.5)"),
    ({"propositions.basic.price": -1.0}, "propositions.basic.price", "at least 0"),
    ({"market.popultion": 5}, "market.popultion", "did you mean 'population'"),
    ({"market.population.size": 5}, "market.population.size", "holds a value"),
    ({"market.segments.afluent.share": 0.2}, "market.segments.afluent.share",
     "did you mean 'affluent'"),
])
def test_override_with_a_bad_value_names_the_key(base, changes, key, says):
    with pytest.raises(ScenarioError) as caught:
        base.override(changes)
    err = caught.value
    assert err.path == key
    assert says in err.message
    # The value was given by the caller: pointing at the file's line would mislead.
    assert (err.file, err.line) == (None, None)


def test_override_error_in_an_untouched_key_points_at_the_file(base):
    # Lowering the population makes the file's initial_customers too many.
    with pytest.raises(ScenarioError) as caught:
        base.override({"market.population": 100})
    err = caught.value
    assert err.path == "market.initial_customers"
    assert (err.file, err.line) == (str(BASE), _line_of(BASE, "  initial_customers:"))


def test_override_of_a_mapping_forgets_the_lines_under_it(base):
    with pytest.raises(ScenarioError) as caught:
        base.override({"propositions.basic": {"price": -1.0, "unit_cost": 1.0,
                                              "benefits": {"features": 0.5}}})
    assert caught.value.path == "propositions.basic.price"
    assert caught.value.line is None


def test_scenario_is_immutable(base):
    with pytest.raises(ValidationError):
        base.name = "changed"
    with pytest.raises(ValidationError):
        base.market.population = 1
    assert base.name == "base"
    assert base.market.population == _read(BASE)["market"]["population"]


# ------------------------------------------------------------------------ mutations
def _shipped() -> list[dict]:
    base = _read(BASE)
    whatif = _read(SCENARIOS / "gsp_vs_segmented.yaml")
    del whatif["extends"]
    return [base, _merge(base, whatif)]


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merge(out[key], value) if both else copy.deepcopy(value)
    return out


SHIPPED = _shipped()

# No control characters (a key with a line break prints as two lines, an accepted quirk)
# nor surrogates (they cannot be written to a UTF-8 file).
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    TEXT,
    st.integers(max_value=-1),
    st.floats(max_value=-1e-9, allow_nan=False),
    st.sampled_from([10**30, 1e300, math.inf, -math.inf, math.nan, 0, 0.5, 1, 2]),
    st.floats(min_value=0.0, max_value=2.0),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(TEXT, st.floats(allow_nan=True), max_size=3),
)


def _key_paths(node, prefix=()):
    """Every path to a key of a mapping or an item of a list, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        yield (*prefix, key)
        if isinstance(value, dict | list):
            yield from _key_paths(value, (*prefix, key))


@st.composite
def _edited(draw, word: str) -> str:
    """``word`` with one character deleted, inserted, replaced, or two swapped."""
    i = draw(st.integers(0, len(word)))
    char = draw(st.sampled_from("abcehinorstu_"))
    edit = draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
    if edit == "delete":
        return word[:i] + word[i + 1:]
    if edit == "insert":
        return word[:i] + char + word[i:]
    if edit == "replace":
        return word[:i] + char + word[i + 1:]
    return word[:i] + word[i + 1:i + 2] + word[i:i + 1] + word[i + 2:]


@st.composite
def mutated_scenarios(draw) -> dict:
    """A shipped scenario with one to three keys deleted, given odd values, or misspelt."""
    data = copy.deepcopy(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_key_paths(data))
        if not paths:
            break
        *parents, key = draw(st.sampled_from(paths))
        node = data
        for part in parents:
            node = node[part]
        edit = draw(st.sampled_from(["delete", "replace", "rename"]))
        if edit == "delete":
            del node[key]
        elif edit == "replace":
            node[key] = draw(ODD_VALUES)
        elif isinstance(node, dict):
            new = draw(_edited(str(key)))
            node[new] = node.pop(key)
    return data


def _numbers(node):
    """Every float anywhere in ``node``."""
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list | tuple):
        for item in node:
            yield from _numbers(item)
    elif isinstance(node, float):
        yield node


def _names_keys_of(data, dotted: str) -> bool:
    """Whether every key of ``dotted`` is in ``data``, but the last, which may be absent
    if it is a plain name (a required key missing, or a key left to its default)."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    if isinstance(node, list):
        return last.isdigit() and int(last) < len(node)
    return isinstance(node, dict) and (last in node or last.isidentifier())


def _check_outcome(data: dict, path: Path | None = None) -> None:
    """Load ``data`` (from ``path`` if given): a Scenario or a ScenarioError, nothing else."""
    try:
        scenario = sim.load_scenario(path or data)
    except ScenarioError as err:
        text = str(err)
        assert "\n" not in text
        assert "Input should" not in text, "pydantic's message passed through untranslated"
        # pydantic's locations also hold names of union forms, "[key]" and the like.
        assert err.path and _names_keys_of(data, err.path), f"{err.path!r} not in the data"
        if path is not None:
            assert err.file == str(path)
            rows = path.read_text(encoding="utf-8").splitlines()
            assert err.line is None or 1 <= err.line <= len(rows)
    else:
        assert isinstance(scenario, Scenario)
        # Past loading, the simulation trusts its inputs: NaN or infinity would poison it.
        assert all(math.isfinite(x) for x in _numbers(scenario.model_dump()))


SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated_scenarios())
def test_mutated_scenario_loads_or_raises_scenario_error(data):
    _check_outcome(data)


@SETTINGS
@given(data=mutated_scenarios())
def test_mutated_scenario_file_loads_or_raises_located_error(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "mutated.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _check_outcome(data, path)


def test_mappings_inside_a_scenario_are_immutable_and_picklable(base):
    import pickle

    with pytest.raises(TypeError, match="immutable"):
        base.propositions["basic"] = base.propositions["premium"]
    with pytest.raises(TypeError):
        base.market.segments["affluent"].needs["advice"] = 0.0
    with pytest.raises(TypeError):
        base.strategies["gsp"].staffing.update({"branch": 99})
    clone = pickle.loads(pickle.dumps(base))
    assert clone == base
    assert clone.override({"market.population": 50000}).market.population == 50000


def test_strategy_names_must_be_file_safe_and_compared_once(base):
    data = base.to_dict()
    data["strategies"]["a.b"] = data["strategies"]["gsp"]
    with pytest.raises(ScenarioError, match="letters, digits") as err:
        sim.load_scenario(data)
    assert err.value.path == "strategies.a.b"
    with pytest.raises(ScenarioError, match="compared twice") as err:
        base.override({"compare": ["gsp", "segmented", "gsp"]})
    assert err.value.path == "compare.2"
