"""Recommender offline evaluation on MovieLens: ours (candidates + XGBoost ranker / blend) vs baselines.

    .venv/bin/python benchmarks/recsys.py --data ../shared/data/movielens-latest-small [--source pipeline|csv]
        [--split global|per_profile|both] [--single] [--check-determinism]

`--source pipeline` (default) runs the real path: `streamloop import movielens` → `streamloop build`
into a temporary STREAMLOOP_HOME, then reads interactions from the warehouse exactly as training
does. `--source csv` reads ratings.csv/movies.csv straight into the same interaction frame (each
rating = one interaction at its timestamp), for a quick check without the warehouse.

Every number is from a temporal split with full-catalog ranking, items seen before the cut
excluded, and every model choice (ranker vs blend vs a generator, blend weights, boosting rounds)
made on a validation window strictly before the test window. One cut is noisy on MovieLens — a
global cut leaves only ~25 profiles active on both sides, because MovieLens users rate in bursts —
so by default each split is *backtested*: the whole training + evaluation is replayed with the
test window at several disjoint moments (global: the 10% of interactions after the 50/60/70/80/90th
time percentile; per-profile: each profile's 70–80%, 80–90%, 90–100% of its own history), and
per-profile metrics are pooled over all backtests. Ours minus the best baseline (the baseline with
the highest pooled mean) comes with a paired bootstrap 95% interval over the pooled profiles.
Baselines are popularity, trending, ItemKNN, EASE and implicit ALS; rows marked "our component"
(EASE applied to rating/completion-weighted histories) are parts of ours, shown for transparency.
`--single` runs only the cut training itself uses (the latest 20%). Wall and CPU seconds are
printed (the machine is shared: CPU seconds are the steadier measure).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ml.compare import paired_difference
from ml.config import RecommenderConfig
from ml.recommend.interactions import normalize
from ml.recommend.pipeline import train_recommender

METRICS = ("ndcg_at_10", "recall_at_20", "coverage_at_20", "novelty_at_20")
PAIRED = ("ndcg_at_10", "recall_at_20")
# test window [cut, end) and the ranker's label cuts before it, per backtest
BACKTESTS = {
    "global": [(c, round(c + 0.1, 2)) for c in (0.5, 0.6, 0.7, 0.8, 0.9)],
    "per_profile": [(0.7, 0.8), (0.8, 0.9), (0.9, 1.0)],
}
SINGLE = (0.8, 1.0)


def from_csv(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(data / "ratings.csv")
    movies = pd.read_csv(data / "movies.csv")
    interactions = normalize(pd.DataFrame({
        "profile_id": "ml_u" + ratings["userId"].astype(str), "item_id": "ml_m" + ratings["movieId"].astype(str),
        "ts": pd.to_datetime(ratings["timestamp"], unit="s", utc=True), "weight": 1.0,
    }))
    titles = pd.DataFrame({
        "title_id": "ml_m" + movies["movieId"].astype(str), "kind": "movie",
        "genres": [[g for g in s.split("|") if g != "(no genres listed)"] for s in movies["genres"]],
        "release_date": pd.to_datetime(movies["title"].str.extract(r"\((\d{4})\)\s*$")[0] + "-07-01", errors="coerce"),
    })
    return interactions, titles


def from_pipeline(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    home = tempfile.mkdtemp(prefix="streamloop-recsys-")
    os.environ["STREAMLOOP_HOME"] = home
    from streamloop.core.settings import get_settings

    get_settings.cache_clear()
    from ml.features import open_warehouse
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from streamloop.app.build import run_build
    from streamloop.core.importers.movielens import import_movielens

    import_movielens(data)
    run_build(full_refresh=True)
    con = open_warehouse()
    try:
        return load_interactions(con), load_titles(con)
    finally:
        con.close()


def backtest_config(split: str, cut: float, end: float) -> RecommenderConfig:
    """The default config with its windows moved so the test period is [cut, end)."""
    default = RecommenderConfig()
    shift = cut - default.eval_cut_quantile
    return replace(default, split=split, eval_cut_quantile=cut, eval_end_quantile=end,
                   label_cut_quantiles=tuple(round(q + shift, 4) for q in default.label_cut_quantiles))


def run_backtest(interactions: pd.DataFrame, titles: pd.DataFrame, config: RecommenderConfig) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    result = train_recommender(interactions, titles, config, produce_outputs=False, keep_profile_metrics=True)
    return {"result": result, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def print_table(rows: dict[str, dict], columns=METRICS) -> None:
    print(f"| model | {' | '.join(columns)} |")
    print("|---|" + "---|" * len(columns))
    for name, metrics in rows.items():
        print(f"| {name} | " + " | ".join(f"{metrics.get(m, float('nan')):.4f}" for m in columns) + " |")


def paired_interval(ours: np.ndarray, other: np.ndarray, seed: int = 7, draws: int = 2000) -> tuple[float, float]:
    """95% paired-bootstrap interval of mean(ours − other) over profiles (ml.compare, as the gate)."""
    diff = paired_difference("ndcg_at_10", np.zeros(len(ours)), ours, other, seed=seed, n_resamples=draws)
    return diff.low, diff.high


def evaluate_split(interactions: pd.DataFrame, titles: pd.DataFrame, split: str, windows) -> None:
    runs = []
    for cut, end in windows:
        run = run_backtest(interactions, titles, backtest_config(split, cut, end))
        result = run["result"]
        runs.append(run)
        print(f"\n{split} split, test window [{cut:.0%}, {end:.0%}): evaluation cut "
              f"{result.data_window['evaluation_cut']}, {int(result.metrics['profiles_evaluated'])} profiles, "
              f"ranked by {result.details['scorer']} (validation NDCG@10: "
              + ", ".join(f"{k} {v:.3f}" for k, v in result.details["validation_ndcg"].items())
              + f"), {run['wall']:.0f}s wall / {run['cpu']:.0f}s CPU\n")
        print_table({"ours": result.metrics} | result.baseline_metrics
                    | {f"{n} (our component)": m for n, m in result.details["component_metrics"].items()})

    # pool every (backtest, profile) pair: each model's per-profile metrics line up within a backtest
    models = list(runs[0]["result"].details["profile_metrics"])
    baselines = list(runs[0]["result"].baseline_metrics)
    pooled = {m: {metric: np.concatenate([r["result"].details["profile_metrics"][m][metric] for r in runs])
                  for metric in PAIRED} for m in models}
    n = len(pooled["ours"]["ndcg_at_10"])
    print(f"\n### {split} split: {len(runs)} backtests pooled, {n} profile evaluations, "
          f"{sum(r['wall'] for r in runs):.0f}s wall / {sum(r['cpu'] for r in runs):.0f}s CPU in all\n")
    rows = {}
    for m in models:
        rows[m] = {metric: float(pooled[m][metric].mean()) for metric in PAIRED}
        per_run = [r["result"].metrics if m == "ours" else
                   (r["result"].baseline_metrics | r["result"].details["component_metrics"])[m] for r in runs]
        rows[m] |= {f"{metric} spread": float(np.std([p[metric] for p in per_run])) for metric in PAIRED}
        rows[m] |= {metric: float(np.mean([p.get(metric, np.nan) for p in per_run])) for metric in METRICS[2:]}
    rows = {(f"{m} (our component)" if m not in baselines and m != "ours" else m): v for m, v in rows.items()}
    print_table(rows, columns=("ndcg_at_10", "ndcg_at_10 spread", "recall_at_20", "recall_at_20 spread",
                               *METRICS[2:]))
    print("(spread: standard deviation of the per-backtest values; coverage/novelty: mean over backtests)")
    for metric in PAIRED:
        best = max(baselines, key=lambda m: rows[m][metric])
        low, high = paired_interval(pooled["ours"][metric], pooled[best][metric])
        wins = sum(r["result"].metrics[metric] >= r["result"].baseline_metrics[best][metric] for r in runs)
        print(f"{metric}: ours {rows['ours'][metric]:.4f} vs best baseline {best} {rows[best][metric]:.4f}: "
              f"difference {rows['ours'][metric] - rows[best][metric]:+.4f}, 95% interval [{low:+.4f}, {high:+.4f}]; "
              f"ours ≥ {best} in {wins} of {len(runs)} backtests")
    scorers = [r["result"].details["scorer"] for r in runs]
    print(f"scorer chosen on validation per backtest: {', '.join(scorers)}")


def check_determinism(interactions: pd.DataFrame, titles: pd.DataFrame, split: str, window) -> None:
    first, second = (run_backtest(interactions, titles, backtest_config(split, *window))["result"] for _ in range(2))
    same = first.metrics == second.metrics and first.baseline_metrics == second.baseline_metrics
    print(f"\ndeterminism ({split}, window {window}): two runs {'agree exactly' if same else 'DIFFER'}")
    if not same:
        print(f"  first: {first.metrics}\n  second: {second.metrics}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--source", choices=["pipeline", "csv"], default="pipeline")
    parser.add_argument("--split", choices=["global", "per_profile", "both"], default="both",
                        help="global: one cut time for everyone (strict, the default in training); per_profile: "
                             "each profile's latest interactions held out (as in most published MovieLens numbers)")
    parser.add_argument("--single", action="store_true", help="only the training cut (test = the latest 20%%)")
    parser.add_argument("--check-determinism", action="store_true", help="run the training cut twice and compare")
    args = parser.parse_args()

    start = time.perf_counter()
    interactions, titles = from_pipeline(args.data) if args.source == "pipeline" else from_csv(args.data)
    source = "importer + dbt build → warehouse" if args.source == "pipeline" else "ratings.csv read directly"
    print(f"source: {source} ({time.perf_counter() - start:.0f}s); {len(interactions):,} interactions, "
          f"{interactions['profile_id'].nunique():,} profiles, {interactions['item_id'].nunique():,} items; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    splits = ["global", "per_profile"] if args.split == "both" else [args.split]
    for split in splits:
        evaluate_split(interactions, titles, split, [SINGLE] if args.single else BACKTESTS[split])
    if args.check_determinism:
        check_determinism(interactions, titles, splits[0], SINGLE)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
