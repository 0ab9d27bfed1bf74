"""Reading scenario files: YAML with ``extends``, the line of every key, then validation."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from .limits import MAX_EXTENDS, MAX_FILE_BYTES
from .schema import Scenario, _validate


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a YAML file or a mapping.

    ``extends: other.yaml`` (relative to the file) deep-merges this file over the other:
    mappings merge key by key, anything else is replaced. Inside a strategy,
    ``extends: NAME`` does the same over the scenario's strategy ``NAME``.

    Raises:
        ScenarioError: for anything wrong with the file or its content.
    """
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        if "extends" in data:
            raise ScenarioError("'extends' needs a scenario file, not a mapping", "extends")
        _inherit_strategies(data, {}, None)
        return _validate(data, None, {})
    data, lines = _read_with_extends(Path(source), ())
    _inherit_strategies(data, lines, str(source))
    return _validate(data, str(source), lines)


def _inherit_strategies(data: dict, lines: dict, file: str | None) -> None:
    """Resolve ``extends: NAME`` inside ``data``'s strategies, in place: the strategy gets
    NAME's keys (after NAME's own ``extends``), deep-merged under its own. An inherited key
    keeps the line of the key it came from."""
    strategies = data.get("strategies")
    if not isinstance(strategies, dict):
        return
    done: dict[str, object] = {}

    def resolve(name: str, chain: tuple[str, ...]):
        body = strategies[name]
        if name in done or not isinstance(body, dict) or "extends" not in body:
            return done.setdefault(name, body)
        path = f"strategies.{name}.extends"
        where = lines.pop(path, (file, None))
        parent = body["extends"]
        if not isinstance(parent, str) or parent not in strategies:
            known = ", ".join(n for n in strategies if n != name)
            raise ScenarioError(f"no strategy named {parent!r} to extend (known: {known})",
                                path, *where)
        if parent in (*chain, name):
            cycle = " -> ".join((*chain, name, parent))
            raise ScenarioError(f"strategies extend one another in a cycle: {cycle}", path,
                                *where)
        base = resolve(parent, (*chain, name))
        own = {key: value for key, value in body.items() if key != "extends"}
        prefix = f"strategies.{parent}."
        for key, where_from in list(lines.items()):
            if key.startswith(prefix):
                lines.setdefault(f"strategies.{name}.{key[len(prefix):]}", where_from)
        done[name] = _deep_merge(base, own) if isinstance(base, dict) else own
        return done[name]

    for name in list(strategies):
        strategies[name] = resolve(name, ())


def _read_with_extends(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict]:
    """The data of the file at ``path`` with its ``extends`` applied, and its key lines.

    ``chain`` holds the (resolved) files that extend this one, to detect cycles.
    """
    resolved = path.resolve()
    data, lines = _read_yaml(path)
    if "extends" not in data:
        return data, lines
    parent = data.pop("extends")
    where = lines.pop("extends")
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError("'extends' must be a file name", "extends", *where)
    parent_path = path.parent / parent
    # Detected here rather than on reading the file again, so that the error points at
    # the 'extends' that closes the cycle.
    if parent_path.resolve() in (*chain, resolved):
        cycle = " -> ".join(str(p) for p in (*chain, resolved, parent_path.resolve()))
        raise ScenarioError(f"'extends' makes a cycle: {cycle}", "extends", *where)
    if len(chain) + 1 >= MAX_EXTENDS:
        raise ScenarioError(f"more than {MAX_EXTENDS} files extend one another", "extends",
                            *where)
    if parent_path.is_dir():
        raise ScenarioError(f"extends a folder, not a file: {parent_path}", "extends", *where)
    if not parent_path.is_file():
        raise ScenarioError(f"extended file not found: {parent_path}", "extends", *where)
    base, base_lines = _read_with_extends(parent_path, (*chain, resolved))
    return _deep_merge(base, data), {**base_lines, **lines}


def _read_yaml(path: Path) -> tuple[dict, dict]:
    """The data of one YAML file and the ``(file, line)`` of every key path in it."""
    if path.is_dir():
        raise ScenarioError("is a folder, not a scenario file", "", str(path))
    try:
        # At most one byte past the limit, so a file that never ends cannot fill memory.
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB: not a scenario",
                                "", str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", "", str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read file: {err}", "", str(path)) from None
    try:
        node, data = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except RecursionError:
        raise _nesting_error(path) from None
    except yaml.YAMLError:
        try:
            # libyaml's messages are terser ("found character that cannot start any token"):
            # parse again with PyYAML, whose messages name what they found.
            node, data = _parse(text, yaml.SafeLoader)
        except RecursionError:
            raise _nesting_error(path) from None
        except yaml.YAMLError as err:
            raise _yaml_error(err, str(path)) from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a mapping of keys to values", "", str(path),
                            1)
    lines: dict[str, tuple[str, int]] = {}
    try:
        _collect_lines(node, "", lines, str(path), set())
    except RecursionError:
        raise _nesting_error(path) from None
    return data, lines


def _nesting_error(path: Path) -> ScenarioError:
    return ScenarioError("nested too deeply (a scenario needs a few levels, not hundreds)",
                         "", str(path))


def _parse(text: str, loader_class) -> tuple[Any, Any]:
    """The YAML node tree of ``text`` (it has the lines) and the data built from it."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _yaml_error(err: yaml.YAMLError, file: str) -> ScenarioError:
    mark = getattr(err, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(err, "problem", None) or str(err)
    context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
    if context and not context.startswith("while"):
        # PyYAML splits some sentences in two: "expected a single document in the stream",
        # "but found another document".
        problem = f"{context}, {problem}"
    elif context and start is not None and start.line + 1 != line:
        # PyYAML often notices a mistake lines after it was made (an unclosed bracket is
        # found at the next key): name the line where what it was reading began.
        problem += f" ({context} started on line {start.line + 1})"
    return ScenarioError(f"YAML syntax error: {problem}", "", file, line)


def _collect_lines(node, prefix: str, lines: dict, file: str, seen: set) -> None:
    """Record ``(file, line)`` of every key path; reject duplicate keys (YAML keeps the last)."""
    # An alias (*name) reuses its anchor's node: walking it again could loop forever
    # (`a: &x [*x]`) or take exponential time (nested aliases), and would only repeat lines.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            if key in keys:
                raise ScenarioError("duplicate key", path, file, key_node.start_mark.line + 1)
            keys.add(key)
            lines[path] = (file, key_node.start_mark.line + 1)
            _collect_lines(value_node, path, lines, file, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}.{i}"
            lines[path] = (file, item.start_mark.line + 1)
            _collect_lines(item, path, lines, file, seen)


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out

