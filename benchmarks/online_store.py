"""Online store read latency at scale: 1M profiles (+ candidates) and a 20k-title catalog in SQLite.

    .venv/bin/python benchmarks/online_store.py [--profiles 1000000] [--titles 20000] [--reads 200000]
    .venv/bin/python benchmarks/online_store.py --feast   # also Feast's SQLite online store, if /tmp/feast-venv exists

The store file is built once under benchmarks/out/ and reused by benchmarks/serving.py.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.store.sqlite import SQLiteStore

OUT = ROOT / "benchmarks" / "out"
GENRES = ["drama", "comedy", "action", "thriller", "documentary", "kids", "romance", "sci_fi", "horror", "animation",
          "crime", "family"]
RATINGS = ["all", "7+", "13+", "16+", "18+"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR", "BR", "IN", "JP"]


def store_path(profiles: int, titles: int) -> Path:
    return OUT / f"online-{profiles}p-{titles}t.sqlite"


def title_values(n: int, rng: random.Random) -> dict[str, dict]:
    out = {}
    for i in range(n):
        countries = ["*"] if rng.random() < 0.6 else rng.sample(COUNTRIES, rng.randint(1, 4))
        out[f"t{i}"] = {"name": f"Title {i}", "kind": "movie" if rng.random() < 0.7 else "series",
                        "genres": rng.sample(GENRES, rng.randint(1, 3)), "maturity_rating": rng.choice(RATINGS),
                        "available_countries": countries, "release_date": f"20{rng.randint(10, 26)}-0{rng.randint(1, 9)}-01",
                        "series_id": None, "popularity": round(1 / (1 + i), 6)}
    return out


def profile_value(i: int, rng: random.Random) -> dict:
    kids = rng.random() < 0.1
    return {"account_id": f"a{i // 3}", "is_kids": kids, "maturity_rating": "7+" if kids else rng.choice(RATINGS[2:]),
            "country": rng.choice(COUNTRIES), "timezone": "UTC",
            "genre_affinity": {g: round(rng.random(), 3) for g in rng.sample(GENRES, 4)},
            "churn_risk": round(rng.random(), 3), "segment": "regular"}


def build_store(profiles: int, titles: int, candidates_per_profile: int = 50) -> Path:
    """Builds (once) a store with `profiles` profiles and candidates, `titles` titles, lists and similars."""
    path = store_path(profiles, titles)
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    rng = random.Random(1)
    store = SQLiteStore(tmp)
    start = time.perf_counter()
    catalog = title_values(titles, rng)
    store.put_many("title", catalog)
    ids = list(catalog)
    now = datetime.now(UTC).isoformat()
    store.put_many("lists", {name: {"generated_at": now, "items": [[t, round(1 - k / 1000, 4)] for k, t in
                                                                   enumerate(rng.sample(ids[:3000], 1000))]}
                             for name in ("trending", "popular", "new_releases")})
    store.put_many("similar", {t: {"model_version": "itemknn@1",
                                   "items": [[s, round(rng.random(), 4)] for s in rng.sample(ids, 30)]} for t in ids})
    cumulative, total = [], 0.0
    for i in range(titles):  # candidates skew popular, like real rankers
        total += 1 / (1 + i) ** 0.8
        cumulative.append(total)
    chunk = 50_000
    for first in range(0, profiles, chunk):
        batch = range(first, min(first + chunk, profiles))
        store.put_many("profile", {f"p{i}": profile_value(i, rng) for i in batch})
        store.put_many("candidates", {f"p{i}": {"model_version": "ranker@1", "items": [
            [t, round(1 - k / candidates_per_profile, 4)]
            for k, t in enumerate(dict.fromkeys(rng.choices(ids, cum_weights=cumulative, k=candidates_per_profile)))]} for i in batch})
        print(f"  {min(first + chunk, profiles):,} profiles written ({time.perf_counter() - start:.0f}s)",
              file=sys.stderr)
    store.close()
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    print(f"built {path} ({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    return path


def percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return {"p50": pick(0.50), "p99": pick(0.99), "p999": pick(0.999), "mean": statistics.fmean(samples)}


def bench_reads(path: Path, profiles: int, reads: int) -> dict:
    store = SQLiteStore(path)
    rng = random.Random(7)
    keys = [f"p{rng.randrange(profiles)}" for _ in range(reads)]
    for key in keys[:2000]:  # touch the connection and the first pages
        store.get("profile", key)
    results = {}
    for ns in ("profile", "candidates"):
        samples = []
        for key in keys:
            t = time.perf_counter()
            store.get(ns, key)
            samples.append((time.perf_counter() - t) * 1e6)
        results[f"get {ns}"] = percentiles(samples)
    samples = []
    for i in range(min(reads, 20_000)):
        batch = [f"t{rng.randrange(20_000)}" for _ in range(50)]
        t = time.perf_counter()
        store.get_many("title", batch)
        samples.append((time.perf_counter() - t) * 1e6)
    results["get_many title x50"] = percentiles(samples)
    store.close()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--titles", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--feast", action="store_true", help="compare with Feast's SQLite online store")
    args = parser.parse_args()
    path = build_store(args.profiles, args.titles)
    print(f"streamloop SQLite online store, {args.profiles:,} profiles, {args.titles:,} titles, "
          f"{path.stat().st_size / 1e9:.2f} GB, {args.reads:,} random reads (µs):")
    for name, p in bench_reads(path, args.profiles, args.reads).items():
        print(f"  {name:22} p50 {p['p50']:7.1f}  p99 {p['p99']:7.1f}  p99.9 {p['p999']:7.1f}  mean {p['mean']:7.1f}")
    if args.feast:
        from feast_compare import run_feast  # benchmarks/feast_compare.py, run in its own venv

        run_feast(args)


if __name__ == "__main__":
    main()
