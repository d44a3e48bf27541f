"""Throughput and peak memory of `streamloop ingest` and `streamloop import movielens` on generated data.

    .venv/bin/python benchmarks/bench_ingest_import.py [--events 200000] [--ratings 250000 1000000]

Each measurement runs in its own process (clean peak RSS) against a temporary STREAMLOOP_HOME.
MovieLens is measured at several sizes to show that memory stays flat as the ratings file grows
(ratings are streamed in chunks); time grows linearly.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTEXT = {"country": "US", "device_type": "tv", "app_version": "1.0", "os": "tvOS", "timezone": "UTC"}


def make_events_file(path: Path, n: int) -> None:
    """JSON lines: ~1% malformed lines, ~1% duplicated events, the rest valid plays."""
    rng = random.Random(7)
    with open(path, "w") as f:
        for i in range(n):
            if rng.random() < 0.01:
                f.write("{broken\n")
                continue
            event_id = f"e{i - 1 if rng.random() < 0.01 else i}"
            f.write(json.dumps({
                "event_id": event_id, "event_type": "heartbeat", "occurred_at": "2024-05-01T20:00:00+00:00",
                "device_id": f"d{i % 5000}", "profile_id": f"p{i % 5000}", "account_id": f"a{i % 3000}",
                "context": CONTEXT, "properties": {"title_id": f"t{i % 900}", "position_s": i % 3600},
                "schema_version": 1}) + "\n")


def make_movielens(root: Path, ratings: int) -> None:
    """An ml-latest-shaped folder: ratings sorted by user like the real files, 20k movies."""
    rng = random.Random(7)
    root.mkdir(parents=True)
    with open(root / "movies.csv", "w") as f:
        f.write("movieId,title,genres\n")
        f.writelines(f"{m},Movie {m} ({1950 + m % 70}),Drama|Comedy\n" for m in range(1, 20_001))
    per_user = 100
    with open(root / "ratings.csv", "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        f.writelines(f"{i // per_user + 1},{rng.randint(1, 20_000)},{rng.randint(1, 10) / 2},"
                    f"{1_400_000_000 + i * 7}\n" for i in range(ratings))


def measure(kind: str, path: str) -> None:
    """Child process: run one command, print seconds and peak RSS as JSON."""
    start = time.perf_counter()
    if kind == "ingest":
        from streamloop.core.ingest import ingest_paths

        received = ingest_paths([path]).total.received
    else:
        from streamloop.core.importers.movielens import import_movielens

        received = import_movielens(path).events.received
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": received, "seconds": seconds, "peak_rss_mb": peak_mb}))


def run_child(kind: str, path: Path, home: Path) -> dict:
    env = {**os.environ, "STREAMLOOP_HOME": str(home)}
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--ratings", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        events_file = tmp_path / "events.jsonl"
        make_events_file(events_file, args.events)
        r = run_child("ingest", events_file, tmp_path / "home-ingest")
        print(f"ingest            {r['records']:>10,} records  {r['seconds']:6.1f} s  "
              f"{r['records'] / r['seconds']:>9,.0f} records/s  peak RSS {r['peak_rss_mb']:,.0f} MB")
        for n in args.ratings:
            folder = tmp_path / f"ml-{n}"
            make_movielens(folder, n)
            r = run_child("movielens", folder, tmp_path / f"home-ml-{n}")
            print(f"import movielens  {n:>10,} ratings  {r['seconds']:6.1f} s  "
                  f"{r['records'] / r['seconds']:>9,.0f} events/s   peak RSS {r['peak_rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
