"""Churn training time and batch scoring throughput on synthetic account snapshots.

    .venv/bin/python benchmarks/ml_speed.py [--accounts 125000] [--snapshots 8] [--features 60]

Defaults: 125k accounts × 8 weekly snapshots = 1M rows × 60 numeric features (planted signal plus
noise columns), hist tree method, nthread=2. Goals: training ≤ 60 s, scoring ≥ 1M rows/s.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

from ml.churn import train_churn
from ml.config import ChurnConfig
from ml.features import feature_matrix
from ml.synthetic import account_snapshots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=125_000)
    parser.add_argument("--snapshots", type=int, default=8)
    parser.add_argument("--features", type=int, default=60)
    args = parser.parse_args()

    start = time.perf_counter()
    base = account_snapshots(n_accounts=10, n_snapshots=2, n_noise_features=0)
    n_named = len([c for c in base.columns if c not in ("account_id", "snapshot_date", "is_churned_30d",
                                                          "revenue_next_90d_cents", "is_churn_label_complete",
                                                          "is_ltv_label_complete")])
    frame = account_snapshots(n_accounts=args.accounts, n_snapshots=args.snapshots,
                              n_noise_features=max(0, args.features - n_named))
    print(f"data: {len(frame):,} rows generated in {time.perf_counter() - start:.1f}s")

    config = ChurnConfig(nthread=2, tree_method="hist")
    start = time.perf_counter()
    result = train_churn(frame, config)
    train_seconds = time.perf_counter() - start
    print(f"churn training: {train_seconds:.1f}s for {result.details['train_rows']:,} train + "
          f"{result.details['calibration_rows']:,} calibration + {result.details['test_rows']:,} test rows, "
          f"{len(result.features)} features, {result.model.booster.num_boosted_rounds()} trees, "
          f"AUC {result.metrics['auc']:.3f} (baseline {result.baseline_metrics['logistic_recency_frequency']['auc']:.3f})")

    x = feature_matrix(frame, result.features)
    result.model.booster.set_param({"nthread": 2})
    result.model.predict_matrix(x[:1000])  # warm-up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result.model.predict_matrix(x)
        best = min(best, time.perf_counter() - start)
    print(f"batch scoring: {len(x):,} rows in {best:.2f}s = {len(x) / best / 1e6:.2f}M rows/s "
          f"(inplace_predict on float32 numpy, calibrated, best of 3)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
