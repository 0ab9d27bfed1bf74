"""Scenario files: YAML → one validated, typed, immutable :class:`Scenario`.

This is the only place where parameters are checked (DESIGN decision 4). Past
:func:`load_scenario`, code trusts its inputs. Every error is a
:class:`ScenarioError` naming the file, the line where known and the dotted key path.

Units are stated in each field's description (they also appear in ``cvm schema``):
money is in the scenario's currency, flows are per month unless the key says
``annual``, probabilities are in [0, 1], utilities are in "utility units" (the
scale on which a logistic response turns 0 into one half).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .codes import ACTIVE_STAGES, STAGES, TIERS  # noqa: F401 - re-exported
from .errors import ScenarioError
from .outcomes import OUTCOMES

STRATEGY_NAME = re.compile(r"[A-Za-z0-9_-]+")
"""What a strategy may be called: it becomes part of result file names."""
MAX_POPULATION = 10_000_000
"""Largest market simulated: about 250 bytes of memory per customer, so 2.5 GB."""


def _reject_bool(kind: str) -> BeforeValidator:
    """A validator that refuses booleans where a number (``kind``) is expected."""
    # YAML reads yes/no/on/off/true/false as booleans, and pydantic would quietly take them
    # as 1 and 0: `population: yes` would become a market of one customer.
    def check(value):
        if isinstance(value, bool):
            raise PydanticCustomError("number_not_bool", "should be " + kind)
        return value
    return BeforeValidator(check)


# Written after the Field in each Annotated: before it, pydantic would turn ge/le into
# keywords that JSON Schema does not know (instead of minimum/maximum) in `cvm schema`.
_NUMBER = _reject_bool("a number")
_WHOLE = _reject_bool("a whole number")
Real = Annotated[float, _NUMBER]
Probability = Annotated[float, Field(ge=0.0, le=1.0), _NUMBER]
NonNegative = Annotated[float, Field(ge=0.0), _NUMBER]
Positive = Annotated[float, Field(gt=0.0), _NUMBER]
Money = Annotated[float, Field(ge=0.0), _NUMBER]


class FrozenDict(dict):
    """A mapping inside a scenario: reads like a dict, refuses every change.

    (``types.MappingProxyType`` would do, but cannot be pickled, and scenarios travel to
    worker processes.)
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError("scenarios are immutable; use Scenario.override(...) for a changed copy")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (FrozenDict, (dict(self),))

    def __deepcopy__(self, memo):
        return FrozenDict({k: copy.deepcopy(v, memo) for k, v in self.items()})


def _pair_or_single(pair: tuple, single, pair_names: tuple[str, str], single_name: str,
                    pair_means: str) -> bool:
    """Check that exactly one of two forms is given: both of ``pair``, or ``single``.

    Returns True for the pair form. Raises ValueError naming the keys otherwise.
    """
    paired = any(v is not None for v in pair)
    first, second = pair_names
    if paired == (single is not None):
        raise ValueError(f"give either {first} and {second}, or {single_name} "
                         "(exactly one form)")
    if paired and any(v is None for v in pair):
        raise ValueError(f"{pair_means} needs both {first} and {second}")
    return paired


class _Frozen(BaseModel):
    # NaN and infinity are never meaningful parameters, and NaN passes every range check.
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True,
                              allow_inf_nan=False)

    @model_validator(mode="after")
    def _freeze_mappings(self):
        # frozen=True stops attribute assignment; this stops changes inside mappings.
        for name in type(self).model_fields:
            value = getattr(self, name)
            if type(value) is dict:
                object.__setattr__(self, name, FrozenDict(value))
        return self


# --------------------------------------------------------------------------- market
class ChurnPropensity(_Frozen):
    """Base churn propensity θ of a segment's customers, per churn opportunity.

    A churn opportunity is a month, or a renewal when ``lifecycle.renewal_every_months > 1``.
    Either heterogeneous, θ ~ Beta(alpha, beta) (mean alpha / (alpha + beta); the
    shifted-beta-geometric model of Fader & Hardie 2007), or ``constant`` for everyone.
    """

    alpha: Positive | None = Field(None, description="Beta shape α of θ across customers (> 0).")
    beta: Positive | None = Field(None, description="Beta shape β of θ across customers (> 0).")
    constant: Probability | None = Field(
        None, description="Same θ for every customer, probability per churn opportunity.")

    @model_validator(mode="after")
    def _one_form(self) -> ChurnPropensity:
        _pair_or_single((self.alpha, self.beta), self.constant, ("alpha", "beta"), "constant",
                        "a Beta distribution")
        return self

    @property
    def mean(self) -> float:
        """Mean θ across customers (probability per churn opportunity)."""
        if self.constant is not None:
            return self.constant
        return self.alpha / (self.alpha + self.beta)


class Segment(_Frozen):
    """A group of customers who want the same things (true segment, unknown to the firm)."""

    share: Probability = Field(description="Share of the population in this segment (0..1).")
    needs: dict[str, NonNegative] = Field(
        description="Weight of each proposition attribute in this segment's utility "
                    "(utility units per unit of benefit).")
    price_sensitivity: NonNegative = Field(
        description="Utility lost per currency unit of monthly price.")
    churn: ChurnPropensity
    margin_potential: Positive = Field(
        1.0, description="Spend multiplier: revenue and delivery cost per product scale with it.")
    contact_rate: Probability = Field(
        description="Probability that a customer contacts the firm for service in a month.")
    channel_preferences: dict[str, NonNegative] = Field(
        description="Relative preference for each channel when contacting (normalised to 1).")
    innovation: Probability = Field(
        0.0, description="Bass p: monthly probability that a prospect considers the firm "
                         "unprompted.")
    word_of_mouth: NonNegative = Field(
        0.0, description="Bass q: monthly adoption probability per unit share of the "
                         "population that are (satisfied) customers.")


class Market(_Frozen):
    """Who is out there and how they respond."""

    population: Annotated[int, Field(ge=1, le=MAX_POPULATION), _WHOLE] = Field(
        description="Number of customer agents: prospects, customers and departed "
                    "together (at most 10 million).")
    initial_customers: Annotated[int, Field(ge=0), _WHOLE] = Field(
        description="Customers at month 0 (the rest start as prospects).")
    initial_max_tenure_months: Annotated[int, Field(ge=0), _WHOLE] = Field(
        36, description="Initial customers have been customers for 1 + U{0..this} months.")
    attributes: tuple[str, ...] = Field(
        min_length=1, description="Names of the proposition attributes customers value.")
    segments: dict[str, Segment] = Field(min_length=1)
    competitor_utility: dict[str, Real] = Field(
        description="Utility of the competitor's offer (the outside option) per segment.")
    exit_rate: Probability = Field(
        0.0, description="Monthly probability that a person who is not a customer (a prospect "
                         "or a departed customer) leaves the market; a newcomer of the same "
                         "segment takes their place as a prospect, so the market keeps its "
                         "size (entries equal exits).")
    reconsider_after_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] | None = Field(
        None, description="Months after leaving after which a departed customer who was not "
                          "won back is a prospect again (null: never).")
    needs_contrast: NonNegative = Field(
        1.0, description="How different the segments' needs are: each segment's needs are "
                         "mean + contrast × (needs − mean), the mean weighted by share. 1 keeps "
                         "them as written, 0 makes every segment want the same, above 1 "
                         "exaggerates the differences (weights are floored at 0).")


# --------------------------------------------------------------------- firm's means
class Proposition(_Frozen):
    """A product-and-service bundle the firm can offer."""

    price: Money = Field(description="Price per customer per month (currency).")
    unit_cost: Money = Field(description="Delivery cost per customer per month (currency).")
    benefits: dict[str, Probability] = Field(
        description="Benefit delivered on each attribute (0..1).")
    fixed_cost: Money = Field(
        0.0, description="Cost of running this proposition per month while it is offered "
                         "(currency/month): product management, systems, training.")


class Channel(_Frozen):
    """A way customers contact the firm. Human channels queue: each opening hour is an
    Erlang C queue with that hour's share of the day's contacts and that hour's agents."""

    human: bool = Field(description="Staffed by people (queues) or self-service (no queue).")
    cost_per_contact: Money = Field(description="Variable cost of one contact (currency).")
    quality: Real = Field(
        description="Utility added to the month's experience by a contact served in time.")
    wait_penalty: NonNegative = Field(
        0.0, description="Utility lost by a contact not answered within the service target "
                         "(human channels).")
    cross_sell: Probability = Field(
        0.0, description="Probability that a served contact prompted as a sales contact "
                         "sells an extra product.")
    handle_time_seconds: Positive = Field(300.0, description="Average handle time (seconds).")
    service_target_seconds: NonNegative = Field(
        20.0, description="Answer-within target for the service level (seconds).")
    days_per_month: Positive = Field(
        22.0, description="Opening days per month over which contacts spread.")
    hourly_profile: tuple[NonNegative, ...] = Field(
        (1.0,) * 12, min_length=1, max_length=24,
        description="Relative contact load of each opening hour of a day (one entry per hour; "
                    "normalised to shares). A peak hour of 5 against 1 elsewhere carries five "
                    "times the contacts of a quiet hour.")
    cost_per_agent_hour: Money = Field(
        0.0, description="Cost of one agent for one staffed hour (currency/hour).")

    @model_validator(mode="after")
    def _some_load(self) -> Channel:
        if sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile needs at least one hour with a positive load")
        return self


# --------------------------------------------------------------------- behaviour
StageWeights = dict[Literal["acquisition", "growth", "maturity", "decline"], NonNegative]


def _neutral_stages() -> dict[str, float]:
    """A multiplier of 1 for every active stage: no stage effect."""
    return dict.fromkeys(ACTIVE_STAGES, 1.0)


class SatisfactionParams(_Frozen):
    """How experiences become satisfaction (a 0..1 state, exponentially smoothed)."""

    memory: Probability = Field(
        0.7, description="Weight of last month's satisfaction; 1 freezes satisfaction.")
    proposition_weight: NonNegative = Field(
        1.0, description="Weight of the proposition's fit (vs the competitor) in experience.")
    service_weight: NonNegative = Field(
        1.0, description="Weight of contact quality / waiting in experience; 0 switches off "
                         "the service effect.")


class ChurnParams(_Frozen):
    """How the base propensity θ becomes a churn probability: p = 1 − (1 − θ)^m."""

    satisfaction_effect: NonNegative = Field(
        3.0, description="log m falls by this per unit of satisfaction above neutral; 0 makes "
                         "churn ignore satisfaction.")
    neutral_satisfaction: Probability = Field(
        0.5, description="Satisfaction at which churn equals the base propensity.")
    stage_multipliers: StageWeights = Field(
        default_factory=_neutral_stages,
        description="Hazard multiplier m per active stage.")
    product_effect: Probability = Field(
        0.0, description="Proportional hazard reduction per product held beyond the first.")
    retention_effect: Probability = Field(
        0.0, description="Proportional hazard reduction for a customer in a retention "
                         "programme this month.")


class DevelopmentParams(_Frozen):
    """Cross-sell: customers taking further products."""

    base_rate: Probability = Field(
        0.0, description="Monthly probability of buying an extra product unprompted at "
                         "satisfaction 1.")
    campaign_response: Probability = Field(
        0.0, description="Probability that a customer reached by a cross-sell campaign buys.")
    stage_multipliers: StageWeights = Field(
        default_factory=_neutral_stages)
    max_products: Annotated[int, Field(ge=1, le=20), _WHOLE] = Field(
        1, description="Most products one customer can hold.")
    extra_product_price: Money = Field(
        0.0, description="Revenue per extra product per month (currency), × margin potential.")
    extra_product_cost: Money = Field(
        0.0, description="Delivery cost per extra product per month (currency), × margin "
                         "potential.")


class LifecycleParams(_Frozen):
    """Stage progression thresholds and the contract rhythm."""

    onboarding_months: Annotated[int, Field(ge=1), _WHOLE] = Field(
        3, description="Months a new customer stays in the acquisition (onboarding) stage.")
    maturity_tenure_months: Annotated[int, Field(ge=1), _WHOLE] = Field(
        24, description="Tenure (months) after which a growing customer is mature.")
    maturity_products: Annotated[int, Field(ge=1), _WHOLE] = Field(
        3, description="Products held at which a growing customer is mature.")
    decline_threshold: Probability = Field(
        0.35, description="Satisfaction below which a customer enters decline.")
    recovery_threshold: Probability = Field(
        0.5, description="Satisfaction at or above which a declining customer recovers.")
    renewal_every_months: Annotated[int, Field(ge=1), _WHOLE] = Field(
        1, description="Churn is possible only every this many months of tenure "
                       "(1 = monthly, 12 = annual contracts).")

    @model_validator(mode="after")
    def _thresholds(self) -> LifecycleParams:
        if self.recovery_threshold < self.decline_threshold:
            raise ValueError("recovery_threshold must be at least decline_threshold")
        return self


class WordOfMouthParams(_Frozen):
    satisfaction_weighted: bool = Field(
        True, description="Weigh each customer's word of mouth by satisfaction (false = plain "
                          "Bass: every customer counts as one adopter).")


class Behaviour(_Frozen):
    """How customers respond to what they meet."""

    satisfaction: SatisfactionParams = SatisfactionParams()
    churn: ChurnParams = ChurnParams()
    development: DevelopmentParams = DevelopmentParams()
    lifecycle: LifecycleParams = LifecycleParams()
    word_of_mouth: WordOfMouthParams = WordOfMouthParams()
    acquisition_response: Probability = Field(
        1.0, description="Probability that a prospect reached by paid marketing considers the "
                         "offer (then converts with the offer's pull against the competitor).")
    winback_response: Probability = Field(
        0.0, description="Probability that a departed customer reached by win-back returns "
                         "(times the offer's pull against the competitor).")
    winback_after_months: Annotated[int, Field(ge=1), _WHOLE] = Field(
        3, description="Months after departure before win-back may target a customer.")
    retention_boost: Real = Field(
        0.0, description="Utility added to the experience of a customer in a retention "
                         "programme.")


class Economics(_Frozen):
    discount_rate_annual: Annotated[float, Field(gt=0.0, le=1.0), _NUMBER] = Field(
        0.10, description="Annual discount rate (0.10 = 10 % a year), applied monthly; "
                          "positive so that the value of a customer who never leaves is finite.")
    cost_per_reach: Money = Field(
        5.0, description="Paid acquisition cost per prospect reached (currency).")
    cost_per_campaign_contact: Money = Field(
        2.0, description="Cross-sell campaign cost per customer reached (currency).")
    cost_per_retention: Money = Field(
        20.0, description="Retention programme cost per declining customer reached "
                          "(currency/month).")
    cost_per_winback: Money = Field(
        15.0, description="Win-back cost per departed customer reached (currency).")


# --------------------------------------------------------------------- strategies
class Budgets(_Frozen):
    """Monthly budgets; unspent budget is not carried over (currency/month)."""

    acquisition: Money = 0.0
    retention: Money = 0.0
    development: Money = 0.0
    winback: Money = 0.0


Agents = Annotated[int, Field(ge=0, le=100_000), _WHOLE]


class Transition(_Frozen):
    """What it costs to take over the market from the strategy that ran it before month 1."""

    one_off_cost: Money = Field(
        0.0, description="Cost of the switch, paid in month 1 (currency): systems, training, "
                         "launch.")
    months: Annotated[int, Field(ge=0, le=1200), _WHOLE] = Field(
        0, description="Months over which existing customers move to their new proposition: "
                       "each moves at their next contact, the rest at the end of this month "
                       "(0: all at once in month 1). Until then the old propositions keep "
                       "running and cost their fixed costs.")


class Strategy(_Frozen):
    """A firm's policy: ``gsp`` treats every customer alike; ``segmented`` labels customers
    (with accuracy ``data_quality``), offers each label its best-fitting proposition,
    allocates budgets by estimated value and serves by value tier."""

    kind: Literal["gsp", "segmented"]
    proposition: str | None = Field(
        None, description="gsp: the one proposition offered to everyone.")
    propositions: Literal["best_fit"] | dict[str, str] = Field(
        "best_fit", description="segmented: 'best_fit' or a proposition per segment label.")
    data_quality: Probability = Field(
        1.0, description="segmented: probability that the firm labels a customer's segment "
                         "correctly (otherwise a random other segment).")
    budgets: Budgets = Budgets()
    staffing: dict[str, Agents | tuple[Agents, ...]] = Field(
        default_factory=dict,
        description="Agents on duty per human channel: one number for every opening hour, or "
                    "a list with one number per hour of the channel's hourly_profile.")
    priority_share: Probability = Field(
        0.0, description="segmented: share of each human channel's agents reserved for "
                         "tier A contacts.")
    tier_shares: dict[Literal["A", "B"], Probability] = Field(
        default_factory=lambda: {"A": 0.2, "B": 0.3},
        description="segmented: shares of active customers coded A and B (the rest C).")
    sales_centre: bool = Field(
        False, description="Service contacts are used to cross-sell (segmented: tiers A and B "
                           "only, as prompted by the customer code).")
    analytics_cost: Money = Field(
        0.0, description="Cost of the customer analytics behind the strategy (currency/month).")
    research_error: NonNegative = Field(
        1.0, description="segmented: error of the firm's market research on each segment's "
                         "choice between a proposition and the competitor (standard deviation "
                         "on the log-odds at data_quality 0, shrinking linearly to 0 at "
                         "data_quality 1).")
    transition: Transition = Transition()

    @model_validator(mode="after")
    def _kind_levers(self) -> Strategy:
        if self.kind == "gsp":
            if self.proposition is None:
                raise ValueError("a gsp strategy needs 'proposition' (the one it offers)")
            if self.priority_share > 0:
                raise ValueError("a gsp strategy serves everyone alike: priority_share must be 0")
        elif self.proposition is not None:
            raise ValueError("a segmented strategy uses 'propositions', not 'proposition'")
        if sum(self.tier_shares.values()) > 1.0 + 1e-9:
            raise ValueError("tier_shares A + B must not exceed 1")
        return self


class Simulation(_Frozen):
    horizon_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        120, description="Months simulated and measured.")
    warmup_months: Annotated[int, Field(ge=0, le=600), _WHOLE] = Field(
        60, description="Months the market runs under the baseline strategy (the first of "
                        "compare) before month 1, with the same random draws for every "
                        "strategy, so every strategy takes over the same customer base. Not "
                        "counted in any result.")
    seed: Annotated[int, Field(ge=0), _WHOLE] = Field(
        12345, description="Root seed; every random stream is spawned from it.")
    replications: Annotated[int, Field(ge=1), _WHOLE] = Field(
        20, description="Monte Carlo replications per strategy.")


# --------------------------------------------------------------------- sweeps
class SweepParameter(_Frozen):
    """The values one scenario key takes in a sweep, in that key's own unit: a list of
    ``values`` (grid), or a range ``low``..``high`` (sampled by lhs, sobol and morris, or
    cut into ``levels`` evenly spaced values by a grid)."""

    values: tuple[Real, ...] | None = Field(
        None, min_length=1, description="grid: the values the key takes (its own unit).")
    low: Real | None = Field(None, description="Lower end of the range (the key's unit).")
    high: Real | None = Field(None, description="Upper end of the range (the key's unit).")
    levels: Annotated[int, Field(ge=2), _WHOLE] | None = Field(
        None, description="grid over a range: this many evenly spaced values, low and high "
                          "included.")

    @model_validator(mode="after")
    def _one_form(self) -> SweepParameter:
        ranged = _pair_or_single((self.low, self.high), self.values, ("low", "high"),
                                 "values", "a range")
        if ranged and self.low >= self.high:
            raise ValueError(f"low must be less than high (got low {self.low:g}, "
                             f"high {self.high:g})")
        if self.levels is not None and not ranged:
            raise ValueError("levels cuts a range: give low and high with it, not values")
        return self


class Sweep(_Frozen):
    """Vary scenario keys over a design and analyse how one outcome responds (``cvm sweep``).

    The analysed response is, per point and replication, the paired difference of
    ``outcome`` between ``compare[1]`` and ``compare[0]`` (e.g. the equity gain of
    segmentation over GSP) when two or more strategies are compared, else the level of
    ``outcome`` under ``compare[0]``. Replication r uses the same random streams at every
    point (common random numbers), so differences between points are not luck.
    """

    design: Literal["grid", "lhs", "sobol", "morris"] = Field(
        description="grid: every combination of the values; lhs: Latin hypercube sample of "
                    "the ranges (rank correlations); sobol: Saltelli/Sobol' sample and "
                    "first- and total-order indices; morris: elementary-effects screening.")
    parameters: dict[str, SweepParameter] = Field(
        min_length=1, description="Keys to vary, by dotted scenario path "
                                  "(strategies.segmented.data_quality), each with its values "
                                  "or range. Whole-number keys get rounded values.")
    samples: Annotated[int, Field(ge=1), _WHOLE] | None = Field(
        None, description="lhs: points; sobol: base sample N (a power of 2; N × (parameters "
                          "+ 2) points); morris: trajectories (N × (parameters + 1) points). "
                          "Not used by grid.")
    replications: Annotated[int, Field(ge=2), _WHOLE] | None = Field(
        None, description="Replications per point and strategy (default: "
                          "simulation.replications).")
    outcome: str = Field(
        "customer_equity", description="Summary metric analysed (see sim.outcomes."
                                       "OUTCOMES).")


class Scenario(_Frozen):
    """A complete, validated scenario. Build one with :func:`load_scenario`."""

    name: str = ""
    description: str = ""
    simulation: Simulation = Simulation()
    market: Market
    behaviour: Behaviour = Behaviour()
    propositions: dict[str, Proposition] = Field(min_length=1)
    channels: dict[str, Channel] = Field(min_length=1)
    economics: Economics = Economics()
    strategies: dict[str, Strategy] = Field(min_length=1)
    compare: tuple[str, ...] = Field(
        min_length=1, description="Strategies to compare; the first is the baseline.")
    sweep: Sweep | None = Field(
        None, description="Parameter sweep run by `cvm sweep` (ignored by `cvm run`).")

    _raw: dict = PrivateAttr(default_factory=dict)
    _source: str | None = PrivateAttr(default=None)
    _lines: dict = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        for path, message in _reference_errors(self):
            raise ScenarioError(message, path)
        return self

    @model_validator(mode="after")
    def _sweep_block(self) -> Scenario:
        for path, message in _sweep_errors(self):
            raise ScenarioError(message, path)
        return self

    @property
    def source(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._source

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (``extends`` applied)."""
        return copy.deepcopy(self._raw) if self._raw else self.model_dump(mode="json")

    def value(self, dotted: str) -> Any:
        """The value at a dotted key path, defaults included (``"market.population"``).

        Raises:
            ScenarioError: the path names no key (with a did-you-mean).
        """
        node: Any = self.model_dump()
        parts = dotted.split(".")
        for depth, key in enumerate(parts):
            if isinstance(node, list | tuple) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            elif isinstance(node, Mapping) and key in node:
                node = node[key]
            elif isinstance(node, Mapping):
                raise ScenarioError(f"unknown key '{key}'{_did_you_mean(key, node)}", dotted)
            else:
                raise ScenarioError(f"'{'.'.join(parts[:depth])}' holds a value, not keys",
                                    dotted)
        return node

    def override(self, changes: Mapping[str, Any]) -> Scenario:
        """A new validated scenario with dotted-path keys replaced.

        Example: ``scenario.override({"market.population": 5000})``. Unknown keys raise a
        :class:`ScenarioError` with a did-you-mean, like a bad key in a file.
        """
        data = self.to_dict()
        lines = dict(self._lines)
        for dotted, value in changes.items():
            dotted = str(dotted)
            _set_path(data, dotted, value)
            # The new value comes from the caller, not from the file: forget where the old
            # one stood, so that an error in it is not pinned on a line that no longer holds it.
            for key in [k for k in lines if k.startswith(dotted + ".")]:
                del lines[key]
            lines[dotted] = None
        return _validate(data, self._source, lines)


# ------------------------------------------------------------------ cross-checks
def _reference_errors(s: Scenario):
    """Yield (path, message) for every name that refers to nothing, and inconsistent sums."""
    attrs = set(s.market.attributes)
    segs = s.market.segments
    total = sum(seg.share for seg in segs.values())
    if abs(total - 1.0) > 1e-6:
        yield "market.segments", f"segment shares sum to {total:.6g}, not 1"
    if s.market.initial_customers > s.market.population:
        yield "market.initial_customers", (
            f"{s.market.initial_customers} initial customers exceed the population "
            f"{s.market.population}")
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
    for name, prop in s.propositions.items():
        yield from _unknown(prop.benefits, attrs, f"propositions.{name}.benefits", "attribute")
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
        for channel, spec in s.channels.items():
            if spec.human and channel not in strat.staffing:
                yield f"{base}.staffing", f"no staffing for human channel '{channel}'"
        for channel, staff in strat.staffing.items():
            if channel not in s.channels:
                yield f"{base}.staffing.{channel}", _no_such("channel", channel, s.channels)
            elif not s.channels[channel].human:
                yield f"{base}.staffing.{channel}", "self-service channels have no staff"
            elif isinstance(staff, tuple) and len(staff) != len(
                    s.channels[channel].hourly_profile):
                yield f"{base}.staffing.{channel}", (
                    f"{len(staff)} hourly values for a channel open "
                    f"{len(s.channels[channel].hourly_profile)} hours a day (its hourly_profile)")
    for name in s.strategies:
        if not STRATEGY_NAME.fullmatch(name):
            yield f"strategies.{name}", ("a strategy name may hold only letters, digits, _ "
                                         "and - (it names result files)")
    for i, name in enumerate(s.compare):
        if name not in s.strategies:
            yield f"compare.{i}", _no_such("strategy", name, s.strategies)
        elif name in s.compare[:i]:
            yield f"compare.{i}", f"strategy '{name}' is compared twice"


def _sweep_errors(s: Scenario):
    """Yield (path, message) for a sweep block that does not fit its design or scenario.

    Each varied key must name a number of the scenario, and the scenario must stay valid
    at the ends of its range (or at each of its values): it is overridden with each and
    validated, so a bad path gets the same did-you-mean as a bad key in a file.
    """
    sweep = s.sweep
    if sweep is None:
        return
    if sweep.outcome not in OUTCOMES:
        yield "sweep.outcome", _no_such("summary metric", sweep.outcome, OUTCOMES)
    if sweep.design == "grid" and sweep.samples is not None:
        yield "sweep.samples", "a grid takes no samples: its points are every combination"
    if sweep.design != "grid" and sweep.samples is None:
        yield "sweep.samples", f"a {sweep.design} design needs samples"
    if sweep.design == "sobol" and sweep.samples and sweep.samples & (sweep.samples - 1):
        # Sobol' sequences keep their balance only over powers of 2 points.
        yield "sweep.samples", f"a sobol design needs a power of 2 (got {sweep.samples})"
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
            _set_path(trial, dotted, value)
            try:
                Scenario.model_validate(trial)
            except ValidationError as err:
                problem = _from_pydantic(err, trial, None, {})
            except ScenarioError as err:
                problem = err
            else:
                continue
            inner = "" if problem.path == dotted else f"{problem.path}: "
            yield where, f"the scenario is invalid at {value:g}: {inner}{problem.message}"
            break


def _unknown(mapping, known, path, what):
    for key in mapping:
        if key not in known:
            yield f"{path}.{key}", _no_such(what, key, known)


def _no_such(what: str, name: str, known) -> str:
    return f"no {what} named '{name}'{_did_you_mean(name, known)}"


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (known: {', '.join(sorted(map(str, known)))})" if known else ""


# ------------------------------------------------------------------------ loading
def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a YAML file or a mapping.

    ``extends: other.yaml`` (relative to the file) deep-merges this file over the other:
    mappings merge key by key, anything else is replaced.

    Raises:
        ScenarioError: for anything wrong with the file or its content.
    """
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        if "extends" in data:
            raise ScenarioError("'extends' needs a scenario file, not a mapping", "extends")
        return _validate(data, None, {})
    data, lines = _read_with_extends(Path(source), ())
    return _validate(data, str(source), lines)


def _validate(data: dict, file: str | None, lines: dict) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ScenarioError as err:
        raise _locate(err, file, lines) from None
    except ValidationError as err:
        raise _from_pydantic(err, data, file, lines) from None
    scenario._raw = data
    scenario._source = file
    scenario._lines = lines
    return scenario


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


def _from_pydantic(err: ValidationError, data: dict, file, lines) -> ScenarioError:
    errors = [(*_data_path(e, data), e) for e in err.errors(include_url=False)]
    path, _, _ = errors[0]
    # A value that fits no form of a union gets one error per form. The form that went
    # deepest into the value is the one the author meant; if none did, list every form.
    related = [e for e in errors if e[0][:len(path)] == path]
    deepest = max(len(e[0]) for e in related)
    same = [e for e in related if len(e[0]) == deepest]
    path, key_error, _ = same[0]
    message = _explain([e for _, _, e in same], path, key_error)
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


def _explain(errors: list[dict], path: tuple[str, ...], key_error: bool) -> str:
    """One sentence for the pydantic ``errors`` found at ``path``."""
    first = errors[0]
    kind = first["type"]
    if kind == "extra_forbidden":
        parent = _model_at(list(path[:-1]))
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


def _model_at(loc: list[str]):
    """The pydantic model class found by following ``loc`` from :class:`Scenario`.

    ``None`` if ``loc`` leads to anything other than a model (a mapping, a number...).
    """
    model: Any = Scenario
    i = 0
    while i < len(loc):
        field = model.model_fields.get(loc[i])
        if field is None:
            return None
        ann = field.annotation
        i += 1
        if getattr(ann, "__origin__", None) is dict:
            if i == len(loc):
                return None  # ``loc`` names the mapping itself, not one of its values
            ann = ann.__args__[1]
            i += 1
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return None
    return model


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
    if not parent_path.is_file():
        raise ScenarioError(f"extended file not found: {parent_path}", "extends", *where)
    base, base_lines = _read_with_extends(parent_path, (*chain, resolved))
    return _deep_merge(base, data), {**base_lines, **lines}


def _read_yaml(path: Path) -> tuple[dict, dict]:
    """The data of one YAML file and the ``(file, line)`` of every key path in it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", "", str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(f"cannot read file: {err}", "", str(path)) from None
    try:
        node, data = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        try:
            # libyaml's messages are terser ("found character that cannot start any token"):
            # parse again with PyYAML, whose messages name what they found.
            node, data = _parse(text, yaml.SafeLoader)
        except yaml.YAMLError as err:
            raise _yaml_error(err, str(path)) from None
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a mapping of keys to values", "", str(path),
                            1)
    lines: dict[str, tuple[str, int]] = {}
    _collect_lines(node, "", lines, str(path), set())
    return data, lines


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


def _set_path(data: dict, dotted: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``dotted == "a.b.c"``, rejecting unknown keys."""
    parts = dotted.split(".")
    node: Any = data
    for depth, key in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError(f"no item {key} in this list", dotted)
            key = int(key)
        elif not isinstance(node, dict):
            raise ScenarioError(f"'{'.'.join(parts[:depth])}' holds a value, not keys", dotted)
        elif key not in node and not _may_add(parts[:depth + 1]):
            hint = _did_you_mean(key, _known_keys(parts[:depth], node))
            raise ScenarioError(f"unknown key '{key}'{hint}", dotted)
        if last:
            node[key] = value
        else:
            node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]


def _known_keys(loc: list[str], node: dict):
    model = _model_at(loc) if loc else Scenario
    return set(node) | set(model.model_fields if model is not None else ())


def _may_add(loc: list[str]) -> bool:
    """True where a key absent from the data is still a schema field (a default)."""
    model = _model_at(loc[:-1]) if len(loc) > 1 else Scenario
    return model is not None and loc[-1] in model.model_fields


def monthly_rate(annual: float) -> float:
    """Monthly rate equivalent to an annual one: (1 + r)^(1/12) − 1."""
    return math.expm1(math.log1p(annual) / 12.0)


def json_schema() -> dict:
    """JSON Schema of a scenario file, for editor completion and validation."""
    schema = Scenario.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string", "description": "Base scenario file this one overrides."}
    return schema
