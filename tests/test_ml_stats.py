"""ml.stats against the libraries' own answers on raw samples."""
import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from ml.stats import (
    CovariateStats,
    SampleStats,
    adjust_p_values,
    cuped_difference,
    is_harmed,
    mean_difference,
    proportion_difference,
    sample_ratio_test,
    sequential_interval,
    sequential_margin,
)


def _suff(x):
    x = np.asarray(x, dtype=float)
    return SampleStats(len(x), float(x.sum()), float((x * x).sum()))


def test_mean_difference_matches_welch_t_test_on_raw_samples():
    rng = np.random.default_rng(7)
    a, b = rng.normal(10.5, 3, 400), rng.normal(10, 2, 300)
    result = mean_difference(_suff(a), _suff(b))
    reference = stats.ttest_ind(a, b, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert math.isclose(result.estimate, a.mean() - b.mean(), rel_tol=1e-9)
    assert math.isclose(result.p_value, reference.pvalue, rel_tol=1e-6)
    assert math.isclose(result.low, ci.low, rel_tol=1e-6) and math.isclose(result.high, ci.high, rel_tol=1e-6)


def test_proportion_difference_uses_newcombe_interval():
    result = proportion_difference(130, 1000, 100, 1000)
    low, high = confint_proportions_2indep(130, 1000, 100, 1000, method="newcomb")
    assert math.isclose(result.estimate, 0.03) and (result.low, result.high) == (low, high)
    assert 0.03 < result.p_value < 0.05  # z = 2.10 for 13% vs 10% at n = 1000 each
    assert math.isclose(result.relative, 0.3)


def test_degenerate_groups_report_not_enough_data_instead_of_nan_results():
    assert not mean_difference(_suff([1.0]), _suff([1.0, 2.0])).enough_data
    same = mean_difference(_suff([2.0, 2.0]), _suff([2.0, 2.0]))
    assert not same.enough_data and same.reason.startswith("not enough data")
    assert not proportion_difference(0, 0, 1, 10).enough_data


# -- CUPED, sequential intervals, SRM, multiple testing, guardrails ----------------------------------

def _covariate_suff(y, x):
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    return CovariateStats(len(y), float(y.sum()), float((y * y).sum()), float(x.sum()), float((x * x).sum()),
                          float((x * y).sum()))


def _correlated_groups(rng, n_t=600, n_c=500, effect=0.3):
    x_t, x_c = rng.gamma(2.0, 2.0, n_t), rng.gamma(2.0, 2.0, n_c)
    y_t = 0.8 * x_t + rng.normal(0, 1, n_t) + effect
    y_c = 0.8 * x_c + rng.normal(0, 1, n_c)
    return y_t, x_t, y_c, x_c


def test_cuped_equals_welch_on_the_adjusted_raw_samples_and_narrows_the_interval():
    y_t, x_t, y_c, x_c = _correlated_groups(np.random.default_rng(11))
    result = cuped_difference(_covariate_suff(y_t, x_t), _covariate_suff(y_c, x_c))
    x_all, y_all = np.concatenate([x_t, x_c]), np.concatenate([y_t, y_c])
    theta = np.cov(x_all, y_all)[0, 1] / x_all.var(ddof=1)
    adjusted_t, adjusted_c = y_t - theta * (x_t - x_all.mean()), y_c - theta * (x_c - x_all.mean())
    reference = stats.ttest_ind(adjusted_t, adjusted_c, equal_var=False)
    ci = reference.confidence_interval(0.95)
    assert math.isclose(result.theta, theta, rel_tol=1e-9)
    assert math.isclose(result.difference.estimate, adjusted_t.mean() - adjusted_c.mean(), rel_tol=1e-9)
    assert math.isclose(result.difference.low, ci.low, rel_tol=1e-6)
    assert math.isclose(result.difference.high, ci.high, rel_tol=1e-6)
    assert math.isclose(result.difference.p_value, reference.pvalue, rel_tol=1e-5)
    plain = stats.ttest_ind(y_t, y_c, equal_var=False).confidence_interval(0.95)
    assert math.isclose(result.interval_reduction, 1 - (ci.high - ci.low) / (plain.high - plain.low), rel_tol=1e-6)
    assert result.interval_reduction > 0.5  # x explains most of y's variance here


def test_cuped_without_pre_period_variation_falls_back_to_the_plain_estimate():
    y_t, y_c = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.5])
    result = cuped_difference(_covariate_suff(y_t, np.zeros(3)), _covariate_suff(y_c, np.zeros(3)))
    assert result.theta == 0.0 and result.interval_reduction == 0.0
    assert math.isclose(result.difference.estimate, y_t.mean() - y_c.mean())


def test_sequential_margin_matches_the_normal_mixture_boundary_and_is_wider_than_fixed():
    # Waudby-Smith et al. (2023) eq. for the two-sided asymptotic CS with ρ² tuned for n* = 5000:
    rho2 = (-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 5000
    expected = math.sqrt(2 * (5000 * rho2 + 1) / (5000**2 * rho2) * math.log(math.sqrt(5000 * rho2 + 1) / 0.05))
    assert math.isclose(sequential_margin(5000), expected)
    assert math.isclose(sequential_margin(5000) * math.sqrt(5000), 3.035, abs_tol=1e-3)  # vs 1.96 for one look
    diff = mean_difference(_suff([1.0, 2.0, 3.0, 4.0] * 50), _suff([0.5, 2.0, 2.5, 3.0] * 50))
    low, high = sequential_interval(diff, 400)
    assert low < diff.low and high > diff.high and math.isclose((low + high) / 2, diff.estimate)


def test_sequential_interval_survives_daily_peeking_where_the_fixed_interval_does_not():
    # GIVEN 400 A/A tests looked at after every 100 units per group, up to 3,000
    rng = np.random.default_rng(3)
    reps, looks = 400, range(100, 3001, 100)
    a, b = rng.normal(0, 1, (reps, 3000)), rng.normal(0, 1, (reps, 3000))
    ever_fixed = np.zeros(reps, dtype=bool)
    ever_sequential = np.zeros(reps, dtype=bool)
    for n in looks:
        diff = a[:, :n].mean(axis=1) - b[:, :n].mean(axis=1)
        se = np.sqrt(a[:, :n].var(axis=1, ddof=1) / n + b[:, :n].var(axis=1, ddof=1) / n)
        ever_fixed |= np.abs(diff) > 1.96 * se
        ever_sequential |= np.abs(diff) > se * math.sqrt(2 * n) * sequential_margin(2 * n)
    # THEN stopping at the first "significant" look: the fixed interval errs far above 5%, the sequence does not
    assert ever_fixed.mean() > 0.15
    assert ever_sequential.mean() <= 0.05


def test_sample_ratio_mismatch_is_pearsons_chi_square_and_flags_only_below_one_in_a_thousand():
    ok = sample_ratio_test({"a": 5050, "b": 4950}, {"a": 50, "b": 50})
    assert math.isclose(ok.p_value, stats.chi2.sf(2 * 50**2 / 5000, 1)) and not ok.is_mismatch
    bad = sample_ratio_test({"a": 5200, "b": 4800}, {"a": 1, "b": 1})  # χ² = 16, p = 6.3e-5
    assert bad.is_mismatch and math.isclose(bad.p_value, stats.chi2.sf(16, 1))
    uneven = sample_ratio_test({"a": 2000, "b": 8000}, {"a": 20, "b": 80})
    assert math.isclose(uneven.p_value, 1.0) and not uneven.is_mismatch
    assert sample_ratio_test({"a": 10, "b": 2, "c": 3}, {"a": 1, "b": 0, "c": 1}).is_mismatch
    assert not sample_ratio_test({}, {"a": 1, "b": 1}).enough_data


def test_holm_and_benjamini_hochberg_by_hand_with_missing_p_values():
    raw = [0.01, 0.04, math.nan, 0.03]
    assert np.allclose(adjust_p_values(raw, "holm"), [0.03, 0.06, math.nan, 0.06], equal_nan=True)
    assert np.allclose(adjust_p_values(raw, "fdr_bh"), [0.03, 0.04, math.nan, 0.04], equal_nan=True)
    assert np.isnan(adjust_p_values([math.nan])).all()


def test_guardrail_is_harmed_only_when_the_interval_is_wholly_on_the_bad_side():
    worse = mean_difference(_suff([1.0, 1.1, 0.9] * 100), _suff([2.0, 2.1, 1.9] * 100))
    assert is_harmed(worse) and not is_harmed(worse, higher_is_better=False)
    unclear = mean_difference(_suff([1.0, 3.0] * 5), _suff([1.2, 2.9] * 5))
    assert not is_harmed(unclear) and not is_harmed(unclear, higher_is_better=False)


def test_a_constant_metric_has_zero_variance_whatever_order_its_sums_were_added_in():
    # the warehouse sums doubles in its threads' order: a constant 0.1 per unit leaves a rounding residue
    # in sum of squares - squared sum / n, which used to read as a tiny variance in one build and not the next
    values = [0.1] * 999 + [0.1]
    for order in (values, sorted(values), values[::-1]):
        stats = SampleStats(len(order), sum(order), sum(v * v for v in order))
        assert stats.variance == 0.0
    other = SampleStats(1000, sum([0.1] * 1000), sum([0.01] * 1000))
    assert mean_difference(other, other).reason.endswith("zero variance in both groups")
    spread = SampleStats(3, 0.1 + 0.2 + 0.3, 0.01 + 0.04 + 0.09)
    assert abs(spread.variance - 0.01) < 1e-12
