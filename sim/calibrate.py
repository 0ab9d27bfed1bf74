"""Calibrate a segment's churn propensity from a cohort's survival table.

The shifted-beta-geometric (sBG) model of Fader & Hardie (2007, "How to project customer
retention", Journal of Interactive Marketing 21(1), 76–90): each customer has a churn
propensity θ per period, θ ~ Beta(α, β) across customers, and leaves at the end of each
period with probability θ. For a cohort followed from period 0,

    P(T = t) = B(α + 1, β + t − 1) / B(α, β)     leaves in period t (t ≥ 1),
    S(t)     = B(α, β + t) / B(α, β)             still active at the end of period t.

:func:`fit_sbg` finds α and β by maximum likelihood; the result configures a segment's
``churn: {alpha, beta}`` (:class:`sim.scenario.ChurnPropensity`), in which a period is a
churn opportunity: a month, or a renewal when ``lifecycle.renewal_every_months > 1``. The
simulation applies θ as the churn probability of a customer whose hazard multiplier m is 1
(neutral satisfaction, no stage, product or programme effect; see ``sim/rules/churn.py``).

A survival table is one value per period 0..T: either counts of customers still active
(whole numbers, the first being the cohort size) or shares (the first being 1).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, polygamma, xlogy

from .errors import DataError

DEFAULT_COHORT_SIZE = 1000
"""Customers assumed behind a table of shares when no cohort size is given (as in Fader &
Hardie's worked example). The estimates do not depend on it; their standard errors scale
as 1 / √(cohort size)."""

_LOG_BOUNDS = (math.log(1e-6), math.log(1e6))
"""Search region of log α and log β. An optimum at its edge means the likelihood has no
finite maximum: the table does not identify both parameters."""
_EDGE = 1.0
"""An estimate within this distance of a bound of :data:`_LOG_BOUNDS` counts as at the edge:
a flat likelihood leaves the optimiser anywhere in the last few units of log."""
_MIN_GAIN = 1e-3
"""Least log-likelihood gain over constant θ that counts as a finite maximum. Below it the
heterogeneity is undetectable (likelihood-ratio statistic 2 × 0.001, far below the 3.84 of
a 5 % test) and the optimiser cannot tell a maximum far out from one at infinity."""
_GRID = np.geomspace(1e-3, 1e3, 13)
"""Values of α and of β at which the likelihood is scanned (all pairs) for starting points."""
_STARTS = 3
"""The optimiser starts from this many of the best grid points; the best optimum is kept."""


class SurvivalError(ValueError):
    """A survival table that cannot be fitted.

    Attributes:
        index: Position of the offending value in the table, or ``None`` when the problem
            is the table as a whole.
        detail: What is wrong, without the position (so that a CSV reader can point at a
            line instead).
    """

    def __init__(self, detail: str, index: int | None = None, value: float | None = None):
        where = f"survival[{index}] = {value:g} " if index is not None else ""
        super().__init__(where + detail)
        self.index = index
        self.detail = detail


@dataclass(frozen=True)
class SBGFit:
    """Maximum-likelihood fit of the shifted-beta-geometric model to one cohort.

    Attributes:
        alpha: Estimated Beta shape α of θ (> 0).
        beta: Estimated Beta shape β of θ (> 0).
        alpha_se: Standard error of ``alpha``, from the inverse observed Fisher information.
        beta_se: Standard error of ``beta``, likewise.
        log_likelihood: Log-likelihood at the estimate (natural log, without the multinomial
            coefficient, as in Fader & Hardie).
        periods: Periods observed, T (the table has T + 1 values).
        cohort_size: Customers at period 0: the first count, or for shares the given or
            assumed size (:data:`DEFAULT_COHORT_SIZE`) on which the standard errors rest.
    """

    alpha: float
    beta: float
    alpha_se: float
    beta_se: float
    log_likelihood: float
    periods: int
    cohort_size: float

    @property
    def mean_churn(self) -> float:
        """Mean θ across customers, α / (α + β): churn probability per period."""
        return self.alpha / (self.alpha + self.beta)

    def survival(self, t) -> np.ndarray:
        """S(t): share of the cohort still active at the end of each period in ``t`` (≥ 0)."""
        t = _periods(t, 0)
        return np.exp(betaln(self.alpha, self.beta + t) - betaln(self.alpha, self.beta))

    def churn_probability(self, t) -> np.ndarray:
        """P(T = t): share of the starting cohort that leaves in each period in ``t`` (≥ 1).

        Unconditional, not the hazard: the share of those active at the start of period t
        who leave in it is 1 − retention rate (see :meth:`project`).
        """
        t = _periods(t, 1)
        return np.exp(betaln(self.alpha + 1.0, self.beta + t - 1.0)
                      - betaln(self.alpha, self.beta))

    def project(self, periods: int) -> pd.DataFrame:
        """The fitted cohort for periods 0..``periods``.

        Columns: ``period``; ``survival`` S(t) (share of the cohort); ``churn_probability``
        P(T = t) (share of the cohort, 0 in period 0); ``retention_rate`` S(t) / S(t − 1),
        the share of period t − 1's survivors still active after period t (NaN in period 0;
        it rises with t as the customers most likely to leave go first).
        """
        t = np.arange(int(periods) + 1)
        survival = self.survival(t)
        churn = np.concatenate(([0.0], self.churn_probability(t[1:])))
        retention = np.concatenate(([np.nan], survival[1:] / survival[:-1]))
        return pd.DataFrame({"period": t, "survival": survival, "churn_probability": churn,
                             "retention_rate": retention})

    def yaml_snippet(self, segment: str = "SEGMENT") -> str:
        """The ``churn:`` entry of ``market.segments.<segment>`` for this fit, with comments.

        α and β are rounded to 4 significant digits, far finer than their standard errors.
        """
        return (
            f"# market.segments.{segment}.churn: sBG fit, α = {self.alpha:.4g} ± "
            f"{self.alpha_se:.2g}, β = {self.beta:.4g} ± {self.beta_se:.2g} (standard errors, "
            f"cohort of {self.cohort_size:,.0f}), mean θ = {self.mean_churn:.4f}\n"
            "# θ per churn opportunity: a month, or a renewal when "
            "lifecycle.renewal_every_months > 1\n"
            "# (one churn opportunity must be one period of the fitted table)\n"
            f"churn: {{alpha: {_short(self.alpha)}, beta: {_short(self.beta)}}}\n")


def log_likelihood(alpha: float, beta: float, survival, cohort_size: float | None = None
                   ) -> float:
    """sBG log-likelihood of a survival table at (α, β) (natural log).

    Σ_{t=1..T} (n_{t−1} − n_t) log P(T = t) + n_T log S(T), n_t the customers active at the
    end of period t: the counts, or shares × cohort size (:data:`DEFAULT_COHORT_SIZE` if not
    given). The multinomial coefficient, which does not depend on (α, β), is left out.

    Raises:
        ValueError: for a table or cohort size :func:`fit_sbg` would refuse.
    """
    counts, n0 = _counts(survival, cohort_size)
    return float(_log_likelihood(alpha, beta, *_terms(counts), n0))


def fit_sbg(survival, cohort_size: float | None = None) -> SBGFit:
    """Fit the sBG model to a cohort's survival table by maximum likelihood.

    Args:
        survival: Customers still active at the end of periods 0..T (T ≥ 2): whole-number
            counts starting with the cohort size, or shares starting with 1. Must not rise.
        cohort_size: Customers behind a table of shares. Default
            :data:`DEFAULT_COHORT_SIZE`; the estimates do not depend on it, but the standard
            errors do (∝ 1 / √size), so give the real size when known. With counts it may be
            omitted and must otherwise equal the first count.

    Returns:
        The estimates with standard errors from the inverse observed Fisher information.

    Raises:
        ValueError: (a :class:`SurvivalError`) for a table that is not a survival table,
            or whose likelihood has no finite maximum (no churn at all, or customers so
            alike that θ looks constant: use ``churn: {constant: θ}`` then).
    """
    counts, n0 = _counts(survival, cohort_size)
    weights, c1, c2 = _terms(counts)

    def objective(log_params):
        # Per customer, so that the tolerances mean the same for any cohort size.
        a, b = np.exp(log_params)
        value = _log_likelihood(a, b, weights, c1, c2, n0)
        grad = _gradient(a, b, weights, c1, c2, n0)
        return -value / n0, -grad * np.array([a, b]) / n0  # chain rule: ∂/∂log a = a ∂/∂a

    # A scan of the grid is one vectorised evaluation; each optimiser run costs far more
    # (L-BFGS-B's small BLAS calls are slow on a busy machine), so only the best few run.
    grid_a, grid_b = (g.ravel() for g in np.meshgrid(_GRID, _GRID))
    scan = _log_likelihood(grid_a, grid_b, weights, c1, c2, n0)
    starts = np.argsort(scan)[::-1][:_STARTS]
    best = min((minimize(objective, np.log([grid_a[i], grid_b[i]]), jac=True,
                         method="L-BFGS-B", bounds=[_LOG_BOUNDS] * 2,
                         options={"ftol": 1e-15, "gtol": 1e-10}) for i in starts),
               key=lambda r: r.fun)
    log_a, log_b = best.x
    alpha, beta = float(np.exp(log_a)), float(np.exp(log_b))
    fitted = -float(best.fun) * n0
    constant, constant_fit = _constant_fit(counts)
    if fitted - constant_fit < _MIN_GAIN:
        # α, β → ∞ at a fixed ratio: the Beta distribution shrinks to a point, every
        # customer has the same θ, and the likelihood creeps up to its supremum at infinity.
        raise SurvivalError(
            f"the likelihood has no finite maximum: the customers look alike, with no spread "
            f"of θ to estimate (the fit runs off to α = {alpha:.3g}, β = {beta:.3g}); "
            f"configure churn: {{constant: {constant:.4g}}} (left per customer-period at "
            "risk) instead")
    low, high = _LOG_BOUNDS
    if min(log_a, log_b) < low + _EDGE or max(log_a, log_b) > high - _EDGE:
        raise SurvivalError(f"the likelihood has no finite maximum (the fit runs off to "
                            f"α = {alpha:.3g}, β = {beta:.3g}): the table does not determine "
                            "both parameters")
    information = -_hessian(alpha, beta, weights, c1, c2, n0)
    covariance = np.linalg.inv(information)
    return SBGFit(alpha=alpha, beta=beta, alpha_se=float(np.sqrt(covariance[0, 0])),
                  beta_se=float(np.sqrt(covariance[1, 1])),
                  log_likelihood=fitted, periods=len(counts) - 1,
                  cohort_size=float(n0))


def survival_from_csv(path: str | Path) -> np.ndarray:
    """Read a survival table from a CSV file, one row per period from period 0.

    The header names a column ``survival`` (shares, starting at 1) or ``customers`` or
    ``active`` (counts, starting with the cohort size); an optional ``period`` column must
    read 0, 1, 2, ... Other columns are ignored; blank lines and lines starting with ``#``
    are skipped (comments).

    Returns:
        The values, as floats, in period order (for :func:`fit_sbg`).

    Raises:
        DataError: naming the file, the line and the column of the first problem.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("file not found", "", file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read file: {err}", "", file) from None
    rows = [(number, next(csv.reader([line])))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise DataError("no header line: expected a column named survival (shares), "
                        "customers or active (counts)", "", file)
    header_line, header = rows[0]
    names = [name.strip().lower() for name in header]
    found = [name for name in ("survival", "customers", "active") if name in names]
    if len(found) != 1:
        what = ("no column named" if not found else
                f"{len(found)} value columns ({', '.join(found)}); give one of")
        raise DataError(f"{what} survival (shares), customers or active (counts) "
                        f"(found: {', '.join(names)})", "", file, header_line)
    column = found[0]
    position = names.index(column)
    period_position = names.index("period") if "period" in names else None
    values, lines = [], []
    for expected, (number, cells) in enumerate(rows[1:]):
        if period_position is not None:
            period = _cell(cells, period_position, "period", file, number)
            if period != expected:
                raise DataError(f"expected period {expected} (got {period:g}): rows must be "
                                "periods 0, 1, 2, ... in order", "period", file, number)
        values.append(_cell(cells, position, column, file, number))
        lines.append(number)
    if values and column == "survival" and values[0] != 1.0:
        raise DataError(f"the first share must be 1 (got {values[0]:g}): survival holds "
                        "shares of the cohort; name the column customers for counts",
                        column, file, lines[0])
    if values and column != "survival" and values[0] == 1.0:
        raise DataError("a cohort of 1 customer cannot be fitted", column, file, lines[0])
    try:
        _counts(np.asarray(values), None)
    except SurvivalError as err:
        line = lines[err.index] if err.index is not None else None
        value = f"{values[err.index]:g} " if err.index is not None else ""
        raise DataError(value + err.detail, column, file, line) from None
    return np.asarray(values)


def format_fit(fit: SBGFit, observed: np.ndarray, periods: int, source: str = "",
               segment: str = "SEGMENT", assumed_size: bool = False) -> str:
    """The fit as text for ``cvm calibrate``: estimates, observed vs fitted survival and a
    projection to ``periods`` (at least the observed ones), then the YAML snippet.

    ``assumed_size`` says the table held shares and no cohort size was given, so the
    standard errors rest on :data:`DEFAULT_COHORT_SIZE` customers.
    """
    shares = np.asarray(observed, dtype=float) / observed[0]
    table = fit.project(max(periods, fit.periods))
    size_note = (f"  (a cohort of {fit.cohort_size:,.0f} assumed: give --cohort-size)"
                 if assumed_size else "")
    lines = [
        f"shifted-beta-geometric fit{' to ' + source if source else ''}: {fit.periods} "
        f"periods, cohort of {fit.cohort_size:,.0f}",
        f"alpha            {fit.alpha:.4f} ± {fit.alpha_se:.4f} (standard error){size_note}",
        f"beta             {fit.beta:.4f} ± {fit.beta_se:.4f}",
        f"log-likelihood   {fit.log_likelihood:.2f}",
        f"mean churn       {fit.mean_churn:.4f} per period, α / (α + β)",
        "",
        "period  observed    fitted  retention",
    ]
    for row in table.itertuples():
        seen = f"{shares[row.period]:.4f}" if row.period < len(shares) else "-"
        rate = f"{row.retention_rate:.4f}" if row.period else ""
        lines.append(f"{row.period:>6}  {seen:>8}  {row.survival:>8.4f}  {rate:>9}".rstrip())
    lines += ["", "survival: share of the cohort still active at the end of the period; "
              "retention: share of the previous period's survivors still active", "",
              fit.yaml_snippet(segment).rstrip("\n")]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- helpers
def _counts(survival, cohort_size: float | None) -> tuple[np.ndarray, float]:
    """Customers active at the end of periods 0..T as floats, and the cohort size.

    Raises:
        SurvivalError: for anything that is not a survival table (see :func:`fit_sbg`).
    """
    try:
        values = np.asarray(survival, dtype=float)
    except (TypeError, ValueError):
        raise SurvivalError("survival must be a sequence of numbers") from None
    if values.ndim != 1:
        raise SurvivalError(f"survival must be one-dimensional (got shape {values.shape})")
    if len(values) < 3:
        raise SurvivalError("survival needs at least 3 values, periods 0, 1 and 2, to fit "
                            f"two parameters (got {len(values)})")
    for i, value in enumerate(values):
        if not np.isfinite(value):
            raise SurvivalError("is not a finite number", i, value)
        if value < 0:
            raise SurvivalError("is negative", i, value)
    shares = values[0] == 1.0
    if not shares and values[0] < 1.0:
        raise SurvivalError("must be 1 (shares) or the cohort size (counts)", 0, values[0])
    for i in range(1, len(values)):
        if values[i] > values[i - 1]:
            raise SurvivalError(f"is above the value before it ({values[i - 1]:g}): "
                                "survival cannot rise (customers who come back belong to "
                                "a new cohort)", i, values[i])
    if not shares:
        for i, value in enumerate(values):
            if value != math.floor(value):
                raise SurvivalError("is not a whole number: counts of customers must be "
                                    "whole (a table of shares starts at 1)", i, value)
    if values[-1] == values[0]:
        raise SurvivalError("no customer left in the table: churn cannot be estimated")
    if cohort_size is not None:
        if not (np.isfinite(cohort_size) and cohort_size > 0):
            raise SurvivalError(f"cohort_size must be a positive number (got {cohort_size})")
        if not shares and cohort_size != values[0]:
            raise SurvivalError(f"cohort_size {cohort_size:g} contradicts the counts, which "
                                f"start at {values[0]:g}: give a cohort size only with shares")
    if shares:
        size = float(cohort_size if cohort_size is not None else DEFAULT_COHORT_SIZE)
        return values * size, size
    return values, float(values[0])


def _terms(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights and shifts ``(w, c1, c2)`` of the log-likelihood written as
    Σ_k w_k log B(α + c1_k, β + c2_k) − n0 log B(α, β).

    One term per period t = 1..T for those who left in it (weight n_{t−1} − n_t,
    P(T = t) = B(α + 1, β + t − 1) / B(α, β)) and one for those still active after T
    (weight n_T, S(T) = B(α, β + T) / B(α, β)); the weights add up to n0.
    """
    periods = len(counts) - 1
    t = np.arange(1, periods + 1, dtype=float)
    weights = np.append(counts[:-1] - counts[1:], counts[-1])
    c1 = np.append(np.ones(periods), 0.0)
    c2 = np.append(t - 1.0, float(periods))
    return weights, c1, c2


def _log_likelihood(a, b, weights, c1, c2, n0):
    """Σ_k w_k log B(a + c1_k, b + c2_k) − n0 log B(a, b), for scalars or arrays a, b."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    terms = betaln(a[..., None] + c1, b[..., None] + c2)
    return (terms * weights).sum(axis=-1) - n0 * betaln(a, b)


def _gradient(a, b, weights, c1, c2, n0) -> np.ndarray:
    """∂ log-likelihood / ∂(α, β): ∂ log B(x, y) / ∂x = ψ(x) − ψ(x + y)."""
    total = digamma(a + b + c1 + c2)
    d_a = np.sum(weights * (digamma(a + c1) - total)) - n0 * (digamma(a) - digamma(a + b))
    d_b = np.sum(weights * (digamma(b + c2) - total)) - n0 * (digamma(b) - digamma(a + b))
    return np.array([d_a, d_b])


def _hessian(a, b, weights, c1, c2, n0) -> np.ndarray:
    """Second derivatives of the log-likelihood in (α, β), exact (trigamma ψ₁)."""
    total = _trigamma(a + b + c1 + c2)
    whole = _trigamma(a + b)
    d_aa = np.sum(weights * (_trigamma(a + c1) - total)) - n0 * (_trigamma(a) - whole)
    d_bb = np.sum(weights * (_trigamma(b + c2) - total)) - n0 * (_trigamma(b) - whole)
    d_ab = -np.sum(weights * total) + n0 * whole
    return np.array([[d_aa, d_ab], [d_ab, d_bb]])


def _trigamma(x):
    """ψ₁(x), the derivative of the digamma function."""
    return polygamma(1, x)


def _constant_fit(counts: np.ndarray) -> tuple[float, float]:
    """θ̂ and the log-likelihood of the same θ for every customer (the geometric model).

    θ̂ = those who left / customer-periods at risk, Σ_{t=1..T} n_{t−1}; the sBG likelihood
    tends to this one as α, β → ∞ with α / (α + β) = θ̂.
    """
    left = counts[0] - counts[-1]
    at_risk = counts[:-1].sum()
    theta = left / at_risk
    return theta, float(xlogy(left, theta) + xlogy(at_risk - left, 1.0 - theta))


def _periods(t, least: int) -> np.ndarray:
    """``t`` as an array of float periods, refusing any below ``least``."""
    t = np.asarray(t, dtype=float)
    if np.any(t < least) or np.any(t != np.floor(t)):
        raise ValueError(f"periods must be whole numbers of at least {least}")
    return t


def _short(value: float) -> str:
    """``value`` to 4 significant digits as a YAML float (always with a decimal point)."""
    return repr(float(f"{value:.4g}"))


def _cell(cells: list[str], position: int, column: str, file: str, line: int) -> float:
    """The number in ``column`` of one CSV row."""
    if position >= len(cells) or not cells[position].strip():
        raise DataError("missing value", column, file, line)
    text = cells[position].strip()
    try:
        return float(text)
    except ValueError:
        raise DataError(f"should be a number (got {text!r})", column, file, line) from None
