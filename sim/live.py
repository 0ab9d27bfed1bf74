"""Two strategies side by side, a month at a time: what the dashboard steps and draws.

A :class:`LiveComparison` is a mesa ``Model`` holding two :class:`~sim.model.CVMModel` of
one scenario with the same seed, so both take over the same market at month 0 and meet
the same random draws (DESIGN decisions 3 and 7): what differs between them is the
strategy. It records every customer row's journey fields at each month's end, and turns
the models' monthly records into the tables the charts draw. It only reads the models'
state and records; no Solara here, so it can be tested without a browser.

What a person sets on the page arrives as :class:`Settings` (the scenario file, the two
strategies, the seed as typed, and the changed scenario keys); :func:`resolve` turns it
into a validated scenario or raises an :class:`~sim.errors.InputError` that names the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
import yaml

from .codes import ACTIVE_STAGES, CHURNED, EVENTS, STAGES
from .errors import OptionError, ScenarioError
from .model import CVMModel
from .scenario import PerCustomer, Scenario, StaffingTarget, load_scenario

LIVE_AGENTS = 5000
"""Most simulated people in a live comparison: two models of this size step a month in a
few milliseconds each, so the page can play month after month."""
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
"""The shipped scenarios (the repository's ``scenarios/`` folder)."""
DEFAULT_SCENARIO = SCENARIOS / "gsp_vs_segmented.yaml"
SCENARIO_ENV = "CVM_DASHBOARD_SCENARIO"
"""Environment variable naming the scenario file the dashboard opens with (default:
:data:`DEFAULT_SCENARIO`)."""


def shipped_scenarios(folder: Path = SCENARIOS) -> list[Path]:
    """The scenario files the page offers: ``folder/*.yaml`` and ``folder/practices/*.yaml``."""
    return sorted(folder.glob("*.yaml")) + sorted((folder / "practices").glob("*.yaml"))


def live_market(scenario: Scenario) -> dict[str, int]:
    """The change that lets ``scenario`` step live: each simulated person stands for more
    of the market's people (``market.customers_per_agent``), the fewest that keep the
    simulated people at most :data:`LIVE_AGENTS` and divide both the population and the
    initial customers (as the scenario requires; failing that, as many as divide both).
    The market keeps its size in its own units, and with it its contact loads, staffing
    and money; only the sampling noise grows."""
    market = scenario.market
    need = math.ceil(market.population / LIVE_AGENTS)
    if need <= market.customers_per_agent:
        return {}
    common = math.gcd(market.population, market.initial_customers)
    small = [d for d in range(1, math.isqrt(common) + 1) if common % d == 0]
    divisors = sorted({*small, *(common // d for d in small)})
    per = next((d for d in divisors if d >= need), common)
    return {} if per <= market.customers_per_agent else {"market.customers_per_agent": per}


# ------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Settings:
    """What a person set on the page.

    Attributes:
        file: The scenario file.
        strategies: The two strategies shown side by side.
        seed: ``simulation.seed`` as typed (text; :func:`resolve` reads it).
        changes: Scenario keys changed with the page's levers, as (dotted key, value)
            pairs, applied with ``Scenario.override`` after :func:`live_market`.
    """

    file: str
    strategies: tuple[str, str]
    seed: str
    changes: tuple[tuple[str, Any], ...] = field(default=())

    @classmethod
    def of(cls, file: str | Path) -> Settings:
        """The file's own settings: its first two compared strategies (or its first two
        strategies) and its seed.

        Raises:
            ScenarioError: the file cannot be loaded.
        """
        scenario = load_scenario(file)
        names = list(dict.fromkeys([*scenario.compare, *scenario.strategies]))
        pair = (names[0], names[1 if len(names) > 1 else 0])
        return cls(str(file), pair, str(scenario.simulation.seed))

    def change(self, key: str, value: Any) -> Settings:
        """These settings with scenario key ``key`` set to ``value``."""
        kept = tuple((k, v) for k, v in self.changes if k != key)
        return Settings(self.file, self.strategies, self.seed, (*kept, (key, value)))


def read_seed(text: str) -> int:
    """The whole number typed as a seed (range checked with the scenario).

    Raises:
        ScenarioError: ``text`` is not a whole number.
    """
    try:
        return int(text.strip())
    except ValueError:
        raise ScenarioError(f"should be a whole number (got {text!r})",
                            "simulation.seed") from None


def base_scenario(file: str | Path) -> Scenario:
    """The scenario of ``file`` as the page runs it, before any lever (see
    :func:`live_market`).

    Raises:
        ScenarioError: the file cannot be loaded.
    """
    scenario = load_scenario(file)
    return scenario.override(live_market(scenario))


def resolve(settings: Settings) -> Scenario:
    """The validated scenario of ``settings``: the file at live size, the seed and every
    changed key applied (``simulation.seed`` holds the seed).

    Raises:
        InputError: the file, the seed, a strategy or a changed value cannot be used; the
            message names the key.
    """
    scenario = base_scenario(settings.file)
    for name in settings.strategies:
        if name not in scenario.strategies:
            raise OptionError(f"no strategy named '{name}' (known: "
                              f"{', '.join(scenario.strategies)})", "", "strategies")
    if settings.strategies[0] == settings.strategies[1]:
        raise OptionError(f"shows '{settings.strategies[0]}' twice: pick two different "
                          "strategies", "", "strategies")
    changes = {"simulation.seed": read_seed(settings.seed), **dict(settings.changes)}
    return scenario.override(changes)


# ------------------------------------------------------------------------------ levers
@dataclass(frozen=True)
class Lever:
    """One control of the page: a scenario key and the values it offers.

    A lever is a slider (``low``..``high`` by ``step``), a switch (a bool ``value``) or a
    picker (``choices``: (text shown, value) pairs).

    Attributes:
        key: The dotted scenario key; also the control's label.
        value: The key's value in the scenario (before any change on the page).
    """

    key: str
    value: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple[tuple[str, Any], ...] = ()

    def shown(self, value: Any) -> str:
        """The text of the picker's choice holding ``value`` (the value as text if none
        does)."""
        return next((text for text, v in self.choices if v == value), _text(value))

    @property
    def kind(self) -> str:
        """"slider", "switch" or "picker"."""
        if self.choices:
            return "picker"
        return "switch" if isinstance(self.value, bool) else "slider"

    def snap(self, x: float) -> float | int:
        """A slider's position as the key's value: a multiple of ``step`` above ``low``
        (sliders report float noise such as 0.30000000000000004); whole for whole steps."""
        n = round((x - self.low) / self.step)
        value = round(self.low + n * self.step, 10)
        return int(value) if float(self.step).is_integer() and float(self.low).is_integer() \
            else value


def levers(scenario: Scenario, strategies: Sequence[str]) -> list[Lever]:
    """The page's levers for ``strategies`` of ``scenario``, each strategy's in order, then
    the market's: the propositions offered, data quality (where a practice reads the
    firm's labels), the four budgets, staffing of each staffed human channel, priority
    service (with value codes), the sales centre, channel steering (where the strategy
    steers), and how different the segments' needs are."""
    out: list[Lever] = []
    names = list(scenario.propositions)
    for name in dict.fromkeys(strategies):
        s = scenario.strategies[name]
        key = f"strategies.{name}"
        options = ["one", "best_fit"]
        propositions = (s.propositions if isinstance(s.propositions, str)
                        else dict(s.propositions))
        out.append(_picker(f"{key}.propositions", propositions,
                           options if isinstance(propositions, str)
                           else [propositions, *options]))
        out.append(_picker(f"{key}.proposition", s.proposition, [None, *names]))
        if s.reads_labels and s.data_quality is not None:
            out.append(Lever(f"{key}.data_quality", s.data_quality, 0.0, 1.0, 0.05))
        for budget in ("acquisition", "retention", "development", "winback"):
            value = getattr(s.budgets, budget)
            if isinstance(value, PerCustomer):
                out.append(_amount(f"{key}.budgets.{budget}.per_customer",
                                   value.per_customer, 2.0))
            else:
                out.append(_amount(f"{key}.budgets.{budget}", value, 10_000.0))
        for channel in scenario.human_channels:
            if channel in s.staffing:
                out.append(_staffing(f"{key}.staffing.{channel}", s.staffing[channel]))
        if s.value_codes:
            out.append(Lever(f"{key}.priority_share", s.priority_share, 0.0, 1.0, 0.05))
        out.append(Lever(f"{key}.sales_centre", s.sales_centre))
        if s.steering is not None:
            out.append(Lever(f"{key}.steering.share", s.steering.share, 0.0, 1.0, 0.05))
            out.append(_amount(f"{key}.steering.incentive", s.steering.incentive, 5.0))
    out.append(Lever("market.needs_contrast", scenario.market.needs_contrast, 0.0,
                     max(3.0, scenario.market.needs_contrast), 0.1))
    return out


def _picker(key: str, value: Any, options: list) -> Lever:
    return Lever(key, value, choices=tuple((_text(v), v) for v in options))


def _text(value: Any) -> str:
    """A value as it would stand in a scenario file (YAML flow style, one line)."""
    if isinstance(value, tuple):
        value = list(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip() \
        .removesuffix("...").strip()


def _amount(key: str, value: float, least_top: float) -> Lever:
    """A slider for an amount of money from 0 to a round number at least three times
    ``value`` (and at least ``least_top``), in about 50 round steps."""
    top = _round_up(max(3.0 * value, least_top))
    return Lever(key, value, 0.0, top, _round_up(top / 50))


def _round_up(x: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten at least ``x`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(x))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= x * (1 - 1e-12))


STAFFING_SHIFTS = (-2, -1, 1, 2)
"""Agents added to every opening hour of a roster in the staffing levers' choices."""


def _staffing(key: str, value) -> Lever:
    """A picker of rosters and standards: the file's roster, it with agents taken from or
    added to every opening hour, and staffing to the channel's standard each hour, at one
    level sized for the average hour, or at one sized for the peak hour."""
    value = _plain(value)
    options = [value]
    if not isinstance(value, dict):
        for shift in STAFFING_SHIFTS:
            options.append(max(0, value + shift) if isinstance(value, int)
                           else tuple(max(0, n + shift) for n in value))
    for sized_for in ("each_hour", "average_hour", "peak_hour"):
        if {"sized_for": sized_for} != value:
            options.append({"sized_for": sized_for})
    return Lever(key, value, choices=tuple(
        (_text(v) + (" (the file's)" if i == 0 else ""), v) for i, v in enumerate(options)))


def _plain(value):
    """A staffing value as scenario data: a standard as the mapping of what it sets."""
    if isinstance(value, StaffingTarget):
        return value.model_dump(exclude_defaults=True) or {"sized_for": value.sized_for}
    return value


# ------------------------------------------------------------------------------ the model
JOURNEY_FIELDS = ("stage", "satisfaction", "proposition", "channel", "contact", "products",
                  "event")
"""Fields of the customer state recorded for every row at each month's end."""


class Journeys:
    """Every customer row's :data:`JOURNEY_FIELDS` at the end of each month from month 0
    (copies of the state's arrays: with a few thousand rows, about 50 kB a month)."""

    def __init__(self, model: CVMModel):
        self.months: list[int] = []
        self.fields: dict[str, list[np.ndarray]] = {f: [] for f in JOURNEY_FIELDS}
        self.record(model)

    def record(self, model: CVMModel) -> None:
        """Keep ``model``'s journey fields as they stand (after its latest month)."""
        state = model.ctx.state
        self.months.append(model.month)
        for name, values in self.fields.items():
            values.append(getattr(state, name).copy())

    def left(self) -> np.ndarray:
        """Rows that left (churned) in a measured month, ascending."""
        measured = [i for i, t in enumerate(self.months) if t > 0]
        events = self.fields["event"]
        return np.flatnonzero(np.any([events[i] == CHURNED for i in measured], axis=0)) \
            if measured else np.array([], dtype=int)

    def table(self, row: int, propositions: Sequence[str],
              channels: Sequence[str]) -> pd.DataFrame:
        """Row ``row``'s journey, one line per month: its stage, satisfaction (0..1), the
        proposition it holds, the channel of the month's contact and whether it was
        answered within target, products held and the month's event (names of the
        scenario's ``propositions`` and ``channels``; blank for none)."""
        f = {name: np.array([month[row] for month in values])
             for name, values in self.fields.items()}
        contact = np.where(f["contact"] == 0, "",
                           np.where(f["contact"] % 2 == 1, "answered in time",
                                    "kept waiting"))
        return pd.DataFrame({
            "month": self.months,
            "stage": [STAGES[c] for c in f["stage"]],
            "satisfaction": f["satisfaction"].astype(float).round(2),
            "proposition": [propositions[p] if p >= 0 else "" for p in f["proposition"]],
            "channel": [channels[c] if c >= 0 else "" for c in f["channel"]],
            "contact": contact,
            "products": f["products"].astype(int),
            "event": [EVENTS[e] if e else "" for e in f["event"]],
        })


class LiveComparison(mesa.Model):
    """Two strategies of one scenario, stepped together a month at a time on the same
    customers and random draws.

    Constructing it runs both models' warm-up and take-over (month 0); :meth:`step` runs
    the next month of both, up to the scenario's horizon (then ``running`` is False).

    Attributes:
        settings: What it was made from.
        parameters: The validated scenario both models run (mesa's ``Model.scenario`` is
            another, experimental concept).
        models: The two :class:`~sim.model.CVMModel`, in the order of
            ``settings.strategies``.
        journeys: Each model's :class:`Journeys`.

    Raises:
        InputError: the settings cannot be used (see :func:`resolve`).
    """

    def __init__(self, settings: Settings):
        parameters = resolve(settings)
        seed = parameters.simulation.seed
        # The model's own generator serves the page's random picks (a customer who left);
        # the two strategies draw from their own streams of the same seed.
        super().__init__(rng=seed)
        self.settings = settings
        self.parameters = parameters
        self.models = tuple(CVMModel(parameters, name, seed=seed)
                            for name in settings.strategies)
        self.journeys = tuple(Journeys(m) for m in self.models)
        self.horizon = parameters.simulation.horizon_months
        self.running = self.month < self.horizon

    @property
    def month(self) -> int:
        """The last month run (0: the take-over)."""
        return self.models[0].month

    def step(self) -> None:
        """Run the next month of both strategies (nothing past the horizon)."""
        if self.month < self.horizon:
            for model, journeys in zip(self.models, self.journeys, strict=True):
                model.step()
                journeys.record(model)
        self.running = self.month < self.horizon

    def random_leaver(self) -> int | None:
        """A row, drawn from the model's generator, that left under either strategy in a
        measured month (None if nobody has yet)."""
        rows = np.union1d(*(j.left() for j in self.journeys))
        return int(self.rng.choice(rows)) if len(rows) else None

    def journey(self, row: int) -> list[pd.DataFrame]:
        """Row ``row``'s journey under each strategy (see :meth:`Journeys.table`)."""
        tables = self.models[0].ctx.tables
        return [j.table(row, tables.proposition_names, tables.channel_names)
                for j in self.journeys]

    @property
    def people(self) -> int:
        """Simulated people (customer rows)."""
        return len(self.models[0].ctx.state)

    def monthly(self) -> pd.DataFrame:
        """Both models' monthly records (months 1..now), one row per strategy and month,
        with ``strategy`` and: ``customers`` (current customers), ``cumulative_dcf``
        (net cash flow discounted to month 0, summed from month 1; currency) and
        ``cost_to_serve`` (contact and staffing costs per customer that month, as the
        summary's ``cost_to_serve`` over the whole horizon; currency per customer-month)."""
        frames = []
        for name, model in zip(self.settings.strategies, self.models, strict=True):
            frame = pd.DataFrame.from_records(model.records)
            if frame.empty:
                continue
            frame.insert(0, "strategy", name)
            frame["customers"] = frame[list(ACTIVE_STAGES)].sum(axis=1)
            frame["cumulative_dcf"] = (frame["net_cash_flow"]
                                       * frame["discount_factor"]).cumsum()
            frame["cost_to_serve"] = ((frame["service_costs"] + frame["staffing_costs"])
                                      / frame["customers"].where(frame["customers"] > 0))
            frames.append(frame)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
