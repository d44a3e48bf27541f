"""The one statistics module: estimates, intervals and tests from sufficient statistics.

Experiments (results per variant and metric), campaign lift (treated vs holdout) and model comparisons
all call it. The warehouse computes the sufficient statistics (n, sum, sum of squares, …); this module
never scans events. Where scipy/statsmodels implement a method we call them; what is written here is
only the arithmetic that turns sums into the moments those functions take.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats as _scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep

# relative size of the rounding noise that sum-of-squares minus squared-sum leaves (well above 2^-52 × n
# for any n the warehouse sums)
_CANCELLATION_NOISE = 1e-10


@dataclass(frozen=True)
class SampleStats:
    """Sufficient statistics of one group for one metric: count, sum and sum of squares."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """Unbiased sample variance (nan below two observations)."""
        if self.n < 2:
            return math.nan
        centered = self.total_squares - self.total * self.total / self.n
        # The warehouse adds the sums in its threads' order, so their last bits vary from build to build
        # and this subtraction magnifies them: a constant metric could come out with a tiny variance in one
        # build and zero in the next, flipping its readout. Below that rounding noise the spread is zero.
        if centered <= abs(self.total_squares) * _CANCELLATION_NOISE:
            return 0.0
        return centered / (self.n - 1)


@dataclass(frozen=True)
class Difference:
    """treatment − control with a two-sided interval and p-value; `relative` is the lift over control."""

    estimate: float
    low: float
    high: float
    p_value: float
    relative: float
    relative_low: float
    relative_high: float
    enough_data: bool
    reason: str = ""


NOT_ENOUGH = Difference(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, False)


def mean_difference(treatment: SampleStats, control: SampleStats, alpha: float = 0.05) -> Difference:
    """Welch's difference in means, with the relative lift's interval by the delta method."""
    if treatment.n < 2 or control.n < 2:
        return not_enough_data("fewer than two units in a group")
    var_t, var_c = treatment.variance / treatment.n, control.variance / control.n
    se = math.sqrt(var_t + var_c)
    if se == 0:
        return not_enough_data("zero variance in both groups")
    diff = treatment.mean - control.mean
    # Welch–Satterthwaite degrees of freedom
    dof = (var_t + var_c) ** 2 / (
        (var_t**2 / (treatment.n - 1) if var_t else 0.0) + (var_c**2 / (control.n - 1) if var_c else 0.0)
    )
    t_crit = _scipy_stats.t.ppf(1 - alpha / 2, dof)
    p_value = float(2 * _scipy_stats.t.sf(abs(diff) / se, dof))
    rel, rel_low, rel_high = _relative(treatment.mean, control.mean, var_t, var_c, alpha)
    return Difference(diff, diff - t_crit * se, diff + t_crit * se, p_value, rel, rel_low, rel_high, True)


def paired_difference(treatment: list[float], control: list[float], alpha: float = 0.05) -> Difference:
    """Mean of paired differences (treatment_i − control_i, e.g. one simulation seed each) with a t interval;
    the relative lift is mean(treatment) / mean(control) − 1 with the same interval scaled by the control mean."""
    if len(treatment) != len(control):
        raise ValueError(f"paired samples differ in length ({len(treatment)} vs {len(control)})")
    n = len(treatment)
    diffs = [t - c for t, c in zip(treatment, control)]
    if n < 2:  # the point estimate still says something; no interval without a second pair
        if n == 0:
            return not_enough_data("no pairs")
        rel = diffs[0] / control[0] if control[0] else math.nan
        return Difference(diffs[0], math.nan, math.nan, math.nan, rel, math.nan, math.nan, False,
                          "not enough data: one pair gives no interval")
    diff = sum(diffs) / n
    se = math.sqrt(sum((d - diff) ** 2 for d in diffs) / (n - 1) / n)
    mean_c = sum(control) / n
    if se == 0:
        rel = diff / mean_c if mean_c else math.nan
        return Difference(diff, diff, diff, 0.0 if diff else 1.0, rel, rel, rel, True)
    t_crit = _scipy_stats.t.ppf(1 - alpha / 2, n - 1)
    p_value = float(2 * _scipy_stats.t.sf(abs(diff) / se, n - 1))
    low, high = diff - t_crit * se, diff + t_crit * se
    if mean_c:
        return Difference(diff, low, high, p_value, diff / mean_c, low / mean_c, high / mean_c, True)
    return Difference(diff, low, high, p_value, math.nan, math.nan, math.nan, True)


def proportion_difference(successes_t: int, n_t: int, successes_c: int, n_c: int,
                          alpha: float = 0.05) -> Difference:
    """Difference of two proportions: Newcombe's score interval (statsmodels) and a two-sided z-test."""
    if n_t < 1 or n_c < 1:
        return not_enough_data("an empty group")
    p_t, p_c = successes_t / n_t, successes_c / n_c
    low, high = confint_proportions_2indep(successes_t, n_t, successes_c, n_c, method="newcomb", alpha=alpha)
    pooled = (successes_t + successes_c) / (n_t + n_c)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = float(2 * _scipy_stats.norm.sf(abs(p_t - p_c) / se_pooled)) if se_pooled > 0 else 1.0
    rel, rel_low, rel_high = _relative(p_t, p_c, p_t * (1 - p_t) / n_t, p_c * (1 - p_c) / n_c, alpha)
    return Difference(p_t - p_c, float(low), float(high), p_value, rel, rel_low, rel_high, True)


def _relative(mean_t: float, mean_c: float, var_t: float, var_c: float, alpha: float) -> tuple[float, float, float]:
    """(mean_t / mean_c − 1) with a delta-method interval; nan when the control mean is 0."""
    if mean_c == 0:
        return math.nan, math.nan, math.nan
    ratio = mean_t / mean_c
    se = math.sqrt(var_t / mean_c**2 + var_c * mean_t**2 / mean_c**4)
    z = _scipy_stats.norm.ppf(1 - alpha / 2)
    return ratio - 1, ratio - 1 - z * se, ratio - 1 + z * se


def not_enough_data(reason: str) -> Difference:
    return Difference(**{**NOT_ENOUGH.__dict__, "reason": f"not enough data: {reason}"})


# -- CUPED: variance reduction with a pre-period covariate -------------------------------------------
# Hand-written: tea-tasting has CUPED but drags in ibis, gbstats pins pandas<2; the arithmetic is a few
# lines over the sums the warehouse already computes. Checked against scipy's Welch test on the adjusted
# raw samples (tests/test_ml_stats.py).

@dataclass(frozen=True)
class CovariateStats:
    """One group's sufficient statistics of a metric y and its pre-period value x."""

    n: int
    total: float
    total_squares: float
    pre_total: float
    pre_total_squares: float
    cross_total: float  # Σ x·y

    @property
    def metric(self) -> SampleStats:
        return SampleStats(self.n, self.total, self.total_squares)

    @property
    def pre(self) -> SampleStats:
        return SampleStats(self.n, self.pre_total, self.pre_total_squares)

    def __add__(self, other: CovariateStats) -> CovariateStats:
        return CovariateStats(self.n + other.n, self.total + other.total, self.total_squares + other.total_squares,
                              self.pre_total + other.pre_total, self.pre_total_squares + other.pre_total_squares,
                              self.cross_total + other.cross_total)

    def covariance(self) -> float:
        if self.n < 2:
            return math.nan
        return (self.cross_total - self.total * self.pre_total / self.n) / (self.n - 1)


@dataclass(frozen=True)
class CupedDifference:
    """The CUPED-adjusted difference and how much it narrowed the interval (1 − adjusted/unadjusted width)."""

    difference: Difference
    theta: float
    interval_reduction: float


def cuped_difference(treatment: CovariateStats, control: CovariateStats, alpha: float = 0.05) -> CupedDifference:
    """Welch's difference of y − θ·(x − x̄), θ = cov(x, y) / var(x) over both groups pooled (Deng et al. 2013).

    The adjusted group's sufficient statistics follow from the sums: mean ȳ − θ(x̄_g − x̄) and variance
    var(y) + θ²var(x) − 2θcov(x, y), so the test is the plain Welch test on them.
    """
    unadjusted = mean_difference(treatment.metric, control.metric, alpha)
    pooled = treatment + control
    pre_variance = pooled.pre.variance
    if not unadjusted.enough_data or not pre_variance or math.isnan(pre_variance):
        # no usable pre-period (e.g. every unit new): CUPED is the plain estimate
        return CupedDifference(unadjusted, 0.0, 0.0)
    theta = pooled.covariance() / pre_variance
    pre_mean = pooled.pre.mean
    adjusted = [_adjusted(group, theta, pre_mean) for group in (treatment, control)]
    result = mean_difference(*adjusted, alpha=alpha)
    if not result.enough_data:
        return CupedDifference(unadjusted, 0.0, 0.0)
    reduction = 1 - (result.high - result.low) / (unadjusted.high - unadjusted.low)
    return CupedDifference(result, theta, reduction)


def _adjusted(group: CovariateStats, theta: float, pre_mean: float) -> SampleStats:
    """Sufficient statistics of y − θ(x − x̄) for one group, from its sums."""
    mean = group.metric.mean - theta * (group.pre.mean - pre_mean)
    variance = max(group.metric.variance + theta**2 * group.pre.variance - 2 * theta * group.covariance(), 0.0)
    total = mean * group.n
    return SampleStats(group.n, total, variance * (group.n - 1) + total * total / group.n)


# -- always-valid (sequential) interval --------------------------------------------------------------
# Hand-written: the asymptotic confidence sequence of Waudby-Smith et al. (2023, "Time-uniform central
# limit theory", Thm 2.2; normal mixture boundary of Howard et al. 2021), the one GrowthBook's engine
# uses; none of the installable libraries ships it for our pins (confseq has no wheels here).

def sequential_margin(n: int, alpha: float = 0.05, tuning_n: int = 5000) -> float:
    """Half-width, in units of the per-unit standard deviation, of the two-sided 1 − α confidence
    sequence after n units; ρ is chosen so the boundary is tightest at n = tuning_n."""
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning_n
    return math.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))


def sequential_interval(difference: Difference, n: int, alpha: float = 0.05,
                        tuning_n: int = 5000) -> tuple[float, float]:
    """An interval for the same estimate that stays valid however often it is looked at.

    The fixed-horizon interval's standard error times √n is the per-unit deviation; the confidence
    sequence's margin scales it instead of the normal quantile.
    """
    if not difference.enough_data or n < 2:
        return math.nan, math.nan
    z = _scipy_stats.norm.ppf(1 - alpha / 2)
    standard_error = (difference.high - difference.low) / (2 * z)
    half = standard_error * math.sqrt(n) * sequential_margin(n, alpha, tuning_n)
    return difference.estimate - half, difference.estimate + half


# -- sample ratio mismatch ---------------------------------------------------------------------------

SRM_THRESHOLD = 0.001  # GrowthBook's and most platforms' alarm level: a real mismatch, not bad luck


@dataclass(frozen=True)
class SampleRatio:
    p_value: float
    is_mismatch: bool
    enough_data: bool


def sample_ratio_test(counts: dict[str, int], weights: dict[str, float],
                      threshold: float = SRM_THRESHOLD) -> SampleRatio:
    """Pearson's χ² test of the observed units per variant against the configured weights."""
    names = list(weights)
    observed = [counts.get(name, 0) for name in names]
    total, weight_sum = sum(observed), sum(weights.values())
    if total == 0 or len(names) < 2 or weight_sum <= 0:
        return SampleRatio(math.nan, False, False)
    expected = [total * weights[name] / weight_sum for name in names]
    if any(e == 0 and o > 0 for e, o in zip(expected, observed, strict=True)):
        return SampleRatio(0.0, True, True)  # units in a variant of weight 0
    kept = [(o, e) for o, e in zip(observed, expected, strict=True) if e > 0]
    p_value = float(_scipy_stats.chisquare([o for o, _ in kept], [e for _, e in kept]).pvalue)
    return SampleRatio(p_value, p_value < threshold, True)


# -- several metrics at once -------------------------------------------------------------------------

def adjust_p_values(p_values: list[float], method: str = "holm") -> list[float]:
    """Holm (family-wise) or Benjamini–Hochberg (`fdr_bh`, false discovery) across one experiment's
    metrics, by statsmodels; nan p-values (not enough data) stay nan and do not count."""
    from statsmodels.stats.multitest import multipletests

    present = [i for i, p in enumerate(p_values) if not math.isnan(p)]
    adjusted = [math.nan] * len(p_values)
    if present:
        corrected = multipletests([p_values[i] for i in present], method=method)[1]
        for i, p in zip(present, corrected, strict=True):
            adjusted[i] = float(p)
    return adjusted


def is_harmed(difference: Difference, higher_is_better: bool = True) -> bool:
    """A guardrail is harmed when its whole interval lies on the bad side of zero."""
    if not difference.enough_data:
        return False
    return difference.high < 0 if higher_is_better else difference.low > 0
