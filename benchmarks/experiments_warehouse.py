"""Cost of the experiment readouts for many experiments: the experiment and attribution marts plus the
Python statistics step, on a built warehouse with N synthetic experiments added.

    STREAMLOOP_HOME=/tmp/expbench/home streamloop simulate --profiles 500 --days 60 --seed 7 --start 2026-11-01
    STREAMLOOP_HOME=/tmp/expbench/home streamloop build
    PYTHONPATH=. .venv/bin/python benchmarks/experiments_warehouse.py --home /tmp/expbench/home --experiments 20

Works on copies (warehouse file and dbt project in a temporary folder): each simulated exposure event is
copied once per synthetic experiment (bench_01…, 50/50 by a hash of profile and experiment), the seed gets
those experiments, then `dbt build` runs only the experiment and attribution models and their tests
(`experiment_variants+ recommendation_impressions+`) in a subprocess, timed with its CPU seconds. The
marts' joins are per profile and time range, so their cost grows with events and with experiments ×
assigned profiles: the 10M-event cost is estimated by scaling linearly in events (stated as such).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ml.experiments import Design, analyze
from streamloop.core.settings import DBT_PROJECT_DIR


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prepare(home: Path, work: Path, experiments: int) -> tuple[Path, Path, dict]:
    warehouse = work / "warehouse.duckdb"
    shutil.copy(home / "warehouse.duckdb", warehouse)
    project = work / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    ids = [f"bench_{k:02d}" for k in range(1, experiments + 1)]
    with open(project / "seeds" / "experiment_variants.csv", "a", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        for experiment_id in ids:
            for order, variant in enumerate(("control", "treatment")):
                writer.writerow([experiment_id, "test", "bench", variant, order, 50, "2026-01-01 00:00:00",
                                 "2028-01-01 00:00:00", "watch_minutes"])
    with duckdb.connect(str(warehouse)) as con:
        original = con.execute("select count(*) from events where event_type = 'experiment_exposure'").fetchone()[0]
        for experiment_id in ids:
            con.execute("""
                insert into events
                select * replace (
                    event_id || '-' || $id as event_id,
                    $id as experiment_id,
                    case when hash(profile_id || $id) % 2 = 0 then 'control' else 'treatment' end as variant)
                from events
                where event_type = 'experiment_exposure' and experiment_id not like 'bench%'
            """, {"id": experiment_id})
        counts = {"events": con.execute("select count(*) from events").fetchone()[0], "original_exposures": original,
                  "exposures": con.execute("select count(*) from events where event_type = 'experiment_exposure'").fetchone()[0]}
    return warehouse, project, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--experiments", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        warehouse, project, counts = prepare(args.home, work, args.experiments)
        print(f"events {counts['events']:,} (exposures {counts['exposures']:,}, of which simulated "
              f"{counts['original_exposures']:,}, copied once per {args.experiments} synthetic experiments)")
        env = os.environ | {"STREAMLOOP_WAREHOUSE_PATH": str(warehouse), "DBT_LOG_PATH": str(work / "logs")}
        dbt = [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(project), "--profiles-dir",
               str(project), "--target-path", str(work / "target"), "--select",
               "experiment_variants+", "recommendation_impressions+", "--exclude", "resource_type:unit_test"]
        wall, cpu = time.perf_counter(), _children_cpu()
        done = subprocess.run(dbt, check=False, env=env, capture_output=True, text=True)
        if done.returncode:
            print(done.stdout[-3000:], done.stderr[-2000:])
            raise SystemExit("dbt failed")
        print(f"dbt (experiment + attribution marts and tests): {time.perf_counter() - wall:.1f} s wall, "
              f"{_children_cpu() - cpu:.1f} CPU-s")
        nodes = json.loads((work / "target" / "run_results.json").read_text())["results"]
        slowest = sorted(nodes, key=lambda n: -n["execution_time"])[:6]
        print("  slowest nodes: " + ", ".join(f"{n['unique_id'].split('.')[-1]} {n['execution_time']:.1f} s"
                                             for n in slowest))
        with duckdb.connect(str(warehouse), read_only=True) as con:
            wall, cpu = time.perf_counter(), _self_cpu()
            sums = con.execute("select * from experiment_sufficient_stats").df()
            units = con.execute("select experiment_id, variant, count(*) as units from experiment_assignments "
                                "group by 1, 2").df()
            designs = [Design(f"bench_{k:02d}", ("control", "treatment"), (50.0, 50.0), "watch_minutes")
                       for k in range(1, args.experiments + 1)]
            results = analyze(sums, designs, units)
            print(f"python statistics step: {len(results)} result rows, {time.perf_counter() - wall:.2f} s wall, "
                  f"{_self_cpu() - cpu:.2f} CPU-s; assigned profiles {int(units['units'].sum()):,}")
            srm = results.groupby("experiment_id")["is_srm"].first()
            print(f"SRM flagged in {int(srm.sum())} of {len(srm)} synthetic 50/50 experiments (expected ≈ 0)")


if __name__ == "__main__":
    main()
