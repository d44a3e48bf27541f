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
        return max(self.total_squares - self.total * self.total / self.n, 0.0) / (self.n - 1)


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
        return _not_enough("fewer than two units in a group")
    var_t, var_c = treatment.variance / treatment.n, control.variance / control.n
    se = math.sqrt(var_t + var_c)
    if se == 0:
        return _not_enough("zero variance in both groups")
    diff = treatment.mean - control.mean
    # Welch–Satterthwaite degrees of freedom
    dof = (var_t + var_c) ** 2 / (
        (var_t**2 / (treatment.n - 1) if var_t else 0.0) + (var_c**2 / (control.n - 1) if var_c else 0.0)
    )
    t_crit = _scipy_stats.t.ppf(1 - alpha / 2, dof)
    p_value = float(2 * _scipy_stats.t.sf(abs(diff) / se, dof))
    rel, rel_low, rel_high = _relative(treatment.mean, control.mean, var_t, var_c, alpha)
    return Difference(diff, diff - t_crit * se, diff + t_crit * se, p_value, rel, rel_low, rel_high, True)


def proportion_difference(successes_t: int, n_t: int, successes_c: int, n_c: int,
                          alpha: float = 0.05) -> Difference:
    """Difference of two proportions: Newcombe's score interval (statsmodels) and a two-sided z-test."""
    if n_t < 1 or n_c < 1:
        return _not_enough("an empty group")
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


def _not_enough(reason: str) -> Difference:
    return Difference(**{**NOT_ENOUGH.__dict__, "reason": f"not enough data: {reason}"})
