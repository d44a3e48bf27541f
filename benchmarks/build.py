"""Benchmark of `streamloop build`: a full build of ~10M simulated events against the floor of one
plain DuckDB scan of the same raw files, then an incremental build after one more day (~1%).

    .venv/bin/python benchmarks/build.py                              # simulate 3,000 profiles × 90 days
    .venv/bin/python benchmarks/build.py --profiles 300 --days 14     # a quick run
    .venv/bin/python benchmarks/build.py --home PATH                  # reuse a simulated STREAMLOOP_HOME
    .venv/bin/python benchmarks/build.py --home PATH --dbt-only       # dbt alone, without the Dagster job

The last full received-date partition of the lake (≥ 0.5 % of it) is held back for the full build and landed before the
incremental one. Each step runs in its own process so its wall time, CPU time (user + system: the
honest number on a busy machine) and peak RSS are its own. Goals: full build ≤ 60 s on 2 cores,
full / scan ≤ 5, incremental / full ≤ 10 %. The warehouse is built with dbt tests (as
`streamloop build` does); the report splits the dbt time between models and tests.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

# each step prints one JSON line: wall and CPU seconds and peak RSS of its own process and the
# processes it waited for (the build may run dbt in a subprocess)
STEP = """
import json, resource, sys, time
began = time.perf_counter()
{body}
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"wall": time.perf_counter() - began,
                   "cpu": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
                   "rss_mb": max(own.ru_maxrss, children.ru_maxrss) / 1024, "result": result}}))
"""

SCAN = """
import duckdb
con = duckdb.connect()
con.execute("set threads = {threads}")
con.execute("set enable_progress_bar = false")
result = con.execute("select count(*), sum(length(raw)) from read_parquet('{glob}')").fetchone()
"""

# a second, parse-inclusive floor: the same scan parsing each record's JSON once (try: malformed records)
PARSE_SCAN = """
import duckdb
con = duckdb.connect()
con.execute("set threads = {threads}")
con.execute("set enable_progress_bar = false")
result = con.execute("select count(*), sum(length(try(json_extract_string(raw, '$.event_id'))))"
                     " from read_parquet('{glob}')").fetchone()
"""

BUILD = """
from streamloop.app.build import run_build
summary = run_build(full_refresh={full_refresh})
print(summary.render(), file=sys.stderr)
result = {{"received": summary.received, "accepted": summary.accepted, "events": summary.rows_per_mart.get("events")}}
"""

# --dbt-only: the same `dbt build` in-process, without the Dagster job around it (isolates the SQL)
DBT_BUILD = """
from orchestration.dbt_runner import run_dbt
from streamloop.app.build import summarize_warehouse
from streamloop.core.settings import get_settings
run_dbt(["build", "--exclude", "resource_type:unit_test"] + (["--full-refresh"] if {full_refresh} else []))
summary = summarize_warehouse(get_settings().warehouse_file)
result = {{"received": summary.received, "accepted": summary.accepted, "events": summary.rows_per_mart.get("events")}}
"""

SIMULATE = """
from streamloop.core.simulate import SimulationConfig, run_simulation
summary = run_simulation(SimulationConfig(profiles={profiles}, days={days}, seed={seed}, start_date="2026-01-05"))
result = summary.events
"""


def run_step(body: str, home: Path, threads: int) -> dict:
    env = {**os.environ, "STREAMLOOP_HOME": str(home), "STREAMLOOP_THREADS": str(threads)}
    done = subprocess.run([PYTHON, "-c", STEP.format(body=body)], env=env, cwd=REPO, text=True,
                          stdout=subprocess.PIPE, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def dbt_split(home: Path, top: int = 6) -> str:
    """Seconds dbt spent in models vs tests, and the slowest nodes (from the last run_results.json)."""
    latest = max(home.glob("dbt/*/run_results.json"), key=lambda path: path.stat().st_mtime)
    results = json.loads(latest.read_text())["results"]
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("model.", "seed.")))
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test.")))
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:top]
    names = ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f}s" for r in slowest)
    return f"models {models:.1f}s, tests {tests:.1f}s (node time, summed over threads); slowest: {names}"


def recomputed_share(warehouse: Path) -> str:
    """How much of the event history the incremental build's rebuild windows covered."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        devices, rows, total = con.execute(
            "select (select count(*) from int_device_rebuild_windows),"
            " (select count(*) from events inner join int_device_rebuild_windows as windows"
            "  on events.device_id = windows.device_id and events.occurred_at >= windows.rebuild_from),"
            " (select count(*) from events)").fetchone()
    return f"{devices:,} devices, {rows:,} of {total:,} events recomputed ({rows / total:.1%})"


def day_to_hold_back(events: Path, share: float = 0.005) -> str:
    """The latest received-date partition holding at least `share` of the lake's bytes (the last
    partitions hold only a few late deliveries, which would flatter the incremental build)."""
    sizes = {p.name: sum(f.stat().st_size for f in p.glob("*.parquet")) for p in events.iterdir()}
    total = sum(sizes.values())
    return max(day for day, size in sizes.items() if size >= share * total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=3000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", default=None, help="an already simulated STREAMLOOP_HOME (it is not modified)")
    parser.add_argument("--dbt-only", action="store_true",
                        help="run `dbt build` in-process instead of `streamloop build` (the Dagster job)")
    args = parser.parse_args()
    build = DBT_BUILD if args.dbt_only else BUILD
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="streamloop-build-bench-") as tmp:
        home = Path(tmp) / "home"
        if args.home:
            shutil.copytree(Path(args.home) / "lake", home / "lake")
        else:
            simulated = run_step(SIMULATE.format(profiles=args.profiles, days=args.days, seed=args.seed), home,
                                 args.threads)
            print(f"simulated {simulated['result']:,} events in {simulated['wall']:.0f}s", file=sys.stderr)
        events = home / "lake" / "events"
        last_day = day_to_hold_back(events)
        held = Path(tmp) / "held" / last_day
        shutil.move(str(events / last_day), str(held))

        scan = run_step(SCAN.format(threads=args.threads, glob=f"{events}/*/*.parquet"), home, args.threads)
        parse_scan = run_step(PARSE_SCAN.format(threads=args.threads, glob=f"{events}/*/*.parquet"), home,
                              args.threads)
        full = run_step(build.format(full_refresh=True), home, args.threads)
        full_split = dbt_split(home)
        shutil.move(str(held), str(events / last_day))
        added = run_step(SCAN.format(threads=args.threads, glob=f"{events}/{last_day}/*.parquet"), home, args.threads)
        incremental = run_step(build.format(full_refresh=False), home, args.threads)
        incremental_split = dbt_split(home)
        recomputed = recomputed_share(home / "warehouse.duckdb")

    records, raw_bytes = scan["result"]
    print(f"raw records (full build):  {records:,} ({raw_bytes / 2**30:.2f} GiB of JSON text); "
          f"then +{added['result'][0]:,} ({added['result'][0] / records:.1%}) in {last_day}")
    print(f"events accepted:           {full['result']['events']:,}  (threads={args.threads}, {os.cpu_count()} CPUs)")
    print(f"{'step':<18}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}")
    for name, step in (("scan (floor)", scan), ("parse scan", parse_scan), ("full build", full),
                       ("incremental", incremental)):
        print(f"{name:<18}{step['wall']:>9.1f}{step['cpu']:>9.1f}{step['rss_mb']:>13.0f}")
    print(f"full / scan:         wall {full['wall'] / scan['wall']:.1f}x, cpu {full['cpu'] / scan['cpu']:.1f}x   (goal ≤ 5)")
    print(f"full / parse scan:   wall {full['wall'] / parse_scan['wall']:.1f}x, "
          f"cpu {full['cpu'] / parse_scan['cpu']:.1f}x   (the floor that parses the JSON once)")
    print(f"incremental / full:  wall {incremental['wall'] / full['wall']:.1%}, "
          f"cpu {incremental['cpu'] / full['cpu']:.1%}   (goal ≤ 10%)")
    print(f"full build dbt:        {full_split}")
    print(f"incremental build dbt: {incremental_split}")
    print(f"incremental rebuild windows: {recomputed}")
    print("load average (1/5/15 min) before: {:.1f} {:.1f} {:.1f}, after: {:.1f} {:.1f} {:.1f}  (other jobs share the cores)"
          .format(*load_before, *os.getloadavg()))


if __name__ == "__main__":
    main()
