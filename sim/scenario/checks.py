"""Cross-checks of a scenario that no single field can make: names that refer to nothing,
shares that do not add up, a sweep that does not fit its design or its scenario.

:class:`~.schema.Scenario` runs them in its validators, once every field is valid. They
read the scenario they are given and know no model class by name: the class to validate a
sweep's trial scenarios against is the given scenario's own.
"""

from __future__ import annotations

import copy
import re

from pydantic import ValidationError

from ..errors import ScenarioError
from ..outcomes import outcomes_of
from .limits import MAX_NAME_LENGTH, MAX_POPULATION, MAX_SWEEP_POINTS
from .messages import _did_you_mean, _from_pydantic, _show
from .paths import _set_path

SCHEDULABLE = ("budgets", "programmes", "steering", "staffing", "priority_share",
               "tier_shares", "sales_centre", "analytics_cost")
"""Strategy keys a schedule may change during the horizon: how much the firm spends and
how it staffs and serves. What it offers and how it reads its customers (propositions,
data quality) are set at the take-over."""

STRATEGY_NAME = re.compile(r"[A-Za-z0-9_-]+")
"""What a strategy may be called: it becomes part of result file names."""


def _reference_errors(s):
    """Yield (path, message) for every name of the scenario ``s`` that refers to nothing, and
    inconsistent sums."""
    attrs = set(s.market.attributes)
    segs = s.market.segments
    total = sum(seg.share for seg in segs.values())
    if abs(total - 1.0) > 1e-6:
        yield "market.segments", f"segment shares sum to {total:.6g}, not 1"
    if s.market.initial_customers > s.market.population:
        yield "market.initial_customers", (
            f"{s.market.initial_customers} initial customers exceed the population "
            f"{s.market.population}")
    k = s.market.customers_per_agent
    for key in ("population", "initial_customers"):
        people = getattr(s.market, key)
        if people % k:
            below, above = people - people % k, people - people % k + k
            yield f"market.{key}", (
                f"{people:,} is not a whole number of agents of {k:,} people each "
                f"(market.customers_per_agent): use {below:,} or {above:,}")
    if s.market.agents > MAX_POPULATION:
        yield "market.population", (
            f"{s.market.population:,} people at {s.market.customers_per_agent:,} per agent "
            f"make {s.market.agents:,} agents, more than the {MAX_POPULATION:,} a run can "
            "hold: raise market.customers_per_agent")
    for name, seg in segs.items():
        base = f"market.segments.{name}"
        yield from _unknown(seg.needs, attrs, f"{base}.needs", "attribute")
        yield from _unknown(seg.channel_preferences, s.channels, f"{base}.channel_preferences",
                            "channel")
        if sum(seg.channel_preferences.values()) <= 0:
            yield f"{base}.channel_preferences", "at least one channel needs a positive weight"
    yield from _unknown(s.market.competitor_utility, segs, "market.competitor_utility", "segment")
    for name in segs:
        if name not in s.market.competitor_utility:
            yield "market.competitor_utility", f"no competitor utility for segment '{name}'"
    for i, move in enumerate(s.market.competitor_moves):
        where = f"market.competitor_moves.{i}"
        for j, name in enumerate(move.segments):
            if name not in segs:
                yield f"{where}.segments.{j}", _no_such("segment", name, segs)
        if move.from_month > s.simulation.horizon_months:
            yield f"{where}.from_month", (f"month {move.from_month} is after the horizon "
                                          f"({s.simulation.horizon_months} months)")
    for name, prop in s.propositions.items():
        yield from _unknown(prop.benefits, attrs, f"propositions.{name}.benefits", "attribute")
    for name, offer in s.offers.items():
        yield from _unknown(offer.response, segs, f"offers.{name}.response", "segment")
    for name, strat in s.strategies.items():
        base = f"strategies.{name}"
        if strat.proposition is not None and strat.proposition not in s.propositions:
            yield f"{base}.proposition", _no_such("proposition", strat.proposition,
                                                  s.propositions)
        if isinstance(strat.propositions, dict):
            yield from _unknown(strat.propositions, segs, f"{base}.propositions", "segment")
            for label, prop in strat.propositions.items():
                if prop not in s.propositions:
                    yield f"{base}.propositions.{label}", _no_such("proposition", prop,
                                                                   s.propositions)
            for seg_name in segs:
                if seg_name not in strat.propositions:
                    yield f"{base}.propositions", f"no proposition for segment '{seg_name}'"
        yield from _staffing_errors(s, strat.staffing, base)
        if strat.steering is not None:
            yield from _steering_errors(s, strat.steering, f"{base}.steering")
        yield from _offer_errors(s, strat, base)
        yield from _schedule_errors(s, strat, base)
    named = {"market.attributes": s.market.attributes, "market.segments": s.market.segments,
             "propositions": s.propositions, "channels": s.channels, "offers": s.offers,
             "strategies": s.strategies}
    for where, names in named.items():
        for name in names:
            if len(name) > MAX_NAME_LENGTH:
                yield f"{where}.{name[:20]}…", (f"a name may be at most {MAX_NAME_LENGTH} "
                                                f"characters (this one has {len(name)})")
            elif not name.isprintable():
                yield f"{where}.{name.encode('unicode_escape').decode()}", (
                    "a name may not hold control characters (tabs, newlines, ...)")
    for name in s.strategies:
        if not STRATEGY_NAME.fullmatch(name):
            yield f"strategies.{name}", ("a strategy name may hold only letters, digits, _ "
                                         "and - (it names result files)")
    for i, name in enumerate(s.compare):
        if name not in s.strategies:
            yield f"compare.{i}", _no_such("strategy", name, s.strategies)
        elif name in s.compare[:i]:
            yield f"compare.{i}", f"strategy '{name}' is compared twice"


def _staffing_errors(s, staffing, base: str):
    """Yield (path, message) for a strategy's ``staffing`` that misses a human channel or
    names a channel it cannot staff; ``base`` is the strategy's path."""
    for channel, spec in s.channels.items():
        if spec.human and channel not in staffing:
            yield f"{base}.staffing", f"no staffing for human channel '{channel}'"
    for channel, staff in staffing.items():
        if channel not in s.channels:
            yield f"{base}.staffing.{channel}", _no_such("channel", channel, s.channels)
        elif not s.channels[channel].human:
            yield f"{base}.staffing.{channel}", "self-service channels have no staff"
        elif isinstance(staff, tuple) and len(staff) != len(s.channels[channel].hourly_profile):
            yield f"{base}.staffing.{channel}", (
                f"{len(staff)} hourly values for a channel open "
                f"{len(s.channels[channel].hourly_profile)} hours a day (its hourly_profile)")


def _steering_errors(s, steering, base: str):
    """Yield (path, message) for channel steering that names unknown channels or labels, or
    steers a channel to itself; ``base`` is the steering block's path."""
    if steering.to not in s.channels:
        yield f"{base}.to", _no_such("channel", steering.to, s.channels)
    for i, channel in enumerate(steering.away_from):
        if channel not in s.channels:
            yield f"{base}.away_from.{i}", _no_such("channel", channel, s.channels)
        elif channel == steering.to:
            yield f"{base}.away_from.{i}", f"contacts cannot be steered from '{channel}' to itself"
    for i, label in enumerate(steering.labels):
        if label not in s.market.segments:
            yield f"{base}.labels.{i}", _no_such("segment label", label, s.market.segments)


def _offer_errors(s, strat, base: str):
    """Yield (path, message) for a strategy's cross-sell offer or test naming offers the
    scenario does not have, testing one twice, or making an offer outside its test."""
    if strat.offer is not None and strat.offer not in s.offers:
        yield f"{base}.offer", _no_such("offer", strat.offer, s.offers)
    test = strat.test_and_learn
    if test is None:
        return
    for i, name in enumerate(test.offers):
        if name not in s.offers:
            yield f"{base}.test_and_learn.offers.{i}", _no_such("offer", name, s.offers)
        elif name in test.offers[:i]:
            yield f"{base}.test_and_learn.offers.{i}", f"offer '{name}' is tested twice"
    if strat.offer is not None and strat.offer not in test.offers:
        yield f"{base}.offer", (f"offer '{strat.offer}' is not among the offers tested "
                                f"({', '.join(test.offers)}): the test compares it with them")


def _schedule_errors(s, strat, base: str):
    """Yield (path, message) for scheduled changes of a strategy that change what may not
    change during the horizon, or that make it invalid from their month on."""
    for i, change in enumerate(strat.schedule):
        where = f"{base}.schedule.{i}.set"
        fixed = [key for key in change.set if key.split(".")[0] not in SCHEDULABLE]
        for key in fixed:
            yield f"{where}.{key}", ("cannot change during the horizon; a schedule may change "
                                     "only " + ", ".join(SCHEDULABLE))
        if fixed:
            continue
        try:
            later = strat.at(change.from_month)
        except ScenarioError as err:
            yield (f"{where}.{err.path}" if err.path else where), err.message
            continue
        if change.from_month > s.simulation.horizon_months:
            yield f"{base}.schedule.{i}.from_month", (
                f"month {change.from_month} is after the horizon "
                f"({s.simulation.horizon_months} months)")
        yield from _staffing_errors(s, later.staffing, where)


def _sweep_errors(s):
    """Yield (path, message) for a sweep block of the scenario ``s`` that does not fit its
    design or scenario.

    Each varied key must name a number of the scenario, and the scenario must stay valid
    at the ends of its range (or at each of its values): it is overridden with each and
    validated, so a bad path gets the same did-you-mean as a bad key in a file.
    """
    sweep = s.sweep
    if sweep is None:
        return
    known = outcomes_of(s.human_channels)
    if sweep.outcome not in known:
        yield "sweep.outcome", _no_such("summary metric", sweep.outcome, known)
    if sweep.design == "grid" and sweep.samples is not None:
        yield "sweep.samples", "a grid takes no samples: its points are every combination"
    if sweep.design != "grid" and sweep.samples is None:
        yield "sweep.samples", f"a {sweep.design} design needs samples"
    if sweep.design == "sobol" and sweep.samples and sweep.samples & (sweep.samples - 1):
        # Sobol' sequences keep their balance only over powers of 2 points.
        yield "sweep.samples", f"a sobol design needs a power of 2 (got {sweep.samples})"
    points = design_points(sweep)
    if points > MAX_SWEEP_POINTS:
        yield "sweep", (f"the design has {points:,} points, more than {MAX_SWEEP_POINTS:,}; "
                        "use fewer samples, levels or values")
    model = type(s)
    data = s.model_dump(mode="json", exclude={"sweep"})
    for dotted, param in sweep.parameters.items():
        where = f"sweep.parameters.{dotted}"
        if sweep.design == "grid" and param.values is None and param.levels is None:
            yield where, "a grid over a range needs levels (or give values)"
        if sweep.design != "grid" and param.values is None and param.levels is not None:
            yield where, f"a {sweep.design} design samples the range: levels is for grids"
        if sweep.design != "grid" and param.values is not None:
            yield where, f"a {sweep.design} design samples a range: give low and high"
        try:
            current = s.value(dotted)
        except ScenarioError as err:
            yield where, err.message
            continue
        if type(current) not in (int, float):
            yield where, f"a sweep varies numbers, and this key holds {_show(current)}"
            continue
        probes = param.values if param.values is not None else (param.low, param.high)
        for probe in probes:
            value = round(probe) if type(current) is int else probe
            trial = copy.deepcopy(data)
            _set_path(trial, dotted, value, model)
            try:
                model.model_validate(trial)
            except ValidationError as err:
                problem = _from_pydantic(err, trial, None, {}, model)
            except ScenarioError as err:
                problem = err
            else:
                continue
            inner = "" if problem.path == dotted else f"{problem.path}: "
            yield where, f"the scenario is invalid at {value:g}: {inner}{problem.message}"
            break


def design_points(sweep) -> int:
    """Points of a sweep's design: every combination of a grid's values (or levels); lhs:
    samples; sobol: samples × (parameters + 2); morris: samples × (parameters + 1)."""
    k = len(sweep.parameters)
    if sweep.design == "grid":
        points = 1
        for param in sweep.parameters.values():
            points *= len(param.values) if param.values is not None else (param.levels or 1)
        return points
    extra = {"lhs": 0, "sobol": k + 2, "morris": k + 1}[sweep.design]
    return (sweep.samples or 0) * max(extra, 1)


def _unknown(mapping, known, path, what):
    for key in mapping:
        if key not in known:
            yield f"{path}.{key}", _no_such(what, key, known)


def _no_such(what: str, name: str, known) -> str:
    return f"no {what} named '{name}'{_did_you_mean(name, known)}"
