"""Landing at scale: files written per hour by one-file-per-request vs group commit, and scan time of a
day of small files before and after compaction.

    .venv/bin/python benchmarks/landing.py [--seconds 10] [--clients 16] [--files 2000]

Part 1 drives the landings directly (the collector's call) from `--clients` threads, each sending
requests of 20 events back to back for `--seconds`: requests/s, files written (extrapolated to an hour),
request latency. Part 2 lands `--files` small batch files into one closed day, scans them with DuckDB
(what a warehouse build reads), compacts, and scans again. Wall and CPU seconds are printed side by side
because the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from streamloop.core.compaction import compact
from streamloop.core.lake import Lake, new_batch_id
from streamloop.core.landing import BufferedLanding

EVENT = {"event_type": "heartbeat", "occurred_at": "2026-12-01T10:00:00+00:00", "device_id": "d1",
         "profile_id": "p1", "account_id": "a1", "schema_version": 1, "properties": {"title_id": "t1", "position_s": 60},
         "context": {"country": "US", "device_type": "tv", "app_version": "1", "os": "x", "timezone": "UTC"}}


def request_raws(client: int, number: int, size: int = 20) -> list[str]:
    return [json.dumps({**EVENT, "event_id": f"c{client}-{number}-{i}"}) for i in range(size)]


def drive(landing, seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        sent = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            # write_records: the raw lake's writer API, which every landing also offers
            landing.write_records("events", request_raws(number, sent), "bench", datetime.now(UTC), new_batch_id())
            with lock:
                latencies.append(time.perf_counter() - started)
            sent += 1

    cpu, wall = time.process_time(), time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies.sort()
    return {"requests": len(latencies), "wall_s": wall, "cpu_s": cpu,
            "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000}


def scan(lake: Lake) -> tuple[float, float, int]:
    cpu, wall = time.process_time(), time.perf_counter()
    with duckdb.connect() as con:
        con.execute("set threads = 2")
        rows = con.execute(f"select count(*), count(distinct batch_id || ':' || record_index) "
                           f"from read_parquet('{lake.glob('events')}')").fetchone()
    return time.perf_counter() - wall, time.process_time() - cpu, rows[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--flush-ms", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"landing: 20-event requests sent back to back for {args.seconds:.0f} s, flush every {args.flush_ms} ms")
        # group commit's rate grows with the clients waiting together; its file count does not
        for name, clients in (("direct", args.clients), ("buffered", args.clients), ("buffered", args.clients * 8)):
            lake = Lake(Path(tmp) / f"{name}-{clients}")
            landing = lake if name == "direct" else BufferedLanding(lake, args.flush_ms / 1000)
            result = drive(landing, args.seconds, clients)
            if name == "buffered":
                landing.close()
            files = len(lake.files("events"))
            print(f"  {name:9s} {clients:4d} clients {result['requests'] / result['wall_s']:7.0f} req/s  {files:6d} files "
                  f"({files / result['wall_s'] * 3600:9.0f}/hour)  p50 {result['p50_ms']:6.1f} ms  "
                  f"p99 {result['p99_ms']:6.1f} ms  wall {result['wall_s']:.1f} s  CPU {result['cpu_s']:.1f} s")

        lake = Lake(Path(tmp) / "day")
        day = datetime(2026, 12, 1, 10, tzinfo=UTC)
        for number in range(args.files):
            lake.write_records("events", request_raws(0, number, 50), "bench", day, f"b{number:06d}")
        before = scan(lake)
        started, cpu = time.perf_counter(), time.process_time()
        report = compact(lake, processed=lambda _: {f"b{n:06d}" for n in range(args.files)},
                         now=day + timedelta(days=2))
        compact_wall, compact_cpu = time.perf_counter() - started, time.process_time() - cpu
        after = scan(lake)
        assert before[2] == after[2] == args.files * 50
        print(f"scan of one day, {args.files * 50} records:")
        print(f"  before compaction {args.files:6d} files  wall {before[0]:.2f} s  CPU {before[1]:.2f} s")
        print(f"  after  compaction {len(lake.files('events')):6d} files  wall {after[0]:.2f} s  CPU {after[1]:.2f} s"
              f"  ({before[0] / after[0]:.0f}x faster wall)")
        print(f"  compaction itself: wall {compact_wall:.1f} s  CPU {compact_cpu:.1f} s, "
              f"{report.files_removed} files removed")


if __name__ == "__main__":
    main()
