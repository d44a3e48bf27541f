"""The row-order bandit's readout from its logged pages: allocation over time, each arm's posterior,
what it gained over uniform allocation, and off-policy values of candidate row-order policies.

Reward per page is clicks / impressions on the page's rows' items averaged per page (the bandit's own
click-through target, counted per page so pages are the independent units OPE needs). The gain over
uniform compares the logged policy's observed value with the off-policy (SNIPS) estimate of uniform
allocation from the same logs; its interval adds the two standard errors in quadrature, which ignores
their positive covariance and so is conservative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _scipy_stats

from ml.ope import evaluate_fixed_arm_policies, snips


@dataclass(frozen=True)
class BanditDesign:
    bandit_id: str
    arms: tuple[str, ...]
    prior_alpha: float = 1.0
    prior_beta: float = 1.0


def page_rewards(pages: pd.DataFrame) -> np.ndarray:
    return (pages["clicks"] / pages["impressions"].clip(lower=1)).to_numpy(dtype=float)


def allocation(pages: pd.DataFrame) -> pd.DataFrame:
    """Share of pages per arm per day: how the bandit moved traffic."""
    counts = pages.groupby(["served_date", "arm"]).size().rename("pages").reset_index()
    counts["share"] = counts["pages"] / counts.groupby("served_date")["pages"].transform("sum")
    return counts.sort_values(["served_date", "arm"], ignore_index=True)


def posteriors(pages: pd.DataFrame, design: BanditDesign, draws: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Beta posterior of each arm's click-through (clicks over impressions, as the bandit counts them),
    its 95% credible interval and the probability that the arm is best (Monte Carlo)."""
    totals = pages.groupby("arm")[["impressions", "clicks"]].sum()
    rows = []
    for arm in design.arms:
        clicks = float(totals["clicks"].get(arm, 0))
        impressions = float(totals["impressions"].get(arm, 0))
        a, b = design.prior_alpha + clicks, design.prior_beta + impressions - clicks
        rows.append({"bandit_id": design.bandit_id, "arm": arm, "pages": int((pages["arm"] == arm).sum()),
                     "impressions": int(impressions), "clicks": int(clicks), "alpha": a, "beta": b,
                     "mean": a / (a + b), "low": float(_scipy_stats.beta.ppf(0.025, a, b)),
                     "high": float(_scipy_stats.beta.ppf(0.975, a, b))})
    frame = pd.DataFrame(rows)
    rng = np.random.default_rng(seed)
    samples = rng.beta(frame["alpha"].to_numpy()[:, None], frame["beta"].to_numpy()[:, None], (len(frame), draws))
    frame["probability_best"] = np.bincount(samples.argmax(axis=0), minlength=len(frame)) / draws
    return frame


def readout(pages: pd.DataFrame, design: BanditDesign, alpha: float = 0.05) -> dict:
    """{"allocation", "posteriors", "policy_values", "gain", "note"}; `note` says why parts are missing."""
    pages = pages[pages["bandit_id"] == design.bandit_id]
    out = {"allocation": allocation(pages) if len(pages) else pd.DataFrame(),
           "posteriors": posteriors(pages, design), "policy_values": pd.DataFrame(), "gain": None, "note": ""}
    logged = pages[pages["propensity"].between(0, 1, inclusive="right")]
    if len(logged) < 2:
        out["note"] = "not enough data: fewer than two pages with a logged propensity"
        return out
    rewards, propensity, arms = page_rewards(logged), logged["propensity"].to_numpy(float), logged["arm"].to_numpy()
    uniform = {arm: 1 / len(design.arms) for arm in design.arms}
    candidates = {"uniform": uniform, **{f"always_{arm}": {arm: 1.0} for arm in design.arms}}
    values = []
    for name, policy in candidates.items():
        if any(p > 0 and arm not in set(arms) for arm, p in policy.items()):
            continue  # an arm never logged cannot be evaluated from these logs
        values.extend(evaluate_fixed_arm_policies(arms, rewards, propensity, {name: policy}, alpha))
    out["policy_values"] = pd.DataFrame(values)
    observed = float(rewards.mean())
    observed_se = float(rewards.std(ddof=1) / math.sqrt(len(rewards)))
    if set(design.arms) <= set(arms):
        estimate = snips(rewards, propensity, np.array([uniform[a] for a in arms]), alpha)
        z = _scipy_stats.norm.ppf(1 - alpha / 2)
        se = math.hypot(observed_se, estimate.std_error)
        gain = observed - estimate.estimate
        out["gain"] = {"observed_value": observed, "uniform_value": estimate.estimate, "gain": gain,
                       "low": gain - z * se, "high": gain + z * se, "pages": len(rewards)}
    else:
        out["note"] = "gain over uniform needs logged pages of every arm"
    return out
