"""The package's layers only look down: no module imports one of a higher layer, and the
imports (module-level or inside functions) form no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sim"

LAYERS: list[set[str]] = [
    {"codes", "errors", "outcomes", "formatting", "randomness", "rules"},  # foundations
    {"scenario"},                        # validated input
    {"tables", "scoring", "calibrate", "learning"},  # numeric views, the firm's analytics
    #                                      (churn score, test-and-learn), fitting
    {"population"},                      # customer state
    {"strategies"},                      # the firm's policies
    {"phases"},                          # a month's customer phases
    {"agents"},                          # mesa agents
    {"model"},                           # wiring and step order
    {"metrics"},                         # results of a run
    {"runner", "validation", "live"},    # one run; docking checks; two strategies live
    {"executors", "store", "statistics"},  # running jobs; the results folder; intervals
    {"experiment"},                      # many runs: Monte Carlo and its evaluator
    {"report", "sweeps", "exports", "compare"},  # pages; sweeps; spreadsheets; two files
    {"cli", "dashboard", "assets", "__init__"},  # entry points (the dashboard, its assets)
]
"""Lowest first. A module may import its own layer or lower ones."""


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"sim.{module} is in no layer: add it to LAYERS")


def imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports, anywhere in the file."""
    package = list(path.parent.relative_to(PACKAGE).parts)   # the file's own package
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
            if node.module is None:   # from . import a, b
                found |= {".".join([*base, a.name]) for a in node.names}
            else:
                found.add(target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim."):
            found.add(node.module.removeprefix("sim."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("sim.") for a in node.names if a.name.startswith("sim.")}
    return {f for f in found if f}


def graph() -> dict[str, set[str]]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
        out[name.removesuffix(".__init__") or "__init__"] = imports(path)
    return out


def test_no_module_imports_a_higher_layer():
    upward = [f"sim.{m} (layer {layer_of(m)}) imports sim.{t} (layer {layer_of(t)})"
              for m, targets in graph().items() for t in targets
              if layer_of(t) > layer_of(m)]
    assert not upward, "\n".join(upward)


def test_imports_form_no_cycle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges.get(node, ()):
            nxt = nxt if nxt in edges else nxt.split(".")[0]
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt in edges and not state.get(nxt):
                visit(nxt, [*path, node])
        state[node] = 2

    for module in edges:
        if not state.get(module):
            visit(module, [])


def test_the_layer_test_sees_imports_inside_functions():
    """Lazy imports count too: the runner imports the model at module level and the
    executors import the runner inside a function (in the worker)."""
    edges = graph()
    assert "model" in edges["runner"] and "runner" in edges["executors"]
    assert "codes" in edges["rules.lifecycle"]
