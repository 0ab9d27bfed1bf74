"""sim.calibrate: the shifted-beta-geometric (sBG) fit of a cohort's survival table.

It reproduces Fader & Hardie's published estimates, recovers known parameters from
simulated cohorts with standard errors of the right size, agrees with a likelihood computed
by hand, refuses bad tables clearly, and ``cvm calibrate`` prints a snippet the scenario
loader accepts.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.calibrate import (
    DataError,
    fit_sbg,
    log_likelihood,
    survival_from_csv,
)
from sim.cli import main
from sim.scenario import ChurnPropensity

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "calibration" / "example_retention.csv"

# Fader & Hardie (2007), Table 1: customers of a cohort of 1,000 still active at the end of
# years 0..7 (Berry & Linoff's data), for the "high end" and the "regular" segment.
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def hand_log_likelihood(counts, alpha: float, beta: float) -> float:
    """The sBG log-likelihood by Fader & Hardie's recursion, independently of the module.

    P(1) = α / (α + β), P(t) = P(t − 1) (β + t − 2) / (α + β + t − 1), S(T) = 1 − Σ P(t).
    """
    total, p, left = 0.0, alpha / (alpha + beta), 1.0
    for t in range(1, len(counts)):
        if t > 1:
            p *= (beta + t - 2) / (alpha + beta + t - 1)
        total += (counts[t - 1] - counts[t]) * math.log(p)
        left -= p
    return total + counts[-1] * math.log(left)


def simulated_cohort(rng: np.random.Generator, alpha: float, beta: float, customers: int,
                     periods: int) -> np.ndarray:
    """Customers still active at the end of periods 0..``periods``: θ_i ~ Beta(α, β), and
    customer i leaves in period k with probability θ_i (1 − θ_i)^(k − 1) (geometric)."""
    leaves_in = rng.geometric(rng.beta(alpha, beta, customers))
    return np.array([(leaves_in > t).sum() for t in range(periods + 1)])


# ----------------------------------------------------------- (1) published worked examples
@pytest.mark.parametrize(("counts", "alpha", "beta"), [(HIGH_END, 0.668, 3.806),
                                                       (REGULAR, 0.704, 1.182)],
                         ids=["high end", "regular"])
def test_reproduces_fader_hardie(counts, alpha, beta):
    """Fader, P. S. & Hardie, B. G. S. (2007), "How to project customer retention",
    Journal of Interactive Marketing 21(1), 76–90: sBG fits to years 1–7 of Table 1 give
    α̂ = 0.668, β̂ = 3.806 (high end) and α̂ = 0.704, β̂ = 1.182 (regular).

    They are printed to three decimals, so the exact maximum is within half a unit of the
    last digit (0.0005) of each.
    """
    fit = fit_sbg(counts)
    assert fit.alpha == pytest.approx(alpha, abs=0.0005)
    assert fit.beta == pytest.approx(beta, abs=0.0005)
    assert fit.periods == 7 and fit.cohort_size == 1000


def test_reproduces_published_log_likelihood():
    """Fader & Hardie (2007): the maximised log-likelihood for the high-end cohort is
    −1611.2, printed to one decimal (so ±0.05); by hand at their rounded estimates too."""
    assert fit_sbg(HIGH_END).log_likelihood == pytest.approx(-1611.2, abs=0.05)
    assert hand_log_likelihood(HIGH_END, 0.668, 3.806) == pytest.approx(-1611.2, abs=0.05)


# ------------------------------------------------------------ (2) recovery from simulation
@pytest.mark.parametrize(("alpha", "beta"), [(0.7, 1.2), (0.67, 3.8), (2.0, 20.0)])
def test_recovers_known_parameters(alpha, beta):
    """20,000 customers over 12 periods: each estimate within 3 of its standard errors of
    the truth (a correct fit misses by more with probability 0.27 % per estimate)."""
    counts = simulated_cohort(np.random.default_rng(20260301), alpha, beta, 20_000, 12)
    fit = fit_sbg(counts)
    assert abs(fit.alpha - alpha) < 3 * fit.alpha_se
    assert abs(fit.beta - beta) < 3 * fit.beta_se
    # ... and the standard errors are small enough for that to mean something.
    assert fit.alpha_se < 0.15 * alpha and fit.beta_se < 0.15 * beta


def test_standard_errors_have_the_right_size():
    """Over 30 cohorts of 2,000 (α = 0.7, β = 1.2, 12 periods), z = (estimate − truth) / SE
    should be close to standard normal if the standard errors are right.

    Coverage: the count of |z| < 1.96 is then Binomial(30, 0.95), mean 28.5; P(count ≤ 24)
    = 0.33 %, so at least 25 are required. That only catches standard errors too small.
    Σ z² is then χ² with 30 degrees of freedom, within [10.8, 62.2] (its 0.05 % and 99.95 %
    quantiles) with probability 99.9 %; standard errors twice too large or too small would
    make it average 7.5 or 120. (Checked over 600 cohorts: coverage 95.0 % for α and 94.3 %
    for β, mean z² 1.00 and 1.05.)
    """
    rng = np.random.default_rng(7)
    alpha, beta = 0.7, 1.2
    z = []
    for _ in range(30):
        fit = fit_sbg(simulated_cohort(rng, alpha, beta, 2_000, 12))
        z.append(((fit.alpha - alpha) / fit.alpha_se, (fit.beta - beta) / fit.beta_se))
    z = np.array(z)
    covered = (np.abs(z) < 1.96).sum(axis=0)
    assert (covered >= 25).all(), covered
    chi2 = (z ** 2).sum(axis=0)
    assert ((chi2 > 10.8) & (chi2 < 62.2)).all(), chi2


def test_standard_errors_match_a_numerical_hessian():
    """The exact (trigamma) information agrees with central differences of the likelihood.

    Step h = 1e-4 relative: truncation error O(h²) = 1e-8, rounding about
    1e-16 × 1680 / (1e-4 × 0.7)² = 3e-8 relative to entries of order 1e3: far below the
    0.1 % allowed.
    """
    fit = fit_sbg(REGULAR)
    point = np.array([fit.alpha, fit.beta])
    steps = 1e-4 * point
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * steps[i], np.eye(2)[j] * steps[j]
            ll = [log_likelihood(*(point + si * e_i + sj * e_j), REGULAR)
                  for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
            hessian[i, j] = (ll[0] - ll[1] - ll[2] + ll[3]) / (4 * steps[i] * steps[j])
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    assert se == pytest.approx([fit.alpha_se, fit.beta_se], rel=1e-3)


# ------------------------------------------------------------- (3) a hand-checked example
def test_likelihood_by_hand():
    """A cohort of 100 followed for 3 periods: 40 leave in period 1, 20 in 2, 10 in 3.

    At α = 1, β = 2: P(1) = 1/3, P(2) = 1/3 · 2/4 = 1/6, P(3) = 1/6 · 3/5 = 1/10 and
    S(3) = B(1, 5) / B(1, 2) = 2/5 (= 1 − 1/3 − 1/6 − 1/10).
    """
    counts = [100, 60, 40, 30]
    by_hand = 40 * math.log(1 / 3) + 20 * math.log(1 / 6) + 10 * math.log(1 / 10) \
        + 30 * math.log(2 / 5)
    assert log_likelihood(1.0, 2.0, counts) == pytest.approx(by_hand, rel=1e-12)
    # At a point where the recursion's factors are not simple fractions.
    assert log_likelihood(0.37, 4.2, counts) == pytest.approx(
        hand_log_likelihood(counts, 0.37, 4.2), rel=1e-12)

    fit = fit_sbg(counts)
    assert fit.log_likelihood == pytest.approx(log_likelihood(fit.alpha, fit.beta, counts))
    grid = np.geomspace(0.02, 50.0, 60)
    best_on_grid = max(hand_log_likelihood(counts, a, b) for a in grid for b in grid)
    assert fit.log_likelihood >= best_on_grid


def test_two_periods_fit_exactly():
    """With two periods the model is saturated: the fit reproduces the observed churn.

    1000 → 600 → 450: P(1) = α / (α + β) = 0.4 and P(2) = 0.4 β / (α + β + 1) = 0.15. With
    s = α + β: 0.6 s / (s + 1) = 0.375, so s = 5/3, α = 2/3, β = 1.
    """
    fit = fit_sbg([1000, 600, 450])
    assert fit.alpha == pytest.approx(2 / 3, rel=1e-5)
    assert fit.beta == pytest.approx(1.0, rel=1e-5)
    assert fit.survival([1, 2]) == pytest.approx([0.6, 0.45], rel=1e-5)


def test_survival_churn_and_projection_agree():
    fit = fit_sbg(REGULAR)
    a, b = fit.alpha, fit.beta
    table = fit.project(20)
    assert list(table["period"]) == list(range(21))
    assert table["survival"].iloc[0] == 1.0
    # Everyone leaves in some period or is still there: Σ P(t) + S(T) = 1.
    assert table["churn_probability"].sum() + table["survival"].iloc[-1] == \
        pytest.approx(1.0, rel=1e-12)
    # Fader & Hardie's retention rate r(t) = (β + t − 1) / (α + β + t − 1), rising with t.
    t = np.arange(1, 21)
    assert table["retention_rate"].iloc[1:].to_numpy() == \
        pytest.approx((b + t - 1) / (a + b + t - 1), rel=1e-12)
    assert fit.churn_probability([1])[0] == pytest.approx(fit.mean_churn, rel=1e-12)
    with pytest.raises(ValueError, match="at least 1"):
        fit.churn_probability([0])


# ----------------------------------------------------------------- (4) shares and counts
def test_shares_and_counts_agree():
    counts = fit_sbg(REGULAR)
    shares = fit_sbg(np.array(REGULAR) / 1000)
    for field in ("alpha", "beta", "alpha_se", "beta_se", "log_likelihood", "cohort_size"):
        assert getattr(shares, field) == pytest.approx(getattr(counts, field), rel=1e-6)
    # A cohort 4 times larger: same estimates, standard errors halved (∝ 1 / √size).
    larger = fit_sbg(np.array(REGULAR) / 1000, cohort_size=4000)
    assert larger.alpha == pytest.approx(counts.alpha, rel=1e-6)
    assert larger.alpha_se == pytest.approx(counts.alpha_se / 2, rel=1e-6)
    assert larger.beta_se == pytest.approx(counts.beta_se / 2, rel=1e-6)
    assert fit_sbg(REGULAR, cohort_size=1000).alpha == pytest.approx(counts.alpha)


# ----------------------------------------------------------------------- (5) bad input
BAD_TABLES = {
    "two-dimensional": ([[1, 0.5], [0.4, 0.3]], None, "one-dimensional"),
    "too short": ([1, 0.5], None, "at least 3 values"),
    "not numbers": (["a", "b", "c"], None, "sequence of numbers"),
    "NaN": ([1, np.nan, 0.5], None, "survival[1] = nan is not a finite number"),
    "negative": ([1, 0.5, -0.1], None, "survival[2] = -0.1 is negative"),
    "rising": ([1, 0.5, 0.6, 0.4], None, "survival[2] = 0.6 is above the value before it"),
    "first neither 1 nor a count": ([0.9, 0.5, 0.4], None, "must be 1 (shares) or the cohort"),
    "fractional count": ([1000, 869.5, 743], None, "survival[1] = 869.5 is not a whole"),
    "no churn": ([1, 1, 1], None, "no customer left"),
    "cohort size with counts": (REGULAR, 500, "contradicts the counts"),
    "cohort size zero": ([1, 0.5, 0.4], 0, "cohort_size must be a positive number"),
    "constant churn": (np.round(20_000 * 0.9 ** np.arange(13)), None,
                       "configure churn: {constant: 0.1}"),
    "everyone in period 1": ([1, 0.5, 0.5], None, "does not determine both parameters"),
}


@pytest.mark.parametrize(("table", "cohort_size", "message"), BAD_TABLES.values(),
                         ids=BAD_TABLES.keys())
def test_bad_tables_are_refused(table, cohort_size, message):
    with pytest.raises(ValueError) as err:
        fit_sbg(table, cohort_size)
    assert message in str(err.value)


# name: (CSV text, line the error names or None, column it names, fragment of the message)
BAD_CSV = {
    "no value column": ("period,count\n0,10\n", 1, "", "no column named survival"),
    "two value columns": ("survival,customers\n1,10\n", 1, "", "give one of"),
    "empty": ("# only a comment\n", None, "", "no header line"),
    "not a number": ("customers\n1000\n900\nmany\n", 4, "customers", "(got 'many')"),
    "missing value": ("period,customers\n0,1000\n1,\n2,800\n", 3, "customers",
                      "missing value"),
    "rising": ("# comment\nsurvival\n1\n0.8\n\n0.9\n", 6, "survival",
               "0.9 is above the value before it (0.8)"),
    "percentages": ("survival\n100\n80\n70\n", 2, "survival", "the first share must be 1"),
    "periods out of order": ("period,survival\n0,1\n2,0.8\n", 3, "period",
                             "expected period 1 (got 2)"),
    "too short": ("survival\n1\n0.5\n", None, "survival", "at least 3 values"),
    "cohort of one": ("active\n1\n1\n0\n", 2, "active", "a cohort of 1 customer"),
}


@pytest.mark.parametrize(("text", "line", "column", "message"), BAD_CSV.values(),
                         ids=BAD_CSV.keys())
def test_bad_csv_files_name_file_line_and_column(tmp_path, text, line, column, message):
    path = tmp_path / "cohort.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        survival_from_csv(path)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert str(err.value).startswith(where + (f"{column}: " if column else ""))
    assert message in str(err.value)


def test_csv_reads_counts_shares_and_comments(tmp_path):
    assert survival_from_csv(EXAMPLE) == pytest.approx(REGULAR)
    path = tmp_path / "shares.csv"
    path.write_text("# shares\nperiod, survival ,note\n0,1,start\n1,0.631,\n2,0.468,x\n")
    assert survival_from_csv(path) == pytest.approx([1, 0.631, 0.468])
    with pytest.raises(DataError, match="file not found"):
        survival_from_csv(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------- (6) CLI
def test_cli_prints_fit_projection_and_a_snippet_the_loader_accepts():
    result = subprocess.run(
        [sys.executable, "-m", "sim.cli", "calibrate", str(EXAMPLE), "--segment", "mass",
         "--periods", "10"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "alpha            0.7041 ±" in out and "beta             1.1820 ±" in out
    assert "log-likelihood   -1680.27" in out
    rows = [line.split() for line in out.splitlines() if line[:6].strip().isdigit()]
    assert [int(r[0]) for r in rows] == list(range(11))  # projection to --periods 10
    assert rows[7][1] == "0.2410" and rows[8][1] == "-"  # observed up to year 7
    snippet = out[out.index("# market.segments.mass.churn"):]
    data = yaml.safe_load(snippet)
    assert data == {"churn": {"alpha": 0.7041, "beta": 1.182}}
    assert ChurnPropensity.model_validate(data["churn"]).mean == pytest.approx(0.3733,
                                                                               abs=1e-4)


def test_cli_says_when_the_cohort_size_is_assumed(tmp_path, capsys):
    path = tmp_path / "shares.csv"
    path.write_text("survival\n" + "\n".join(str(c / 1000) for c in REGULAR) + "\n")
    assert main(["calibrate", str(path)]) == 0
    assumed = capsys.readouterr().out
    assert "a cohort of 1,000 assumed" in assumed
    assert main(["calibrate", str(path), "--cohort-size", "4000"]) == 0
    assert "assumed" not in capsys.readouterr().out


@pytest.mark.parametrize(("text", "options", "start"), [
    (None, [], "{path}: file not found"),
    ("period,count\n0,1000\n", [], "{path}:1: no column named survival"),
    ("survival\n1\n0.5\n0.6\n", [], "{path}:4: survival: 0.6 is above"),
    ("customers\n" + "\n".join(map(str, REGULAR)), ["--cohort-size", "500"],
     "--cohort-size: "),
    ("customers\n" + "\n".join(map(str, REGULAR)), ["--periods", "0"], "--periods: "),
    ("survival\n1\n0.5\n0.5\n", [], "{path}: the likelihood has no finite maximum"),
], ids=["missing", "wrong columns", "rising", "cohort size with counts", "periods 0",
        "no maximum"])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, text, options, start):
    path = tmp_path / "cohort.csv"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["calibrate", str(path), *options]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("error: " + start.format(path=path))
