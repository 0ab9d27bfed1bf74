"""No dead rules: every public function of ``sim/rules`` is called by the engine (or by
another rule the engine calls, or by the docking checks), so the rule tests pin what runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "sim"


def test_every_rule_function_is_called_outside_its_definition():
    sources = {p: p.read_text(encoding="utf-8") for p in SIM.rglob("*.py")}
    unused = []
    for path in (SIM / "rules").glob("*.py"):
        for node in ast.parse(sources[path]).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                call = re.compile(rf"\b{node.name}\(")
                calls = sum(len(call.findall(text)) for text in sources.values())
                if calls <= 1:      # only its own `def name(`
                    unused.append(f"{path.stem}.{node.name}")
    assert not unused, f"rule functions the engine never calls: {unused}"
