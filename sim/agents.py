"""Mesa agents: the firm, the competitor, and customers as views on rows of the customer
state.

Customer agents exist only in the agents engine (for teaching, for following one
customer's journey, and as the verification oracle); the vectorized engine runs the same
phases on whole arrays and creates no object per customer.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import mesa
import numpy as np

from . import learning, phases, scoring, strategies
from .codes import NEVER, STAGES, TIERS
from .scenario import Market
from .scenario.schema import MAX_FORECAST_MONTHS


class Firm(mesa.Agent):
    """The firm: runs its plan, keeps records of its customers (its churn-score ledger) and
    each month scores and codes customers and decides spend."""

    def __init__(self, model: mesa.Model, plan: strategies.Plan, n_propositions: int,
                 learning_rng: np.random.Generator):
        super().__init__(model)
        self.plan = plan
        self.experiment: learning.Experiment | None = None   # a test among cross-sell offers
        self._learning_rng = learning_rng
        self.ledger = scoring.Ledger.empty(n_propositions)
        self._design = scoring.design(n_propositions)
        self.score: np.ndarray | None = None   # churn score per cell, if the firm fits one
        self.census: strategies.Census | None = None   # this month's counts
        self.score_history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.retention_worth = strategies.retention_worth(plan, None, n_propositions)
        # Observed months for the staffing forecast: (contacts (C, pools), customers each
        # pool served at the month's start), at most as many as a forecast may average.
        self.contact_history: deque[tuple[np.ndarray, np.ndarray]] = deque(
            maxlen=MAX_FORECAST_MONTHS)
        self._pool_customers = np.zeros(strategies.N_POOLS)

    def decide(self, active: np.ndarray, month: int) -> strategies.Decisions:
        """Score customers into churn-score cells, count everyone (the month's census), code
        customers into value tiers, then decide this month's reach and spend.

        ``active``: who is a customer at the start of the month (bool per person).
        """
        ctx = self.model.ctx
        st = ctx.state
        # Every row is scored (whole arrays cost less than gathering the customers'); only
        # customers' cells are ever read.
        st.score_cell[:] = scoring.cells(st.proposition, st.products, st.tenure,
                                         st.last_complaint, month)
        shape = (len(self.ledger.exposed[0]), len(self.plan.offer), self.plan.tier_score.shape[1])
        self.census = strategies.Census.count(
            st, active, shape, month, ctx.scenario.behaviour.winback_after_months,
            self.plan.strategy.winback_within_months)
        cell_tier = strategies.tier_of_cells(self.plan, self.census.by_label_products())
        strategies.assign_tiers(st, active, cell_tier)
        if self.plan.development_aim is not None:
            growable = np.flatnonzero(
                active & (st.products < ctx.scenario.behaviour.development.max_products))
            group = strategies.development_group(st, growable, self.plan,
                                                 ctx.scenario.behaviour.lifecycle)
            self.census = dataclasses.replace(self.census, growable=np.bincount(
                group, minlength=self.plan.development_aim.size).astype(float))
        self._pool_customers = np.bincount(
            self.plan.pool_of_tier,
            weights=self.census.by_tier(cell_tier) * ctx.scenario.market.customers_per_agent,
            minlength=strategies.N_POOLS)
        if self.plan.standards:
            self.plan = ctx.plan = strategies.staff_to_standards(
                self.plan, ctx.tables, list(self.contact_history), self._pool_customers)
        return strategies.decide(self.plan, ctx.scenario, self.census, cell_tier,
                                 self.retention_worth)

    def start_test(self) -> None:
        """Begin the plan's test among cross-sell offers, if it runs one."""
        spec = self.plan.strategy.test_and_learn
        self.experiment = (None if spec is None else
                           learning.Experiment.start(spec, len(self.plan.offer),
                                                     self.plan.start_arm))

    def campaign_cells(self, month: int) -> tuple[np.ndarray, np.ndarray]:
        """(L, cells) the cumulative probability that a campaign contact of each label
        falls in each cell this month, and the arm (place in ``plan.cross_sell``) each
        cell offers; without a test, one cell making the strategy's offer."""
        n_lab = len(self.plan.offer)
        if self.experiment is None:
            return np.ones((n_lab, 1)), np.zeros((n_lab, 1), dtype=np.int8)
        share = self.experiment.cells(month, self._learning_rng)
        arms = share.shape[1] - 1
        arm = np.tile(np.arange(arms + 1, dtype=np.int8), (n_lab, 1))
        arm[:, arms] = self.experiment.champion
        cdf = np.cumsum(share, axis=1)
        cdf[:, -1] = 1.0    # rounding must leave no uniform beyond the last cell
        return cdf, arm

    def learn(self, month: int, contacts: np.ndarray, sales: np.ndarray) -> None:
        """Note a month's campaign contacts and sales by label and cell ((L, cells) each,
        agents): the test cells' go into the test, which at its last month adopts its
        winners."""
        test = self.experiment
        if test is None or not test.running(month):
            return
        arms = test.contacts.shape[1]
        test.observe(contacts[:, :arms], sales[:, :arms])
        if month == test.months:
            test.conclude(month, self._learning_rng)

    def observe(self, contacts: np.ndarray) -> None:
        """Note the month's contacts per channel and pool (in the client's units)."""
        self.contact_history.append((contacts, self._pool_customers))

    def record(self, month: int, left_cells: np.ndarray) -> None:
        """Note the month's customers (from its census) and leavers by score cell (and, in
        measured months, how the score in use ranked them)."""
        self.ledger.record(month, self.census.by_cell(), left_cells)
        if month > 0 and self.score is not None:
            slot = month % scoring.REFIT_MONTHS
            self.score_history.append((self.score, self.ledger.exposed[slot].copy(),
                                       self.ledger.left[slot].copy()))

    def refit(self) -> None:
        """Fit the churn score on the ledger (strategies that target retention only) and
        re-rank what retention is worth by cell and label."""
        n_props = len(self.model.ctx.tables.proposition_names)
        self.score = None
        if self.plan.scores_churn:
            beta = scoring.fit(self.ledger.exposed.sum(axis=0), self.ledger.left.sum(axis=0),
                               self._design)
            if beta is not None:
                self.score = scoring.scores(beta, self._design)
        self.retention_worth = strategies.retention_worth(self.plan, self.score, n_props)


class Competitor(mesa.Agent):
    """The competitor: the customers' outside option in each segment, an offer worth
    ``utility`` (S,) to the segment's people (utility units).

    Its offer changes as the scenario schedules (``market.competitor_moves``) and, with
    ``market.reactive_competitor``, in answer to the firm's gains in market share, which is
    all it observes of the firm: the share of each segment's people who are the firm's
    customers, at each measured month's end.
    """

    def __init__(self, model: mesa.Model, market: Market, share: np.ndarray):
        """``share``: (S,) the firm's market share per segment at the take-over (month 0),
        the reference its gains are measured against."""
        super().__init__(model)
        names = list(market.segments)
        self.utility = np.array([market.competitor_utility[name] for name in names])
        # The scheduled moves, summed per month they take effect: (S,) changes.
        self._moves: dict[int, np.ndarray] = {}
        for move in market.competitor_moves:
            change = self._moves.setdefault(move.from_month, np.zeros(len(names)))
            change[[names.index(name) for name in move.segments or names]] += \
                move.utility_change
        self.reaction = market.reactive_competitor
        self.reference = share.copy()          # share the next gain is measured against
        self.share = share.copy()              # share at the last month's end
        self.answer_month = np.full(len(names), NEVER)   # when a pending answer lands
        self.answers = np.zeros(len(names), dtype=int)   # answers given per segment

    def move(self, month: int) -> bool:
        """At the start of ``month``: the scheduled moves and the answers due this month
        change the utility. Returns whether any was due (the fit must then be rebuilt)."""
        change = self._moves.get(month)
        answering = self.answer_month == month
        if change is None and not answering.any():
            return False
        change = np.zeros(len(self.utility)) if change is None else change.copy()
        if answering.any():
            change[answering] += self.reaction.utility_change
            # Its next answer is measured from the share it saw last, when it answers.
            self.reference[answering] = self.share[answering]
            self.answers += answering
            self.answer_month[answering] = NEVER
        # A new array, not an update in place: the tables of the months before hold the old.
        self.utility = self.utility + change
        return True

    def watch(self, month: int, share: np.ndarray) -> None:
        """At the end of measured ``month``, note the firm's market share per segment (S,);
        where it exceeds the reference by more than the threshold, and no answer is pending
        nor all given, answer ``delay_months`` later."""
        self.share = share
        r = self.reaction
        if r is None:
            return
        gained = ((share - self.reference > r.threshold) & (self.answer_month == NEVER)
                  & (self.answers < r.max_responses))
        self.answer_month[gained] = month + r.delay_months


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


def _verb(phase: str):
    """The Customer method that runs ``phase`` of :mod:`sim.phases` on the agent's row."""
    def run(self: Customer) -> None:
        getattr(phases, phase)(self.model.ctx, self._rows)

    run.__name__, run.__qualname__ = phase, f"Customer.{phase}"
    run.__doc__ = getattr(phases, phase).__doc__
    return run


# The month's verbs: one per customer phase, each running the shared phase on this row (so
# a new phase needs no new method here).
for _phase in phases.GROUP_OF_PHASE:
    setattr(Customer, _phase, _verb(_phase))
