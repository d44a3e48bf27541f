"""Load without loss: the collector and the home page under load together, then the warehouse reconciles.

    .venv/bin/python benchmarks/load_reconcile.py [--seconds 60] [--post-connections 2] [--home-connections 8]

A uvicorn server (one process, SQLite online store with a 20k-title catalog, local lake) takes, for
`--seconds`, POSTs of 500-event batches (the collector benchmark's mix, every event id unique) on some
keep-alive connections and home page GETs on others, from this process over loopback. Then the server
stops, `streamloop build` runs on its lake, and the events acknowledged (`accepted` summed over every 200)
must equal the events in the warehouse's `events` mart (experiment exposures, which the home page logs
itself, counted apart) — with 0 errors.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from collector import make_batches, seeded_home
from online_store import percentiles
from serving import API_KEY, cpu_seconds, start_server


async def _request(reader, writer, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    writer.write((f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {API_KEY}\r\n"
                  f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


async def _poster(port, deadline, seed, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while time.monotonic() < deadline:
        batch = make_batches(1, 500, seed=seed * 1_000_003 + n)[0]  # fresh uuids: every id is new
        n += 1
        start = time.perf_counter()
        try:
            status, body = await _request(reader, writer, "POST", "/v1/events", orjson.dumps({"events": batch}))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            stats["errors"] += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        stats["post_ms"].append((time.perf_counter() - start) * 1000)
        if status != 200:
            stats["errors"] += 1
            continue
        result = orjson.loads(body)
        stats["sent"] += len(batch)
        stats["acknowledged"] += result["accepted"]
        stats["rejected"] += len(result["rejected"])
        stats["duplicates"] += result["duplicates"]
    writer.close()


async def _browser(port, deadline, seed, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        start = time.perf_counter()
        try:
            status, _ = await _request(reader, writer, "GET", f"/v1/profiles/p{(seed * 7919 + n) % 50_000}/home"
                                                               "?country=US&device_type=tv&rows=8&items=20")
        except (OSError, asyncio.IncompleteReadError, ValueError):
            stats["errors"] += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        stats["home_ms"].append((time.perf_counter() - start) * 1000)
        stats["errors"] += status != 200
    writer.close()


def drive(port: int, seconds: float, posts: int, homes: int) -> dict:
    stats = {"sent": 0, "acknowledged": 0, "rejected": 0, "duplicates": 0, "errors": 0, "post_ms": [], "home_ms": []}
    deadline = time.monotonic() + seconds

    async def run():
        await asyncio.gather(*[_poster(port, deadline, i + 1, stats) for i in range(posts)],
                             *[_browser(port, deadline, i + 1, stats) for i in range(homes)])
    asyncio.run(run())
    return stats


def warehouse_counts(home: Path) -> tuple[int, int, dict]:
    os.environ["STREAMLOOP_HOME"] = str(home)
    from streamloop.app.build import run_build
    from streamloop.core.settings import get_settings

    get_settings.cache_clear()
    summary = run_build()
    import duckdb

    with duckdb.connect(str(get_settings().warehouse_file), read_only=True) as con:
        events, exposures = con.execute(
            "select count(*) filter (where event_type <> 'experiment_exposure'), "
            "count(*) filter (where event_type = 'experiment_exposure') from events").fetchone()
        reconciliation = con.execute("select sum(received_count), sum(accepted_count), sum(duplicate_count), "
                                     "sum(rejected_count), sum(ignored_count) from ingestion_reconciliation").fetchone()
    print(f"build: {summary.elapsed_seconds:.0f} s")
    return events, exposures, dict(zip(("received", "accepted", "duplicates", "rejected", "ignored"), reconciliation,
                                       strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--post-connections", type=int, default=2)
    parser.add_argument("--home-connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = seeded_home(Path(tmp))
        proc, port = start_server({"STREAMLOOP_HOME": str(home)})
        try:
            cpu = cpu_seconds(proc.pid)
            start = time.perf_counter()
            stats = drive(port, args.seconds, args.post_connections, args.home_connections)
            wall = time.perf_counter() - start
            server_cpu = cpu_seconds(proc.pid) - cpu
        finally:
            proc.terminate()
            proc.wait(30)
        posts, homes = percentiles(stats["post_ms"]), percentiles(stats["home_ms"])
        print(f"{wall:.0f} s of load, server CPU {server_cpu:.0f} s (load average {os.getloadavg()[0]:.1f})")
        print(f"collector: {len(stats['post_ms']):,} POSTs, {stats['sent']:,} events sent "
              f"({stats['sent'] / wall:,.0f}/s), {stats['acknowledged']:,} acknowledged, "
              f"{stats['duplicates']} duplicates, {stats['rejected']} rejected; request p50 {posts['p50']:.0f} ms "
              f"p99 {posts['p99']:.0f} ms")
        print(f"home page: {len(stats['home_ms']):,} GETs ({len(stats['home_ms']) / wall:,.0f}/s), p50 "
              f"{homes['p50']:.1f} ms p99 {homes['p99']:.1f} ms")
        print(f"errors: {stats['errors']}")
        events, exposures, reconciliation = warehouse_counts(home)
        print(f"warehouse: {events:,} events (+ {exposures:,} experiment exposures the pages logged); "
              f"reconciliation {reconciliation}")
        ok = events == stats["acknowledged"] and stats["errors"] == 0
        print(f"acknowledged = warehouse events: {'yes' if ok else 'NO'} "
              f"({stats['acknowledged']:,} vs {events:,}), errors {stats['errors']}")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
