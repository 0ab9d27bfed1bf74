"""The scenario schema: pydantic models of every block of a scenario file, and its JSON Schema.

Units are stated in each field's description (they also appear in ``cvm schema``):
money is in the scenario's currency, flows are per month unless the key says
``annual``, probabilities are in [0, 1], utilities are in "utility units" (the
scale on which a logistic response turns 0 into one half).

The models check single values and blocks; :class:`Scenario` runs the cross-checks of
:mod:`.checks` (names that refer to nothing, a sweep that does not fit). Its dotted-path
reads and changes use :mod:`.paths`, and a failed validation is put in words by
:mod:`.messages`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

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

from ..codes import ACTIVE_STAGES
from ..errors import ScenarioError
from .checks import SCHEDULABLE, _reference_errors, _sweep_errors
from .limits import (
    MAX_CODES,
    MAX_CUSTOMERS_PER_AGENT,
    MAX_MONEY,
    MAX_PEOPLE,
    MAX_REPLICATIONS,
    MAX_SEED,
    MAX_SWEEP_POINTS,
)
from .messages import _from_pydantic, _locate
from .paths import _apply_changes, _value_at, unshared


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
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY), _NUMBER]


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


class CompetitorMove(_Frozen):
    """A move of the competitor: from a measured month on, its offer (the customers' outside
    option) is worth more or less to the segments it concerns. Moves add up."""

    from_month: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        description="First measured month with the changed offer (1 = the first month).")
    utility_change: Real = Field(
        description="Change of the competitor's utility (utility units; positive: the "
                    "competitor got better, e.g. a price cut of x is worth x × the segment's "
                    "price_sensitivity).")
    segments: tuple[str, ...] = Field(
        (), description="Segments the move concerns (default: every segment, as for a new "
                        "entrant: the best outside offer improved for everyone).")


class ReactiveCompetitor(_Frozen):
    """A competitor that answers the firm's gains in market share, segment by segment. It
    watches the firm's share of each segment's people (all it observes of the firm) against
    its share at the take-over (month 0); when the share exceeds that reference by more than
    ``threshold``, the competitor answers ``delay_months`` later with a better offer in that
    segment, and the share at the answer becomes the new reference."""

    threshold: Probability = Field(
        description="Gain in market share that provokes an answer, in share points as a "
                    "share (0.02: two points above the reference).")
    delay_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        description="Months from the month-end at which the gain is seen to the month whose "
                    "start the answer takes effect (1: the next month).")
    utility_change: Real = Field(
        description="Change of the competitor's utility in the segment at each answer "
                    "(utility units; positive: the competitor got better).")
    max_responses: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        1, description="Most answers in each segment over the horizon.")


class Market(_Frozen):
    """Who is out there and how they respond."""

    @property
    def agents(self) -> int:
        """Agents simulated: the population over customers_per_agent, rounded."""
        return max(1, round(self.population / self.customers_per_agent))

    @property
    def initial_agents(self) -> int:
        """Agents who are customers at month 0 (initial_customers over
        customers_per_agent, rounded, at most :attr:`agents`)."""
        return min(self.agents, round(self.initial_customers / self.customers_per_agent))

    population: Annotated[int, Field(ge=1, le=MAX_PEOPLE), _WHOLE] = Field(
        description="People in the market, in the client's units: prospects, customers and "
                    "departed customers together. The model simulates population / "
                    "customers_per_agent agents (at most 10 million).")
    initial_customers: Annotated[int, Field(ge=0), _WHOLE] = Field(
        description="Customers at month 0, in the client's units (the rest of the "
                    "population starts as prospects).")
    customers_per_agent: Annotated[int, Field(ge=1, le=MAX_CUSTOMERS_PER_AGENT), _WHOLE] = Field(
        1, description="How many of the client's people each simulated agent stands for. "
                       "Counts, money, contact loads and queues are scaled back to the "
                       "client's units; fewer agents run faster, with intervals about "
                       "sqrt(customers_per_agent) times as wide.")
    initial_max_tenure_months: Annotated[int, Field(ge=0, le=30_000), _WHOLE] = Field(
        36, description="Initial customers have been customers for 1 + U{0..this} months "
                        "(at most 30,000: tenure is stored in 16 bits and keeps growing over "
                        "the warm-up and the horizon).")
    attributes: tuple[str, ...] = Field(
        min_length=1, description="Names of the proposition attributes customers value.")
    segments: dict[str, Segment] = Field(min_length=1, max_length=MAX_CODES["segments"])
    competitor_utility: dict[str, Real] = Field(
        description="Utility of the competitor's offer (the outside option) per segment, "
                    "before any move (utility units).")
    competitor_moves: tuple[CompetitorMove, ...] = Field(
        (), description="Scheduled moves of the competitor: from a measured month on, its "
                        "utility in some segments changes (a price cut, a new entrant). "
                        "Moves add up; the firm's offers stay as settled at the take-over.")
    reactive_competitor: ReactiveCompetitor | None = Field(
        None, description="A competitor that answers the firm's gains in market share in a "
                          "segment after a delay (null: it does not react).")
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


class Offer(_Frozen):
    """A cross-sell offer a development campaign can make (a card variant, a mailing): how
    customers of each segment answer it. Which offer sells to whom is what test-and-learn
    finds out; the firm never reads these numbers, only the sales it sees."""

    response: dict[str, Probability] = Field(
        description="Probability that a fully satisfied customer of each segment, reached "
                    "by a campaign making this offer, buys a further product (times the "
                    "stage's development multiplier; segments not listed: 0). Replaces "
                    "behaviour.development.campaign_response for campaigns with an offer.")


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
    service_level_target: Probability = Field(
        0.8, description="Share of contacts the firm means to answer within "
                         "service_target_seconds (human channels; the 80/20 rule by default). "
                         "A strategy whose channel falls below it in most months is warned "
                         "about: its staff cannot carry the load.")
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


class ProgrammeResponse(_Frozen):
    """How a customer responds to a month in a lifecycle programme (welcome calls, loyalty
    rewards): utility added to the month's experience and a lower churn hazard."""

    experience_boost: Real = Field(
        0.0, description="Utility added to the month's experience of a customer enrolled.")
    churn_effect: Probability = Field(
        0.0, description="Proportional cut in the churn hazard of a customer enrolled this "
                         "month.")


class ProgrammeResponses(_Frozen):
    """Customer responses to the lifecycle programmes a strategy may run (the retention
    programme's are ``retention_boost`` and ``churn.retention_effect``)."""

    onboarding: ProgrammeResponse = Field(
        ProgrammeResponse(), description="To onboarding: the first months of a relationship.")
    loyalty: ProgrammeResponse = Field(
        ProgrammeResponse(), description="To a loyalty programme for mature customers.")


class SteeringResponse(_Frozen):
    """How a customer answers the firm's suggestion to use another channel for a contact:
    they accept with probability logistic(log(preference for the suggested channel /
    preference for the one chosen) + incentive_weight × incentive + satisfaction_weight ×
    (satisfaction − 0.5))."""

    incentive_weight: NonNegative = Field(
        0.3, description="Utility of each currency unit of incentive offered for the move.")
    satisfaction_weight: NonNegative = Field(
        2.0, description="Utility per unit of satisfaction above 0.5: satisfied customers "
                         "go along with the firm more readily.")
    forced_penalty: NonNegative = Field(
        0.5, description="Utility lost in the month's experience by a customer moved to the "
                         "suggested channel against their will (forced steering).")


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
    winback_half_life_months: NonNegative = Field(
        0.0, description="Months after which a departed customer's odds of answering win-back "
                         "have halved, counted from winback_after_months (0: they never "
                         "fade).")
    programmes: ProgrammeResponses = ProgrammeResponses()
    steering: SteeringResponse = SteeringResponse()
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
class PerCustomer(_Frozen):
    """A budget that follows the size of the base: so much per current customer."""

    per_customer: Money = Field(
        description="Currency per month for each customer at the month's start (in the "
                    "client's units), so the budget grows and shrinks with the base.")


Budget = Money | PerCustomer
"""A monthly budget: a sum per month (currency/month) or ``{per_customer: X}``."""


class Budgets(_Frozen):
    """Monthly budgets, each a sum per month (currency/month) or ``{per_customer: X}``
    (currency per customer per month); unspent budget is not carried over."""

    acquisition: Budget = 0.0
    retention: Budget = 0.0
    development: Budget = 0.0
    winback: Budget = 0.0

    def month(self, name: str, customers: float) -> float:
        """This month's budget ``name`` (currency) when the base holds ``customers``."""
        budget = getattr(self, name)
        return budget.per_customer * customers if isinstance(budget, PerCustomer) else budget


Agents = Annotated[int, Field(ge=0, le=100_000), _WHOLE]
MAX_FORECAST_MONTHS = 120
"""Most months of observed contacts a staffing forecast may average over."""


class StaffingTarget(_Frozen):
    """A service standard the firm staffs a channel to, on the load it forecasts from its
    own records (contacts per customer over recent months × customers now), paying for the
    agents it needs."""

    answered: Annotated[float, Field(gt=0.0, le=0.999), _NUMBER] | None = Field(
        None, description="Share of contacts to answer within within_seconds (default: the "
                          "channel's service_level_target).")
    within_seconds: NonNegative | None = Field(
        None, description="The standard's answer time in seconds (default: the channel's "
                          "service_target_seconds, by which customers judge a wait).")
    sized_for: Literal["each_hour", "average_hour", "peak_hour"] = Field(
        "each_hour", description="each_hour: every opening hour staffed to its own forecast "
                                 "load; average_hour: one level all day, sized for the "
                                 "average hour's load; peak_hour: one level all day, sized "
                                 "for the busiest hour's.")
    forecast_months: Annotated[int, Field(ge=1, le=MAX_FORECAST_MONTHS), _WHOLE] = Field(
        3, description="Months of observed contacts the load forecast averages over.")


Staffing = Agents | tuple[Agents, ...] | StaffingTarget
"""A human channel's staffing: agents on duty in every opening hour, a list with one number
per opening hour, or a :class:`StaffingTarget`."""


TierName = Literal["A", "B", "C"]


class Programme(_Frozen):
    """A lifecycle programme the firm runs for every current customer in its stage (by the
    firm's records: tenure and products) and in the chosen value tiers."""

    cost_per_customer: Money = Field(
        description="Cost per enrolled customer per month (currency): calls, mailings, "
                    "rewards.")
    tiers: tuple[TierName, ...] = Field(
        ("A", "B", "C"), min_length=1,
        description="Value tiers enrolled (A and B need value_codes; without them every "
                    "customer is C).")


RecordedStage = Literal["acquisition", "growth", "maturity"]
"""A stage the firm's records can show (from tenure and products; decline, which follows
satisfaction, they cannot)."""


class DevelopmentProgramme(_Frozen):
    """Development aimed at a stage: the development budget (budgets.development) buys
    campaign contacts only for customers the firm's records place in the chosen stages
    and tiers."""

    stages: tuple[RecordedStage, ...] = Field(
        ("growth",), min_length=1,
        description="Stages by the firm's records (tenure and products held) whose "
                    "customers the campaigns reach: acquisition (the onboarding months), "
                    "growth, maturity.")
    tiers: tuple[TierName, ...] = Field(
        ("A", "B", "C"), min_length=1,
        description="Value tiers reached (A and B need value_codes; without them every "
                    "customer is C).")


class Programmes(_Frozen):
    """Lifecycle programmes: onboarding and loyalty with a cost per enrolled customer,
    development aimed at a stage with the development budget (retention and win-back are
    budgets). A customer in the retention programme that month is in neither onboarding
    nor loyalty."""

    onboarding: Programme | None = Field(
        None, description="For new customers while in the onboarding months "
                          "(lifecycle.onboarding_months of tenure).")
    development: DevelopmentProgramme | None = Field(
        None, description="Aims the development campaigns (budgets.development) at "
                          "customers of the chosen stages and tiers by the firm's records "
                          "({stages, tiers}); unset: they reach customers of every stage, "
                          "by tier.")
    loyalty: Programme | None = Field(
        None, description="For mature customers (tenure of at least "
                          "lifecycle.maturity_tenure_months, or maturity_products held).")


class Steering(_Frozen):
    """Channel migration: the firm suggests another channel (usually self-service) to
    contacts of the chosen channels and tiers, with an incentive per contact that moves.
    Customers accept as far as their channel preferences and satisfaction allow
    (behaviour.steering); forced steering moves every suggested contact, and those who
    would have refused lose satisfaction."""

    to: str = Field(description="The channel contacts are steered to.")
    away_from: tuple[str, ...] = Field(
        (), description="Channels whose contacts are steered (default: every human channel "
                        "but 'to').")
    tiers: tuple[TierName, ...] = Field(
        ("A", "B", "C"), min_length=1,
        description="Value tiers whose contacts are steered (A or B alone need value_codes).")
    labels: tuple[str, ...] = Field(
        (), description="Segment labels whose contacts are steered (the firm's labels, read "
                        "with data_quality; default: every label).")
    share: Probability = Field(
        1.0, description="Share of those contacts the firm suggests the move to (a message "
                         "on the line, a prompt on the bill).")
    incentive: Money = Field(
        0.0, description="Paid per contact that moves (currency): a discount, points, a fee "
                         "waived.")
    forced: bool = Field(
        False, description="Move every suggested contact, willing or not (those unwilling "
                           "lose behaviour.steering.forced_penalty in the month's "
                           "experience).")


MAX_TESTED_OFFERS = 16
"""Most offers one test compares (each customer's offer and sale are kept in 8 bits)."""


class TestAndLearn(_Frozen):
    """Test-and-learn among cross-sell offers: for ``test_months`` measured months the firm
    makes different offers to comparable customers, counts the sales each makes, and then
    adopts each label's best (or one for everyone). It learns only from what it sees: the
    campaign contacts it made with each offer and the purchases that followed."""

    __test__ = False    # a schema class, not a pytest test class

    offers: tuple[str, ...] = Field(
        min_length=2, max_length=MAX_TESTED_OFFERS,
        description="The offers tested (names under offers); the strategy's offer, if set, "
                    "must be among them, else the first is the one made outside the test.")
    method: Literal["ab", "thompson"] = Field(
        "ab", description="ab: test_share of each label's campaign contacts split evenly "
                          "among the offers, the rest get the current offer; at the end the "
                          "offer with the highest observed conversion is adopted. thompson: "
                          "every campaign contact of the label gets an offer with the "
                          "probability that it is the best given the sales so far (Beta "
                          "posteriors), so the test shifts towards what sells as it learns; "
                          "at the end the offer most probably best is adopted.")
    test_share: Probability = Field(
        0.2, description="ab: share of campaign contacts in the test cells (the rest are "
                         "business as usual).")
    test_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        12, description="Measured months the test runs (from month 1); the winners are "
                        "adopted at the end of the last.")
    within: Literal["label", "all"] = Field(
        "label", description="label: a separate test and winner for each segment label "
                             "(reads labels, so data_quality matters); all: one test and "
                             "one winner for every customer.")
    cost_per_month: Money = Field(
        0.0, description="Cost of running the test while it runs (currency/month): test "
                         "design, analysts, control cells, reporting.")


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


class DataInvestment(_Frozen):
    """Information management: the firm spends on its customer data every measured month,
    and the accuracy of its labels rises from ``quality_start`` towards ``quality_max``,
    the gap halving every ``months_to_half`` months. Labels only get better: a label read
    right stays right."""

    spend_per_month: Money = Field(
        description="Spent on customer data every measured month (currency/month): "
                    "collection, cleansing, matching, the systems that hold it.")
    quality_start: Probability = Field(
        description="Data quality at the take-over (month 0): probability that the firm "
                    "labels a customer's segment correctly.")
    quality_max: Probability = Field(
        description="Data quality the investment approaches (probability, at least "
                    "quality_start).")
    months_to_half: Positive = Field(
        description="Months in which the gap between the data quality and quality_max "
                    "halves (> 0).")

    @model_validator(mode="after")
    def _rises(self) -> DataInvestment:
        if self.quality_start > self.quality_max:
            raise ValueError(f"quality_start ({self.quality_start:g}) must not exceed "
                             f"quality_max ({self.quality_max:g}): investing in data only "
                             "improves it")
        return self

    def quality(self, month: int) -> float:
        """Data quality in force in measured ``month`` (probability): quality_max −
        (quality_max − quality_start) · 2^(−month / months_to_half); exactly quality_start
        at the take-over (month 0) and before it."""
        if month <= 0:
            return self.quality_start
        gap = self.quality_max - self.quality_start
        return self.quality_max - gap * 2.0 ** (-month / self.months_to_half)


class ScheduledChange(_Frozen):
    """From a measured month on, some of the strategy's keys take new values."""

    from_month: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        description="First measured month with the new values (1 = the first month).")
    set: dict[str, Any] = Field(
        min_length=1, description="Strategy keys, dotted within the strategy (e.g. "
                                  "staffing.call_centre, budgets.retention), and their new "
                                  "values. Only " + ", ".join(SCHEDULABLE) + " may change.")


PRACTICE_DEFAULTS: dict[str, dict[str, Any]] = {
    "gsp": {"propositions": "one", "value_codes": False, "allocation": "even",
            "retention_targeting": "complaints", "sales_prompts": "everyone"},
    "segmented": {"propositions": "best_fit", "value_codes": True, "allocation": "by_value",
                  "retention_targeting": "churn_score", "sales_prompts": "by_code"},
}
"""The practices each ``kind`` switches on unless the strategy sets them itself."""


def _practice(key: str, description: str):
    """A practice key's field: no default of its own (its kind's fills it in), described
    with what each kind defaults to."""
    gsp, segmented = (str(PRACTICE_DEFAULTS[kind][key]).lower() for kind in PRACTICE_DEFAULTS)
    return Field(None, description=f"{description} Default by kind: gsp {gsp!r}, segmented "
                                   f"{segmented!r}.")


class Strategy(_Frozen):
    """A firm's policy, as a set of practices. ``kind`` only sets their defaults (see
    :data:`PRACTICE_DEFAULTS`): ``gsp`` treats every customer alike; ``segmented`` labels
    customers (with accuracy ``data_quality``, or rising over time with ``data``), offers
    each label its best-fitting proposition, allocates budgets by estimated value, targets
    retention by its churn score and serves and prompts sales by value code. Each practice
    can be set on its own, with either kind."""

    kind: Literal["gsp", "segmented"] = Field(
        description="gsp or segmented: sets the defaults of the practice keys "
                    "(propositions, value_codes, allocation, retention_targeting, "
                    "sales_prompts).")
    proposition: str | None = Field(
        None, description="The one proposition offered to everyone when propositions is "
                          "'one' (unused otherwise).")
    propositions: Literal["one", "best_fit"] | dict[str, str] = _practice(
        "propositions", "Tailored propositions: 'one' (everyone gets 'proposition'), "
                        "'best_fit' (each label the proposition its market research says fits "
                        "best) or a proposition per segment label.")
    value_codes: bool = _practice(
        "value_codes", "The firm codes customers A, B, C by estimated value (tier_shares); "
                       "without codes everyone is C. Needed by priority_share and "
                       "sales_prompts: by_code.")
    allocation: Literal["even", "by_value"] = _practice(
        "allocation", "How budgets are spent: 'even' (one reach for every group) or "
                      "'by_value' (groups in order of estimated value, only where worth more "
                      "than the contact).")
    retention_targeting: Literal["complaints", "churn_score"] = _practice(
        "retention_targeting", "Whom the retention budget reaches: 'complaints' (customers "
                               "whose recent contacts went unanswered in time) or "
                               "'churn_score' (the firm's fitted churn score × estimated "
                               "value).")
    sales_prompts: Literal["everyone", "by_code"] = _practice(
        "sales_prompts", "With sales_centre, which service contacts are used to cross-sell: "
                         "'everyone' or 'by_code' (tiers A and B only).")
    data_quality: Probability | None = Field(
        1.0, description="Probability that the firm labels a customer's segment correctly "
                         "(otherwise a random other segment); used by every practice that "
                         "reads labels (tailored propositions, value codes, allocation by "
                         "value, churn-score targeting). Null (no fixed quality) only with "
                         "data, whose quality rises over time.")
    data: DataInvestment | None = Field(
        None, description="Information management: the firm spends on its data every "
                          "month and its data quality rises from quality_start towards "
                          "quality_max ({spend_per_month, quality_start, quality_max, "
                          "months_to_half}); instead of data_quality. Unset: the data "
                          "quality stays data_quality.")
    budgets: Budgets = Budgets()
    programmes: Programmes = Field(
        Programmes(), description="Lifecycle programmes: onboarding and loyalty, each with "
                                  "its cost per enrolled customer-month and the tiers it "
                                  "enrols; development aimed at stages and tiers.")
    steering: Steering | None = Field(
        None, description="Channel migration: contacts steered to another channel with an "
                          "incentive ({to, away_from, tiers, share, incentive, forced}); "
                          "unset: customers use the channels they prefer.")
    offer: str | None = Field(
        None, description="The cross-sell offer development campaigns make (a name under "
                          "offers); unset: campaigns sell with behaviour.development."
                          "campaign_response. With test_and_learn, the offer made until a "
                          "test picks another.")
    test_and_learn: TestAndLearn | None = Field(
        None, description="A test among cross-sell offers ({offers, method, test_share, "
                          "test_months, within, cost_per_month}); unset: campaigns make "
                          "the strategy's offer.")
    winback_within_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] | None = Field(
        None, description="Win-back reaches only customers gone at most this many months "
                          "(the firm knows when each left); unset: every lapsed customer.")
    staffing: dict[str, Staffing] = Field(
        default_factory=dict,
        description="Agents on duty per human channel: one number for every opening hour, "
                    "a list with one number per hour of the channel's hourly_profile, or a "
                    "standard to staff to ({answered, within_seconds, sized_for, "
                    "forecast_months}), each hour's agents then following the forecast load.")
    priority_share: Probability = Field(
        0.0, description="Share of each human channel's agents reserved for tier A contacts "
                         "(needs value_codes).")
    tier_shares: dict[Literal["A", "B"], Probability] = Field(
        default_factory=lambda: {"A": 0.2, "B": 0.3},
        description="With value_codes: shares of active customers coded A and B (the rest "
                    "C).")
    sales_centre: bool = Field(
        False, description="Service contacts are used to cross-sell (which ones: "
                           "sales_prompts).")
    analytics_cost: Money = Field(
        0.0, description="Cost of the customer analytics behind the strategy (currency/month).")
    research_error: NonNegative = Field(
        1.0, description="Error of the firm's market research on each segment's "
                         "choice between a proposition and the competitor (standard deviation "
                         "on the log-odds at data_quality 0, shrinking linearly to 0 at "
                         "data_quality 1).")
    transition: Transition = Transition()
    schedule: tuple[ScheduledChange, ...] = Field(
        (), description="Changes from a given month on (e.g. a third fewer agents from month "
                        "24), applied in order of from_month; later changes build on earlier "
                        "ones.")

    def at(self, month: int) -> Strategy:
        """The strategy in force in measured ``month``: every scheduled change whose
        from_month has come applied in order (itself without any).

        Raises:
            ScenarioError: a change names an unknown key or gives a bad value (the path is
                within the strategy).
        """
        due = sorted((c for c in self.schedule if c.from_month <= month),
                     key=lambda c: c.from_month)
        if not due:
            return self
        data = self.model_dump(mode="json")
        for change in due:
            _apply_changes(data, {}, change.set, Strategy)
        try:
            return Strategy.model_validate(data)
        except ValidationError as err:
            raise _from_pydantic(err, data, None, {}, Strategy) from None

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        """Fill each practice the strategy leaves unset with its kind's default."""
        if not (isinstance(data, dict) and isinstance(data.get("kind"), str)
                and data["kind"] in PRACTICE_DEFAULTS):
            return data
        defaults = PRACTICE_DEFAULTS[data["kind"]]
        if data.get("proposition") is not None and data.get("propositions") is None \
                and defaults["propositions"] != "one":
            raise ValueError(f"a {data['kind']} strategy uses 'propositions', not "
                             "'proposition' (or set propositions: one)")
        return {**data, **{k: v for k, v in defaults.items() if data.get(k) is None}}

    @model_validator(mode="before")
    @classmethod
    def _data_or_fixed_quality(cls, data: Any) -> Any:
        """Refuse a strategy that invests in data and also fixes its data quality; the data
        quality of one that invests is null (it follows ``data``)."""
        # Read from the input, not from the validated model: after validation data_quality
        # always holds a value, written or not.
        if not (isinstance(data, dict) and data.get("data") is not None):
            return data
        if data.get("data_quality") is not None:
            raise ValueError("data (an investment that raises data quality over time) and "
                             "data_quality (a fixed data quality) exclude each other: give "
                             "one of them (write data_quality: null to drop one inherited "
                             "with extends)")
        return {**data, "data_quality": None}

    @model_validator(mode="after")
    def _practices(self) -> Strategy:
        if self.data_quality is None and self.data is None:
            raise ValueError("data_quality null leaves the firm without a data quality: give "
                             "one, or data (an investment in data)")
        if self.data is not None and not self.reads_labels:
            raise ValueError("data raises the accuracy of the firm's segment labels, and no "
                             "practice of this strategy reads them: it needs propositions "
                             "other than 'one', value_codes true, allocation by_value or "
                             "retention_targeting churn_score")
        if self.propositions == "one" and self.proposition is None:
            raise ValueError("propositions 'one' needs 'proposition' (the one offered to "
                             "everyone)")
        if not self.value_codes:
            if self.priority_share > 0:
                raise ValueError("priority_share serves tier A first: it needs value_codes "
                                 "true")
            if self.sales_centre and self.sales_prompts == "by_code":
                raise ValueError("sales_prompts 'by_code' prompts tiers A and B: it needs "
                                 "value_codes true")
            coded = {f"programmes.{name}": getattr(self.programmes, name)
                     for name in ("onboarding", "development", "loyalty")
                     } | {"steering": self.steering}
            for key, lever in coded.items():
                if lever is not None and "C" not in lever.tiers:
                    raise ValueError(f"{key} serves only tiers A or B: that needs "
                                     "value_codes true (without codes every customer is C)")
        if sum(self.tier_shares.values()) > 1.0 + 1e-9:
            raise ValueError("tier_shares A + B must not exceed 1")
        return self

    @property
    def reads_labels(self) -> bool:
        """Whether any practice acts on the firm's segment labels (and so on data_quality
        or data)."""
        return (self.propositions != "one" or self.value_codes or self.allocation == "by_value"
                or self.retention_targeting == "churn_score"
                or (self.test_and_learn is not None and self.test_and_learn.within == "label")
                or (self.steering is not None and bool(self.steering.labels)))


class Simulation(_Frozen):
    horizon_months: Annotated[int, Field(ge=1, le=1200), _WHOLE] = Field(
        120, description="Months simulated and measured.")
    warmup_months: Annotated[int, Field(ge=0, le=600), _WHOLE] = Field(
        60, description="Months the market runs under the baseline strategy (the first of "
                        "compare) before month 1, with the same random draws for every "
                        "strategy, so every strategy takes over the same customer base. Not "
                        "counted in any result.")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), _WHOLE] = Field(
        12345, description="Root seed; every random stream is spawned from it.")
    replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS), _WHOLE] = Field(
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
    levels: Annotated[int, Field(ge=2, le=MAX_SWEEP_POINTS), _WHOLE] | None = Field(
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
    samples: Annotated[int, Field(ge=1, le=MAX_SWEEP_POINTS), _WHOLE] | None = Field(
        None, description="lhs: points; sobol: base sample N (a power of 2; N × (parameters "
                          "+ 2) points); morris: trajectories (N × (parameters + 1) points). "
                          "Not used by grid.")
    replications: Annotated[int, Field(ge=2, le=MAX_REPLICATIONS), _WHOLE] | None = Field(
        None, description="Replications per point and strategy (default: "
                          "simulation.replications).")
    outcome: str = Field(
        "customer_equity", description="Summary metric analysed (see sim.outcomes."
                                       "OUTCOMES; service_level_CHANNEL for a human "
                                       "channel).")


class Scenario(_Frozen):
    """A complete, validated scenario. Build one with :func:`load_scenario`."""

    name: str = Field("", max_length=200)
    description: str = ""
    simulation: Simulation = Simulation()
    market: Market
    behaviour: Behaviour = Behaviour()
    propositions: dict[str, Proposition] = Field(
        min_length=1, max_length=MAX_CODES["propositions"])
    channels: dict[str, Channel] = Field(min_length=1, max_length=MAX_CODES["channels"])
    offers: dict[str, Offer] = Field(
        default_factory=dict, max_length=MAX_CODES["offers"],
        description="Cross-sell offers development campaigns can make, each with the "
                    "response of every segment (see strategy keys offer and "
                    "test_and_learn).")
    economics: Economics = Economics()
    strategies: dict[str, Strategy] = Field(min_length=1)
    compare: tuple[str, ...] = Field(
        min_length=1, description="Strategies to compare; the first is the baseline.")
    ladder: bool = Field(
        False, description="compare is an attribution ladder: each strategy adds practices to "
                           "the one before it, and the results also show what each step adds "
                           "(paired against the step before) and its share of the whole gap.")
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

    @property
    def human_channels(self) -> tuple[str, ...]:
        """Names of the staffed channels (queues), in the scenario's order."""
        return tuple(name for name, channel in self.channels.items() if channel.human)

    @property
    def service_targets(self) -> dict[str, tuple[float, float]]:
        """Per human channel: (share of contacts to answer in time, within seconds)."""
        return {name: (self.channels[name].service_level_target,
                       self.channels[name].service_target_seconds)
                for name in self.human_channels}

    def to_dict(self) -> dict:
        """The resolved scenario as plain data (``extends`` applied)."""
        return unshared(self._raw) if self._raw else self.model_dump(mode="json")

    def value(self, dotted: str) -> Any:
        """The value at a dotted key path, defaults included (``"market.population"``).

        Raises:
            ScenarioError: the path names no key (with a did-you-mean).
        """
        return _value_at(self.model_dump(), dotted)

    def override(self, changes: Mapping[str, Any]) -> Scenario:
        """A new validated scenario with dotted-path keys replaced.

        Example: ``scenario.override({"market.population": 5000})``. Unknown keys raise a
        :class:`ScenarioError` with a did-you-mean, like a bad key in a file.
        """
        data = self.to_dict()
        lines = dict(self._lines)
        _apply_changes(data, lines, changes, Scenario)
        return _validate(data, self._source, lines)


LEVER_DEFAULTS = ("budgets.acquisition", "budgets.retention", "budgets.development",
                  "budgets.winback", "analytics_cost", "sales_centre", "priority_share",
                  "transition.one_off_cost", "transition.months")
"""Strategy keys whose default (no spend, no cost, no switch) is rarely meant when the
baseline sets them: a compared strategy that leaves one unset gets a warning."""


def strategy_warnings(scenario: Scenario) -> list[str]:
    """One line per key of :data:`LEVER_DEFAULTS` that a compared strategy leaves at its
    default while the baseline (``compare[0]``) has another value: the classic slip of a
    new strategy written from scratch rather than with ``extends: BASELINE``."""
    base_name = scenario.compare[0]
    base = scenario.strategies[base_name]
    out = []
    for name in scenario.compare[1:]:
        strategy = scenario.strategies[name]
        # What to start from: a written-out strategy of the same kind, else the baseline.
        alike = [other for other, s in scenario.strategies.items()
                 if other != name and s.kind == strategy.kind]
        start = alike[0] if alike else base_name
        for dotted in LEVER_DEFAULTS:
            group, _, key = dotted.rpartition(".")
            owner = getattr(strategy, group) if group else strategy
            if (not group or group in strategy.model_fields_set) \
                    and key in owner.model_fields_set:
                continue                          # written in the file (or inherited)
            mine, theirs = _attribute(strategy, dotted), _attribute(base, dotted)
            if mine != theirs:
                file, line = scenario._lines.get(f"strategies.{name}", (scenario._source, None))
                where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
                out.append(f"{where}strategies.{name}.{dotted}: left at its default {mine!r} "
                           f"while the baseline '{base_name}' has {theirs!r}; set it, or start "
                           f"the strategy from another with `extends: {start}`")
    return out


def _attribute(model: BaseModel, dotted: str):
    for part in dotted.split("."):
        model = getattr(model, part)
    return model


def _validate(data: dict, file: str | None, lines: dict) -> Scenario:
    """The :class:`Scenario` of ``data``, remembering its raw data, file and key lines.

    Raises:
        ScenarioError: located at the line of the offending key where ``lines`` has it.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ScenarioError as err:
        raise _locate(err, file, lines) from None
    except ValidationError as err:
        raise _from_pydantic(err, data, file, lines, Scenario) from None
    scenario._raw = data
    scenario._source = file
    scenario._lines = lines
    return scenario


def monthly_rate(annual: float) -> float:
    """Monthly rate equivalent to an annual one: (1 + r)^(1/12) − 1."""
    return math.expm1(math.log1p(annual) / 12.0)


def json_schema() -> dict:
    """JSON Schema of a scenario file, for editor completion and validation."""
    schema = Scenario.model_json_schema()
    schema["properties"]["extends"] = {
        "type": "string", "description": "Base scenario file this one overrides."}
    schema["$defs"]["Strategy"]["properties"]["extends"] = {
        "type": "string", "description": "Strategy of this scenario whose keys this one "
                                         "starts from (deep-merged under its own)."}
    schema["$defs"]["Strategy"]["required"] = []   # all may come from the extended strategy
    return schema
