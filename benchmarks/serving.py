"""Home page latency in-process and over HTTP, with 1M profiles and 20k titles in the SQLite online store.

    .venv/bin/python benchmarks/serving.py [--profiles 1000000] [--titles 20000] [--requests 20000]

In-process: HomeService.home() for random profiles (warm caches, as in a running server).
Over HTTP: `uvicorn` serving functions.app in a subprocess, loaded from this process over loopback by a
small asyncio HTTP/1.1 client (keep-alive connections, a bounded number of requests). The machine has
2 cores: one for the server, one for the load generator.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from online_store import COUNTRIES, build_store, percentiles

API_KEY = "bench-key"


def seed_state(path: Path, profiles: int, n: int = 20_000) -> None:
    """Real-time state for n profiles (2 titles in progress, 3 completed), as the collector writes it."""
    from streamloop.core.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    rng = random.Random(5)
    now = time.time()
    states = {}
    for _ in range(n):
        pid = f"p{rng.randrange(profiles)}"
        states[pid] = {"in_progress": {f"t{rng.randrange(2000)}": {"position_s": 600.0, "duration_s": 3000.0,
                                                                   "series_id": None, "at": now - k * 60}
                                       for k in range(2)},
                       "completed": [{"title_id": f"t{rng.randrange(2000)}", "series_id": None, "kind": "movie",
                                      "at": now - 3600 * k} for k in range(3)],
                       "recent_genres": {"drama": 1.0, "comedy": 0.5}, "updated_at": now}
    store.put_many("state", states)
    store.close()


def bench_in_process(path: Path, profiles: int, requests: int) -> dict:
    from functions.services import Services
    from streamloop.core.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=home, online_store_path=path, api_keys=API_KEY)
        services = Services(settings)
        rng = random.Random(3)
        for _ in range(3000):  # warm the title cache, as a running server would be
            services.home.home(f"p{rng.randrange(profiles)}", rng.choice(COUNTRIES), "tv", 8, 20)
        samples, cpu, rows, personalized = [], [], 0, 0
        for _ in range(requests):
            pid = f"p{rng.randrange(profiles)}"
            t, c = time.perf_counter(), time.thread_time()
            page = services.home.home(pid, rng.choice(COUNTRIES), "tv", 8, 20)
            cpu.append((time.thread_time() - c) * 1000)
            samples.append((time.perf_counter() - t) * 1000)
            rows += len(page["rows"])
            personalized += page["personalized"]
        services.close()
    result = percentiles(samples)
    result["cpu"] = percentiles(cpu)
    result["rows_per_page"] = rows / requests
    result["personalized_share"] = personalized / requests
    return result


# -- a small HTTP/1.1 load generator -------------------------------------------------------------------------
async def _worker(host, port, paths, latencies, statuses, method="GET", bodies=None):
    reader, writer = await asyncio.open_connection(host, port)
    for i, path in enumerate(paths):
        body = bodies[i] if bodies else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nx-api-key: {API_KEY}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode()
        t = time.perf_counter()
        writer.write(head + body)
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - t) * 1000)
        statuses.append(int(status_line.split()[1]))
    writer.close()


def load(port: int, paths: list[str], concurrency: int, method="GET", bodies: list[bytes] | None = None) -> dict:
    """Sends `paths` over `concurrency` keep-alive connections; returns throughput and latency."""
    latencies, statuses = [], []
    shards = [paths[i::concurrency] for i in range(concurrency)]
    body_shards = [bodies[i::concurrency] for i in range(concurrency)] if bodies else [None] * concurrency

    async def run():
        await asyncio.gather(*(_worker("127.0.0.1", port, s, latencies, statuses, method, b)
                               for s, b in zip(shards, body_shards)))
    start = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - start
    result = percentiles(latencies)
    result.update(rps=len(paths) / elapsed, errors=sum(s != 200 for s in statuses), seconds=elapsed)
    return result


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to tell our cost from a busy machine's waits."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(env_extra: dict, threadpool: bool = False) -> tuple[subprocess.Popen, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, STREAMLOOP_API_KEYS=API_KEY, **env_extra)
    code = ("import uvicorn; from functions.app import create_app; app = create_app(); "
            f"app.state.services.inline_reads = {not threadpool}; "
            f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import urllib.request

    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def bench_http(path: Path, profiles: int, requests: int, concurrency: int, threadpool: bool = False) -> dict:
    rng = random.Random(9)
    paths = [f"/v1/profiles/p{rng.randrange(profiles)}/home?country={rng.choice(COUNTRIES)}&device_type=tv"
             f"&rows=8&items=20" for _ in range(requests)]
    with tempfile.TemporaryDirectory() as home:
        proc, port = start_server({"STREAMLOOP_HOME": home, "STREAMLOOP_ONLINE_STORE_PATH": str(path)}, threadpool)
        try:
            load(port, paths[:3000], concurrency)  # warm-up: caches, code paths
            cpu = cpu_seconds(proc.pid)
            result = load(port, paths, concurrency)
            result["server_cpu_ms"] = (cpu_seconds(proc.pid) - cpu) / requests * 1000
            return result
        finally:
            proc.terminate()
            proc.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--titles", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--threadpool", action="store_true",
                        help="run every page on the threadpool (as for DynamoDB) instead of inline SQLite reads")
    args = parser.parse_args()
    path = build_store(args.profiles, args.titles)
    seed_state(path, args.profiles)
    p = bench_in_process(path, args.profiles, args.requests)
    print(f"home page in-process, {args.profiles:,} profiles, {args.titles:,} titles, {args.requests:,} pages "
          f"(8 rows x 20 items; {p['rows_per_page']:.1f} rows/page, {p['personalized_share']:.0%} personalized):")
    print(f"  wall: p50 {p['p50']:.2f} ms  p99 {p['p99']:.2f} ms  p99.9 {p['p999']:.2f} ms  mean {p['mean']:.2f} ms")
    c = p["cpu"]
    print(f"  CPU of the serving thread: p50 {c['p50']:.2f} ms  p99 {c['p99']:.2f} ms  mean {c['mean']:.2f} ms "
          f"(wall minus waiting for a core on a shared machine)")
    h = bench_http(path, args.profiles, args.requests, args.concurrency, args.threadpool)
    mode = "pages on the threadpool" if args.threadpool else "inline SQLite reads"
    print(f"home page over HTTP (uvicorn, 1 process, {mode}; {args.concurrency} keep-alive connections from a second "
          f"process; {args.requests:,} requests):")
    print(f"  {h['rps']:.0f} req/s  p50 {h['p50']:.1f} ms  p99 {h['p99']:.1f} ms  errors {h['errors']}; server CPU "
          f"{h['server_cpu_ms']:.2f} ms/request = {1000 / h['server_cpu_ms']:.0f} req/s per fully available core")


if __name__ == "__main__":
    main()
