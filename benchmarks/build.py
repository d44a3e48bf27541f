"""Benchmark of `streamloop build`: a full build of ~10M simulated events against the floor of one
plain DuckDB scan of the same raw files, then an incremental build after one more day (~1%).

    .venv/bin/python benchmarks/build.py                              # simulate 3,000 profiles × 90 days
    .venv/bin/python benchmarks/build.py --profiles 300 --days 14     # a quick run
    .venv/bin/python benchmarks/build.py --home PATH                  # reuse a simulated STREAMLOOP_HOME
    .venv/bin/python benchmarks/build.py --home PATH --dbt-only       # dbt alone, without the Dagster job
    .venv/bin/python benchmarks/build.py --keep /tmp/lake1m --profiles 1000 --days 30  # simulate once, reuse after
    .venv/bin/python benchmarks/build.py --keep /tmp/lake10m --equality  # + incremental == full refresh, row for row
    .venv/bin/python benchmarks/build.py --keep /tmp/lake10m --keep-warehouse /tmp/w.duckdb  # look into it afterwards

Each run measures both `streamloop build` (the Dagster job) and `dbt build` alone on copies of the same lake (unless
--dbt-only): a full build, an incremental build after one more day and a build with nothing new (the fixed
overhead: start-up, parsing, orchestration), beside the floors (a plain scan and a parse-inclusive scan).

The last full received-date partition of the lake (≥ 0.5 % of it) is held back for the full build and landed before the
incremental one. Each step runs in its own process so its wall time, CPU time (user + system: the
honest number on a busy machine) and peak RSS are its own. Goals (issue #17): full build ≤ 10× the parse-inclusive
scan; an incremental build for one more day ≤ 5 % of the full build's dbt node time, its fixed overhead reported
separately. The warehouse is built with dbt tests (as `streamloop build` does); the report splits the dbt time
between models and tests.
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

# --dbt-only: the same `dbt build` in-process, without the Dagster job around it (isolates the SQL); a daily
# build groups each model's tests as the Dagster job does (its manifest: the previous build's)
DBT_BUILD = """
from orchestration.dbt_runner import build_test_selection, run_dbt
from streamloop.app.build import summarize_warehouse
from streamloop.core.settings import get_settings
manifest = get_settings().home_dir / "dbt" / "target" / "manifest.json"
selection = build_test_selection({{}} if {full_refresh} else json.loads(manifest.read_text()), grouped=not {full_refresh})
run_dbt(["build", "--exclude", "resource_type:unit_test"] + selection + (["--full-refresh"] if {full_refresh} else []))
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


def node_seconds(split: str) -> float:
    """models + tests node seconds from a dbt_split line."""
    models, tests = (float(part.split()[1].rstrip("s")) for part in split.split(" (")[0].split(", "))
    return models + tests


def dbt_split(home: Path, top: int = 6, keep_as: Path | None = None) -> str:
    """Seconds dbt spent in models vs tests, and the slowest nodes (from the last run_results.json, copied
    to `keep_as` when given, for a node-by-node look afterwards)."""
    latest = max(home.glob("dbt/*/run_results.json"), key=lambda path: path.stat().st_mtime)
    if keep_as:
        keep_as.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(latest, keep_as)
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


def lake_source(args, tmp: Path) -> Path:
    """The simulated lake the runs copy: --keep's folder (simulated there once, reused), --home's, or a new one."""
    if args.home:
        return Path(args.home) / "lake"
    home = Path(args.keep) if args.keep else tmp / "simulated"
    if not (home / "lake" / "events").is_dir():
        simulated = run_step(SIMULATE.format(profiles=args.profiles, days=args.days, seed=args.seed), home, args.threads)
        print(f"simulated {simulated['result']:,} events in {simulated['wall']:.0f}s into {home}", file=sys.stderr)
    else:
        print(f"reusing the lake in {home}", file=sys.stderr)
    return home / "lake"


def run_mode(build: str, lake: Path, home: Path, threads: int, results: Path | None = None) -> dict:
    """Full build without the last day, the incremental build after it lands, then one with nothing new.
    With `results`, each build's run_results.json is kept there as <step>.json."""
    shutil.copytree(lake, home / "lake")
    events = home / "lake" / "events"
    last_day = day_to_hold_back(events)
    held = home.parent / "held" / last_day
    shutil.move(str(events / last_day), str(held))
    steps = {"last_day": last_day, "glob": f"{events}/*/*.parquet"}
    steps["floors"] = (run_step(SCAN.format(threads=threads, glob=steps["glob"]), home, threads),
                       run_step(PARSE_SCAN.format(threads=threads, glob=steps["glob"]), home, threads))
    steps["full"] = run_step(build.format(full_refresh=True), home, threads)
    steps["full_split"] = dbt_split(home, keep_as=results and results / "full.json")
    shutil.move(str(held), str(events / last_day))
    steps["added"] = run_step(SCAN.format(threads=threads, glob=f"{events}/{last_day}/*.parquet"), home, threads)
    steps["incremental"] = run_step(build.format(full_refresh=False), home, threads)
    steps["incremental_split"] = dbt_split(home, keep_as=results and results / "incremental.json")
    steps["recomputed"] = recomputed_share(home / "warehouse.duckdb")
    # nothing new: what every build pays whatever it finds (start-up, parse, orchestration, empty queries)
    steps["noop"] = run_step(build.format(full_refresh=False), home, threads)
    steps["noop_split"] = dbt_split(home, keep_as=results and results / "noop.json")
    return steps


def compare_with_full_refresh(build: str, lake: Path, incremental_home: Path, threads: int) -> dict:
    """Builds the complete lake in one full refresh and compares it with the incremental warehouse (full build,
    then the held-back day), table by table, EXCEPT ALL both ways: every consumer table and the feature layer's
    daily aggregates (the same comparison as tests/test_warehouse_incremental.py, at this size)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_warehouse_incremental import FEATURE_DAILY, attach_both, consumer_tables, differing_tables

    home = incremental_home.parent.parent / "full-refresh" / "home"
    shutil.copytree(lake, home / "lake")
    step = run_step(build.format(full_refresh=True), home, threads)
    # built by the same door, so the Dagster job's Python assets (bandit_allocation, ...) are in both
    tables = sorted(set(consumer_tables(incremental_home / "warehouse.duckdb")) | set(FEATURE_DAILY))
    missing = sorted(set(tables) - set(consumer_tables(home / "warehouse.duckdb")) - set(FEATURE_DAILY))
    tables = [t for t in tables if t not in missing]
    con = attach_both(incremental_home / "warehouse.duckdb", home / "warehouse.duckdb")
    con.execute(f"set threads = {threads}")
    rows = {t: con.execute(f'select count(*) from full_refresh."{t}"').fetchone()[0] for t in tables}
    differing = differing_tables(con, tables, lambda table: ", ".join(
        comparable(name, kind) for name, kind, *_ in con.execute(f'describe full_refresh."{table}"').fetchall()))
    con.close()
    return {"full_refresh": step, "tables": len(tables), "rows": sum(rows.values()), "differing": differing,
            "missing": missing}


def comparable(column: str, kind: str) -> str:
    """A column as compared: doubles to 12 significant digits, since a sum of doubles depends on the order DuckDB's
    threads add them in (6.6000000000000005 against 6.6 in experiment_sufficient_stats); everything else as is."""
    if kind in ("DOUBLE", "FLOAT", "REAL"):
        return f"format('{{:.12g}}', \"{column}\")"
    return f'"{column}"'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=3000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", default=None, help="an already simulated STREAMLOOP_HOME (it is not modified)")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="simulate the lake into DIR once and reuse it on later runs (it is not modified)")
    parser.add_argument("--dbt-only", action="store_true",
                        help="only `dbt build` in-process (by default `streamloop build`, the Dagster job, and then "
                             "`dbt build` alone on a copy of the same lake, reported side by side)")
    parser.add_argument("--equality", action="store_true",
                        help="also build the whole lake in one full refresh (the first mode's door) and compare it with the "
                             "incremental warehouse row for row (EXCEPT ALL both ways)")
    parser.add_argument("--results", default=None, metavar="DIR",
                        help="keep each build's dbt run_results.json in DIR/<mode>/<step>.json")
    parser.add_argument("--keep-warehouse", default=None, metavar="FILE",
                        help="copy the first mode's incremental warehouse (after the nothing-new build) to FILE, "
                             "for looking into afterwards (e.g. comparing a model's old SQL with its new table)")
    args = parser.parse_args()
    modes = {"dbt only": DBT_BUILD} if args.dbt_only else {"streamloop build": BUILD, "dbt only": DBT_BUILD}
    load_before = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="streamloop-build-bench-") as tmp:
        lake = lake_source(args, Path(tmp))
        runs = {name: run_mode(build, lake, Path(tmp) / f"mode{i}" / "home", args.threads,
                               args.results and Path(args.results) / name.replace(" ", "_"))
                for i, (name, build) in enumerate(modes.items())}
        print(json.dumps(runs), file=sys.stderr)  # the raw figures, should the report below be wanted otherwise
        if args.equality:  # against the first mode's incremental warehouse, built by the same door
            equality = compare_with_full_refresh(next(iter(modes.values())), lake, Path(tmp) / "mode0" / "home",
                                                 args.threads)
        if args.keep_warehouse:
            shutil.copyfile(Path(tmp) / "mode0" / "home" / "warehouse.duckdb", args.keep_warehouse)

    first = next(iter(runs.values()))
    scan, parse_scan = first["floors"]
    records, raw_bytes = scan["result"]
    added = first["added"]["result"][0]
    print(f"raw records (full build):  {records:,} ({raw_bytes / 2**30:.2f} GiB of JSON text); "
          f"then +{added:,} ({added / records:.1%}) in {first['last_day']}")
    print(f"events accepted:           {first['full']['result']['events']:,}  (threads={args.threads}, {os.cpu_count()} CPUs)")
    print(f"{'step':<36}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}")
    rows = [("scan (floor)", scan), ("parse scan (floor)", parse_scan)]
    for name, run in runs.items():
        rows += [(f"{name}: full", run["full"]), (f"{name}: incremental (+1 day)", run["incremental"]),
                 (f"{name}: nothing new (fixed overhead)", run["noop"])]
    for name, step in rows:
        print(f"{name:<36}{step['wall']:>9.1f}{step['cpu']:>9.1f}{step['rss_mb']:>13.0f}")
    for name, run in runs.items():
        full, incremental, noop = run["full"], run["incremental"], run["noop"]
        print(f"[{name}]")
        print(f"  full / scan:          cpu {full['cpu'] / scan['cpu']:.1f}x, wall {full['wall'] / scan['wall']:.1f}x")
        print(f"  full / parse scan:    cpu {full['cpu'] / parse_scan['cpu']:.1f}x, "
              f"wall {full['wall'] / parse_scan['wall']:.1f}x   (goal ≤ 10)")
        print(f"  incremental / full:   cpu {incremental['cpu'] / full['cpu']:.1%}, wall {incremental['wall'] / full['wall']:.1%}")
        print(f"  incremental beyond the fixed overhead / full: cpu "
              f"{(incremental['cpu'] - noop['cpu']) / full['cpu']:.1%}")
        print(f"  full build dbt:        {run['full_split']}")
        print(f"  incremental build dbt: {run['incremental_split']}")
        print(f"  nothing-new build dbt: {run['noop_split']}")
        print(f"  incremental dbt node time / full dbt node time: "
              f"{node_seconds(run['incremental_split']) / node_seconds(run['full_split']):.1%}   (goal ≤ 5 %)")
        print(f"  incremental rebuild windows: {run['recomputed']}")
    if args.equality:
        first_name = next(iter(runs))
        print(f"[{first_name}: incremental warehouse == one full refresh of the whole lake]")
        print(f"  full refresh: {equality['full_refresh']['wall']:.1f}s wall, "
              f"{equality['full_refresh']['cpu']:.1f} CPU-s")
        print(f"  {equality['tables']} tables, {equality['rows']:,} rows; EXCEPT ALL both ways: "
              + ("equal row for row" if not equality["differing"] else
                 "DIFFER: " + ", ".join(f"{t} {a}/{b}" for t, (a, b) in equality["differing"].items())))
        if equality["missing"]:
            print(f"  not in the full refresh: {', '.join(equality['missing'])}")
    print("load average (1/5/15 min) before: {:.1f} {:.1f} {:.1f}, after: {:.1f} {:.1f} {:.1f}  (other jobs share the cores)"
          .format(*load_before, *os.getloadavg()))


if __name__ == "__main__":
    main()
