"""Off-policy evaluation: the value a candidate policy would have earned, from logs of another policy.

Hand-written because `obp` (Open Bandit Pipeline) pins old scikit-learn/pandas that do not install with
ours; the estimators are the textbook ones (as in obp's `InverseProbabilityWeighting`,
`SelfNormalizedInverseProbabilityWeighting`, `DoublyRobust`) and are tested on simulated logs with known
truth. Every estimate comes with a normal interval from the per-unit terms' spread.

Notation per logged unit i: the action a_i the logging policy took with probability p_i (the logged
propensity), the reward r_i, the candidate's probability π_i of the same action, and for doubly robust
a reward model q̂(a_i) and the candidate's expected modelled reward Σ_a π(a) q̂(a).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats


@dataclass(frozen=True)
class PolicyValue:
    method: str
    estimate: float
    low: float
    high: float
    std_error: float
    n: int
    effective_sample_size: float  # (Σw)² / Σw²: how many logged units the candidate effectively reuses


def _weights(logged_propensity, target_probability) -> np.ndarray:
    propensity = np.asarray(logged_propensity, dtype=float)
    if propensity.size == 0:
        raise ValueError("no logged units to evaluate")
    if np.any(~np.isfinite(propensity)) or np.any(propensity <= 0) or np.any(propensity > 1):
        raise ValueError("logged propensities must be in (0, 1]")
    return np.asarray(target_probability, dtype=float) / propensity


def _from_terms(method: str, terms: np.ndarray, weights: np.ndarray, alpha: float,
                estimate: float | None = None) -> PolicyValue:
    n = len(terms)
    value = float(terms.mean()) if estimate is None else estimate
    std_error = float(terms.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    z = _scipy_stats.norm.ppf(1 - alpha / 2)
    ess = float(weights.sum() ** 2 / (weights**2).sum()) if (weights**2).sum() > 0 else 0.0
    return PolicyValue(method, value, value - z * std_error, value + z * std_error, std_error, n, ess)


def ips(rewards, logged_propensity, target_probability, alpha: float = 0.05) -> PolicyValue:
    """Inverse propensity scoring: mean of (π_i / p_i)·r_i. Unbiased when every action the candidate
    takes had a positive logging probability."""
    weights = _weights(logged_propensity, target_probability)
    return _from_terms("ips", weights * np.asarray(rewards, dtype=float), weights, alpha)


def snips(rewards, logged_propensity, target_probability, alpha: float = 0.05) -> PolicyValue:
    """Self-normalized IPS: Σ w_i r_i / Σ w_i. Slightly biased, much lower variance; the interval is the
    delta method's (terms w_i (r_i − V̂) / mean(w))."""
    weights = _weights(logged_propensity, target_probability)
    rewards = np.asarray(rewards, dtype=float)
    if weights.sum() == 0:
        raise ValueError("the candidate never takes a logged action: nothing to self-normalize")
    value = float((weights * rewards).sum() / weights.sum())
    terms = weights * (rewards - value) / weights.mean()
    return _from_terms("snips", terms, weights, alpha, estimate=value)


def doubly_robust(rewards, logged_propensity, target_probability, modelled_reward,
                  modelled_target_value, alpha: float = 0.05) -> PolicyValue:
    """Doubly robust: Σ_a π(a) q̂(a) + (π_i / p_i)(r_i − q̂(a_i)). Unbiased if either the propensities or
    the reward model are right; lower variance than IPS when q̂ is decent."""
    weights = _weights(logged_propensity, target_probability)
    residual = np.asarray(rewards, dtype=float) - np.asarray(modelled_reward, dtype=float)
    terms = np.asarray(modelled_target_value, dtype=float) + weights * residual
    return _from_terms("dr", terms, weights, alpha)


def evaluate_fixed_arm_policies(arms, rewards, logged_propensity, candidates: dict[str, dict[str, float]],
                                alpha: float = 0.05) -> list[dict]:
    """Context-free candidates (e.g. row orders): each is {arm: probability}. The reward model for DR is
    each arm's mean logged reward. Returns one row per (candidate, estimator)."""
    arms = np.asarray(arms, dtype=object)
    rewards = np.asarray(rewards, dtype=float)
    arm_means = {arm: float(rewards[arms == arm].mean()) for arm in set(arms.tolist())}
    modelled = np.array([arm_means[a] for a in arms])
    rows = []
    for name, policy in candidates.items():
        target = np.array([policy.get(a, 0.0) for a in arms])
        modelled_value = sum(p * arm_means.get(arm, 0.0) for arm, p in policy.items())
        for value in (ips(rewards, logged_propensity, target, alpha),
                      snips(rewards, logged_propensity, target, alpha),
                      doubly_robust(rewards, logged_propensity, target, modelled, modelled_value, alpha)):
            rows.append({"policy": name, **value.__dict__})
    return rows
