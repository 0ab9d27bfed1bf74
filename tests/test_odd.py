"""docs/ODD.md describes the model the code runs: every scenario key the schema defines
appears in it, and every key it names exists."""

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from sim.scenario import Scenario

ODD = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text(encoding="utf-8")


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def schema_keys(model: type[BaseModel] = Scenario, prefix: str = "") -> set[str]:
    """Dotted key paths of the scenario schema; user-named mapping keys are ``<name>``."""
    keys = set()
    for name, field in model.model_fields.items():
        path = prefix + name
        keys.add(path)
        annotation = field.annotation
        # A field holds a model, a mapping of names to models, or either within a union.
        options = typing.get_args(annotation) if typing.get_origin(annotation) in (
            typing.Union, types.UnionType) else (annotation,)
        for option in options:
            if typing.get_origin(option) is dict and _is_model(typing.get_args(option)[1]):
                keys |= schema_keys(typing.get_args(option)[1], f"{path}.<name>.")
            elif _is_model(option):
                keys |= schema_keys(option, f"{path}.")
    return keys


def odd_keys() -> set[str]:
    """Backquoted names in the ODD that start with a top-level scenario key."""
    top = set(Scenario.model_fields)
    tokens = re.findall(r"`([a-z_][a-z0-9_.<>]*)`", ODD)
    return {t for t in tokens if t.split(".")[0] in top}


def test_every_schema_key_is_described_in_the_odd():
    missing = sorted(schema_keys() - odd_keys())
    assert not missing, f"keys missing from docs/ODD.md: {missing}"


def test_every_key_the_odd_names_exists():
    unknown = sorted(odd_keys() - schema_keys())
    assert not unknown, f"docs/ODD.md names keys the schema does not have: {unknown}"


def test_the_odd_has_every_protocol_section():
    for section in ("Purpose and patterns", "Entities, state variables and scales",
                    "Process overview and scheduling", "Design concepts", "Initialisation",
                    "Input data", "Submodels"):
        assert re.search(rf"^## \d+\. {re.escape(section)}$", ODD, flags=re.M), section
    for concept in ("Emergence", "Adaptation", "Objectives", "Learning", "Sensing",
                    "Interaction", "Stochasticity", "Collectives", "Observation"):
        assert f"**{concept}.**" in ODD, concept
