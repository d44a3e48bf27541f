"""Recommender offline evaluation on MovieLens: ours (candidates + XGBoost ranker) vs baselines.

    .venv/bin/python benchmarks/recsys.py --data ../shared/data/movielens-latest-small [--source pipeline|csv]

`--source pipeline` (default) runs the real path: `streamloop import movielens` → `streamloop build`
into a temporary STREAMLOOP_HOME, then reads interactions from the warehouse exactly as training
does. `--source csv` reads ratings.csv/movies.csv straight into the same interaction frame (each
rating = one interaction at its timestamp), for a quick check without the warehouse; the output
says which source was used. Split by time (global cut at the 80th percentile of interaction
times), full-catalog ranking, items seen before the cut excluded. Prints one table.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from ml.config import RecommenderConfig
from ml.recommend.interactions import normalize
from ml.recommend.pipeline import train_recommender

METRICS = ("ndcg_at_10", "recall_at_20", "coverage_at_20", "novelty_at_20")


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
    from streamloop.settings import get_settings

    get_settings.cache_clear()
    from ml.features import open_warehouse
    from ml.recommend.catalog import load_titles
    from ml.recommend.interactions import load_interactions
    from streamloop.build import run_build
    from streamloop.importers.movielens import import_movielens

    import_movielens(data)
    run_build(full_refresh=True)
    con = open_warehouse()
    try:
        return load_interactions(con), load_titles(con)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--source", choices=["pipeline", "csv"], default="pipeline")
    parser.add_argument("--split", choices=["global", "per_profile", "both"], default="both",
                        help="global: one cut time (strict, the default in training); per_profile: each "
                             "profile's latest 20%% held out (comparable to published MovieLens numbers)")
    args = parser.parse_args()

    start = time.perf_counter()
    interactions, titles = from_pipeline(args.data) if args.source == "pipeline" else from_csv(args.data)
    loaded = time.perf_counter() - start
    source = "importer + dbt build → warehouse" if args.source == "pipeline" else "ratings.csv read directly"
    print(f"source: {source} ({loaded:.0f}s); {len(interactions):,} interactions, "
          f"{interactions['profile_id'].nunique():,} profiles, {interactions['item_id'].nunique():,} items")

    for split in (["global", "per_profile"] if args.split == "both" else [args.split]):
        evaluate(interactions, titles, split)


def evaluate(interactions: pd.DataFrame, titles: pd.DataFrame, split: str) -> None:
    start = time.perf_counter()
    result = train_recommender(interactions, titles, RecommenderConfig(split=split), produce_outputs=False,
                               progress=print)
    elapsed = time.perf_counter() - start
    rows = {"ours (ranker)": result.metrics} | result.baseline_metrics
    print(f"\n{split} split: evaluation cut {result.data_window['evaluation_cut']}, "
          f"{int(result.metrics['profiles_evaluated'])} profiles evaluated, "
          f"{result.data_window['catalog_items']:,} catalog items, trained + evaluated in {elapsed:.0f}s\n")
    print(f"| model | {' | '.join(METRICS)} |")
    print("|---|" + "---|" * len(METRICS))
    for name, metrics in rows.items():
        print(f"| {name} | " + " | ".join(f"{metrics.get(m, float('nan')):.4f}" for m in METRICS) + " |")
    print("\nNDCG@10 by activity bucket (profiles):")
    for model, buckets in result.details["by_bucket"].items():
        cells = ", ".join(f"{b}: {v['ndcg_at_10']:.3f} ({v['profiles']})" for b, v in sorted(buckets.items()))
        print(f"  {model}: {cells}")
    print()


if __name__ == "__main__":
    main()
