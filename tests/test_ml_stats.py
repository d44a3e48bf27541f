"""ml.stats against the libraries' own answers on raw samples."""
import math

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from ml.stats import SampleStats, mean_difference, proportion_difference


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
