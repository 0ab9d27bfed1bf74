"""Scenario files: YAML → one validated, typed, immutable :class:`Scenario`.

This is the only place where parameters are checked (DESIGN decision 4). Past
:func:`load_scenario`, code trusts its inputs. Every error is a
:class:`ScenarioError` naming the file, the line where known and the dotted key path.

Units are stated in each field's description (they also appear in ``cvm schema``):
money is in the scenario's currency, flows are per month unless the key says
``annual``, probabilities are in [0, 1], utilities are in "utility units" (the
scale on which a logistic response turns 0 into one half).

The package, one module per concern (each imports only those listed after it):

- ``loading``: reading files (``extends``, the line of every key) and :func:`load_scenario`;
- ``schema``: the pydantic models, :func:`json_schema`;
- ``checks``: cross-checks the :class:`Scenario` validators run (references, the sweep);
- ``paths``: dotted key paths (``Scenario.value``, ``Scenario.override``);
- ``messages``: pydantic's errors as one-line :class:`ScenarioError` messages.
"""

from ..codes import ACTIVE_STAGES, STAGES, TIERS
from ..errors import ScenarioError
from .checks import STRATEGY_NAME
from .limits import MAX_POPULATION
from .loading import load_scenario
from .schema import (
    Agents,
    Behaviour,
    Budget,
    Budgets,
    Channel,
    ChurnParams,
    ChurnPropensity,
    DevelopmentParams,
    Economics,
    FrozenDict,
    LifecycleParams,
    Market,
    Money,
    NonNegative,
    PerCustomer,
    Positive,
    Probability,
    Proposition,
    Real,
    SatisfactionParams,
    Scenario,
    Segment,
    Simulation,
    StaffingTarget,
    StageWeights,
    Strategy,
    Sweep,
    SweepParameter,
    TestAndLearn,
    Transition,
    WordOfMouthParams,
    json_schema,
    monthly_rate,
    strategy_warnings,
)

__all__ = [
    "ACTIVE_STAGES", "MAX_POPULATION", "STAGES", "STRATEGY_NAME", "TIERS",
    "Agents", "Behaviour", "Budget", "Budgets", "Channel", "ChurnParams", "ChurnPropensity",
    "DevelopmentParams", "Economics", "FrozenDict", "LifecycleParams", "Market", "Money",
    "NonNegative", "PerCustomer", "Positive", "Probability", "Proposition", "Real",
    "SatisfactionParams", "StaffingTarget",
    "Scenario", "ScenarioError", "Segment", "Simulation", "StageWeights", "Strategy", "Sweep",
    "SweepParameter", "TestAndLearn", "Transition", "WordOfMouthParams",
    "json_schema", "load_scenario", "monthly_rate", "strategy_warnings",
]
