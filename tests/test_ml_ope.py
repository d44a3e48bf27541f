"""ml.ope on simulated logs whose candidate policy value is known exactly."""
import math

import numpy as np
import pytest

from ml.ope import doubly_robust, evaluate_fixed_arm_policies, ips, snips

# click probability per (context, arm); the logging policy prefers arm 0, the candidate plays arm 2 in
# context 0 and arm 1 in context 1
CLICK = np.array([[0.10, 0.05, 0.20], [0.02, 0.15, 0.04]])
LOGGING = np.array([[0.6, 0.2, 0.2], [0.5, 0.25, 0.25]])
TARGET = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
CONTEXT_SHARE = np.array([0.7, 0.3])
TRUE_VALUE = float(CONTEXT_SHARE @ (TARGET * CLICK).sum(axis=1))  # 0.7·0.20 + 0.3·0.15 = 0.185


def _logs(rng, n):
    context = rng.choice(2, size=n, p=CONTEXT_SHARE)
    u = rng.random(n)
    arm = (u[:, None] > LOGGING[context].cumsum(axis=1)).sum(axis=1)
    reward = (rng.random(n) < CLICK[context, arm]).astype(float)
    return context, arm, reward, LOGGING[context, arm], TARGET[context, arm]


def test_ips_is_the_textbook_mean_of_weighted_rewards():
    _, _, reward, propensity, target = _logs(np.random.default_rng(1), 5000)
    value = ips(reward, propensity, target)
    assert math.isclose(value.estimate, float(np.mean(target / propensity * reward)))
    assert math.isclose(snips(reward, propensity, target).estimate,
                        float((target / propensity * reward).sum() / (target / propensity).sum()))


def test_every_estimator_lands_within_its_interval_of_the_true_value_and_dr_is_tightest():
    context, arm, reward, propensity, target = _logs(np.random.default_rng(2), 40_000)
    modelled = CLICK[context, arm]  # a perfect reward model
    modelled_target = (TARGET * CLICK).sum(axis=1)[context]
    values = [ips(reward, propensity, target), snips(reward, propensity, target),
              doubly_robust(reward, propensity, target, modelled, modelled_target)]
    for value in values:  # three standard errors: three checks at 95% would fail one run in seven
        assert abs(value.estimate - TRUE_VALUE) <= 3 * value.std_error, value
    assert values[2].std_error < values[0].std_error
    assert 0 < values[0].effective_sample_size < 40_000


def test_ips_intervals_cover_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(5)
    covered = [ips(r, p, t).low <= TRUE_VALUE <= ips(r, p, t).high
               for _, _, r, p, t in (_logs(rng, 2000) for _ in range(150))]
    assert 0.88 <= np.mean(covered) <= 0.995


def test_fixed_arm_candidates_for_row_orders():
    rng = np.random.default_rng(9)
    arms = rng.choice(["a", "b"], size=20_000, p=[0.8, 0.2])
    propensity = np.where(arms == "a", 0.8, 0.2)
    reward = (rng.random(20_000) < np.where(arms == "a", 0.1, 0.3)).astype(float)
    rows = evaluate_fixed_arm_policies(arms, reward, propensity, {"always_b": {"b": 1.0},
                                                                   "uniform": {"a": 0.5, "b": 0.5}})
    by = {(r["policy"], r["method"]): r for r in rows}
    for (policy, truth) in (("always_b", 0.3), ("uniform", 0.2)):
        for method in ("ips", "snips", "dr"):
            row = by[(policy, method)]
            assert abs(row["estimate"] - truth) <= 3 * row["std_error"], row


def test_bad_propensities_fail_with_a_reason():
    with pytest.raises(ValueError, match="propensities"):
        ips([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="no logged units"):
        ips([], [], [])
