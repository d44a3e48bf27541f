"""Churn, LTV and recommender backtests on simulated services: several seeds, calendars and cuts (#10.7).

For each (seed, end date) a service is simulated into a temporary STREAMLOOP_HOME and built with the
real pipeline (simulate → build). Then each model is trained as `streamloop train` trains it — same
configuration, purge gaps of the label horizon — at several time cuts: for a cut c the data is
truncated to snapshots before c + `--test-days` (what came after the test window does not exist) and
the test slice starts at c. Every cut reports the learned model's and the baseline's headline metric on
the same rows, their paired-bootstrap difference (ml.compare) and which candidate the gate would let
serve (ml.gates.select_candidate). The recommender is backtested on the same warehouses as
benchmarks/recsys.py backtests MovieLens: global time windows [0.6, 0.7), [0.7, 0.8), [0.8, 0.9) of
the interactions, compared with the best baseline generator. The summary gives, per model, the mean and a 95% t-interval over
all runs of each headline metric and of the difference, and how often the learned model was chosen.
Nothing in the simulator is tuned for this: a learned model that does not beat its baseline is reported.

    PYTHONPATH=$PWD python benchmarks/backtest_accounts.py --profiles 400 --days 180 \\
        --seeds 1 2 --ends 2026-01-01 2025-07-01 --cuts 3
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from importlib import import_module

import numpy as np
import pandas as pd
from scipy import stats


def build_service(profiles: int, days: int, seed: int, end: date) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate and build into a fresh home; account_features, the interactions and the titles."""
    home = tempfile.mkdtemp(prefix="streamloop-backtest-")
    os.environ["STREAMLOOP_HOME"] = home
    from streamloop.core.settings import get_settings

    get_settings.cache_clear()
    from streamloop.app.build import run_build
    from streamloop.core.simulate import SimulationConfig, run_simulation

    run_simulation(SimulationConfig(profiles=profiles, days=days, seed=seed, start_date=end - timedelta(days=days)))
    run_build(full_refresh=True)
    return read_service(None)


def read_service(path: str | None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What training reads, through the same consent-filtered readers (ml.consent): account snapshots
    without the accounts none of whose profiles allows personalization, interactions without declined
    profiles."""
    from ml.account_models import read_account_snapshots
    from ml.features import open_warehouse
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions

    with open_warehouse(path) as con:
        return read_account_snapshots(con), load_interactions(con), load_titles(con)


def backtest_recommender(interactions: pd.DataFrame, titles: pd.DataFrame, cuts: int) -> list[dict]:
    from recsys import backtest_config  # benchmarks/recsys.py: the same window shifting as on MovieLens

    from ml.compare import paired_difference
    from ml.errors import NoTrainingData, TrainingDataError
    from ml.gates import select_candidate
    from ml.recommend.pipeline import train_recommender

    rows = []
    for cut in [round(0.9 - 0.1 * (i + 1), 2) for i in range(cuts)][::-1]:
        try:
            result = train_recommender(interactions, titles, backtest_config("global", cut, round(cut + 0.1, 2)),
                                       produce_outputs=False)
        except (NoTrainingData, TrainingDataError) as reason:
            rows.append({"model": "recommender", "cut": str(cut), "skipped": str(reason)})
            continue
        best = max(result.baselines, key=lambda b: b.metrics["ndcg_at_10"])
        diff = paired_difference("ndcg_at_10", result.unit_labels, result.unit_outputs, best.unit_outputs)
        rows.append({"model": "recommender", "cut": str(cut), "learned": result.metrics["ndcg_at_10"],
                     "baseline": best.metrics["ndcg_at_10"], "best_baseline": best.model_name,
                     "diff": diff.estimate, "low": diff.low, "high": diff.high,
                     "label_events": result.metrics["label_events"],
                     "test_rows": result.metrics["profiles_evaluated"],
                     "chosen": select_candidate("recommender", result.candidates).chosen})
    return rows


def backtest(frame: pd.DataFrame, name: str, cuts: int, test_days: int) -> list[dict]:
    from ml.compare import paired_difference
    from ml.config import ChurnConfig, LtvConfig, TimeSplit
    from ml.errors import NoTrainingData
    from ml.gates import select_candidate
    from ml.models import MODELS

    module = import_module(MODELS[name].module)
    config = {"churn": ChurnConfig, "ltv": LtvConfig}[name]()
    try:
        matured = module.matured_rows(frame)
    except NoTrainingData as reason:
        return [{"model": name, "skipped": str(reason)}]
    dates = sorted(pd.to_datetime(matured["snapshot_date"]).dt.date.unique())
    step = max(1, test_days // 7)  # weekly snapshots: each test window holds `step` of them, windows disjoint
    cut_dates = [dates[-step * (i + 1)] for i in range(cuts) if step * (i + 1) <= len(dates)][::-1]
    rows = []
    for cut in cut_dates:
        window = matured[pd.to_datetime(matured["snapshot_date"]).dt.date <= cut + timedelta(days=test_days - 1)]
        try:
            result = getattr(module, f"train_{name}")(window, replace(config, split=TimeSplit(test_from=cut)))
        except NoTrainingData as reason:
            rows.append({"model": name, "cut": str(cut), "skipped": str(reason)})
            continue
        (baseline,) = result.baselines
        headline = MODELS[name].headline
        diff = paired_difference(headline, result.unit_labels, result.unit_outputs, baseline.unit_outputs)
        selection = select_candidate(name, result.candidates)
        rows.append({"model": name, "cut": str(cut), "learned": result.metrics.get(headline),
                     "baseline": baseline.metrics.get(headline), "diff": diff.estimate, "low": diff.low,
                     "high": diff.high, "label_events": result.metrics.get("label_events"),
                     "test_rows": result.metrics.get("rows"), "chosen": selection.chosen,
                     "calibration": result.data_window.get("note", "") or "with calibration slice"})
    return rows


def interval(values) -> str:
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(values) < 2:
        return f"{values.mean():.4f} (n={len(values)})" if len(values) else "–"
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return f"{values.mean():.4f} [{values.mean() - half:.4f}, {values.mean() + half:.4f}] (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--ends", type=date.fromisoformat, nargs="+", default=[date(2026, 1, 1), date(2025, 7, 1)])
    parser.add_argument("--cuts", type=int, default=3)
    parser.add_argument("--test-days", type=int, default=14)
    parser.add_argument("--warehouse", nargs="*", default=[],
                        help="backtest already built warehouses (label=PATH) instead of simulating")
    args = parser.parse_args()
    runs = []
    for labelled in args.warehouse:  # e.g. seed7=/tmp/demo/.streamloop/warehouse.duckdb
        label, _, path = labelled.rpartition("=")
        frame, interactions, titles = read_service(path)
        for row in [*backtest(frame, "churn", args.cuts, args.test_days),
                    *backtest(frame, "ltv", args.cuts, args.test_days),
                    *backtest_recommender(interactions, titles, args.cuts)]:
            runs.append(row | {"service": label or path})
            print(row | {"service": label or path}, flush=True)
    for seed in args.seeds if not args.warehouse else []:
        for end in args.ends:
            wall, cpu = time.perf_counter(), time.process_time()
            frame, interactions, titles = build_service(args.profiles, args.days, seed, end)
            built = (time.perf_counter() - wall, time.process_time() - cpu)
            rows = [*backtest(frame, "churn", args.cuts, args.test_days),
                    *backtest(frame, "ltv", args.cuts, args.test_days),
                    *backtest_recommender(interactions, titles, args.cuts)]
            for row in rows:
                runs.append(row | {"seed": seed, "end": str(end)})
                print(row | {"seed": seed, "end": str(end)}, flush=True)
            print(f"seed {seed} end {end}: simulate+build {built[0]:.0f}s wall / {built[1]:.0f}s CPU; "
                  f"backtests {time.perf_counter() - wall - built[0]:.0f}s wall", flush=True)
    table = pd.DataFrame(runs)
    print("\n| model | runs | learned | baseline | learned − baseline | intervals excluding 0 | learned chosen |")
    print("|---|---|---|---|---|---|---|")
    for name, group in table.groupby("model"):
        done = group[group.get("learned").notna()] if "learned" in group else group.iloc[0:0]
        skipped = len(group) - len(done)
        if done.empty:
            print(f"| {name} | 0 (+{skipped} skipped) | – | – | – | – | – |")
            continue
        significant = int(((done["low"] > 0) | (done["high"] < 0)).sum())
        print(f"| {name} | {len(done)} (+{skipped} skipped) | {interval(done['learned'])} | "
              f"{interval(done['baseline'])} | {interval(done['diff'])} | {significant} | "
              f"{int(done['chosen'].isin(['xgboost', 'ranker']).sum())} of {len(done)} |")
    if "best_baseline" in table:
        print("best recommender baseline per run:", table["best_baseline"].dropna().value_counts().to_dict())
    for reason in sorted({r for r in table.get("skipped", pd.Series(dtype=str)).dropna()}):
        print(f"skipped: {reason}")


if __name__ == "__main__":
    main()
