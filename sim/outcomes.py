"""The outcome registry: every summary metric a run reports, what it measures, its unit
and which direction is better for the firm. Metrics, experiments, sweeps, the report and
the scenario checks all read it; nothing here imports the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """One summary metric of a run.

    Attributes:
        name: Column name in the summary table.
        description: What it measures.
        unit: Its unit ("currency", "share", "customers", ...).
        better: +1 if more is better for the firm, −1 if less is.
        optional: nan where it does not apply (otherwise a non-finite value is an error).
    """

    name: str
    description: str
    unit: str
    better: int
    optional: bool = False


def _outcomes(*items: Outcome) -> dict[str, Outcome]:
    return {o.name: o for o in items}


OUTCOMES: dict[str, Outcome] = _outcomes(
    Outcome("customer_equity", "discounted net cash flow over the horizon + residual value",
            "currency", +1),
    Outcome("discounted_cash_flow", "discounted net cash flow over the horizon", "currency", +1),
    Outcome("residual_value", "discounted expected value of customers alive at the end, net "
            "of the costs of serving them", "currency", +1),
    Outcome("residual_share", "residual value / customer equity", "share", -1),
    Outcome("churn_rate_annual", "1 − (1 − churned / customer-months at risk)^12",
            "share a year", -1),
    Outcome("clv_mean", "CLV per customer acquired or won back in the horizon, discounted to "
            "acquisition, net of the costs the customer caused", "currency", +1),
    Outcome("customers_served", "relationships in the horizon: customers at its start plus "
            "those acquired or won back during it (a customer won back counts again)",
            "customers", +1),
    Outcome("customers_end", "customers active at the end", "customers", +1),
    Outcome("acquisitions", "prospects acquired over the horizon", "customers", +1),
    Outcome("winbacks", "departed customers won back over the horizon", "customers", +1),
    Outcome("churned", "departures over the horizon", "customers", -1),
    Outcome("revenue", "undiscounted revenue over the horizon", "currency", +1),
    Outcome("costs", "undiscounted costs over the horizon", "currency", -1),
    Outcome("cost_to_serve", "contact and staffing cost per customer-month",
            "currency per customer-month", -1),
    Outcome("mean_satisfaction_end", "mean satisfaction of customers at the end", "0..1", +1),
    Outcome("score_auc", "area under the ROC curve of the firm's churn score over the horizon "
            "(nan for a firm without a score)", "0..1", +1, optional=True),
    Outcome("score_lift", "departure rate of the top-scored tenth of customer-months over the "
            "average (nan for a firm without a score)", "ratio", +1, optional=True),
)
"""Every summary metric, in the order of the summary table."""

COMPARED: tuple[str, ...] = ("customer_equity", "churn_rate_annual", "clv_mean",
                             "acquisitions", "cost_to_serve")
"""The metrics of the printed comparison table (with the service level of every human
channel, see :func:`compared`)."""

SERVICE_LEVEL = "service_level_"
"""Prefix of the per-channel outcome ``service_level_<channel>`` of each human channel."""
MARKET_SHARE = "market_share_"
"""Prefix of the monthly column ``market_share_<segment>``: the firm's customers of the
segment at the month's end over its people (a monthly record, not a summary outcome)."""


def channel_outcomes(human_channels: Iterable[str]) -> dict[str, Outcome]:
    """The outcomes a scenario's human channels add: each one's service level over the
    horizon, as realised (contacts answered within target over contacts)."""
    return {f"{SERVICE_LEVEL}{c}": Outcome(
        f"{SERVICE_LEVEL}{c}", f"share of the horizon's contacts to {c} answered within its "
        "service target (1 without contacts)", "share", +1) for c in human_channels}


def outcomes_of(human_channels: Iterable[str]) -> dict[str, Outcome]:
    """Every outcome of a scenario with these human channels: :data:`OUTCOMES` and
    :func:`channel_outcomes`."""
    return {**OUTCOMES, **channel_outcomes(human_channels)}


def compared(human_channels: Iterable[str]) -> dict[str, int]:
    """The metrics of a scenario's comparison table, each with its better direction:
    :data:`COMPARED` and the service level of every human channel."""
    return {name: outcome.better for name, outcome in outcomes_of(human_channels).items()
            if name in COMPARED or name.startswith(SERVICE_LEVEL)}
