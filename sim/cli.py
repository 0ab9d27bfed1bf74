"""Command line: ``cvm run``, ``compare``, ``sweep``, ``validate``, ``calibrate``, ``schema``,
``dashboard`` (``python run_scenario.py`` is ``cvm run``).

Exit codes: 0 ok, 2 bad input (one clear message, no traceback), 1 internal error (one
line; ``--debug`` shows the traceback), 130 interrupted.
A bad-input message reads ``WHERE: key.path: what is wrong``, WHERE being ``FILE:LINE``
or the option that brought the bad value (``--set``, ``--seed``, ``--strategy``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import socket
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from .errors import DataError, InputError, OptionError, ScenarioError
from .scenario import json_schema, load_scenario, strategy_warnings
from .scenario.limits import MAX_REPLICATIONS, MAX_SEED
from .store import default_folder

BAD_INPUT = 2
MAX_WORKERS = 1024
MAX_PERIODS = 10_000
"""Longest projection of ``cvm calibrate`` (periods; a century of months is 1,200)."""


def _check_range(args, bounds: dict[str, tuple[int, int]]) -> None:
    """Each whole-number option given in ``args`` must lie within its (least, most)."""
    for option, (least, most) in bounds.items():
        value = getattr(args, option)
        flag = f"--{option.replace('_', '-')}"
        if value is not None and not least <= value <= most:
            side = f"at least {least:,}" if value < least else f"at most {most:,}"
            raise OptionError(f"must be {side} (got {value:,})", "", flag)


EXPERIMENT_BOUNDS = {"replications": (2, MAX_REPLICATIONS), "workers": (1, MAX_WORKERS)}
"""Bounds of the options shared by cvm run and cvm sweep (the local pool also never starts
more workers than the machine has cores or the experiment has runs)."""


def _parse_set(items: Sequence[str], scenario) -> dict:
    """``["a.b=3", "c=x", "d*=0.67", "e+=2"]`` → ``{"a.b": 3, "c": "x", "d": ..., "e": ...}``:
    values are read as YAML scalars; ``KEY*=X`` and ``KEY+=X`` scale or shift the
    scenario's value (see :func:`_relative`)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        op = key[-1:] if key[-1:] in ("*", "+") else ""
        key = key[:len(key) - len(op)].strip()
        if not sep or not key:
            raise OptionError(f"expected KEY=VALUE, KEY*=X or KEY+=X, got {item!r}", "",
                              "--set")
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise OptionError(f"cannot read the value {value!r}", key, "--set") from None
        if op:
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise OptionError(f"{key}{op}= needs a number, got {value!r}", key, "--set")
            try:
                current = scenario.value(key)
            except ScenarioError as err:
                err.file = "--set"
                raise
            value = _relative(current, op, value, key)
        out[key] = value
    return out


def _relative(current, op: str, x: float, key: str):
    """``current`` × x (op ``*``) or + x (op ``+``): numbers, and every number of a list or
    mapping (e.g. each hour's staffing); whole numbers are rounded to the nearest."""
    if isinstance(current, dict):
        return {k: _relative(v, op, x, f"{key}.{k}") for k, v in current.items()}
    if isinstance(current, list | tuple):
        return [_relative(v, op, x, f"{key}.{i}") for i, v in enumerate(current)]
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise OptionError(f"{key} holds {current!r}, not a number to change by {op}", key,
                          "--set")
    changed = current * x if op == "*" else current + x
    return round(changed) if isinstance(current, int) else changed


def _load(args, file: str | None = None) -> object:
    """The scenario of ``args`` (or ``file``) with the --set changes; prints its warnings."""
    scenario = load_scenario(file or args.scenario)
    changes = _parse_set(args.set, scenario)
    if changes:
        try:
            scenario = scenario.override(changes)
        except ScenarioError as err:
            if err.file is None:  # the bad value came from the command line, not a file
                err.file = "--set"
            raise
    for warning in strategy_warnings(scenario):
        print(f"warning: {warning}", file=sys.stderr)
    return scenario


def market_size(scenario) -> str:
    """The scenario's market in words (see :func:`sim.formatting.format_market`)."""
    from .formatting import format_market

    return format_market(scenario.market)


BRIDGE_TOP = 5
"""Components of the equity bridge printed per strategy; the rest are lumped as "other"."""


def format_comparison(table, strategies: list[str], bridge=None, payback=None) -> str:
    """The comparison as text: mean [95 % CI] per strategy, then, for each strategy against
    the baseline, the paired differences, the equity bridge by line and the payback month.

    Args:
        table: :func:`sim.experiment.comparison`.
        strategies: Strategies in ``compare`` order; the first is the baseline.
        bridge: :func:`sim.experiment.bridge` (with ``top``, to keep it short); its rows of
            kind "line" other than the total are printed (currency).
        payback: The summary of :func:`sim.experiment.payback` (months).
    """
    from .formatting import format_interval, format_number, format_payback

    levels = table[table["kind"] == "level"]
    cells = {(r.metric, r.strategy): f"{format_number(r.mean)} "
             f"{format_interval(r.ci_low, r.ci_high)}" for r in levels.itertuples()}
    metrics = list(dict.fromkeys(levels["metric"]))
    width = max(len(m) for m in metrics) + 2
    col = max(len(c) for c in cells.values()) + 2
    lines = ["mean [95 % confidence interval] over replications",
             " " * width + "".join(s.rjust(col) for s in strategies)]
    lines += [m.ljust(width) + "".join(cells[m, s].rjust(col) for s in strategies)
              for m in metrics]
    diffs = table[table["kind"] == "paired_difference"]
    for s in strategies[1:]:
        lines.append(f"\n{s} − {strategies[0]}, paired by replication "
                     f"(share of replications {s} does better):")
        lines += [f"{_difference(r.metric, width, r)}  wins {r.share_won:.0%}"
                  for r in diffs[diffs["strategy"] == s].itertuples()]
        if bridge is not None:
            lines += _bridge_lines(bridge[bridge["strategy"] == s])
        if payback is not None:
            lines += [f"  {format_payback(row)}"
                      for row in payback[payback["strategy"] == s].to_dict("records")]
    return "\n".join(lines)


def format_gain_changes(gains, labels: tuple[str, str]) -> str:
    """:func:`sim.compare.gain_changes` as text: per strategy, its gain over the baseline
    in each file and the paired change from the first file to the second (95 % CI)."""
    from .formatting import format_interval, format_number

    width = max(len(m) for m in gains["metric"]) + 2
    lines = []
    for s, rows in gains.groupby("strategy", sort=False):
        lines.append(f"\n{s} − {rows['baseline'].iloc[0]} in {labels[0]} → in {labels[1]}, "
                     f"and the change, paired by replication (share of the difference kept):")
        lines += [f"  {r.metric.ljust(width)}{format_number(r.gain_a, signed=True):>14} → "
                  f"{format_number(r.gain_b, signed=True)}  change "
                  f"{format_number(r.mean, signed=True)} "
                  f"{format_interval(r.ci_low, r.ci_high, signed=True)}"
                  + ("" if np.isnan(r.kept) else f"  ({r.kept:.0%} kept)")
                  for r in rows.itertuples()]
    return "\n".join(lines)


def format_ladder(steps) -> str:
    """An attribution ladder as text: per metric, what each step adds over the step before
    (paired by replication, 95 % CI) and its share of the whole gap.

    Args:
        steps: :func:`sim.statistics.ladder`.
    """
    from .formatting import format_share

    width = max(len(s) for s in steps["strategy"]) + len(" (over )") + max(
        len(s) for s in steps["previous"])
    lines = ["attribution ladder: what each step adds to the step before it, paired by "
             "replication (another order of steps can attribute the gap differently):"]
    for metric, rows in steps.groupby("metric", sort=False):
        lines.append(f"  {metric}:")
        lines += [f"{_difference(f'{r.strategy} (over {r.previous})', width, r, '    ')}"
                  + ("" if math.isnan(r.share_of_gap)
                     else f"  {format_share(r.share_of_gap)} of the gap")
                  for r in rows.itertuples()]
    return "\n".join(lines)


def format_statement(statement, offers, strategies: list[str],
                     targets: dict[str, tuple[float, float]]) -> str:
    """What each strategy did, as text (see :func:`sim.formatting.statement_rows`)."""
    from .formatting import statement_rows

    rows = statement_rows(statement, offers, strategies, targets)
    width = max(len(name) for name, _ in rows) + 2
    col = max(max(len(v) for _, values in rows for v in values), *map(len, strategies)) + 2
    lines = ["what each strategy did (mean over replications; money discounted to month 0):",
             " " * width + "".join(s.rjust(col) for s in strategies)]
    lines += [name.ljust(width) + "".join(v.rjust(col) for v in values)
              for name, values in rows]
    return "\n".join(lines)


def _difference(name: str, width: int, row, indent: str = "  ") -> str:
    """One signed difference with its 95 % interval, ``name`` padded to ``width``."""
    from .formatting import format_interval, format_number

    return (f"{indent}{name.ljust(width)}{format_number(row.mean, signed=True):>14} "
            f"{format_interval(row.ci_low, row.ci_high, signed=True)}")


def _bridge_lines(bridge) -> list[str]:
    """The equity bridge of one strategy by line, largest components first (currency)."""
    from .experiment import BRIDGE_OTHER, BRIDGE_TOTAL

    rows = bridge[(bridge["kind"] == "line") & (bridge["component"] != BRIDGE_TOTAL)]
    if rows.empty:
        return []
    # Largest absolute difference first, "other" last.
    size = rows["mean"].abs().where(rows["component"] != BRIDGE_OTHER, -1.0).to_numpy()
    rows = rows.iloc[np.argsort(-size, kind="stable")]
    width = max(len(str(c)) for c in rows["component"]) + 2
    return ["  customer_equity difference by line:"] + [
        _difference(str(r.component), width, r, indent="    ") for r in rows.itertuples()]


def _experiment(out: str, start):
    """Run ``start()`` (an experiment writing to ``out``); on an interrupt or failed runs,
    say what was saved and how to finish, and return the exit code instead of a result."""
    from .executors import WorkerDied
    from .experiment import ResultStore

    try:
        result = start()
    except WorkerDied as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        saved = len(ResultStore(out).done())
        print(f"interrupted: {saved} finished runs are saved in {out}; rerun the same "
              "command with --resume to run only what is missing", file=sys.stderr)
        return 130
    if result.failures:
        print(f"error: {len(result.failures)} run(s) failed: "
              f"{', '.join(result.failures)}. Their errors are in {result.path}/runs/"
              f"*.error.txt; fix the cause and rerun the same command with --resume to "
              f"run only what is missing.", file=sys.stderr)
        return 1
    return result


def cmd_run(args) -> int:
    # Imported here so that `cvm schema` and bad-input errors stay fast.
    import pandas as pd

    from .experiment import TABLES, bridge, monte_carlo
    from .statistics import offer_summary, service_warnings, statement

    scenario = _load(args)
    if args.strategy:
        for name in args.strategy:
            if name not in scenario.strategies:
                known = ", ".join(scenario.strategies)
                raise OptionError(f"no strategy named '{name}' (known: {known})", "",
                                    "--strategy")
        scenario = scenario.override({"compare": list(args.strategy)})
    # The scenario's seed was checked when it was loaded; this one bypasses the scenario.
    _check_range(args, {**EXPERIMENT_BOUNDS, "seed": (0, MAX_SEED),
                        "max_replications": (2, MAX_REPLICATIONS)})
    if args.target_ci is not None:
        if not (math.isfinite(args.target_ci) and args.target_ci > 0):
            raise OptionError(f"must be a positive number (got {args.target_ci})", "",
                              "--target-ci")
        if len(scenario.compare) < 2:
            raise OptionError("needs two strategies to compare (the target is the width of "
                              "their paired difference)", "", "--target-ci")
    if args.max_replications is not None:
        if args.target_ci is None:
            raise OptionError("caps --target-ci: give it with --target-ci", "",
                              "--max-replications")
        least = args.replications or scenario.simulation.replications
        if args.max_replications < least:
            raise OptionError(f"must be at least the replications ({least})", "",
                              "--max-replications")
    out = args.out or str(default_folder(scenario.name))
    result = _experiment(out, lambda: monte_carlo(
        scenario, replications=args.replications, seed=args.seed, out=out,
        workers=args.workers, executor=args.executor, scheduler=args.scheduler,
        engine=args.engine, resume=args.resume, target_ci=args.target_ci,
        max_replications=args.max_replications, progress=not args.quiet,
        command=args.command_line))
    if isinstance(result, int):
        return result
    from .report import write_report

    write_report(result.path)
    extra = _spreadsheets(result.path, args.xlsx, args.csv)
    strategies = list(scenario.compare)
    print(f"{scenario.name or args.scenario}: {result.replications} replications × "
          f"{len(strategies)} strategies, seed {result.summaries['seed'].iloc[0]}, "
          f"{scenario.simulation.horizon_months} months after a "
          f"{scenario.simulation.warmup_months}-month warm-up, {market_size(scenario)}")
    equity = pd.read_parquet(result.path / TABLES["equity"])
    print(format_comparison(result.comparison, strategies,
                            bridge(equity, strategies, top=BRIDGE_TOP), result.payback))
    if not result.ladder.empty:
        print()
        print(format_ladder(result.ladder))
    targets = scenario.service_targets
    monthly = pd.read_parquet(result.path / TABLES["monthly"])
    print()
    print(format_statement(
        statement(equity, result.summaries, strategies, monthly),
        offer_summary(pd.read_parquet(result.path / TABLES["offers"]), strategies),
        strategies, targets))
    for warning in service_warnings(monthly, strategies, targets):
        print(f"warning: {warning}", file=sys.stderr)
    if result.stopped_because:
        print(result.stopped_because)
    print(f"results: {result.path}/ (report.html, comparison.csv, Parquet tables{extra})")
    return 0


def _spreadsheets(folder: Path, xlsx: bool, csv: bool) -> str:
    """Write the workbook and CSV twins asked for; returns what to add to the results line."""
    from .exports import write_csv_twins, write_workbook

    added = ""
    if xlsx:
        _, left_out = write_workbook(folder)
        added += ", results.xlsx"
        if left_out:
            print(f"note: {', '.join(left_out)} exceed an Excel sheet's rows; they are in "
                  "Parquet (and CSV with --csv) only", file=sys.stderr)
    if csv:
        write_csv_twins(folder)
        added += ", a CSV of every Parquet table"
    return added


def cmd_compare(args) -> int:
    # Imported here so that bad-input errors stay fast.
    from .compare import compare_scenarios
    from .experiment import bridge
    from .report import write_report

    a, b = _load(args), _load(args, args.other)
    _check_range(args, {**EXPERIMENT_BOUNDS, "seed": (0, MAX_SEED)})
    labels = (Path(args.scenario).stem, Path(args.other).stem)
    out = args.out or str(default_folder(f"{labels[1]}-vs-{labels[0]}"))
    result = _experiment(out, lambda: compare_scenarios(
        a, b, labels, out, strategies=args.strategy, replications=args.replications,
        seed=args.seed, workers=args.workers, executor=args.executor,
        scheduler=args.scheduler, resume=args.resume, progress=not args.quiet,
        command=args.command_line))
    if isinstance(result, int):
        return result
    for experiment in result.results:
        write_report(experiment.path)
    first = result.results[0]
    print(f"{result.labels[1]} against {result.labels[0]}: {first.replications} replications "
          f"× {len(result.strategies)} strategies, paired by replication (the same people "
          f"and draws in both files), seed {first.summaries['seed'].iloc[0]}; "
          f"{market_size(a)}")
    table, paid, equity = result.comparison, result.payback, result.table("equity")
    for s in result.strategies:
        pair = [f"{result.labels[0]}:{s}", f"{result.labels[1]}:{s}"]
        mine = table[table["strategy"].isin(pair)]
        print()
        print(format_comparison(mine, pair, bridge(equity, pair, top=BRIDGE_TOP),
                                paid[paid["strategy"] == pair[1]]))
    if not result.gains.empty:
        print(format_gain_changes(result.gains, result.labels))
    gains = "" if result.gains.empty else ", gains.csv"
    print(f"results: {result.path}/ (comparison.csv, bridge.csv, payback.csv{gains}; each "
          f"file's own results and report in {result.path}/{result.labels[0]}/ and "
          f"{result.path}/{result.labels[1]}/)")
    return 0


def cmd_sweep(args) -> int:
    # Imported here so that bad-input errors stay fast.
    from .sweeps import format_sweep, sweep

    scenario = _load(args)
    _check_range(args, EXPERIMENT_BOUNDS)
    out = args.out or str(default_folder(scenario.name, "-sweep"))
    result = _experiment(out, lambda: sweep(
        scenario, out=out, replications=args.replications, workers=args.workers,
        executor=args.executor, scheduler=args.scheduler, resume=args.resume,
        progress=not args.quiet, command=args.command_line))
    if isinstance(result, int):
        return result
    print(format_sweep(result, scenario))
    return 0


def cmd_validate(args) -> int:
    from .validation import all_checks, write_report

    if not (np.isfinite(args.scale) and args.scale > 0):
        raise OptionError(f"must be a positive number (got {args.scale})", "", "--scale")
    checks = all_checks(scale=args.scale)
    for c in checks:
        mark = "pass" if c.passed else "FAIL"
        print(f"{mark}  {c.name}: simulated {c.simulated:.6g}, closed form {c.expected:.6g}, "
              f"error {c.error:.3g} (tolerance {c.tolerance:.3g})")
    report = write_report(checks, Path(args.out))
    failed = [c.name for c in checks if not c.passed]
    print(f"report: {report}")
    if failed:
        print(f"error: {len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def cmd_calibrate(args) -> int:
    # Imported here so that the other commands do not load scipy's optimisers.
    from .calibrate import fit_sbg, format_fit, survival_from_csv

    _check_range(args, {"periods": (1, MAX_PERIODS), "cohort_size": (1, 10**12)})
    survival = survival_from_csv(args.file)
    shares = survival[0] == 1.0
    if args.cohort_size is not None and not shares and args.cohort_size != survival[0]:
        raise OptionError(f"{args.file} holds counts of a cohort of {survival[0]:,.0f}: "
                          "give a cohort size only with shares", "", "--cohort-size")
    try:
        fit = fit_sbg(survival, args.cohort_size)
    except ValueError as err:  # the table is valid, but the model cannot be fitted to it
        raise DataError(str(err), "", args.file) from None
    print(format_fit(fit, survival, args.periods or 2 * fit.periods, source=args.file,
                     segment=args.segment, assumed_size=shares and args.cohort_size is None))
    return 0


def cmd_schema(args) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


OFFLINE_CDN = "http://127.0.0.1:9/"
"""Where the dashboard's server would fetch an asset it does not have: the discard port of
this machine, which refuses at once. Every asset is installed beforehand; a CDN at run
time would break the page without internet, and silently so with it."""


def cmd_dashboard(args) -> int:
    from .assets import AssetError, cdn_dir, install, missing

    cdn = cdn_dir()
    if args.install_assets:
        try:
            install(cdn)
        except AssetError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(f"assets: {cdn}")
        return 0
    _check_range(args, {"port": (1, 65535)})
    # Imported here: the live comparison loads the model, which the other errors need not.
    from .live import DEFAULT_SCENARIO, SCENARIO_ENV, Settings

    scenario = args.scenario or str(DEFAULT_SCENARIO)
    Settings.of(scenario)   # a file that cannot be loaded stops here, with its message
    absent = missing(cdn)
    if absent:
        print(f"error: the dashboard's JavaScript and CSS are not installed in {cdn} "
              f"(missing {', '.join(a.folder for a in absent)}); install them once with "
              "`cvm dashboard --install-assets` (it downloads them from the npm registry "
              "and checks each against its pinned hash)", file=sys.stderr)
        return BAD_INPUT
    with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as probe:
        # As the server will: a port a stopped server left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as err:
            raise OptionError(f"cannot listen on {args.host}:{args.port} ({err.strerror}); "
                              "give another with --port", "", "--port") from None
    # Solara reads these when it is imported: the app to serve, no telemetry, and no CDN.
    os.environ[SCENARIO_ENV] = str(Path(scenario).resolve())
    os.environ["SOLARA_APP"] = "sim.dashboard"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_CDN"] = OFFLINE_CDN
    import uvicorn

    print(f"dashboard of {scenario}: http://{args.host}:{args.port}/ (Ctrl-C stops it)",
          flush=True)
    uvicorn.run("solara.server.starlette:app", host=args.host, port=args.port,
                log_level="warning")
    return 0


def _experiment_options(p: argparse.ArgumentParser, what: str, default_out: str) -> None:
    """Options shared by the commands that run many simulations (cvm run, cvm sweep)."""
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--replications", type=int,
                   help="replications per strategy (and sweep point; default: the file's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value by dotted path (repeatable); KEY*=X scales "
                        "and KEY+=X shifts it")
    p.add_argument("--out", help=f"results folder (default: {default_out})")
    p.add_argument("--workers", type=int,
                   help="parallel workers (default and most: the machine's cores)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local process pool, or Dask distributed")
    p.add_argument("--scheduler", help="Dask scheduler address (default: a local cluster)")
    p.add_argument("--resume", action="store_true",
                   help=f"finish the {what} in --out, running only missing runs")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cvm", description="Simulate customer value management strategies.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], help=summary)

    p = command("run", "run a scenario's strategies and compare them")
    _experiment_options(p, "experiment", "results/<scenario name>")
    p.add_argument("--strategy", action="append",
                   help="strategy to run (repeatable; default: the scenario's compare list)")
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's)")
    p.add_argument("--engine", choices=("vectorized", "agents"), default="vectorized")
    p.add_argument("--target-ci", type=float, metavar="X",
                   help="add replications until every paired equity difference has a 95 %% "
                        "CI half-width below X (currency)")
    p.add_argument("--max-replications", type=int,
                   help="cap for --target-ci (default: 10 × replications)")
    p.add_argument("--xlsx", action="store_true",
                   help="also write results.xlsx: comparison, bridge, payback and every table")
    p.add_argument("--csv", action="store_true",
                   help="also write a CSV next to every Parquet table")
    p.set_defaults(func=cmd_run)
    p = command("compare", "compare the strategies of two scenario files that share their "
                           "people and draws, paired by replication")
    _experiment_options(p, "comparison", "results/<other>-vs-<scenario>")
    p.add_argument("other", help="the second scenario file, compared against the first")
    p.add_argument("--strategy", action="append",
                   help="strategy to compare (repeatable; default: those both files compare)")
    p.add_argument("--seed", type=int, help="root seed (default: the first file's)")
    p.set_defaults(func=cmd_compare)
    p = command("sweep", "vary scenario keys by the scenario's sweep block and analyse how "
                         "the strategies' result responds")
    _experiment_options(p, "sweep", "results/<scenario name>-sweep")
    p.set_defaults(func=cmd_sweep)
    p = command("validate", "dock every mechanism to its closed form and write "
                            "docs/validation.md")
    p.add_argument("--out", default="docs", help="folder for validation.md (default: docs)")
    p.add_argument("--scale", type=float, default=1.0,
                   help="size of the validation markets relative to full size (default 1)")
    p.set_defaults(func=cmd_validate)
    p = command("calibrate", "fit a segment's churn (alpha, beta) to a cohort's survival "
                             "table (shifted-beta-geometric)")
    p.add_argument("file", help="CSV with a column survival (shares from 1) or customers / "
                                "active (counts), one row per period from period 0")
    p.add_argument("--periods", type=int,
                   help="project survival to this period (default: twice the observed)")
    p.add_argument("--segment", default="SEGMENT",
                   help="segment named in the YAML snippet (default: SEGMENT)")
    p.add_argument("--cohort-size", type=int,
                   help="customers behind a table of shares (default 1000; the standard "
                        "errors scale as 1/√size)")
    p.set_defaults(func=cmd_calibrate)
    p = command("schema", "print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)
    p = command("dashboard", "serve the teaching dashboard: two strategies of a scenario "
                             "side by side, month by month, in the browser")
    p.add_argument("scenario", nargs="?",
                   help="scenario YAML file (default: scenarios/gsp_vs_segmented.yaml)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    p.add_argument("--install-assets", action="store_true",
                   help="download the page's JavaScript and CSS from the npm registry into "
                        "this Python environment, once, and exit")
    p.set_defaults(func=cmd_dashboard)
    return parser


def main(argv: Sequence[str] | None = None, command: str | None = None) -> int:
    """Entry point of the ``cvm`` console script; returns the exit code.

    ``command`` is the command line to record in results (default ``cvm`` and ``argv``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = command or shlex.join(["cvm", *argv])
    try:
        return args.func(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory; try a smaller population or fewer workers",
              file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - the one place every other error ends up
        if getattr(args, "debug", False):
            traceback.print_exc()
        detail = str(err).splitlines()[0] if str(err) else ""
        print(f"error: internal error: {type(err).__name__}"
              + (f": {detail}" if detail else "")
              + ("" if getattr(args, "debug", False)
                 else " (run again with --debug for the traceback)"),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
