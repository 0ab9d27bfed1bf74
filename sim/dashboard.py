"""The teaching dashboard (``cvm dashboard``): a Mesa SolaraViz app showing two strategies
of a scenario side by side, month by month, on the same customers and random draws.

The page: above the charts, a picker of the shipped scenarios, the two strategies and
``simulation.seed``; in the sidebar, SolaraViz's Step, Play and Reset and the levers of
:func:`sim.live.levers`, each labelled with its scenario key. Changing a setting restarts
the comparison from month 0 with the change applied through ``Scenario.override``; a
value the scenario refuses shows its message and the last valid comparison keeps running.
SolaraViz lays out the charts: customers by stage, acquisitions and churn, cumulative
discounted cash flow, service level of each human channel, cost to serve and
satisfaction. Below them, one customer's journey under both strategies.

Run it with ``cvm dashboard [SCENARIO]`` (which checks the scenario and the locally
installed assets first) or ``solara run sim.dashboard`` with :data:`SCENARIO_ENV` set.
Importing this module loads Solara and mesa.visualization: only ``cvm dashboard`` does.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import altair as alt
import reacton.ipyvue
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from .codes import ACTIVE_STAGES
from .errors import InputError
from .formatting import format_number
from .live import (
    DEFAULT_SCENARIO,
    SCENARIO_ENV,
    SCENARIOS,
    Lever,
    LiveComparison,
    Settings,
    base_scenario,
    levers,
    shipped_scenarios,
)
from .scenario import Scenario

PLAY_INTERVAL_MS = 250
"""Pause between months while playing: slow enough to follow on a projector."""
COLOURS = ("#4c78a8", "#f58518")
"""The first and the second strategy's colour in every chart."""
CHART_WIDTH, CHART_HEIGHT = 430, 210
"""Size of a chart's plot area in pixels (a facet gets half the width)."""


# ------------------------------------------------------------------------------ charts
X_MONTHS = 24
"""Months the time axis shows at least: it holds still for the first two years, then
stretches with the months run."""


def _x(live: LiveComparison) -> alt.X:
    return alt.X("month:Q", scale=alt.Scale(domain=[0, max(X_MONTHS, live.month)]),
                 title="month")


def _colour(live: LiveComparison) -> alt.Color:
    return alt.Color("strategy:N", title=None, legend=alt.Legend(orient="top"),
                     scale=alt.Scale(domain=list(live.settings.strategies), range=COLOURS))


def _figure(chart: alt.Chart, title: str):
    """The chart drawn as SVG (crisp on a projector), titled."""
    chart = chart.properties(title=alt.TitleParams(title, anchor="start"),
                             usermeta={"embedOptions": {"renderer": "svg", "actions": False}})
    return solara.FigureAltair(chart)


def _waiting(title: str):
    """What a chart shows before the first month: month 0 has no monthly record."""
    with solara.Column(classes=["cvm-waiting"]) as column:
        solara.HTML(tag="h3", unsafe_innerHTML=title)
        solara.Text("Step or play (▶) to run the first month.")
    return column


def _lines(live: LiveComparison, column: str, title: str, axis: str):
    """One line per strategy of monthly ``column``."""
    if live.month == 0:
        return _waiting(title)
    data = live.monthly()[["strategy", "month", column]]
    chart = alt.Chart(data).mark_line().encode(
        _x(live), alt.Y(f"{column}:Q", title=axis), _colour(live),
        tooltip=["strategy:N", "month:Q", alt.Tooltip(f"{column}:Q", format=",.2f")])
    return _figure(chart.properties(width=CHART_WIDTH, height=CHART_HEIGHT), title)


def stages_chart(live: LiveComparison):
    """Current customers by lifecycle stage, one panel per strategy (customers)."""
    if live.month == 0:
        return _waiting("Customers by stage")
    data = live.monthly().melt(["strategy", "month"], list(ACTIVE_STAGES), "stage", "people")
    chart = alt.Chart(data).mark_area().encode(
        _x(live), alt.Y("people:Q", stack=True, title="customers"),
        alt.Color("stage:N", sort=list(ACTIVE_STAGES), scale=alt.Scale(scheme="tableau10"),
                  legend=alt.Legend(orient="top", title=None)),
        alt.Order("stage_order:Q"), tooltip=["strategy:N", "month:Q", "stage:N", "people:Q"],
    ).transform_calculate(
        stage_order=f"indexof({list(ACTIVE_STAGES)}, datum.stage)",
    ).properties(width=CHART_WIDTH // 2 - 10, height=CHART_HEIGHT)
    chart = chart.facet(column=alt.Column("strategy:N", title=None,
                                          sort=list(live.settings.strategies)))
    return _figure(chart, "Customers by stage")


def flows_chart(live: LiveComparison):
    """Acquisitions and departures each month, one line per strategy (customers a month)."""
    if live.month == 0:
        return _waiting("Acquisitions and churn per month")
    data = live.monthly().melt(["strategy", "month"], ["acquisitions", "churned"], "flow",
                               "people")
    chart = alt.Chart(data).mark_line().encode(
        _x(live), alt.Y("people:Q", title="customers a month"), _colour(live),
        tooltip=["strategy:N", "month:Q", "flow:N", "people:Q"],
    ).properties(width=CHART_WIDTH // 2 - 10, height=CHART_HEIGHT)
    chart = chart.facet(column=alt.Column("flow:N", title=None,
                                          sort=["acquisitions", "churned"]))
    return _figure(chart, "Acquisitions and churn per month")


def cash_chart(live: LiveComparison):
    return _lines(live, "cumulative_dcf", "Cumulative discounted cash flow",
                  "currency, discounted to month 0")


def service_chart(live: LiveComparison):
    """Share of each human channel's contacts answered within its target, per strategy,
    against the target (dashed)."""
    title = "Service level per human channel"
    if live.month == 0:
        return _waiting(title)
    channels = live.parameters.human_channels
    data = live.monthly().melt(["strategy", "month"], [f"service_level_{c}" for c in channels],
                               "channel", "answered")
    data["channel"] = data["channel"].str.removeprefix("service_level_")
    targets = live.parameters.service_targets
    data["target"] = data["channel"].map(lambda c: targets[c][0])
    lines = alt.Chart().mark_line().encode(
        _x(live), alt.Y("answered:Q", title="answered within target", axis=alt.Axis(format="%"),
              scale=alt.Scale(domain=[0, 1])),
        _colour(live), tooltip=["strategy:N", "month:Q", "channel:N",
                                alt.Tooltip("answered:Q", format=".1%")])
    target = alt.Chart().mark_rule(strokeDash=[4, 4], color="grey").encode(
        y="mean(target):Q")
    chart = alt.layer(lines, target, data=data).properties(
        width=CHART_WIDTH // max(len(channels), 1) - 10, height=CHART_HEIGHT)
    chart = chart.facet(column=alt.Column("channel:N", title=None, sort=list(channels)))
    return _figure(chart, title)


def cost_chart(live: LiveComparison):
    return _lines(live, "cost_to_serve", "Cost to serve",
                  "contact and staffing cost per customer")


def satisfaction_chart(live: LiveComparison):
    return _lines(live, "mean_satisfaction", "Satisfaction of current customers",
                  "mean satisfaction (0..1)")


CHARTS = (stages_chart, flows_chart, cash_chart, service_chart, cost_chart,
          satisfaction_chart)
"""The SolaraViz components, in page order (SolaraViz redraws each at every month)."""


STYLE = """
.cvm-key { font-size: 12px; color: rgba(0, 0, 0, 0.6); margin-top: 8px; }
.cvm-value { min-width: 4em; text-align: right; }
.cvm-journey { border-collapse: collapse; }
.cvm-journey th, .cvm-journey td { padding: 1px 8px; text-align: left; }
.cvm-journey tr:nth-child(even) { background: rgba(0, 0, 0, 0.04); }
/* SolaraViz's "Model Parameters" card: the settings live in their own cards, so it
   would stand empty. */
.v-card:has(> .v-card__text > .v-sheet:empty) { display: none; }
"""


# ------------------------------------------------------------------------------ controls
def lever_control(lever: Lever, value, on_value: Callable[[object], None]):
    """The control of ``lever`` showing ``value``, labelled with its scenario key; calls
    ``on_value`` with a new value. Keyed by the key: a control never turns into another
    kind of control when the levers change."""
    control = {"switch": SwitchLever, "picker": PickerLever, "slider": SliderLever}
    return control[lever.kind](lever, value, on_value).key(lever.key)


@solara.component
def SwitchLever(lever: Lever, value, on_value: Callable[[object], None]):
    solara.Checkbox(label=lever.key, value=bool(value), on_value=on_value)


@solara.component
def PickerLever(lever: Lever, value, on_value: Callable[[object], None]):
    by_text = dict(lever.choices)
    solara.Select(label=lever.key, values=list(by_text), value=lever.shown(value),
                  on_value=lambda text: on_value(by_text[text]))


@solara.component
def SliderLever(lever: Lever, value, on_value: Callable[[object], None]):
    # The key above the slider, as the pickers have it: beside it, keys this long would
    # leave the slider no room.
    solara.Text(lever.key, classes=["cvm-key"])
    with solara.Row(style={"align-items": "center"}):
        # Applied when the slider is let go, not at every pixel of a drag: each change
        # restarts the comparison.
        slider = solara.v.Slider(v_model=value, min=lever.low, max=lever.high,
                                 step=lever.step, hide_details=True, thumb_label=True,
                                 aria_label=lever.key)
        solara.Text(f"{value:,.2f}".rstrip("0").rstrip("."), classes=["cvm-value"])
    reacton.ipyvue.use_event(slider, "change",
                             lambda _widget, _event, data: on_value(lever.snap(data)))


def _scenario_names(current: str) -> dict[str, str]:
    """Picker text → file: the shipped scenarios by their path under ``scenarios/``, and
    the current file by its own path if it is not one of them."""
    names = {str(p.relative_to(SCENARIOS)): str(p) for p in shipped_scenarios()}
    if Path(current).resolve() not in {Path(p).resolve() for p in names.values()}:
        names[current] = current
    return names


def _shown_file(names: dict[str, str], file: str) -> str:
    return next(text for text, path in names.items()
                if Path(path).resolve() == Path(file).resolve())


@solara.component
def Choices(draft: Settings, base: Scenario, propose: Callable[[Settings], None]):
    """The scenario file, the two strategies and the seed of ``draft``, in a row above the
    charts, where the whole class sees what runs."""
    names = _scenario_names(draft.file)

    def pick_file(text: str) -> None:
        try:
            propose(Settings.of(names[text]))
        except InputError as err:   # the picker keeps showing the file that runs
            propose(draft, str(err))

    def pick_strategy(i: int, name: str) -> None:
        pair = list(draft.strategies)
        pair[i] = name
        kept = {lever.key for lever in levers(base, pair)}
        propose(replace(draft, strategies=tuple(pair),
                        changes=tuple((k, v) for k, v in draft.changes if k in kept)))

    with solara.Columns([3, 2, 2, 2]):
        solara.Select(label="scenario file", values=list(names),
                      value=_shown_file(names, draft.file), on_value=pick_file)
        for i, label in enumerate(("first strategy", "second strategy")):
            solara.Select(label=label, values=list(base.strategies),
                          value=draft.strategies[i],
                          on_value=lambda name, i=i: pick_strategy(i, name))
        solara.InputText("simulation.seed", value=draft.seed,
                         on_value=lambda text: propose(replace(draft, seed=text)))


@solara.component
def _SidebarBelow(children=(), depth: int = 2):
    """Puts its children in the sidebar below SolaraViz's controls. Solara orders sidebar
    content by how deep in the component tree it is added, and SolaraViz adds its own as
    deep as a component beside it would: ``depth`` more levels put these below it
    (tests/test_dashboard.py checks the order)."""
    if depth:
        _SidebarBelow(children=list(children), depth=depth - 1)
    else:
        solara.Sidebar(children=list(children))


@solara.component
def Levers(draft: Settings, base: Scenario, propose: Callable[[Settings], None]):
    """The levers of ``draft``'s two strategies and of the market, in the sidebar below
    SolaraViz's controls, each labelled with its scenario key."""
    changed = dict(draft.changes)
    page_levers = levers(base, draft.strategies)
    with _SidebarBelow():
        for owner in [*dict.fromkeys(draft.strategies), "market"]:
            prefix = "market." if owner == "market" else f"strategies.{owner}."
            with solara.Card(f"Levers: {owner}").key(owner):
                for lever in page_levers:
                    if lever.key.startswith(prefix):
                        lever_control(lever, changed.get(lever.key, lever.value),
                                      lambda v, key=lever.key: propose(draft.change(key, v)))


@solara.component
def Status(live: LiveComparison, problem: str | None):
    """The month shown, what the page simulates, and why the last setting was refused."""
    update_counter.get()   # redrawn at every month SolaraViz runs
    market = live.parameters.market
    per = market.customers_per_agent
    # HTML, not Markdown: solara's Markdown would load a diagram library from the CDN.
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<b>Month <span class='cvm-month'>{live.month}</span> of {live.horizon}</b> · "
        f"{html.escape(' vs '.join(live.settings.strategies))} · seed "
        f"{live.parameters.simulation.seed}<br>A market of "
        f"{format_number(market.population)} people, simulated live as "
        f"{format_number(live.people)}: each stands for {per:,} "
        f"(<code>market.customers_per_agent: {per}</code>); counts and money are the "
        f"market's. Both strategies take over the same market at month 0, grown under "
        f"{html.escape(live.parameters.compare[0])}, and meet the same random draws."),
        style="font-size: 15px; margin: 8px 0", classes=["cvm-status"])
    if problem:
        solara.Error(f"Not applied: {problem}", classes=["cvm-problem"])


@solara.component
def Journey(live: LiveComparison):
    """One customer row's journey under both strategies, the latest month first."""
    update_counter.get()
    row, set_row = solara.use_state(None)
    typed, set_typed = solara.use_state("")
    message, set_message = solara.use_state(None)

    def pick(text: str) -> None:
        set_typed(text)
        try:
            picked = int(text.strip())
        except ValueError:
            picked = None
        if picked is None or not 0 <= picked < live.people:
            set_message(f"customer row: give a whole number from 0 to {live.people - 1} "
                        f"(got {text!r})")
            return
        set_message(None)
        set_row(picked)

    def pick_leaver() -> None:
        picked = live.random_leaver()
        if picked is None:
            set_message("nobody has left yet: step a few months first")
        else:
            set_message(None)
            set_typed(str(picked))
            set_row(picked)

    with solara.Card("Customer journey"):
        with solara.Row(style={"align-items": "center"}):
            solara.InputText("customer row", value=typed, on_value=pick)
            solara.Button("a random one that left", on_click=pick_leaver, color="primary",
                          outlined=True)
        if message:
            solara.Warning(message)
        if row is None or row >= live.people:   # none yet, or not in a smaller market
            solara.Text("Pick a customer by row, or a random one that left, to follow "
                        "them month by month.")
            return
        with solara.Columns([1, 1]):
            for name, table in zip(live.settings.strategies, live.journey(row), strict=True):
                with solara.Column():
                    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(name)}</b>, "
                                                            f"row {row}")
                    solara.HTML(tag="div", unsafe_innerHTML=table.iloc[::-1].to_html(
                        index=False, classes="cvm-journey", border=0),
                        style="max-height: 320px; overflow-y: auto; font-size: 13px")


@solara.component
def Page():
    """The app: the choices and the month above SolaraViz's charts, its controls and the
    levers in the sidebar, a customer's journey below."""
    first = solara.use_memo(
        lambda: Settings.of(os.environ.get(SCENARIO_ENV, str(DEFAULT_SCENARIO))), [])
    draft = solara.use_reactive(first)
    problem = solara.use_reactive(None)
    # One reactive model per page: SolaraViz's Reset and Play replace and step it, and a
    # changed setting replaces it.
    model = solara.use_memo(lambda: solara.reactive(LiveComparison(first)), [])

    def propose(settings: Settings, error: str | None = None) -> None:
        draft.set(settings)
        if error is None:
            try:
                model.set(LiveComparison(settings))
            except InputError as err:
                error = str(err)
        problem.set(error)

    live = model.value
    base = solara.use_memo(lambda: base_scenario(draft.value.file), [draft.value.file])
    solara.Style(STYLE)
    Choices(draft.value, base, propose)
    Status(live, problem.value)
    # Keyed by the settings: a new comparison gets fresh controls, whose Reset rebuilds it.
    SolaraViz(model, components=list(CHARTS), model_params={"settings": live.settings},
              name="CVM-Sim: two strategies side by side",
              play_interval=PLAY_INTERVAL_MS).key(repr(live.settings))
    Levers(draft.value, base, propose)
    Journey(live)
