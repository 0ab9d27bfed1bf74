"""Mesa agents: the firm, and customers as views on rows of the customer state.

Customer agents exist only in the agents engine (for teaching, for following one
customer's journey, and as the verification oracle); the vectorized engine runs the same
phases on whole arrays and creates no object per customer.
"""

from __future__ import annotations

import mesa
import numpy as np

from . import phases, strategies
from .scenario import STAGES, TIERS


class Firm(mesa.Agent):
    """The firm: settles its plan once, then each month codes customers and decides spend."""

    def __init__(self, model: mesa.Model, plan: strategies.Plan):
        super().__init__(model)
        self.plan = plan

    def decide(self, groups: dict[str, np.ndarray], month: int) -> strategies.Decisions:
        """Code customers into value tiers, then decide this month's reach and spend.

        ``groups``: row indices of current customers, prospects and departed customers.
        """
        ctx = self.model.ctx
        strategies.assign_tiers(self.plan, ctx.state, groups["active"])
        return strategies.decide(self.plan, ctx.scenario, ctx.state, groups, month)


class Customer(mesa.Agent):
    """One customer; its state is row ``row`` of the model's customer arrays."""

    def __init__(self, model: mesa.Model, row: int):
        super().__init__(model)
        self.row = int(row)
        self._rows = slice(self.row, self.row + 1)

    # Views on the state, for inspection.
    @property
    def stage(self) -> str:
        return STAGES[self.model.ctx.state.stage[self.row]]

    @property
    def segment(self) -> str:
        return self.model.ctx.tables.segment_names[self.model.ctx.state.segment[self.row]]

    @property
    def tier(self) -> str:
        return TIERS[self.model.ctx.state.tier[self.row]]

    @property
    def satisfaction(self) -> float:
        return float(self.model.ctx.state.satisfaction[self.row])

    @property
    def products(self) -> int:
        return int(self.model.ctx.state.products[self.row])

    # The month's verbs, in step order; each runs the shared phase on this row.
    def retain(self) -> None:
        phases.retain(self.model.ctx, self._rows)

    def contact(self) -> None:
        phases.contact(self.model.ctx, self._rows)

    def serve(self) -> None:
        phases.serve(self.model.ctx, self._rows)

    def experience(self) -> None:
        phases.experience(self.model.ctx, self._rows)

    def develop(self) -> None:
        phases.develop(self.model.ctx, self._rows)

    def leave(self) -> None:
        phases.leave(self.model.ctx, self._rows)

    def progress(self) -> None:
        phases.progress(self.model.ctx, self._rows)

    def acquire(self) -> None:
        phases.acquire(self.model.ctx, self._rows)

    def win_back(self) -> None:
        phases.win_back(self.model.ctx, self._rows)

    def account(self) -> None:
        phases.account(self.model.ctx, self._rows)
