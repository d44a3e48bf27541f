"""Online store read latency at scale: 1M profiles (+ candidates) and a 20k-title catalog in SQLite.

    .venv/bin/python benchmarks/online_store.py [--profiles 1000000] [--titles 20000] [--reads 200000]
    .venv/bin/python benchmarks/online_store.py --feast /tmp/feast-venv/bin/python
        # also Feast's SQLite online store on the same profile features, from a separate virtualenv
        # (python3 -m venv /tmp/feast-venv && /tmp/feast-venv/bin/pip install feast); feast is not a
        # dependency of streamloop

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

from streamloop.core.store.sqlite import SQLiteStore

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


# Runs inside the Feast virtualenv: the same profile features as the `profile` namespace, one feature view.
FEAST_CHILD = r'''
import json, random, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float32, String

profiles, reads = int(sys.argv[1]), int(sys.argv[2])
repo = Path(tempfile.mkdtemp(prefix="feast-bench-"))
(repo / "data").mkdir()
(repo / "feature_store.yaml").write_text(
    "project: bench\nregistry: data/registry.db\nprovider: local\n"
    "online_store:\n  type: sqlite\n  path: data/online_store.db\nentity_key_serialization_version: 3\n")
rng = random.Random(1)
now = datetime.now(timezone.utc)
df = pd.DataFrame({
    "profile_id": [f"p{i}" for i in range(profiles)],
    "account_id": [f"a{i // 3}" for i in range(profiles)],
    "is_kids": [rng.random() < 0.1 for _ in range(profiles)],
    "maturity_rating": [rng.choice(["13+", "16+", "18+"]) for _ in range(profiles)],
    "country": [rng.choice(["US", "DE", "FR"]) for _ in range(profiles)],
    "churn_risk": [rng.random() for _ in range(profiles)],
    "genre_affinity": [json.dumps({"drama": round(rng.random(), 3)}) for _ in range(profiles)],
    "event_timestamp": [now] * profiles,
})
df.head(10).to_parquet(repo / "data" / "profiles.parquet")
profile = Entity(name="profile", join_keys=["profile_id"], value_type=ValueType.STRING)
view = FeatureView(name="profile_features", entities=[profile], ttl=None, online=True,
                   schema=[Field(name="account_id", dtype=String), Field(name="is_kids", dtype=Bool),
                           Field(name="maturity_rating", dtype=String), Field(name="country", dtype=String),
                           Field(name="churn_risk", dtype=Float32), Field(name="genre_affinity", dtype=String)],
                   source=FileSource(path=str(repo / "data" / "profiles.parquet"), timestamp_field="event_timestamp"))
fs = FeatureStore(repo_path=str(repo))
fs.apply([profile, view])
t = time.perf_counter()
for start in range(0, profiles, 50_000):
    fs.write_to_online_store("profile_features", df.iloc[start:start + 50_000])
write_s = time.perf_counter() - t
features = [f"profile_features:{c}" for c in ("account_id", "is_kids", "maturity_rating", "country", "churn_risk", "genre_affinity")]
keys = [f"p{rng.randrange(profiles)}" for _ in range(reads)]
for k in keys[:200]:
    fs.get_online_features(features=features, entity_rows=[{"profile_id": k}]).to_dict()
samples = []
for k in keys:
    t = time.perf_counter()
    fs.get_online_features(features=features, entity_rows=[{"profile_id": k}]).to_dict()
    samples.append((time.perf_counter() - t) * 1e6)
samples.sort()
print(json.dumps({"profiles": profiles, "write_s": write_s, "p50": samples[len(samples) // 2],
                  "p99": samples[int(len(samples) * 0.99)], "mean": sum(samples) / len(samples)}))
'''


def bench_feast(python: str, profiles: int, reads: int) -> dict:
    import json
    import subprocess

    out = subprocess.run([python, "-c", FEAST_CHILD, str(profiles), str(reads)], capture_output=True, text=True,
                         check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--titles", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--feast", metavar="PYTHON", help="interpreter of a virtualenv with feast installed")
    parser.add_argument("--feast-reads", type=int, default=20_000)
    args = parser.parse_args()
    path = build_store(args.profiles, args.titles)
    print(f"streamloop SQLite online store, {args.profiles:,} profiles, {args.titles:,} titles, "
          f"{path.stat().st_size / 1e9:.2f} GB, {args.reads:,} random reads (µs):")
    ours = bench_reads(path, args.profiles, args.reads)
    for name, p in ours.items():
        print(f"  {name:22} p50 {p['p50']:7.1f}  p99 {p['p99']:7.1f}  p99.9 {p['p999']:7.1f}  mean {p['mean']:7.1f}")
    if args.feast:
        f = bench_feast(args.feast, args.profiles, args.feast_reads)
        mine = ours["get profile"]
        print(f"Feast SQLite online store, same {args.profiles:,} profiles (6 features, one feature view; written in "
              f"{f['write_s']:.0f}s), get_online_features for one profile (µs):")
        print(f"  p50 {f['p50']:7.1f}  p99 {f['p99']:7.1f}  mean {f['mean']:7.1f}   -> Feast/streamloop: "
              f"p50 {f['p50'] / mine['p50']:.0f}x, p99 {f['p99'] / mine['p99']:.0f}x")


if __name__ == "__main__":
    main()
