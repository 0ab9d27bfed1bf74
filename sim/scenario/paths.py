"""Dotted key paths (``market.segments.young.share``) into scenario data: reading a value,
changing values, and which keys the schema allows where.

The schema is given as ``root``, the model class the path starts from (the scenario's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ScenarioError
from .messages import _did_you_mean, _model_at


def unshared(node: Any) -> Any:
    """A copy of scenario data in which no two places share a mapping or list.

    YAML aliases (``staffing: *staff``) and inherited strategies load as one object in two
    places; changing one place (``--set strategies.lean.staffing.call_centre=4``) must not
    change the other. ``copy.deepcopy`` keeps such sharing, so this copies every node
    afresh."""
    if isinstance(node, Mapping):
        return {key: unshared(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [unshared(item) for item in node]
    return node


def _value_at(node: Any, dotted: str) -> Any:
    """The value at a dotted key path in ``node`` (mappings, lists and tuples).

    Raises:
        ScenarioError: the path names no key (with a did-you-mean).
    """
    parts = dotted.split(".")
    for depth, key in enumerate(parts):
        if isinstance(node, list | tuple) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, Mapping):
            raise ScenarioError(f"unknown key '{key}'{_did_you_mean(key, node)}", dotted)
        else:
            raise ScenarioError(f"'{'.'.join(parts[:depth])}' holds a value, not keys",
                                dotted)
    return node


def _apply_changes(data: dict, lines: dict, changes: Mapping[str, Any], root) -> None:
    """Set each dotted key of ``changes`` in ``data``, and mark it in ``lines`` as set in code.

    ``lines`` maps a dotted path to the ``(file, line)`` where it stands; a changed key
    maps to ``None``.
    """
    for dotted, value in changes.items():
        dotted = str(dotted)
        _set_path(data, dotted, value, root)
        # The new value comes from the caller, not from the file: forget where the old
        # one stood, so that an error in it is not pinned on a line that no longer holds it.
        for key in [k for k in lines if k.startswith(dotted + ".")]:
            del lines[key]
        lines[dotted] = None


def _set_path(data: dict, dotted: str, value: Any, root) -> None:
    """Set ``data[a][b][c] = value`` for ``dotted == "a.b.c"``, rejecting unknown keys."""
    parts = dotted.split(".")
    node: Any = data
    for depth, key in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"no item {key} in this list", dotted)
            key = int(key)
        elif not isinstance(node, dict):
            raise ScenarioError(f"'{'.'.join(parts[:depth])}' holds a value, not keys", dotted)
        elif key not in node and not _may_add(root, parts[:depth + 1]):
            hint = _did_you_mean(key, _known_keys(root, parts[:depth], node))
            raise ScenarioError(f"unknown key '{key}'{hint}", dotted)
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]


def _known_keys(root, loc: list[str], node: dict):
    model = _model_at(root, loc) if loc else root
    return set(node) | set(model.model_fields if model is not None else ())


def _may_add(root, loc: list[str]) -> bool:
    """True where a key absent from the data is still a schema field (a default)."""
    model = _model_at(root, loc[:-1]) if len(loc) > 1 else root
    return model is not None and loc[-1] in model.model_fields
