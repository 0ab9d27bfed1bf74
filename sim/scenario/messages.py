"""A failed validation in words: one ScenarioError with a plain sentence, the key path and
the file and line where that key stands."""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ScenarioError


def _locate(err: ScenarioError, file: str | None, lines: dict) -> ScenarioError:
    """Point ``err`` at the line of its key path, or of the nearest enclosing key.

    ``lines`` maps a dotted path to ``(file, line)``, or to ``None`` for a value set by
    :meth:`Scenario.override` (which stands in no file). The file is the one where the key
    stands, which for an inherited key is the extended file.
    """
    parts = err.path.split(".") if err.path else []
    while parts:
        key = ".".join(parts)
        if key in lines:
            err.file, err.line = lines[key] if lines[key] else (None, None)
            return err
        parts.pop()
    err.file, err.line = file, None
    return err


# Plain words for pydantic's error types; the ones not listed keep pydantic's own message.
_PHRASES = {
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "finite_number": "should be a finite number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "string_type": "should be text",
    "dict_type": "should be a mapping of keys to values",
    "model_type": "should be a mapping of keys to values",
    "model_attributes_type": "should be a mapping of keys to values",
    "tuple_type": "should be a list",
    "list_type": "should be a list",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be greater than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "literal_error": "should be {expected}",
}
# Error types whose message describes a whole mapping: showing the input would not help.
_NO_INPUT = {"missing", "extra_forbidden", "value_error", "too_short", "too_long"}


def _from_pydantic(err: ValidationError, data: dict, file, lines, root) -> ScenarioError:
    """One :class:`ScenarioError` for a failed validation of ``data`` against the model
    ``root``, located with ``lines`` (see :func:`_locate`)."""
    errors = [(*_data_path(e, data), e) for e in err.errors(include_url=False)]
    path, _, _ = errors[0]
    # A value that fits no form of a union gets one error per form. The form that went
    # deepest into the value is the one the author meant; if none did, list every form.
    related = [e for e in errors if e[0][:len(path)] == path]
    deepest = max(len(e[0]) for e in related)
    same = [e for e in related if len(e[0]) == deepest]
    path, key_error, _ = same[0]
    message = _explain([e for _, _, e in same], path, key_error, root)
    return _locate(ScenarioError(message, ".".join(path)), file, lines)


def _data_path(error: dict, data: dict) -> tuple[tuple[str, ...], bool]:
    """The key path of a pydantic error in ``data``, and whether the error is about the key.

    pydantic's ``loc`` also holds the names of union forms (``literal['best_fit']``) and
    ``[key]`` for a bad mapping key; those are not keys anyone wrote.
    """
    loc = error["loc"]
    node: Any = data
    path: list[str] = []
    key_error = False
    for i, part in enumerate(loc):
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_list or (isinstance(node, Mapping) and part in node):
            path.append(str(part))
            node = node[part]
        elif part == "[key]":
            key_error = True
        elif error["type"] == "missing" and i == len(loc) - 1:
            path.append(str(part))
    return tuple(path), key_error


def _explain(errors: list[dict], path: tuple[str, ...], key_error: bool, root) -> str:
    """One sentence for the pydantic ``errors`` found at ``path`` (from the model ``root``)."""
    first = errors[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = _model_at(root, list(path[:-1]))
        known = parent.model_fields if parent is not None else {}
        return f"unknown key '{path[-1]}'{_did_you_mean(path[-1], known)}"
    if kind == "missing":
        return "required key is missing"
    if key_error and kind == "literal_error":
        known = re.findall(r"'([^']*)'", str(first.get("ctx", {}).get("expected", "")))
        return f"unknown key '{path[-1]}'{_did_you_mean(path[-1], known)}"
    phrases = list(dict.fromkeys(_phrase(e) for e in errors))
    if all(p.startswith("should be ") for p in phrases):
        phrases = [phrases[0], *(p.removeprefix("should be ") for p in phrases[1:])]
    message = " or ".join(phrases)
    if key_error:
        return f"the key {message} (got {_show(path[-1])})"
    value = first.get("input")
    if kind not in _NO_INPUT and "input" in first and not isinstance(value, Mapping | list):
        message += f" (got {_show(value)})"
    return message


def _phrase(error: dict) -> str:
    kind = error["type"]
    ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in error.get("ctx", {}).items()}
    if kind in _PHRASES:
        return _PHRASES[kind].format(**ctx)
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    message = error["msg"].removeprefix("Value error, ")
    if message.startswith("Input should"):
        message = message.removeprefix("Input ")
    return message


def _show(value: Any) -> str:
    """``value`` as it would be written in YAML, shortened."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(root, loc: list[str]):
    """The pydantic model class found by following ``loc`` from the model class ``root``,
    through mappings and lists of models and optional models.

    ``None`` if ``loc`` leads to anything other than a model (a mapping, a number...).
    """
    model: Any = root
    i = 0
    while i < len(loc):
        field = model.model_fields.get(loc[i])
        if field is None:
            return None
        ann = _unless_none(field.annotation)
        i += 1
        origin = typing.get_origin(ann)
        if origin in (dict, tuple):
            if i == len(loc):
                return None  # ``loc`` names the mapping or list itself, not one of its items
            # A mapping's values, or a list's items (tuple[Item, ...]).
            ann = _unless_none(typing.get_args(ann)[1 if origin is dict else 0])
            i += 1
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


def _unless_none(annotation):
    """``X`` of an optional ``X | None``; any other annotation as it is."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return options[0]
    return annotation


def _did_you_mean(name: str, known) -> str:
    """A hint for a misspelt ``name``: the closest of ``known``, or all of them."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (known: {', '.join(sorted(map(str, known)))})" if known else ""
