"""Docking: each mechanism, isolated by a scenario in ``scenarios/validation/``, against
the published closed form it must reproduce (DESIGN decision 5).

Every check compares simulated and closed-form values and allows an error derived from
the run's own sampling error (stated in each check's ``how``), never a guessed one: as many
standard errors as keep a correct model's chance of failing the check below
:data:`FALSE_ALARM`.
``cvm validate`` runs them at full size and writes ``docs/validation.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import betaln

from .rules import service
from .scenario import Scenario, load_scenario, monthly_rate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios" / "validation"
FALSE_ALARM = 1e-3
"""Probability that a correct model fails a check by chance, whatever the number of values
the check compares (Bonferroni: each of k values is held to FALSE_ALARM / k)."""


def critical(values: int = 1, df: int | None = None) -> float:
    """Standard errors allowed at each of ``values`` compared values: the two-sided normal
    quantile (or Student t with ``df`` degrees of freedom, for errors estimated from few
    replications) at FALSE_ALARM / values."""
    from scipy import stats

    level = 1 - FALSE_ALARM / (2 * values)
    return float(stats.norm.ppf(level) if df is None else stats.t.ppf(level, df))


@dataclass
class Check:
    """One docking comparison; ``x``, ``simulated_curve`` and ``reference_curve`` are what
    its plot shows."""

    name: str
    reference: str
    simulated: float
    expected: float
    error: float
    tolerance: float
    how: str
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    simulated_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    reference_curve: np.ndarray = field(default_factory=lambda: np.zeros(0))
    xlabel: str = "month"
    ylabel: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.tolerance)


def _scenario(name: str, scale: float, changes: dict | None = None) -> Scenario:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    market = scenario.market
    size = {"market.population": max(100, round(market.population * scale))}
    if market.initial_customers:
        size["market.initial_customers"] = size["market.population"]
    return scenario.override({**size, **(changes or {})})


def _worst(diff: np.ndarray, se: np.ndarray, z: float) -> tuple[float, float]:
    """(error, tolerance) at the point where |diff| is largest relative to z · se."""
    i = int(np.argmax(np.abs(diff) / (z * se)))
    return float(abs(diff[i])), float(z * se[i])


# ------------------------------------------------------------------ geometric CLV
def geometric(scale: float = 1.0) -> list[Check]:
    """Mean discounted value of a customer acquired at month 0, over the horizon and over
    a lifetime (with the residual value), against m·Σ q^t and m·(1 − p)/(d + p)."""
    from .runner import run

    s = _scenario("geometric", scale)
    seg = next(iter(s.market.segments.values()))
    prop = next(iter(s.propositions.values()))
    p, m = seg.churn.constant, prop.price - prop.unit_cost
    d = monthly_rate(s.economics.discount_rate_annual)
    q = (1 - p) / (1 + d)
    horizon = s.simulation.horizon_months
    result = run(s)
    n = len(result.customers)
    value = result.customers["value"].to_numpy()
    lifetime = value + result.customers["residual_value"].to_numpy()
    t = np.arange(1, horizon + 1)
    expected_path = m * q * (1 - q**t) / (1 - q)
    simulated_path = np.cumsum(result.monthly["net_cash_flow"]
                               * result.monthly["discount_factor"]).to_numpy() / n
    z = critical()
    how = f"{z:.2f} standard errors of the mean over {n:,} customers"
    return [
        Check("geometric CLV over the horizon",
              f"m·q(1 − q^H)/(1 − q), q = (1 − p)/(1 + d); m = {m:g}, p = {p:g}, H = {horizon}",
              float(value.mean()), float(expected_path[-1]),
              abs(float(value.mean() - expected_path[-1])),
              z * float(value.std(ddof=1)) / math.sqrt(n), how, t, simulated_path,
              expected_path, "month", "mean discounted value per customer (currency)"),
        Check("geometric CLV, lifetime (with residual value)",
              "m·(1 − p)/(d + p) (Fader & Hardie 2012: margins at each period's end, "
              "acquisition period excluded)",
              float(lifetime.mean()), m * (1 - p) / (d + p),
              abs(float(lifetime.mean()) - m * (1 - p) / (d + p)),
              z * float(lifetime.std(ddof=1)) / math.sqrt(n), how),
    ]


# ------------------------------------------------------------------ sBG retention
def sbg_survival(alpha: float, beta: float, periods: np.ndarray) -> np.ndarray:
    """Shifted-beta-geometric survival S(t) = B(α, β + t) / B(α, β) (Fader & Hardie 2007)."""
    return np.exp(betaln(alpha, beta + np.asarray(periods, dtype=float)) - betaln(alpha, beta))


def sbg(scale: float = 1.0, renewal_every_months: int = 1) -> Check:
    """Share of the month-0 cohort still active after each churn opportunity."""
    from .runner import run

    months = 60 if renewal_every_months > 1 else None
    changes = {"behaviour.lifecycle.renewal_every_months": renewal_every_months}
    if months:
        changes["simulation.horizon_months"] = months
    s = _scenario("sbg", scale, changes)
    churn = next(iter(s.market.segments.values())).churn
    result = run(s)
    n = s.market.population
    active = n - result.monthly["departed"].to_numpy()
    month = result.monthly["month"].to_numpy()
    at = month % renewal_every_months == 0
    opportunities = month[at] // renewal_every_months
    simulated = active[at] / n
    expected = sbg_survival(churn.alpha, churn.beta, opportunities)
    z = critical(len(simulated))
    error, tolerance = _worst(simulated - expected, np.sqrt(expected * (1 - expected) / n), z)
    rhythm = "monthly" if renewal_every_months == 1 else f"every {renewal_every_months} months"
    return Check(f"sBG retention, churn {rhythm}",
                 f"S(t) = B(α, β + t)/B(α, β); α = {churn.alpha:g}, β = {churn.beta:g}",
                 float(simulated[-1]), float(expected[-1]), error, tolerance,
                 f"{z:.2f} binomial standard errors √(S(1 − S)/n), n = {n:,}, at the worst of "
                 f"{len(simulated)} points", opportunities, simulated, expected,
                 "churn opportunities", "share of the cohort still active")


# ------------------------------------------------------------------ Bass diffusion
def bass_recursion(p: float, q: float, months: int) -> np.ndarray:
    """Discrete Bass adoption F(1..months) from F(0) = 0: F' = F + (1 − F)(p + qF)."""
    f, out = 0.0, []
    for _ in range(months):
        f = f + (1 - f) * min(p + q * f, 1.0)
        out.append(f)
    return np.array(out)


def bass(scale: float = 1.0, replications: int = 10) -> Check:
    """Mean adoption curve over replications against the discrete Bass recursion."""
    from .runner import run

    s = _scenario("bass", scale)
    seg = next(iter(s.market.segments.values()))
    n = s.market.population
    paths = np.array([
        (n - run(s, replication=r).monthly["prospect"].to_numpy()) / n
        for r in range(replications)])
    simulated = paths.mean(axis=0)
    expected = bass_recursion(seg.innovation, seg.word_of_mouth, s.simulation.horizon_months)
    # Spread across replications; never below the binomial error of one month's draws.
    se = np.maximum(paths.std(axis=0, ddof=1),
                    np.sqrt(expected * (1 - expected) / n)) / math.sqrt(replications)
    z = critical(len(expected), df=replications - 1)
    error, tolerance = _worst(simulated - expected, se, z)
    month = np.arange(1, len(expected) + 1)
    return Check("Bass diffusion", f"F(t+1) = F(t) + (1 − F(t))(p + q F(t)); p = "
                 f"{seg.innovation:g}, q = {seg.word_of_mouth:g}",
                 float(simulated[-1]), float(expected[-1]), error, tolerance,
                 f"{z:.2f} standard errors (Student t, {replications - 1} df) of the mean "
                 f"over {replications} replications of "
                 f"{n:,} (at the worst month)", month, simulated, expected, "month",
                 "share of the population adopted")


# ------------------------------------------------------------------ Erlang C
WESTBAY = {"load": 48.0, "agents": 55, "handle": 240.0, "target": 15.0,
           "waiting": 0.24, "service_level": 0.85, "asa": 8.2}
"""The Erlang C worked example of Westbay Engineers ("The Erlang-C formula"): 360 calls
per half hour of 4 minutes (48 erlangs), 55 agents, a 15-second target; published, rounded:
probability of waiting 24 %, average speed of answer 8.2 s, service level 85 %."""


def erlang(scale: float = 1.0) -> list[Check]:
    """The formulas against a published worked example, and the simulated call centre
    against the formulas for its load."""
    from .runner import run

    w = WESTBAY
    published = [
        service.erlang_c(w["load"], w["agents"]) - w["waiting"],
        service.service_level(w["load"], w["agents"], w["target"], w["handle"])
        - w["service_level"],
        service.average_speed_of_answer(w["load"], w["agents"], w["handle"]) - w["asa"],
    ]
    # Published as whole percent and tenths of a second: half a unit of the last digit.
    rounding = [0.005, 0.005, 0.05]
    worst = int(np.argmax(np.abs(published) / rounding))

    s = _scenario("erlang", scale)
    channel_name, channel = next((k, c) for k, c in s.channels.items() if c.human)
    staffing = s.strategies[s.compare[0]].staffing[channel_name]
    profile = np.asarray(channel.hourly_profile, dtype=float)
    share = profile / profile.sum()
    agents = np.broadcast_to(staffing, share.shape)
    monthly = run(s).monthly
    contacts = monthly["contacts"].to_numpy()
    # Scalar formulas, hour by hour, weighted by each hour's share of the contacts.
    formula = np.array([sum(
        h_share * service.service_level(
            float(service.offered_load(c, h_share, channel.days_per_month,
                                       channel.handle_time_seconds)),
            int(h_agents), channel.service_target_seconds, channel.handle_time_seconds)
        for h_share, h_agents in zip(share, agents, strict=True)) for c in contacts])
    reported = monthly[f"service_level_{channel_name}"].to_numpy()
    answered = monthly[f"answered_in_time_{channel_name}"].to_numpy()
    expected_answered = float((contacts * formula).sum())
    se = math.sqrt(float((contacts * formula * (1 - formula)).sum()))
    month = monthly["month"].to_numpy()
    return [
        Check("Erlang C worked example (Westbay)",
              "C(A, N), SL = 1 − C·e^(−(N − A)T/h), ASA = C·h/(N − A); A = 48, N = 55",
              [w["waiting"], w["service_level"], w["asa"]][worst] + published[worst],
              [w["waiting"], w["service_level"], w["asa"]][worst], abs(published[worst]),
              rounding[worst], "half a unit in the last published digit"),
        Check("simulated service level reported for its load",
              "contact-weighted mean over opening hours of the Erlang C service level of "
              "each hour's load and staffing",
              float(reported.mean()), float(formula.mean()),
              float(np.abs(reported - formula).max()), 1e-12,
              "exact up to floating-point rounding", month, reported, formula, "month",
              "share answered within target"),
        Check("contacts answered within target",
              "Σ contacts × service level (each contact answered with that probability)",
              float(answered.sum()), expected_answered,
              abs(float(answered.sum()) - expected_answered), critical() * se,
              f"{critical():.2f} binomial standard errors of the total over "
              f"{contacts.sum():,} contacts",
              month, answered / contacts, formula, "month",
              "share answered within target"),
    ]


# ------------------------------------------------------------------ seed cases
CASES = SCENARIOS / "cases"
"""Scenarios of the seed cases: patterns the model must produce from behaviour."""


def fekkai() -> list[Check]:
    """The Fekkai booking line (CVM practice 4): with a peak hour of five times the normal
    load, staffing to the average misses the standard at the peak, staffing each hour to
    the standard meets it, and the peak hour then needs several times a normal hour's
    agents. Run at the case's own size: how many agents a load needs depends on the load."""
    from .model import CVMModel

    s = load_scenario(CASES / "fekkai.yaml")
    name, channel = next((k, c) for k, c in s.channels.items() if c.human)
    c = list(s.channels).index(name)
    std = s.strategies["to_hour"].staffing[name]
    profile = np.asarray(channel.hourly_profile, dtype=float)
    peak, normal = int(np.argmax(profile)), int(np.argmin(profile))
    found = {}
    for strategy in ("to_hour", "to_average"):
        model = CVMModel(s, strategy)
        agents, peak_level = [], []
        for _ in range(s.simulation.horizon_months):
            model.step()
            staff = model.firm.plan.agents[c, 0]
            load = service.offered_load(model.ctx.month.contacts[c, 0],
                                        profile[peak] / profile.sum(), channel.days_per_month,
                                        channel.handle_time_seconds)
            agents.append(staff)
            peak_level.append(service.service_level(load, staff[peak], std.within_seconds,
                                                    channel.handle_time_seconds))
        records = model.records
        found[strategy] = (np.array(agents), np.array(peak_level),
                           sum(r[f"answered_in_time_{name}"] for r in records),
                           sum(r[f"contacts_{name}"] for r in records))
    agents, _, answered, calls = found["to_hour"]
    ratio = float(np.mean(agents[:, peak] / agents[:, normal]))
    met = answered / calls
    se = math.sqrt(std.answered * (1 - std.answered) / calls)
    missed = float(np.mean(found["to_average"][1]))
    return [
        Check("Fekkai: staffing to the average misses the standard at the peak",
              f"seed 002, practice 4: {std.answered:.0%} of calls within "
              f"{std.within_seconds:g} s; the peak hour's Erlang C level for the month's "
              "calls under one all-day level sized for the average hour",
              missed, std.answered, max(0.0, missed - std.answered), 0.0,
              "must fall short of the standard (mean over months)"),
        Check("Fekkai: staffing each hour to the standard meets it",
              "share of the horizon's calls answered within the standard, each hour staffed "
              "on the load forecast from the last months' calls",
              met, std.answered, max(0.0, std.answered - met), critical() * se,
              f"at most {critical():.2f} binomial standard errors below the standard"),
        Check("Fekkai: agents at the peak hour over a normal hour's",
              "seed 002, practice 4: the peak needed five times the normal number of "
              "operators; the model staffs each hour to the standard",
              ratio, 5.0, abs(ratio - 5.0), 1.25,
              "'about five': within a quarter of it. Erlang C needs fewer than "
              "proportionally more agents for a larger load, so the ratio lies below the "
              "load ratio of 5 and nears it as the load grows"),
    ]


USAA_RETENTION = 0.96
"""USAA's annual customer retention (seed 002, practice 2)."""
ABOUT = 0.005
"""How far "about 96 %" reaches: a figure reported to the point stands for ±half a point."""


def usaa() -> list[Check]:
    """USAA-like lifecycle management (CVM practice 2): one loyal, well-served segment with
    onboarding, loyalty and retention programmes keeps about 96 % of its customers a year;
    the same segment without them does not. Retention is 1 − the horizon's annual churn
    rate, per replication, after the warm-up."""
    from .runner import run

    s = load_scenario(CASES / "usaa.yaml")
    without, lifecycle = s.compare
    reps = s.simulation.replications
    kept = {name: np.array([1.0 - run(s, strategy=name, replication=r).summary[
        "churn_rate_annual"] for r in range(reps)]) for name in s.compare}
    gain = kept[lifecycle] - kept[without]          # paired: the same luck in each replication
    se = float(gain.std(ddof=1) / math.sqrt(reps))
    low = USAA_RETENTION - ABOUT
    source = ("seed 002, practice 2: USAA's 96 % customer retention; 'about 96 %' read as "
              f"within {ABOUT:.1%}. The segment's base churn is set so the firm with programmes "
              "lands near it; the programmes' effects are base.yaml's customer responses")
    return [
        Check("USAA: with lifecycle programmes, about 96 % retention a year", source,
              float(kept[lifecycle].mean()), USAA_RETENTION,
              abs(float(kept[lifecycle].mean()) - USAA_RETENTION), ABOUT,
              f"mean over {reps} replications within {ABOUT:.1%} of 96 %"),
        Check("USAA: the same segment without them falls short", source,
              float(kept[without].mean()), low, max(0.0, float(kept[without].mean()) - low),
              0.0, "must stay below 'about 96 %' (under 95.5 %)"),
        Check("USAA: programmes raise retention (paired by replication)",
              "the same market and luck without and with the programmes",
              float(gain.mean()), 0.0, max(0.0, critical(df=reps - 1) * se - float(gain.mean())),
              0.0, f"the gain must exceed {critical(df=reps - 1):.1f} paired standard errors"),
    ]


ROUGHLY = 0.10
"""How far "roughly" reaches for a saving or a load that follows the contacts moved:
within a tenth. Moving contacts changes satisfaction and service, hence churn and contacts,
a little."""


def channel_migration() -> list[Check]:
    """Channel migration (CVM practice 3): steering about 5 % of contact volume from the call
    centre to self-service lowers the cost of contacts by the contacts moved times the
    difference in their cost, and the call centre's load by the contacts moved. Totals over
    the horizon and the scenario's replications, without and with steering (paired)."""
    from .runner import run

    s = load_scenario(CASES / "channel_migration.yaml")
    without, steered = s.compare
    spec = s.strategies[steered].steering
    (source,) = spec.away_from
    gap = s.channels[source].cost_per_contact - s.channels[spec.to].cost_per_contact
    totals = {name: sum(run(s, strategy=name, replication=r).monthly[
        ["contacts", "steered_contacts", f"contacts_{source}", "service_costs"]].sum()
        for r in range(s.simulation.replications)) for name in s.compare}
    moved = totals[steered]["steered_contacts"]
    share = moved / totals[steered]["contacts"]
    saving = (totals[without]["service_costs"] - totals[steered]["service_costs"]) / (moved * gap)
    relief = (totals[without][f"contacts_{source}"] - totals[steered][f"contacts_{source}"]) / moved
    seed = "seed 002, practice 3: moving 5 % of volume to lower-cost channels saved $15 million"
    return [
        Check("Channel migration: about 5 % of contacts move", seed + "; the share of "
              "call-centre contacts the firm suggests self-service to (0.27) is set for it; "
              "customers accept by preference and satisfaction",
              float(share), 0.05, abs(float(share) - 0.05), 0.01, "within a point of 5 %"),
        Check("Channel migration: contact costs fall by the moved contacts' cost difference",
              seed + f"; saving over moved contacts × {gap:.2f} a contact", float(saving), 1.0,
              abs(float(saving) - 1.0), ROUGHLY, "'roughly': within a tenth"),
        Check("Channel migration: the call centre's load falls by the contacts moved",
              "seed 002, practice 3: self-service cut call-centre load; fall in call-centre "
              "contacts over contacts moved", float(relief), 1.0, abs(float(relief) - 1.0),
              ROUGHLY, "within a tenth"),
    ]


CAPITAL_ONE_SHARE = 0.5
"""Capital One: "more than 50 % of its customers have purchased a variety of financial
products" (seed 002, practice 1)."""


def capital_one() -> list[Check]:
    """Capital One-like test-and-learn (CVM practice 1): after the firm tests its cross-sell
    offers within each segment label and adopts what sells, over half of its mature
    customers hold several products; without learning, fewer do. Shares of mature
    customers with two products or more at the end of each replication."""
    from .runner import run

    s = load_scenario(CASES / "capital_one.yaml")
    without, learning = s.compare
    reps = s.simulation.replications

    def several(name: str, r: int) -> float:
        customers = run(s, strategy=name, replication=r).customers
        mature = customers[customers["stage"] == "maturity"]
        return float((mature["products"] >= 2).mean())

    share = {name: np.array([several(name, r) for r in range(reps)]) for name in s.compare}
    gain = share[learning] - share[without]          # paired: the same luck in each replication
    se = float(gain.std(ddof=1) / math.sqrt(reps))
    source = ("seed 002, practice 1: over half of Capital One's customers hold several of "
              "its products. Each segment answers one offer well (the case's offers block, "
              "never read by the firm); the campaign budget is set so the firm making one "
              "classic card to everyone stays below half")
    return [
        Check("Capital One: after test-and-learn, over half of mature customers hold several "
              "products", source, float(share[learning].mean()), CAPITAL_ONE_SHARE,
              max(0.0, CAPITAL_ONE_SHARE - float(share[learning].mean())), 0.0,
              f"mean over {reps} replications must exceed half"),
        Check("Capital One: fewer without learning (paired by replication)",
              "the same market and luck, campaigns making the classic card to everyone",
              float(gain.mean()), 0.0,
              max(0.0, critical(df=reps - 1) * se - float(gain.mean())), 0.0,
              f"the gain must exceed {critical(df=reps - 1):.1f} paired standard errors"),
    ]


# ------------------------------------------------------------------ the engine itself
HEADLINE = SCENARIOS.parent / "gsp_vs_segmented.yaml"


def engines_agree(customers: int = 400, months: int = 24) -> Check:
    """The agents engine against the vectorized one on the headline scenario, shrunk (the
    agents engine steps every customer through Python): every monthly figure and every
    customer's final state must be identical."""
    from .runner import run

    s = load_scenario(HEADLINE).override({
        "market.population": customers, "market.initial_customers": customers * 3 // 10})
    worst = 0.0
    for strategy in s.compare:
        vec = run(s, strategy=strategy, months=months)
        agents = run(s, strategy=strategy, months=months, engine="agents")
        numeric = vec.monthly.select_dtypes("number").columns
        worst = max(worst, float(np.abs(vec.monthly[numeric] - agents.monthly[numeric])
                                 .to_numpy().max()))
        if not vec.customers.equals(agents.customers):
            worst = math.inf
    return Check("engines agree (vectorized and mesa agents)",
                 f"identical monthly tables and customers, {customers} customers × {months} "
                 "months, every strategy of the headline scenario", worst, 0.0, worst, 0.0,
                 "bit-identical")


def accounting(scale: float = 1.0) -> Check:
    """Revenue − each cost line = net cash flow every month; the segment table adds up to
    the monthly revenue."""
    from .model import COST_LINES
    from .runner import run

    market = load_scenario(HEADLINE).market
    size = max(100, round(market.population * scale))
    s = load_scenario(HEADLINE).override({
        "market.population": size, "market.initial_customers": size * 3 // 10})
    worst, scale_of = 0.0, 1.0
    for strategy in s.compare:
        r = run(s, strategy=strategy)
        m = r.monthly
        gap = m["revenue"] - m[list(COST_LINES)].sum(axis=1) - m["net_cash_flow"]
        by_segment = r.segments.groupby("month", observed=True)["revenue"].sum().to_numpy()
        worst = max(worst, float(gap.abs().max()),
                    float(np.abs(by_segment - m["revenue"].to_numpy()).max()))
        scale_of = max(scale_of, float(m["revenue"].abs().max()))
    return Check("accounting identities", "revenue − Σ cost lines = net cash flow; Σ segment "
                 "revenue = revenue (every month)", worst, 0.0, worst, 1e-9 * scale_of,
                 "floating-point rounding: 1e-9 of the largest monthly revenue")


def all_checks(scale: float = 1.0) -> list[Check]:
    """Every docking check, at ``scale`` times the validation scenarios' size."""
    return [*geometric(scale), sbg(scale), sbg(scale, renewal_every_months=12), bass(scale),
            *erlang(scale), engines_agree(), accounting(scale), *fekkai(), *usaa(),
            *channel_migration(), *capital_one()]


# ------------------------------------------------------------------ report
def write_report(checks: list[Check], folder: Path) -> Path:
    """Write ``folder/validation.md`` with the table of checks and one plot per check."""
    from matplotlib.figure import Figure  # not pyplot: the caller's backend and figures stay

    images = folder / "validation"
    images.mkdir(parents=True, exist_ok=True)
    lines = ["# Validation: docking to closed forms, and seed cases", "",
             "Generated by `cvm validate`; each mechanism is isolated by a scenario in "
             "`scenarios/validation/` and compared with the closed form it must reproduce. "
             "Tolerances come from the run's own sampling error. The seed cases "
             "(`scenarios/validation/cases/`) are patterns the model must produce from "
             "behaviour; their 'closed form' column holds the figure the seed text gives "
             "(or the standard), and each states its tolerance and source.", "",
             "| check | reference | simulated | closed form | error | tolerance | pass |",
             "|---|---|---|---|---|---|---|"]
    for c in checks:
        lines.append(f"| {c.name} | {c.reference} | {c.simulated:.6g} | {c.expected:.6g} | "
                     f"{c.error:.3g} | {c.tolerance:.3g} ({c.how}) | "
                     f"{'yes' if c.passed else '**NO**'} |")
    lines.append("")
    for c in checks:
        if not len(c.x):
            continue
        fig = Figure(figsize=(6.4, 3.6))
        ax = fig.subplots()
        ax.plot(c.x, c.reference_curve, color="black", lw=1.5, label="closed form")
        ax.plot(c.x, c.simulated_curve, "o", ms=3, color="tab:orange", label="simulated")
        ax.set(xlabel=c.xlabel, ylabel=c.ylabel, title=c.name)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = images / (re.sub(r"[^a-z0-9]+", "_", c.name.lower()).strip("_") + ".png")
        fig.savefig(path, dpi=110)
        lines += [f"![{c.name}](validation/{path.name})", ""]
    out = folder / "validation.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out
