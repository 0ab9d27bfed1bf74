"""The CVM model: wiring and the fixed monthly step order, nothing else.

A model first runs ``simulation.warmup_months`` under the warm-up strategy (the baseline,
first of ``compare``), unmeasured, with random streams that do not depend on the strategy
it will run: every compared strategy takes over the same market at month 0. The strategy
then re-plans from the firm's records and takes over (its transition: a one-off cost, and
customers moving to their new proposition over ``transition.months``).

Step order of a month (synchronous: aggregates are computed between phases, and every
customer phase reads only its own row plus those aggregates):

0. competitor — the competitor's scheduled moves and its answers to the firm's gains in
   market share due this month change its utility; the fit of every proposition, the
   month's experience tables and the true pull of the firm's offers follow (the offers
   stay as settled at the take-over);
1. firm applies any scheduled change of its strategy due this month (staffing, budgets,
   service), re-reads every label at the month's data quality if it invests in data,
   scores its customers, codes them into value tiers, staffs each channel it
   runs to a service standard for the load it forecasts, and decides reach and spend;
2. retain — customers the firm targets get the retention programme, its lifecycle
   programmes enrol the others of their stage;
3. contact — who contacts the firm, through which channel; 3a. steer — with channel
   steering, the firm suggests another channel and customers move as far as they accept;
4. service levels of every human channel's pools, hour by hour, from the month's load;
5. serve — contacts answered within target or not (the firm records it);
6. migrate — during a transition, and every month while the firm invests in data,
   customers move to the proposition now offered to their label;
7. experience — satisfaction from proposition fit, service and programmes;
8. develop — cross-sell; 8a. with cross-sell offers, the firm counts its campaign
   contacts and sales by label and offer, and at the end of a test adopts its winners;
9. leave — churn; the firm records who left;
10. progress — stage progression;
11. word of mouth — adopter share after churn, hence adoption and return probabilities;
12. acquire — prospects become customers;
13. win_back — departed customers return;
14. turn_over — people outside the base leave the market, newcomers enter, departed
    customers become prospects again;
15. account — revenue and costs; the month is recorded, and the competitor notes the
    firm's market share in each segment.
"""

from __future__ import annotations

from typing import Literal

import mesa
import numpy as np

from . import phases, scoring, strategies
from .agents import Competitor, Customer, Firm
from .codes import (
    ACQUIRED,
    ACTIVE_STAGES,
    CHURNED,
    DEPARTED,
    ENGINES,
    LOYALTY,
    ONBOARDING,
    PROGRAMMES,
    PROSPECT,
    STAGES,
    TIERS,
    WON_BACK,
    flat_index,
    is_active,
)
from .outcomes import MARKET_SHARE
from .population import initial_state, label_segments
from .randomness import LEARNING, RESEARCH, SETUP, MonthlyDraws, stream
from .rules import acquisition, service
from .rules.blend import select
from .scenario import Scenario
from .tables import build_tables, with_competitor

Engine = Literal["vectorized", "agents"]

COST_LINES = ("delivery_costs", "service_costs", "staffing_costs", "acquisition_costs",
              "retention_costs", "onboarding_costs", "loyalty_costs", "steering_costs",
              "development_costs", "testing_costs", "winback_costs", "overhead_costs",
              "data_costs", "transition_costs")
"""Monthly cost lines; ``costs`` is their sum and ``net_cash_flow = revenue − costs``."""
MAX_MONTHS = 1200
"""Longest horizon a model can be stepped (the scenario schema's bound)."""


class CVMModel(mesa.Model):
    """A firm and its market, stepped one month at a time.

    Constructing the model runs the warm-up and the take-over: the model stands at the
    end of month 0, and :meth:`step` runs measured months 1, 2, ...

    The scenario lives in ``model.ctx.scenario`` (mesa's own ``Model.scenario`` is a
    different, experimental concept).

    Args:
        scenario: A validated scenario.
        strategy: Name of the strategy the firm runs from month 1.
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
        self.warmup_strategy = scenario.compare[0]
        self.seed = seed
        self.replication = replication
        self.engine = engine
        tables = build_tables(scenario)
        n_lab = len(tables.segment_names)
        self._research = stream(seed, replication, RESEARCH).standard_normal(tables.fit.shape)
        plan = strategies.make_plan(scenario, tables, self.warmup_strategy,
                                    strategies.Records.empty(n_lab), self._research)
        warmup = scenario.simulation.warmup_months
        state = initial_state(scenario, tables, stream(seed, replication, SETUP),
                              plan.data_quality, plan.offer, plan.pull, start_month=-warmup)
        self.ctx = phases.Context(state=state, scenario=scenario, tables=tables, plan=plan,
                                  experience=phases.experience_table(scenario, tables),
                                  contribution=phases.contribution_table(scenario, tables),
                                  forced_experience=phases.experience_table(scenario, tables,
                                                                            forced=True))
        self.firm = Firm(self, plan, len(tables.proposition_names),
                         stream(seed, replication, LEARNING))
        self._draws = MonthlyDraws(seed, replication, scenario.market.agents)
        # Each agent stands for this many of the client's people: every count the model
        # records, and with it every flow of money, is in the client's units.
        self.weight = scenario.market.customers_per_agent
        # People per segment, constant: a newcomer takes the place of a person of the same
        # segment who left the market. Market shares are the firm's customers over these.
        self._people = np.bincount(state.segment, minlength=n_lab) * self.weight
        self._discount = 1.0 / (1.0 + tables.discount_monthly)
        self.month = -warmup
        # Measured months in which a scheduled change of the strategy takes effect.
        self._changes = {c.from_month for c in scenario.strategies[strategy].schedule}
        # What switching strategy costs, set at the take-over (nothing during the warm-up).
        self.migration_end, self.one_off_cost, self.legacy_overhead = 0, 0.0, 0.0
        # Whether the firm invests in data (relabels and migrates every month), from the
        # take-over on.
        self.improves_data = False
        self.records: list[dict] = []
        self.segment_records: list[dict[str, np.ndarray]] = []
        # Discounted (to month 0) value of relationships that ended, by the month they began.
        self.ended_value = np.zeros(warmup + MAX_MONTHS + 1)
        self.relationships_begun = np.zeros(warmup + MAX_MONTHS + 1)
        if engine == "agents":
            Customer.create_agents(self, len(state), np.arange(len(state)))
            self._customers = self.agents_by_type[Customer]
        for _ in range(warmup):
            self._month()
        self._take_over()
        # The competitor measures the firm's gains from its market share at the take-over.
        self.competitor = Competitor(self, scenario.market,
                                     self._market_shares(self._holdings()))

    def _take_over(self) -> None:
        """At month 0: the strategy re-plans from the firm's records (read under its own
        labels) and takes over. It pays its transition if it is not the warm-up's strategy,
        or if re-planning changes what it offers (a relaunch)."""
        ctx, st, tables = self.ctx, self.ctx.state, self.ctx.tables
        strat = ctx.scenario.strategies[self.strategy]
        quality = strategies.data_quality_of(strat)
        label = label_segments(st.segment, len(tables.segment_names), quality, st.label_u)
        old_offer = ctx.plan.offer
        plan = strategies.make_plan(ctx.scenario, tables, self.strategy,
                                    strategies.Records.read(st, label, tables), self._research)
        st.label[:] = label
        ctx.plan = self.firm.plan = plan
        self.firm.refit()
        self.firm.start_test()
        switching = (self.strategy != self.warmup_strategy
                     or not np.array_equal(old_offer, plan.offer))
        transition = strat.transition
        self.migration_end = max(transition.months, 1)   # months 0: all move in month 1
        self.one_off_cost = transition.one_off_cost if switching else 0.0
        legacy = np.setdiff1d(old_offer, plan.offer)
        self.legacy_overhead = (float(tables.proposition_fixed_cost[legacy].sum())
                                if switching and transition.months > 0 else 0.0)
        self.improves_data = strat.data is not None

    def _each_customer(self, phase: str, groups: dict[str, np.ndarray]) -> None:
        """Run a customer phase: on every agent, or at once on the rows of its group."""
        if self.engine == "agents":
            self._customers.do(phase)
        else:
            rows = (slice(None) if phase in phases.WHOLE_ARRAY
                    else self._group(phases.GROUP_OF_PHASE[phase], groups))
            getattr(phases, phase)(self.ctx, rows)

    def _group(self, name: str, groups: dict[str, np.ndarray]) -> np.ndarray:
        """Rows of group ``name`` this month. Those who contacted (found after contact) are
        in ``groups``; the other groups are found when first needed. Nobody becomes a
        prospect before acquire, and customers who left this month are not yet eligible
        for win-back, so the prospects and departed found then are the month's groups."""
        if name not in groups:
            st, active = self.ctx.state, self.ctx.month.active
            stage = st.stage
            masks = {"active": lambda: active, "outside": lambda: ~active,
                     "prospects": lambda: stage == PROSPECT,
                     "departed": lambda: stage == DEPARTED,
                     "active_or_new": lambda: active | (st.event >= ACQUIRED)}
            groups[name] = np.flatnonzero(masks[name]())   # only the group asked for
        return groups[name]

    def step(self) -> None:
        """Advance one measured month."""
        if self.month >= MAX_MONTHS:
            raise ValueError(f"a model runs at most {MAX_MONTHS} measured months")
        self._month()

    def _month(self) -> None:
        """Run the next month, in the documented order (warm-up months, 0 and below, are
        not recorded)."""
        self.month = t = self.month + 1
        groups = self._start_month(t)                                         # 1
        self._each_customer("retain", groups)                                 # 2
        self._each_customer("contact", groups)                                # 3
        groups["contacted"] = np.flatnonzero(self.ctx.state.channel >= 0)
        if self.ctx.plan.steering is not None:
            self._each_customer("steer", groups)                              # 3a
        self._serve_levels(groups)                                            # 4
        self._each_customer("serve", groups)                                  # 5
        if 0 < t <= self.migration_end or self.improves_data:
            self._each_customer("migrate", groups)                            # 6
        self._each_customer("experience", groups)                             # 7
        self._each_customer("develop", groups)                                # 8
        campaign = self._campaign_counts(t)                                   # 8a
        self._each_customer("leave", groups)                                  # 9
        left = self._after_departures(t)
        self._each_customer("progress", groups)                               # 10
        self._word_of_mouth()                                                 # 11
        self._each_customer("acquire", groups)                                # 12
        self._each_customer("win_back", groups)                               # 13
        self._each_customer("turn_over", groups)                              # 14
        self._account(t, groups, left, campaign)                              # 15

    def _start_month(self, t: int) -> dict[str, np.ndarray]:
        """Let the competitor's moves due this month take effect, clear last month's fields,
        find who is where, let the firm decide, and set up the month's draws and tables;
        returns the groups of rows the phases work on."""
        ctx, st = self.ctx, self.ctx.state
        if t > 0 and self.competitor.move(t):                                 # 0
            self._face_competitor()
        if t in self._changes:
            ctx.plan = self.firm.plan = strategies.amend_plan(
                ctx.plan, ctx.tables, ctx.scenario.strategies[self.strategy].at(t))
        if self.improves_data:
            self._improve_data(t)
        st.reset_month()
        active = is_active(st.stage)
        groups: dict[str, np.ndarray] = {}   # serve's group is found after contact
        decisions = self.firm.decide(active, t)
        ctx.month = phases.Month(t=t, u=self._draws.draw(), decisions=decisions,
                                 discount=self._discount ** t, active=active,
                                 migrate_all=0 < t == self.migration_end)
        if ctx.plan.cross_sell is not None:
            ctx.month.offer_cdf, ctx.month.offer_arm = self.firm.campaign_cells(t)
        ctx.month.development = phases.development_table(ctx)
        ctx.month.programme_cost = phases.programme_cost_table(ctx)
        ctx.month.retention = phases.retention_table(ctx)
        return groups

    def _improve_data(self, t: int) -> None:
        """Investing in data: the data quality reached in month ``t`` comes into force and
        every label is re-read at it from the same label uniforms, so a label read right
        stays right and only wrong ones turn right. Tiers, budgets and newcomers' labels
        then follow the sharper labels; offers stay as settled at the take-over."""
        ctx, st = self.ctx, self.ctx.state
        ctx.plan = self.firm.plan = strategies.improve_data(ctx.plan, t)
        st.label[:] = label_segments(st.segment, len(ctx.tables.segment_names),
                                     ctx.plan.data_quality, st.label_u)

    def _face_competitor(self) -> None:
        """Rebuild what depends on the competitor's utility: the fit of every proposition,
        the experience tables, and the true pull of the firm's offers (which new customers'
        first satisfaction, adoption and win-back read)."""
        ctx = self.ctx
        ctx.tables = with_competitor(ctx.tables, self.competitor.utility)
        ctx.experience = phases.experience_table(ctx.scenario, ctx.tables)
        ctx.forced_experience = phases.experience_table(ctx.scenario, ctx.tables, forced=True)
        ctx.plan = self.firm.plan = strategies.facing(
            ctx.plan, ctx.tables, ctx.scenario.behaviour.satisfaction.proposition_weight)

    def _serve_levels(self, groups: dict[str, np.ndarray]) -> None:
        """The month's contacts per channel and pool, and each pool's service level."""
        ctx, tables = self.ctx, self.ctx.tables
        ctx.month.contacts = self._contacts(groups["contacted"])
        self.firm.observe(ctx.month.contacts)   # what a staffing forecast learns from
        ctx.month.service_level = service.service_levels(
            ctx.month.contacts, ctx.plan.agents, tables.human, tables.hourly_share,
            tables.days_per_month, tables.handle_time_seconds, tables.service_target_seconds)

    def _campaign_counts(self, t: int) -> np.ndarray | None:
        """With cross-sell offers: the firm learns from the month's campaign contacts and
        sales by label and cell; returns (segment, label, cell, sold) counts of agents for
        the month's record (measured months only), else None."""
        ctx, st = self.ctx, self.ctx.state
        if ctx.plan.cross_sell is None or t < 1:
            return None
        n_seg, n_lab = len(ctx.tables.segment_names), len(ctx.plan.offer)
        n_cells = ctx.month.offer_cdf.shape[1]
        # offered codes: 0 none, 2c + 1 cell c without a sale, 2c + 2 with one.
        key = (st.segment.astype(np.int32) * n_lab + st.label) * (2 * n_cells + 1)
        key += st.offered
        counts = np.bincount(key, minlength=n_seg * n_lab * (2 * n_cells + 1)).reshape(
            n_seg, n_lab, 2 * n_cells + 1)[..., 1:].reshape(n_seg, n_lab, n_cells, 2)
        self.firm.learn(t, counts.sum(axis=(0, 3)), counts[..., 1].sum(axis=0))
        return counts

    def _after_departures(self, t: int) -> np.ndarray:
        """The firm records the month's customers and leavers; returns the leavers' rows."""
        st = self.ctx.state
        left = np.flatnonzero(st.event == CHURNED)
        self.firm.record(t, st.score_cell[left])
        return left

    def _word_of_mouth(self) -> None:
        """The adopter share (customers of the month's start who did not just leave) and,
        from it, the month's adoption and return probabilities."""
        ctx, st = self.ctx, self.ctx.state
        ctx.month.adopter_share = acquisition.adopter_share(
            ctx.month.active & (st.event != CHURNED), st.satisfaction, len(st),
            ctx.scenario.behaviour.word_of_mouth.satisfaction_weighted)
        ctx.month.adoption = phases.adoption_table(ctx)
        ctx.month.return_ = phases.return_table(ctx)

    def _account(self, t: int, groups: dict[str, np.ndarray], left: np.ndarray,
                 campaign: np.ndarray | None) -> None:
        """Book the month's money, close the relationships that ended (their last month's
        costs included), count new ones and record the month (from month 1, with the
        ``campaign`` counts of :meth:`_campaign_counts`); refit the firm's score every
        REFIT_MONTHS measured months."""
        st = self.ctx.state
        self._each_customer("account", groups)
        self._close_relationships(left)
        self.relationships_begun[self.slot(t)] += (np.count_nonzero(st.event >= ACQUIRED)
                                                   * self.weight)
        if t > 0:
            holdings = self._holdings()
            share = self._market_shares(holdings)
            self.records.append(self._record(holdings, groups["contacted"], campaign, share))
            self.segment_records.append(self._record_segments(holdings, groups["contacted"]))
            self.competitor.watch(t, share)
            if t % scoring.REFIT_MONTHS == 0:
                self.firm.refit()

    def slot(self, month: np.ndarray | int) -> np.ndarray | int:
        """Index of ``month`` in the per-month ledgers (which start at the first warm-up
        month)."""
        return month + self.ctx.scenario.simulation.warmup_months

    def _close_relationships(self, rows: np.ndarray) -> None:
        """Book the value of relationships that just ended under the month they began."""
        if rows.size:
            st = self.ctx.state
            np.add.at(self.ended_value, self.slot(st.cohort[rows].astype(np.intp)),
                      st.value[rows] * self.weight)

    def _holdings(self) -> np.ndarray:
        """(T, S, P, K+1) customers at the month's end by value tier and holding (segment,
        proposition, products held): what the month's revenue and delivery costs follow."""
        st, tables = self.ctx.state, self.ctx.tables
        n_tier, (n_seg, n_prop, n_k) = len(TIERS), tables.revenue.shape
        n_bins = n_tier * tables.revenue.size
        key = flat_index((st.tier, st.holding, st.products), (n_tier, n_seg * n_prop, n_k))
        # Non-customers go to one bin past the customers'.
        counts = np.bincount(select(is_active(st.stage), key, n_bins), minlength=n_bins + 1)
        return counts[:-1].reshape(n_tier, *tables.revenue.shape) * self.weight

    def _market_shares(self, holdings: np.ndarray) -> np.ndarray:
        """(S,) the firm's share of each segment's people at the month's end (0 for a
        segment without people); ``holdings`` from :meth:`_holdings`."""
        return np.divide(holdings.sum(axis=(0, 2, 3)), self._people,
                         out=np.zeros(len(self._people)), where=self._people > 0)

    def _record_segments(self, holdings: np.ndarray, contacted: np.ndarray
                         ) -> dict[str, np.ndarray]:
        """This month per true segment and value tier: customers at the month's end, their
        revenue and delivery costs ((S, T) each), contacts and contacts answered within
        target per channel ((S, T, C) each); ``holdings`` from :meth:`_holdings`,
        ``contacted`` the rows of who contacted."""
        st, tables = self.ctx.state, self.ctx.tables
        n_seg, n_tier, n_chan = len(tables.segment_names), len(TIERS), len(tables.channel_names)
        # One count over (segment, tier, channel, answered within target): contact states
        # 2c + 1, odd, are answered in time in channel c.
        contact_key = ((st.segment[contacted].astype(np.intp) * n_tier + st.tier[contacted])
                       * n_chan + st.channel[contacted]) * 2 + (st.contact[contacted] & 1)
        contacts = np.bincount(contact_key, minlength=n_seg * n_tier * n_chan * 2).reshape(
            n_seg, n_tier, n_chan, 2) * self.weight

        def by_segment_tier(per_holding: np.ndarray | None = None) -> np.ndarray:
            counts = holdings if per_holding is None else holdings * per_holding
            return counts.sum(axis=(2, 3)).T

        return {
            "customers": by_segment_tier(),
            "revenue": by_segment_tier(tables.revenue),
            "delivery_costs": by_segment_tier(tables.delivery_cost),
            "contacts": contacts.sum(axis=3),
            "answered_in_time": contacts[..., 1],
        }

    def _campaign_record(self, campaign: np.ndarray | None) -> dict[str, int]:
        """The month's cross-sell offer counts (see :meth:`_record`), in the client's units."""
        names = ("offer_contacts", "offer_sales", "test_contacts", "test_sales",
                 "right_offer_contacts")
        if campaign is None:
            return dict.fromkeys(names, 0)
        plan, k = self.ctx.plan, self.weight
        made = campaign.sum(axis=3)                                   # (S, L, cells)
        arms = len(plan.cross_sell)
        best = self.ctx.tables.offer_response.argmax(axis=0)            # (S,) offer codes
        right = plan.cross_sell[self.ctx.month.offer_arm][None] == best[:, None, None]
        counts = (made.sum(), campaign[..., 1].sum(), made[..., :arms].sum() if
                  self.firm.experiment is not None else 0,
                  campaign[..., :arms, 1].sum() if self.firm.experiment is not None else 0,
                  (made * right).sum())
        return {name: int(n) * k for name, n in zip(names, counts, strict=True)}

    def _contacts(self, contacted: np.ndarray) -> np.ndarray:
        """(C, pools) contacts this month, from the rows of the customers who contacted."""
        st, n_pool = self.ctx.state, strategies.N_POOLS
        n_chan = len(self.ctx.tables.channel_names)
        key = st.channel[contacted].astype(np.intp) * n_pool + st.pool[contacted]
        counts = np.bincount(key, minlength=n_chan * n_pool).reshape(n_chan, n_pool)
        return counts * self.weight

    def _record(self, holdings: np.ndarray, contacted: np.ndarray,
                campaign: np.ndarray | None, share: np.ndarray) -> dict:
        """The month's row of ``monthly``; ``holdings`` from :meth:`_holdings`, ``contacted``
        the rows of the customers who contacted the firm, ``campaign`` the counts of
        :meth:`_campaign_counts`, ``share`` from :meth:`_market_shares`.

        ``products_sold`` counts the further products customers bought this month (by
        themselves, from a campaign or in a service contact); ``offer_contacts`` and
        ``offer_sales`` count campaign contacts with a cross-sell
        offer and the purchases that followed, ``test_contacts`` and ``test_sales`` those
        in a test's cells; ``right_offer_contacts`` the contacts that got the offer with
        the highest response in the customer's true
        segment among all the scenario's offers: what the firm has learnt, which it never
        sees.

        ``service_level_<channel>`` is the Erlang C share answered within target, averaged
        over the month's opening hours and agent pools weighted by contacts;
        ``contacts_<channel>`` counts the channel's contacts and ``answered_in_time_<channel>``
        those answered within target; ``staffing_costs_<channel>``
        is what the channel's agents cost; ``data_quality`` is the accuracy of the firm's
        labels in force that month (probability). Per segment, ``market_share_<segment>`` is
        the firm's customers at the month's end over the segment's people (0..1) and
        ``competitor_utility_<segment>`` the competitor's utility in force that month
        (utility units)."""
        ctx = self.ctx
        st, m, plan, tables = ctx.state, ctx.month, ctx.plan, ctx.tables
        row: dict = {"month": m.t}
        k = self.weight

        def count(mask: np.ndarray) -> int:
            # Comparisons and counts: several times faster than bincount on int8 codes.
            return int(np.count_nonzero(mask)) * k

        for code, stage in enumerate(STAGES):
            row[stage] = count(st.stage == code)
        row["acquisitions"] = count(st.event == ACQUIRED)
        row["winbacks"] = count(st.event == WON_BACK)
        row["churned"] = count(st.event == CHURNED)
        row["at_risk"] = count(m.active)
        row["contacts"] = int(m.contacts.sum())
        steered = count(st.steered > 0) if plan.steering is not None else 0
        row["steered_contacts"] = steered
        row["products_sold"] = m.products_sold * k
        row.update(self._campaign_record(campaign))
        row["data_quality"] = plan.data_quality
        # Revenue and delivery costs follow the holdings of the month's end (customers who
        # left this month hold nothing); contact costs, every contact of the month.
        by_holding = holdings.sum(axis=0)
        row["revenue"] = float((by_holding * tables.revenue).sum())
        spend = m.decisions.spend
        enrolled = (np.bincount(st.programme, minlength=len(PROGRAMMES)) * k
                    if plan.programme_of.any() else np.zeros(len(PROGRAMMES)))
        lines = {
            "delivery_costs": float((by_holding * tables.delivery_cost).sum()),
            "service_costs": float((m.contacts.sum(axis=1) * tables.contact_cost[:-1]).sum()),
            "staffing_costs": float(plan.staffing_costs.sum()),
            "acquisition_costs": spend["acquisition"],
            "retention_costs": spend["retention"],
            "onboarding_costs": float(enrolled[ONBOARDING] * plan.programme_cost[ONBOARDING]),
            "loyalty_costs": float(enrolled[LOYALTY] * plan.programme_cost[LOYALTY]),
            "steering_costs": (float(steered * plan.steering.incentive)
                               if plan.steering is not None else 0.0),
            "development_costs": spend["development"],
            "testing_costs": (plan.strategy.test_and_learn.cost_per_month
                              if self.firm.experiment is not None
                              and self.firm.experiment.running(m.t) else 0.0),
            "winback_costs": spend["winback"],
            "overhead_costs": plan.overhead,
            "data_costs": (plan.strategy.data.spend_per_month
                           if plan.strategy.data is not None else 0.0),
            "transition_costs": ((self.one_off_cost if m.t == 1 else 0.0)
                                 + (self.legacy_overhead if m.t <= self.migration_end
                                    else 0.0)),
        }
        row.update(lines)
        row["costs"] = sum(lines.values())
        row["net_cash_flow"] = row["revenue"] - row["costs"]
        row["discount_factor"] = m.discount
        n_active = sum(row[stage] for stage in ACTIVE_STAGES)
        if n_active:
            # Multiply-and-sum, not np.dot: BLAS would start threads that spin on the
            # other core.
            products = np.arange(by_holding.shape[2])
            row["mean_satisfaction"] = (float((st.satisfaction * is_active(st.stage)).sum())
                                        * k / n_active)
            row["products_per_customer"] = float((by_holding * products).sum()) / n_active
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
                row[f"contacts_{name}"] = int(total)
                row[f"answered_in_time_{name}"] = int(states[2 * c + 1]) * k
                row[f"staffing_costs_{name}"] = float(plan.staffing_costs[c])
        for s, name in enumerate(tables.segment_names):
            row[f"{MARKET_SHARE}{name}"] = float(share[s])
            row[f"competitor_utility_{name}"] = float(self.competitor.utility[s])
        return row
