"""Parameter sweeps: vary scenario keys over a design, compare the strategies at every
point, and say how much each key moves the result.

A scenario's ``sweep:`` block (:class:`sim.scenario.Sweep`) names the keys, by dotted path,
and a design: ``grid`` (every combination of given values), ``lhs`` (Latin hypercube),
``sobol`` (Saltelli's extension of a Sobol' sequence, for Sobol' indices) or ``morris``
(trajectories of elementary effects). SALib draws the designs and computes the indices.

Every point runs every compared strategy for every replication, as tasks
``Task(point, strategy, replication)`` of :mod:`sim.executors`. Replication r uses the
random streams (seed, r) at every point and for every strategy: differences between
points are then differences of the parameters, not of luck (common random numbers), and
the results do not depend on workers, executor or resuming, exactly as for ``cvm run``.

The analysed *response* of a run is the paired difference of the outcome (default
``customer_equity``, currency) between ``compare[1]`` and ``compare[0]`` in the same
replication, or the outcome of ``compare[0]`` when only one strategy is compared. The
indices are computed on the response averaged over a point's replications; how much
replication noise is left in those averages is measured by :func:`noise_share`.

Files written to the results folder, next to ``manifest.json`` and ``runs/``:

- ``points.csv``: ``point`` and the value of each varied key (rounded for whole-number keys);
- ``summaries.parquet`` (the tidy table: one row per point × strategy × replication),
  ``monthly.parquet``, ``segments.parquet``, ``cohorts.parquet``: as for ``cvm run``;
- ``comparison.csv``: the comparison table of ``cvm run`` for each point (``point`` column);
- ``per_point.csv``: per point and strategy, the outcome's mean and 95 % CI and the paired
  difference from ``compare[0]`` with its CI;
- ``sensitivity.csv``: one row per key and index, with 95 % interval (see :func:`indices`);
- ``charts/sweep_heatmap.png`` (grids over two keys), ``charts/sweep_indices.png``.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ResultsError, ScenarioError
from .executors import Execution, Task, task_order
from .experiment import Evaluator
from .outcomes import compared, outcomes_of
from .scenario import Scenario, load_scenario
from .statistics import comparison
from .store import (
    ResultStore,
    call_line,
    default_folder,
    manifest,
    read_manifest,
    update_manifest,
)

CONFIDENCE = 0.95
"""Level of every interval of a sweep."""
MORRIS_LEVELS = 4
"""Grid levels of a Morris design (SALib's default): each key takes 4 evenly spaced values."""
BOOTSTRAP_RESAMPLES = 1000
"""Bootstrap resamples behind the Sobol' and Morris intervals (SALib's default is 100,
whose interval ends move by several per cent from one seed to the next)."""
ENGINE = "vectorized"

INDEX_MEANING = {
    "S1": "first-order Sobol' index: share of the response's variance due to the key alone",
    "ST": "total Sobol' index: share of variance due to the key and its interactions",
    "mu_star": "mean absolute elementary effect: change of the response over the key's "
               "full range (response units)",
    "sigma": "spread of the elementary effects (response units): non-linearity or "
             "interactions",
    "spearman": "Spearman rank correlation of the mean response with the key",
}
"""Every index of ``sensitivity.csv`` and what it measures."""


@dataclass(frozen=True)
class Design:
    """The points of a sweep.

    Attributes:
        kind: ``grid``, ``lhs``, ``sobol`` or ``morris``.
        problem: SALib's problem: ``names`` (the dotted keys), ``bounds`` (low, high of each).
        matrix: The design as drawn, one row per point, one column per key (unrounded:
            SALib's analyses expect the design they drew).
        points: ``point`` and one column per key: the values run (whole-number keys rounded).
    """

    kind: str
    problem: dict
    matrix: np.ndarray
    points: pd.DataFrame


@dataclass
class SweepResult:
    """What a sweep produced; the same tables are in ``path``.

    Attributes:
        response: What is analysed, in words (``customer_equity: segmented − gsp``).
        points: ``point`` and the value of each key (``points.csv``).
        per_point: ``per_point.csv`` (empty if runs failed).
        sensitivity: ``sensitivity.csv``: ``parameter``, ``index``, ``value``, ``ci_low``,
            ``ci_high`` (empty if runs failed).
        noise_share: See :func:`noise_share` (NaN if runs failed).
        charts: Chart name → PNG path.
        failures: Task key → traceback of each run that failed.
    """

    path: Path
    design: str
    response: str
    replications: int
    points: pd.DataFrame
    per_point: pd.DataFrame
    sensitivity: pd.DataFrame
    noise_share: float
    charts: dict[str, Path] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------ design
def design(scenario: Scenario) -> Design:
    """The points of the scenario's sweep block, drawn with the seed ``simulation.seed``.

    Raises:
        ScenarioError: the scenario has no ``sweep`` block.
    """
    from SALib.sample import latin, morris, sobol

    spec = _spec(scenario)
    names = list(spec.parameters)
    params = list(spec.parameters.values())
    seed = scenario.simulation.seed
    if spec.design == "grid":
        axes = [p.values if p.values is not None else np.linspace(p.low, p.high, p.levels)
                for p in params]
        matrix = np.array(list(itertools.product(*axes)), dtype=float)
        bounds = [[float(min(axis)), float(max(axis))] for axis in axes]
    else:
        bounds = [[p.low, p.high] for p in params]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    if spec.design == "lhs":
        matrix = latin.sample(problem, spec.samples, seed=seed)
    elif spec.design == "sobol":
        # First- and total-order indices only: N × (keys + 2) points, not N × (2 keys + 2).
        matrix = sobol.sample(problem, spec.samples, calc_second_order=False, seed=seed)
    elif spec.design == "morris":
        matrix = morris.sample(problem, spec.samples, num_levels=MORRIS_LEVELS, seed=seed)
    points = pd.DataFrame({"point": np.arange(len(matrix))})
    for i, name in enumerate(names):
        whole = type(scenario.value(name)) is int
        if whole and spec.design in ("sobol", "morris") and bounds[i][1] - bounds[i][0] < 20:
            # The indices assume the values SALib drew; rounding a narrow range to whole
            # numbers changes the steps actually run by up to half a unit each.
            raise ScenarioError(
                f"a whole-number key needs a range of at least 20 for a {spec.design} design "
                "(rounding would distort its indices); use a grid or lhs design",
                f"sweep.parameters.{name}", scenario.source)
        points[name] = np.round(matrix[:, i]).astype(np.int64) if whole else matrix[:, i]
    return Design(spec.design, problem, matrix, points)


def point_scenario(scenario: Scenario, points: pd.DataFrame, point: int) -> Scenario:
    """The scenario of one point: the keys set to the point's values, the sweep removed.

    Raises:
        ScenarioError: the point's values together make the scenario invalid (each value
            alone was checked when the sweep was loaded).
    """
    row = points.index[points["point"] == point][0]
    # Column by column: a row of mixed columns would turn whole numbers into floats.
    changes = {name: points.at[row, name].item() for name in points.columns if name != "point"}
    try:
        return scenario.override({"sweep": None, **changes})
    except ScenarioError as err:
        shown = ", ".join(f"{k} = {v:g}" for k, v in changes.items())
        raise ScenarioError(f"point {point} ({shown}) makes the scenario invalid: "
                            f"{err.path}: {err.message}", "sweep.parameters",
                            scenario.source) from None


def _spec(scenario: Scenario):
    if scenario.sweep is None:
        raise ScenarioError("the scenario has no sweep block (see scenarios/"
                            "sweep_data_quality.yaml)", "sweep", scenario.source)
    return scenario.sweep


# ------------------------------------------------------------------------ analysis
def response(summaries: pd.DataFrame, strategies: list[str], outcome: str) -> pd.Series:
    """The analysed response per run pair: ``outcome`` of ``strategies[1]`` minus that of
    ``strategies[0]`` in the same point and replication, or ``strategies[0]``'s outcome
    alone with one strategy. Indexed by (point, replication), sorted."""
    wide = summaries.pivot(index=["point", "replication"], columns="strategy", values=outcome)
    wide = wide.sort_index()
    if len(strategies) > 1:
        return wide[strategies[1]] - wide[strategies[0]]
    return wide[strategies[0]]


def describe_response(strategies: list[str], outcome: str) -> str:
    """The response of :func:`response` in words."""
    if len(strategies) > 1:
        return f"{outcome}: {strategies[1]} − {strategies[0]}"
    return f"{outcome}: {strategies[0]}"


def noise_share(runs: pd.Series) -> float:
    """How much of the spread of the point means is replication noise.

    The mean over points of the variance of a point's mean response (its replications'
    variance / their number), divided by the variance of the point means across the
    design. 0 means the means are exact; 0.1 means a tenth of their spread is noise, which
    the indices (computed on the means) count as if it were due to the keys. Because
    common random numbers make the noise of different points move together, the
    *differences* between points are more precise than this share suggests: it is an upper
    bound on the noise that matters. NaN with one replication or one point.

    Args:
        runs: Response per run, indexed by (point, replication) (see :func:`response`).
    """
    by_point = runs.groupby(level="point")
    if by_point.ngroups < 2 or by_point.count().min() < 2:
        return math.nan
    within = (by_point.var(ddof=1) / by_point.count()).mean()
    between = by_point.mean().var(ddof=1)
    return float(within / between) if between > 0 else math.inf


def indices(found: Design, means: np.ndarray, seed: int) -> pd.DataFrame:
    """Sensitivity of the mean response to each key.

    sobol: first-order ``S1`` and total ``ST`` Sobol' indices (SALib), intervals from
    SALib's bootstrap. morris: ``mu_star`` with its bootstrap interval, and ``sigma``
    (SALib). lhs: ``spearman`` rank correlation (scipy) with the Fisher-z interval of
    Fieller, Hartley & Pearson (1957), standard error sqrt(1.06 / (n − 3)). grid: none: a
    rank correlation over a grid hides interactions (a key that helps at one value of
    another and hurts at the next scores near zero); read the grid's table or heatmap.

    Args:
        found: The design.
        means: Mean response at each point, in point order.
        seed: Seed of the bootstrap.

    Returns:
        Rows ``parameter``, ``index`` (see :data:`INDEX_MEANING`), ``value``, ``ci_low``,
        ``ci_high`` (95 %; NaN where there is none).
    """
    from scipy import stats

    names = found.problem["names"]
    means = np.asarray(means, dtype=float)
    rows = []

    def add(name, index, value, low=math.nan, high=math.nan):
        rows.append({"parameter": name, "index": index, "value": float(value),
                     "ci_low": float(low), "ci_high": float(high)})

    if found.kind == "sobol":
        from SALib.analyze import sobol

        out = sobol.analyze(found.problem, means, calc_second_order=False,
                            num_resamples=BOOTSTRAP_RESAMPLES, conf_level=CONFIDENCE,
                            seed=seed)
        for index in ("S1", "ST"):
            for i, name in enumerate(names):
                value, half = out[index][i], out[f"{index}_conf"][i]
                add(name, index, value, value - half, value + half)
    elif found.kind == "morris":
        from SALib.analyze import morris

        out = morris.analyze(found.problem, found.matrix, means,
                             num_resamples=BOOTSTRAP_RESAMPLES, conf_level=CONFIDENCE,
                             num_levels=MORRIS_LEVELS, seed=seed)
        for i, name in enumerate(names):
            value, half = out["mu_star"][i], out["mu_star_conf"][i]
            add(name, "mu_star", value, value - half, value + half)
        for i, name in enumerate(names):
            add(name, "sigma", out["sigma"][i])
    elif found.kind == "lhs":
        n = len(means)
        z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
        for name in names:
            values = found.points[name].to_numpy(dtype=float)
            if np.ptp(values) == 0 or np.ptp(means) == 0:
                add(name, "spearman", math.nan)
                continue
            rho = stats.spearmanr(values, means).statistic
            if n > 3 and abs(rho) < 1:
                half = z * math.sqrt(1.06 / (n - 3))
                add(name, "spearman", rho, math.tanh(math.atanh(rho) - half),
                    math.tanh(math.atanh(rho) + half))
            else:
                add(name, "spearman", rho)
    return pd.DataFrame(rows, columns=["parameter", "index", "value", "ci_low", "ci_high"])


def per_point_tables(summaries: pd.DataFrame, points: pd.DataFrame, strategies: list[str],
                     outcome: str, human_channels: tuple[str, ...] = ()
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparison of every point, and the outcome's rows of it per point and strategy.

    Returns:
        ``comparison.csv``: the table of :func:`sim.statistics.comparison` for each point
        (its metrics and the outcome), with a ``point`` column first; and ``per_point.csv``:
        one row per point and strategy with the point's keys, the outcome's ``mean``,
        ``ci_low``, ``ci_high``, ``n`` over replications, and ``diff_mean``, ``diff_ci_low``,
        ``diff_ci_high``, ``share_won``: the paired difference from ``strategies[0]`` and
        the share of replications the strategy does better (NaN for ``strategies[0]``).
    """
    metrics = {**compared(human_channels),
               outcome: outcomes_of(human_channels)[outcome].better}
    table = pd.concat(
        [comparison(rows, strategies, metrics).assign(point=point)
         for point, rows in summaries.groupby("point", sort=True)], ignore_index=True)
    table = table[["point", *[c for c in table.columns if c != "point"]]]
    mine = table[table["metric"] == outcome]
    levels = mine[mine["kind"] == "level"][["point", "strategy", "mean", "ci_low", "ci_high",
                                            "n"]]
    diffs = mine[mine["kind"] == "paired_difference"][
        ["point", "strategy", "mean", "ci_low", "ci_high", "share_won"]].rename(
        columns={"mean": "diff_mean", "ci_low": "diff_ci_low", "ci_high": "diff_ci_high"})
    per_point = points.merge(levels, on="point").merge(diffs, on=["point", "strategy"],
                                                       how="left")
    return table, per_point


def point_means(per_point: pd.DataFrame, strategies: list[str]) -> pd.DataFrame:
    """The response's mean and 95 % CI per point (the point's keys, ``mean``, ``ci_low``,
    ``ci_high``), read from ``per_point.csv``'s rows for the response."""
    if len(strategies) > 1:
        rows = per_point[per_point["strategy"] == strategies[1]].drop(
            columns=["mean", "ci_low", "ci_high"]).rename(
            columns={"diff_mean": "mean", "diff_ci_low": "ci_low", "diff_ci_high": "ci_high"})
    else:
        rows = per_point[per_point["strategy"] == strategies[0]]
    keys = [c for c in per_point.columns if c not in _PER_POINT_STATS]
    return rows[[*keys, "mean", "ci_low", "ci_high"]].reset_index(drop=True)


_PER_POINT_STATS = ("strategy", "mean", "ci_low", "ci_high", "n", "diff_mean", "diff_ci_low",
                    "diff_ci_high", "share_won")


# ------------------------------------------------------------------------ running
def sweep(scenario: Scenario | str | Path, out: str | Path | None = None,
          replications: int | None = None, workers: int | None = None,
          executor: str = "local", scheduler: str | None = None, resume: bool = False,
          progress: bool = False, command: str | None = None) -> SweepResult:
    """Run the scenario's sweep and analyse it.

    Args:
        scenario: A scenario with a ``sweep`` block, or its file.
        out: Results folder (default ``results/<scenario name>-sweep``).
        replications: Per point and strategy (default ``sweep.replications``, else
            ``simulation.replications``); at least 2, for intervals and the noise share.
        workers, executor, scheduler: Where runs execute (see :func:`sim.executors.execute`).
        resume: Finish the sweep already in ``out``, running only the missing runs.
        progress: Show a progress bar on standard error.
        command: The command line recorded in the manifest (default: this call).

    Raises:
        ScenarioError: no sweep block, a point that makes the scenario invalid, or too few
            replications.
        ResultsError: a results folder that holds something else, is in use by another
            process or cannot be used (see :meth:`sim.store.ResultStore.prepare`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    spec = _spec(scenario)
    replications = replications or spec.replications or scenario.simulation.replications
    if replications < 2:
        raise ScenarioError("a sweep needs at least 2 replications per point, for intervals "
                            "and to measure the noise", "sweep.replications", scenario.source)
    execution = Execution(executor, workers, scheduler)
    seed = scenario.simulation.seed
    strategies = list(scenario.compare)
    found = design(scenario)
    runs_of = {p: point_scenario(scenario, found.points, p) for p in found.points["point"]}
    out = Path(out) if out else default_folder(scenario.name, "-sweep")
    described = describe_response(strategies, spec.outcome)
    # Exact values (to_json would round them to 10 digits), as they read back from JSON.
    points_json = json.loads(json.dumps(found.points.to_dict("records")))
    _check_resumable(out, resume, points_json)
    store = ResultStore(out)
    command = command or call_line(
        "sim.sweep", repr(scenario.name or "scenario"), out=out, replications=replications,
        workers=workers, executor=executor, scheduler=scheduler, resume=resume)
    store.prepare(manifest("sweep", scenario, seed, replications, ENGINE, command,
                           design=spec.model_dump(mode="json"), response=described,
                           points=points_json), resume)

    try:
        tasks = sorted((Task(int(p), s, r) for p in runs_of for s in strategies
                        for r in range(replications)), key=task_order(strategies))
        with Evaluator(store, runs_of, seed, ENGINE, execution, progress) as evaluator:
            failures = evaluator.run_missing(tasks)
        if failures:
            return SweepResult(out, found.kind, described, replications, found.points,
                               pd.DataFrame(), pd.DataFrame(), math.nan, failures=failures)

        store.combine(tasks)
        summaries = pd.read_parquet(out / "summaries.parquet")
        table, per_point = per_point_tables(summaries, found.points, strategies, spec.outcome,
                                            scenario.human_channels)
        runs = response(summaries, strategies, spec.outcome)
        means = runs.groupby(level="point").mean().to_numpy()
        sensitivity = indices(found, means, seed)
        noise = noise_share(runs)
        found.points.to_csv(out / "points.csv", index=False)
        table.to_csv(out / "comparison.csv", index=False)
        per_point.to_csv(out / "per_point.csv", index=False)
        sensitivity.to_csv(out / "sensitivity.csv", index=False)
        charts = write_charts(out, found, point_means(per_point, strategies), sensitivity, noise,
                              described, difference=len(strategies) > 1)
        update_manifest(out, noise_share=noise)
        return SweepResult(out, found.kind, described, replications, found.points, per_point,
                           sensitivity, noise, charts)
    finally:
        store.release()


def _check_resumable(out: Path, resume: bool, points: list[dict]) -> None:
    """On resume, refuse a folder whose runs belong to other points: a design drawn
    differently (another SALib version may draw other points from the same seed).
    :meth:`ResultStore.prepare` checks the rest (kind, scenario, seed, engine)."""
    existing = out / "manifest.json"
    if not (resume and existing.exists()):
        return
    old = read_manifest(existing)
    if old.get("kind") == "sweep" and old.get("points") != points:
        raise ResultsError(f"cannot resume {out}: its design has other points")


# ------------------------------------------------------------------------ charts
def write_charts(out: Path, found: Design, means: pd.DataFrame, sensitivity: pd.DataFrame,
                 noise: float, described: str, difference: bool) -> dict[str, Path]:
    """Draw the sweep's charts into ``out/charts/``.

    ``sweep_heatmap``: mean response by the two keys of a two-key grid, each cell labelled
    with its mean and 95 % CI half-width; a ``difference`` is coloured around zero.
    ``sweep_indices``: each key's indices as bars with their 95 % intervals.

    Args:
        means: Mean response per point (see :func:`point_means`).
        described: The response in words (see :func:`describe_response`).

    Returns:
        Chart name → PNG path.
    """
    from matplotlib.figure import Figure  # not pyplot: the caller's backend and figures stay

    folder = out / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    names = found.problem["names"]
    if found.kind == "grid" and len(names) == 2:
        fig = Figure(figsize=(7.5, 5.5), layout="constrained")
        _heatmap(fig.subplots(), means, names, described, difference)
        paths["sweep_heatmap"] = folder / "sweep_heatmap.png"
        fig.savefig(paths["sweep_heatmap"], dpi=110)
    if sensitivity["value"].notna().any():
        fig = Figure(figsize=(max(6.0, 1.6 * len(names) + 3), 4.5), layout="constrained")
        _bars(fig.subplots(), sensitivity, names, noise, described)
        paths["sweep_indices"] = folder / "sweep_indices.png"
        fig.savefig(paths["sweep_indices"], dpi=110)
    return paths


def _heatmap(ax, means: pd.DataFrame, names: list[str], described: str,
             difference: bool) -> None:
    from matplotlib.colors import CenteredNorm

    from .formatting import format_number

    grid = means.pivot(index=names[0], columns=names[1], values="mean").sort_index()
    half = (means.pivot(index=names[0], columns=names[1], values="ci_high")
            - means.pivot(index=names[0], columns=names[1], values="mean")).loc[grid.index]
    # A difference is read against zero: blue where compare[1] wins, red where it loses.
    image = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto",
                      cmap="RdBu" if difference else "viridis",
                      norm=CenteredNorm(0.0) if difference else None)
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        red, green, blue, _ = image.cmap(image.norm(value))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived luminance
        ax.text(j, i, f"{format_number(value)}\n±{format_number(half.iat[i, j])}",
                ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    ax.set_xlabel(names[1])
    ax.set_ylabel(names[0])
    ax.set_title(f"mean {described} (± 95 % CI half-width)", fontsize=10)
    ax.figure.colorbar(image, ax=ax, label=described)


def _bars(ax, sensitivity: pd.DataFrame, names: list[str], noise: float,
          described: str) -> None:
    kinds = list(dict.fromkeys(sensitivity["index"]))
    width = 0.8 / len(kinds)
    for k, kind in enumerate(kinds):
        rows = sensitivity[sensitivity["index"] == kind].set_index("parameter").loc[names]
        errors = np.vstack([rows["value"] - rows["ci_low"], rows["ci_high"] - rows["value"]])
        ax.bar(np.arange(len(names)) + (k - (len(kinds) - 1) / 2) * width, rows["value"],
               width, yerr=np.nan_to_num(errors), capsize=4, label=kind)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(names)), _short(names))
    ax.legend(title="index")
    ax.set_ylabel("index")
    ax.set_title(f"sensitivity of {described} (95 % intervals)\nnoise share "
                 f"{_percent(noise)} of the spread of the point means", fontsize=10)


def _short(names: list[str]) -> list[str]:
    """The shortest trailing part of each dotted key that tells the keys apart."""
    for depth in range(1, max(n.count(".") for n in names) + 2):
        labels = [".".join(n.split(".")[-depth:]) for n in names]
        if len(set(labels)) == len(labels):
            return labels
    return names


# ------------------------------------------------------------------------ text
def format_sweep(result: SweepResult, scenario: Scenario, max_rows: int = 40) -> str:
    """The sweep as text: the mean response per point (for a two-key grid also as a table
    of one key against the other), the indices and the noise share."""
    from .formatting import format_interval, format_market, format_number

    names = [c for c in result.points.columns if c != "point"]
    labels = dict(zip(names, _short(names), strict=True))
    strategies = list(scenario.compare)
    means = point_means(result.per_point, strategies)
    lines = [f"{scenario.name or 'sweep'}: {result.design} design, {len(result.points):,} "
             f"points × {len(strategies)} {'strategy' if len(strategies) == 1 else 'strategies'}"
             f" × {result.replications} replications, "
             f"seed {scenario.simulation.seed}, {scenario.simulation.horizon_months} months, "
             + format_market(scenario.market),
             f"response: {result.response}, mean [95 % CI] over replications", ""]
    if len(means) <= max_rows:
        head = ["point", *(labels[n] for n in names), "mean", "95 % CI"]
        body = [[str(r["point"]), *(f"{r[n]:g}" for n in names), format_number(r["mean"]),
                 format_interval(r["ci_low"], r["ci_high"])]
                for r in means.to_dict("records")]
        lines += _columns([head, *body])
    else:
        lines.append(f"{len(means):,} points: see per_point.csv")
    if result.design == "grid" and len(names) == 2:
        grid = means.pivot(index=names[0], columns=names[1], values="mean").sort_index()
        lines += ["", f"mean {result.response}, {labels[names[0]]} (rows) by "
                      f"{labels[names[1]]} (columns):"]
        lines += _columns([[labels[names[0]], *(f"{v:g}" for v in grid.columns)],
                           *([f"{i:g}", *(format_number(v) for v in row)]
                             for i, row in zip(grid.index, grid.to_numpy(), strict=True))])
    if len(result.sensitivity):
        lines += ["", "sensitivity (95 % intervals):"]
    for r in result.sensitivity.itertuples(index=False):
        lines.append(f"  {labels[r.parameter]:<24} {r.index:<9} {format_number(r.value):>12} "
                     f"{format_interval(r.ci_low, r.ci_high)}")
    lines += [f"  {index}: {INDEX_MEANING[index]}"
              for index in dict.fromkeys(result.sensitivity["index"])]
    lines += ["", f"noise share {_percent(result.noise_share)}: of the spread of the point "
                  f"means, the share that is replication noise ({result.replications} "
                  "replications per point)", f"results: {result.path}/ (per_point.csv, "
                  "sensitivity.csv, points.csv, charts/, Parquet tables)"]
    return "\n".join(lines)


def _percent(share: float) -> str:
    """A share as a percentage with two significant digits (0.00031 → 0.031 %)."""
    return f"{100 * share:.2g} %" if np.isfinite(share) else "n/a"


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows of cells as right-aligned text columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True))
            for row in rows]
