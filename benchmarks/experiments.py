"""Experiment readouts and off-policy estimates against simulated ground truth (issue #12 "Done when").

    PYTHONPATH=. .venv/bin/python benchmarks/experiments.py [--replications 400] [--seed 1]

Prints, over independent replications: coverage of the 95% plain and CUPED intervals of a known effect with
the 99% Clopper–Pearson interval of that coverage; CUPED's mean interval narrowing; the SRM alarm rate
with an injected 10% loss of treatment exposures and without (false alarms); the A/A error rate when
peeking 30 times with fixed vs always-valid intervals; and OPE coverage and error of IPS/SNIPS/DR against
a candidate's true value. CPU seconds beside wall time (the machine is shared).
"""
from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from ml.experiments import analyze
from ml.experiments_truth import DESIGN, Truth, simulate
from ml.ope import doubly_robust, ips, snips
from ml.stats import sequential_margin


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rate(hits: int, total: int) -> str:
    low, high = proportion_confint(hits, total, alpha=0.01, method="beta")
    return f"{hits / total:.4f} (99% Clopper–Pearson {low:.4f}–{high:.4f}, {hits}/{total})"


def readout_truth(rng, reps: int) -> None:
    truth = Truth(units=2000, effect=0.2)
    plain = cuped = 0
    reductions, srm_alarms, srm_false = [], 0, 0
    for _ in range(reps):
        sums, units = simulate(rng, truth)
        row = analyze(sums, [DESIGN], units).set_index("metric").loc["watch_minutes"]
        plain += row["lift_low"] <= truth.effect <= row["lift_high"]
        cuped += row["cuped_lift_low"] <= truth.effect <= row["cuped_lift_high"]
        reductions.append(row["cuped_interval_reduction"])
        srm_false += bool(row["is_srm"])
        sums, units = simulate(rng, Truth(units=6000, dropped_treatment_share=0.1))
        srm_alarms += bool(analyze(sums, [DESIGN], units)["is_srm"].iloc[0])
    print(f"coverage of the 95% Welch interval:  {_rate(plain, reps)}")
    print(f"coverage of the 95% CUPED interval:  {_rate(cuped, reps)}")
    print(f"CUPED interval narrowing: mean {np.mean(reductions):.3f}, min {np.min(reductions):.3f}")
    print(f"SRM alarm with 10% of treatment exposures lost (n≈5,700): {_rate(srm_alarms, reps)}")
    print(f"SRM false alarms without a mismatch (n=2,000):           {_rate(srm_false, reps)}")


def peeking(rng, reps: int) -> None:
    fixed = sequential = 0
    for _ in range(reps):
        a, b = rng.normal(0, 1, 3000), rng.normal(0, 1, 3000)
        ever_fixed = ever_sequential = False
        for n in range(100, 3001, 100):
            diff = a[:n].mean() - b[:n].mean()
            se = math.sqrt(a[:n].var(ddof=1) / n + b[:n].var(ddof=1) / n)
            ever_fixed |= abs(diff) > 1.96 * se
            ever_sequential |= abs(diff) > se * math.sqrt(2 * n) * sequential_margin(2 * n)
        fixed += ever_fixed
        sequential += ever_sequential
    print(f"A/A, 30 looks: any fixed 95% interval excludes 0:       {_rate(fixed, reps)}")
    print(f"A/A, 30 looks: any always-valid 95% interval excludes 0: {_rate(sequential, reps)}")


def off_policy(rng, reps: int, n: int = 5000) -> None:
    click = np.array([[0.10, 0.05, 0.20], [0.02, 0.15, 0.04]])
    logging = np.array([[0.6, 0.2, 0.2], [0.5, 0.25, 0.25]])
    target = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    share = np.array([0.7, 0.3])
    truth = float(share @ (target * click).sum(axis=1))
    arm_means = click.mean(axis=0)  # a deliberately wrong, context-free reward model for DR
    covered = {"ips": 0, "snips": 0, "dr": 0}
    errors = {k: [] for k in covered}
    ratio = {k: [] for k in covered}
    for _ in range(reps):
        context = rng.choice(2, size=n, p=share)
        arm = (rng.random(n)[:, None] > logging[context].cumsum(axis=1)).sum(axis=1)
        reward = (rng.random(n) < click[context, arm]).astype(float)
        p, t = logging[context, arm], target[context, arm]
        for value in (ips(reward, p, t), snips(reward, p, t),
                      doubly_robust(reward, p, t, arm_means[arm], (target * arm_means).sum(axis=1)[context])):
            covered[value.method] += value.low <= truth <= value.high
            errors[value.method].append(abs(value.estimate - truth))
            ratio[value.method].append(abs(value.estimate - truth) / value.std_error)
    print(f"OPE: candidate's true value {truth:.4f}, {n} logged units per replication")
    for method, hits in covered.items():
        print(f"  {method:5s} coverage {_rate(hits, reps)}; mean |error| {np.mean(errors[method]):.4f}; "
              f"|error| ≤ 1.96 stated SE in {np.mean(np.array(ratio[method]) <= 1.96):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for step in (readout_truth, peeking, off_policy):
        wall, cpu = time.perf_counter(), _cpu()
        step(rng, args.replications)
        print(f"  [{step.__name__}: {time.perf_counter() - wall:.1f} s wall, {_cpu() - cpu:.1f} CPU-s]")


if __name__ == "__main__":
    main()
