"""Command line: ``cvm run``, ``cvm schema`` (``python run_scenario.py`` is ``cvm run``).

Exit codes: 0 ok, 2 bad input (one clear message, no traceback), 1 internal error.
A bad-input message reads ``WHERE: key.path: what is wrong``, WHERE being ``FILE:LINE``
or the option that brought the bad value (``--set``, ``--seed``, ``--strategy``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import yaml

from .scenario import ScenarioError, json_schema, load_scenario

BAD_INPUT = 2


def _parse_set(items: Sequence[str]) -> dict:
    """``["a.b=3", "c=x"]`` → ``{"a.b": 3, "c": "x"}``; values are read as YAML scalars."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"expected KEY=VALUE, got {item!r}", "", "--set")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ScenarioError(f"cannot read the value {value!r}", key.strip(),
                                "--set") from None
    return out


def _load(args) -> object:
    scenario = load_scenario(args.scenario)
    changes = _parse_set(args.set)
    if not changes:
        return scenario
    try:
        return scenario.override(changes)
    except ScenarioError as err:
        if err.file is None:  # the bad value came from the command line, not from a file
            err.file = "--set"
        raise


def _format_table(rows: dict[str, dict[str, float]], columns: list[str]) -> str:
    width = max(len(k) for k in rows) + 2
    col_w = max(14, *(len(c) + 2 for c in columns))
    lines = [" " * width + "".join(c.rjust(col_w) for c in columns)]
    for metric, values in rows.items():
        cells = []
        for c in columns:
            v = values[c]
            cells.append((f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.4f}").rjust(col_w))
        lines.append(metric.ljust(width) + "".join(cells))
    return "\n".join(lines)


def cmd_run(args) -> int:
    from .runner import run  # imported here so `cvm schema` stays fast

    scenario = _load(args)
    strategies = args.strategy or list(scenario.compare)
    for name in strategies:
        if name not in scenario.strategies:
            known = ", ".join(scenario.strategies)
            raise ScenarioError(f"no strategy named '{name}' (known: {known})", "",
                                "--strategy")
    # The scenario's seed was checked when it was loaded; this one bypasses the scenario.
    if args.seed is not None and args.seed < 0:
        raise ScenarioError(f"the seed must be at least 0 (got {args.seed})", "", "--seed")
    seed = args.seed if args.seed is not None else scenario.simulation.seed
    results = {}
    for name in strategies:
        results[name] = run(scenario, strategy=name, seed=seed, engine=args.engine).summary
    metrics = ["customer_equity", "churn_rate_annual", "clv_mean", "acquisitions", "churned",
               "customers_end", "cost_to_serve", "mean_satisfaction_end"]
    rows = {m: {s: results[s][m] for s in strategies} for m in metrics}
    print(f"{scenario.name or args.scenario}: one run per strategy, seed {seed}, "
          f"{scenario.simulation.horizon_months} months, {scenario.market.population:,} "
          f"customers ({args.engine} engine)")
    print(_format_table(rows, strategies))
    base = strategies[0]
    for other in strategies[1:]:
        diff = results[other]["customer_equity"] - results[base]["customer_equity"]
        print(f"customer equity, {other} − {base}: {diff:+,.0f}")
    print("One replication is one draw of luck: compare strategies over many replications "
          "before drawing conclusions.")
    return 0


def cmd_schema(args) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvm", description="Simulate customer value management strategies.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a scenario's strategies and compare them")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--strategy", action="append",
                   help="strategy to run (repeatable; default: the scenario's compare list)")
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    p.add_argument("--engine", choices=("vectorized", "agents"), default="vectorized")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value by dotted path (repeatable)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cvm`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
