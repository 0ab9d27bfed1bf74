"""The CVM model: wiring and the fixed monthly step order, nothing else.

Step order of a month (synchronous: aggregates are computed between phases, and every
customer phase reads only its own row plus those aggregates):

1. firm codes customers into value tiers and decides reach and spend;
2. retain — declining customers reached by the retention programme;
3. contact — who contacts the firm, through which channel;
4. service levels of every human channel's pools from the month's peak-hour load;
5. serve — contacts answered within target or not;
6. experience — satisfaction from proposition fit, service and programmes;
7. develop — cross-sell;
8. leave — churn;
9. progress — stage progression;
10. word of mouth — adopter share after churn, hence adoption and return probabilities;
11. acquire — prospects become customers;
12. win_back — departed customers return;
13. account — revenue and costs; the month is recorded.
"""

from __future__ import annotations

import itertools
from typing import Literal

import mesa
import numpy as np

from . import phases, strategies
from .agents import Customer, Firm
from .population import ACQUIRED, CHURNED, WON_BACK, initial_state
from .randomness import SETUP, MonthlyDraws, stream
from .rules import acquisition, service
from .scenario import ACTIVE_STAGES, STAGES, Scenario
from .tables import DECLINE, DEPARTED, PROSPECT, build_tables, is_active

Engine = Literal["vectorized", "agents"]
ENGINES: tuple[str, ...] = ("vectorized", "agents")

COST_LINES = ("delivery_costs", "service_costs", "staffing_costs", "acquisition_costs",
              "retention_costs", "development_costs", "winback_costs", "overhead_costs")
"""Monthly cost lines; ``costs`` is their sum and ``net_cash_flow = revenue − costs``."""


class CVMModel(mesa.Model):
    """A firm and its market, stepped one month at a time.

    The scenario lives in ``model.ctx.scenario`` (mesa's own ``Model.scenario`` is a
    different, experimental concept).

    Args:
        scenario: A validated scenario.
        strategy: Name of the strategy the firm runs.
        seed: Root seed (defaults to the scenario's).
        replication: Replication index; with the seed it selects the random streams.
        engine: ``"vectorized"`` (arrays) or ``"agents"`` (mesa agents one by one).
    """

    def __init__(self, scenario: Scenario, strategy: str, seed: int | None = None,
                 replication: int = 0, engine: Engine = "vectorized"):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        if strategy not in scenario.strategies:
            raise ValueError(f"no strategy named {strategy!r} (known: "
                             f"{', '.join(scenario.strategies)})")
        seed = scenario.simulation.seed if seed is None else int(seed)
        super().__init__(rng=seed)
        self.strategy = strategy
        self.seed = seed
        self.replication = replication
        self.engine = engine
        tables = build_tables(scenario)
        plan = strategies.make_plan(scenario, tables, strategy)
        strat = scenario.strategies[strategy]
        data_quality = strat.data_quality if strat.kind == "segmented" else 1.0
        state = initial_state(scenario, tables, stream(seed, replication, SETUP), data_quality,
                              plan.offer, plan.pull)
        self.ctx = phases.Context(state=state, scenario=scenario, tables=tables, plan=plan,
                                  experience=phases.experience_table(scenario, tables))
        self.firm = Firm(self, plan)
        self._draws = MonthlyDraws(seed, replication, scenario.market.population)
        self._discount = 1.0 / (1.0 + tables.discount_monthly)
        self._segment_starts = state.segment_starts(len(tables.segment_names))
        self.records: list[dict] = []
        self.segment_records: list[np.ndarray] = []
        if engine == "agents":
            Customer.create_agents(self, len(state), np.arange(len(state)))
            self._customers = self.agents_by_type[Customer]

    def _each_customer(self, phase: str, groups: dict[str, np.ndarray]) -> None:
        """Run a customer phase: on every agent, or at once on the rows of its group."""
        if self.engine == "agents":
            self._customers.do(phase)
        else:
            getattr(phases, phase)(self.ctx, groups[phases.GROUP_OF_PHASE[phase]])

    def step(self) -> None:
        """Advance one month."""
        ctx, t = self.ctx, len(self.records) + 1
        tables, st = ctx.tables, ctx.state
        st.reset_month()
        active = is_active(st.stage)
        groups = {"active": np.flatnonzero(active),
                  "declining": np.flatnonzero(st.stage == DECLINE),
                  "prospects": np.flatnonzero(st.stage == PROSPECT),
                  "departed": np.flatnonzero(st.stage == DEPARTED)}
        decisions = self.firm.decide(groups, t)
        ctx.month = phases.Month(t=t, u=self._draws.draw(), decisions=decisions,
                                 discount=self._discount ** t, active=active)
        ctx.month.development = phases.development_table(ctx)
        for phase in ("retain", "contact"):
            self._each_customer(phase, groups)
        groups["contacted"] = np.flatnonzero(st.channel >= 0)
        ctx.month.contacts = self._contacts(groups["contacted"])
        ctx.month.service_level = service.service_levels(
            ctx.month.contacts, ctx.plan.agents, tables.human, tables.hours_per_month,
            tables.peak_to_average, tables.handle_time_seconds, tables.service_target_seconds)
        for phase in ("serve", "experience", "develop", "leave", "progress"):
            self._each_customer(phase, groups)
        # Customers now are those of the month's start who did not just leave.
        started = groups["active"]
        ctx.month.adopter_share = acquisition.adopter_share(
            st.event[started] != CHURNED, st.satisfaction[started], len(st),
            ctx.scenario.behaviour.word_of_mouth.satisfaction_weighted)
        ctx.month.adoption = phases.adoption_table(ctx)
        ctx.month.return_ = phases.return_table(ctx)
        for phase in ("acquire", "win_back"):
            self._each_customer(phase, groups)
        groups["active_or_new"] = np.flatnonzero(active | (st.event >= ACQUIRED))
        self._each_customer("account", groups)
        self.records.append(self._record(active, groups["active_or_new"], groups["contacted"]))
        self.segment_records.append(self._record_segments(groups))

    def _record_segments(self, groups: dict[str, np.ndarray]) -> np.ndarray:
        """(4, S) customers, contacts, contact costs and revenue per true segment this month."""
        st, starts = self.ctx.state, self._segment_starts
        rows = groups["active_or_new"]
        rows = rows[is_active(st.stage[rows])]
        bounds = np.append(starts, len(st))

        def per_segment(sorted_rows: np.ndarray) -> np.ndarray:
            return np.diff(np.searchsorted(sorted_rows, bounds))

        def range_sums(values: np.ndarray) -> np.ndarray:
            return np.array([values[a:b].sum() for a, b in itertools.pairwise(bounds)])

        # Non-customers carry no revenue and no contact cost, so whole ranges can be summed.
        return np.stack([per_segment(rows), per_segment(groups["contacted"]),
                         range_sums(st.service_cost), range_sums(st.revenue)])

    def _contacts(self, contacted: np.ndarray) -> np.ndarray:
        """(C, pools) contacts this month, from the rows of the customers who contacted."""
        st, n_pool = self.ctx.state, strategies.N_POOLS
        n_chan = len(self.ctx.tables.channel_names)
        key = st.channel[contacted].astype(np.intp) * n_pool + st.pool[contacted]
        return np.bincount(key, minlength=n_chan * n_pool).reshape(n_chan, n_pool)

    def _record(self, active_at_start: np.ndarray, active_or_new: np.ndarray,
                contacted: np.ndarray) -> dict:
        """The month's row of ``monthly``; ``active_or_new`` are the rows of customers at the
        start or the end of the month, ``contacted`` those who contacted the firm.

        ``service_level_<channel>`` is the Erlang C share answered within target at the
        month's peak load (contact-weighted over agent pools); ``answered_in_time_<channel>``
        counts the contacts that were."""
        ctx = self.ctx
        st, m, plan, tables = ctx.state, ctx.month, ctx.plan, ctx.tables
        row: dict = {"month": m.t}
        # Comparisons and counts: several times faster than bincount on int8 codes.
        for code, stage in enumerate(STAGES):
            row[stage] = int(np.count_nonzero(st.stage == code))
        row["acquisitions"] = int(np.count_nonzero(st.event == ACQUIRED))
        row["winbacks"] = int(np.count_nonzero(st.event == WON_BACK))
        row["churned"] = int(np.count_nonzero(st.event == CHURNED))
        row["at_risk"] = int(np.count_nonzero(active_at_start))
        row["contacts"] = int(m.contacts.sum())
        row["revenue"] = float(st.revenue.sum())
        spend = m.decisions.spend
        lines = {
            "delivery_costs": float(st.delivery_cost.sum()),
            "service_costs": float(st.service_cost.sum()),
            "staffing_costs": plan.staffing_cost,
            "acquisition_costs": spend["acquisition"],
            "retention_costs": spend["retention"],
            "development_costs": spend["development"],
            "winback_costs": spend["winback"],
            "overhead_costs": plan.overhead,
        }
        row.update(lines)
        row["costs"] = sum(lines.values())
        row["net_cash_flow"] = row["revenue"] - row["costs"]
        row["discount_factor"] = m.discount
        n_active = sum(row[stage] for stage in ACTIVE_STAGES)
        if n_active:
            # Multiply-and-sum, not np.dot: BLAS would start threads that spin on the
            # other core. Non-customers hold no products, so products need no mask.
            active = is_active(st.stage[active_or_new])
            satisfaction = st.satisfaction[active_or_new]
            row["mean_satisfaction"] = float((satisfaction * active).sum()) / n_active
            row["products_per_customer"] = float(st.products.sum(dtype=np.int64)) / n_active
        else:
            row["mean_satisfaction"] = row["products_per_customer"] = 0.0
        # Contact states 2c + 1: answered within target in channel c.
        states = np.bincount(st.contact[contacted], minlength=2 * len(tables.channel_names) + 1)
        for c, name in enumerate(tables.channel_names):
            if tables.human[c]:
                calls = m.contacts[c]
                total = calls.sum()
                level = float((m.service_level[c] * calls).sum() / total) if total else 1.0
                row[f"service_level_{name}"] = level
                row[f"answered_in_time_{name}"] = int(states[2 * c + 1])
        return row
