"""Collector throughput: validate, deduplicate, land in the lake, update real-time state and bandit counts.

    .venv/bin/python benchmarks/collector.py [--batches 100] [--batch-size 500]

In-process: Collector.ingest() on 500-event batches (a realistic mix: playback heartbeats, starts,
completions, impressions with bandit request ids, clicks, searches, app opens) against a fresh SQLite
store holding a 20k-title catalog and a local lake. Over HTTP: the same batches POSTed to uvicorn
(one process) from a second process over loopback.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from online_store import title_values
from serving import cpu_seconds, load, start_server

MIX = [("heartbeat", 40), ("play_start", 10), ("play_complete", 4), ("impression", 25), ("click", 3),
       ("search", 8), ("app_open", 10)]


def make_batches(batches: int, size: int, seed: int = 1) -> list[list[dict]]:
    rng = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    now = datetime.now(UTC)
    arms = ["personal_first", "trending_first", "fresh_first"]
    out = []
    for _ in range(batches):
        batch = []
        for _ in range(size):
            kind = rng.choice(kinds)
            title = f"t{rng.randrange(20_000)}"
            props = {
                "heartbeat": {"title_id": title, "position_s": rng.randrange(3000)},
                "play_start": {"title_id": title, "position_s": 0, "duration_s": 3000},
                "play_complete": {"title_id": title, "position_s": 3000},
                "impression": {"title_id": title, "row_id": "trending", "rank": rng.randint(1, 20),
                               "request_id": f"{uuid.uuid4().hex}.home_row_order.{rng.choice(arms)}",
                               "propensity": 0.4},
                "click": {"title_id": title, "row_id": "trending", "rank": 1,
                          "request_id": f"{uuid.uuid4().hex}.home_row_order.{rng.choice(arms)}"},
                "search": {"query": "space", "results_count": 12},
                "app_open": {},
            }[kind]
            profile = f"p{rng.randrange(50_000)}"
            batch.append({"event_id": uuid.uuid4().hex, "event_type": kind,
                          "occurred_at": (now - timedelta(seconds=rng.randrange(600))).isoformat(),
                          "device_id": f"d{profile}", "profile_id": profile, "account_id": f"a{profile}",
                          "context": {"country": "US", "device_type": "tv", "app_version": "5.2.0", "os": "tizen",
                                      "timezone": "America/New_York"},
                          "properties": props, "schema_version": 1})
        out.append(batch)
    return out


def seeded_home(home: Path) -> Path:
    from streamloop.core.store.sqlite import SQLiteStore

    store = SQLiteStore(home / "online.sqlite")
    store.put_many("title", title_values(20_000, random.Random(1)))
    store.close()
    return home


def bench_validation(batches: list[list[dict]], repeats: int = 3) -> float:
    """Best of `repeats` passes over every event, in µs per event."""
    from streamloop.core.contract import validate_event

    events = [event for batch in batches for event in batch]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for event in events:
            validate_event(event)
        best = min(best, time.perf_counter() - start)
    return best / len(events) * 1e6


def bench_in_process(batches: list[list[dict]]) -> dict:
    from functions.services import Services
    from streamloop.core.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        services = Services(Settings(home=seeded_home(Path(home)), api_keys="k"))
        for batch in make_batches(2, len(batches[0]), seed=99):  # warm-up: pyarrow import, title cache
            services.collector.ingest(batch)
        start, cpu = time.perf_counter(), time.process_time()
        accepted = sum(services.collector.ingest(batch).accepted for batch in batches)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        services.close()
    events = sum(len(b) for b in batches)
    return {"events": events, "accepted": accepted, "seconds": elapsed, "eps": events / elapsed,
            "eps_per_core": events / cpu}


def bench_http(batches: list[list[dict]], concurrency: int) -> dict:
    bodies = [orjson.dumps({"events": b}) for b in batches]
    warm = [orjson.dumps({"events": b}) for b in make_batches(4, len(batches[0]), seed=98)]
    with tempfile.TemporaryDirectory() as home:
        proc, port = start_server({"STREAMLOOP_HOME": str(seeded_home(Path(home)))})
        try:
            load(port, ["/v1/events"] * len(warm), 2, "POST", warm)
            cpu = cpu_seconds(proc.pid)
            result = load(port, ["/v1/events"] * len(bodies), concurrency, "POST", bodies)
            result["server_cpu_s"] = cpu_seconds(proc.pid) - cpu
        finally:
            proc.terminate()
            proc.wait(10)
    result["eps"] = result["rps"] * len(batches[0])
    result["eps_per_core"] = len(batches) * len(batches[0]) / result["server_cpu_s"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    batches = make_batches(args.batches, args.batch_size)
    body_kb = sum(len(orjson.dumps({"events": b})) for b in batches) / len(batches) / 1024
    validation = bench_validation(batches)
    print(f"contract validation (validate_event on the same mix): {validation:.1f} µs/event")
    r = bench_in_process(batches)
    print(f"collector in-process: {r['events']:,} events in {args.batches} batches of {args.batch_size} "
          f"(~{body_kb:.0f} KB each): {r['eps']:,.0f} events/s wall, {r['eps_per_core']:,.0f} events/s per CPU-second "
          f"({r['accepted']:,} accepted)")
    h = bench_http(batches, args.concurrency)
    print(f"collector over HTTP (uvicorn, 1 process, {args.concurrency} connections): {h['eps']:,.0f} events/s, "
          f"{h['rps']:.1f} requests/s, request p50 {h['p50']:.1f} ms p99 {h['p99']:.1f} ms, errors {h['errors']}; "
          f"server CPU: {h['eps_per_core']:,.0f} events/s per fully available core")


if __name__ == "__main__":
    main()
