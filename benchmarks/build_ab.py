"""Alternating A/B of the one-day incremental build between two checkouts of this repository.

    git worktree add /tmp/wt_base <commit>      # the baseline; the other side may be this checkout
    .venv/bin/python benchmarks/build_ab.py --lake /tmp/lake10m/lake --checkout base=/tmp/wt_base \
        --checkout new=. --trials 3

Single runs of `benchmarks/build.py` move by more than a small change on a shared 2-core VM (two full builds of
the same SQL differed by 17 CPU-s), so this compares the incremental build alone, alternately: each checkout
full-builds its own copy of the lake once per door (dbt alone and `streamloop build`), holding back the same
last day as benchmarks/build.py; each trial restores that warehouse, lands the day and runs the incremental
build. The order alternates between trials. Prints one JSON line per trial (wall and CPU seconds, dbt node time
of models and tests, node count) and the medians. Each checkout runs its own code (its own benchmarks/build.py
steps, with the checkout as the working directory, so its modules are imported first) in this virtualenv.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import sys
from pathlib import Path


def checkout_module(checkout: Path):
    """The checkout's own benchmarks/build.py (its build steps and helpers)."""
    spec = importlib.util.spec_from_file_location(f"build_{abs(hash(checkout))}", checkout / "benchmarks" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_step(checkout: Path, body: str, home: Path, threads: int) -> dict:
    """A step in its own process, by the checkout's own benchmarks/build.py (which runs it in that checkout)."""
    return checkout_module(checkout).run_step(body, home, threads)


def node_times(home: Path) -> tuple[float, float, int]:
    """Model and test node seconds and the node count of the latest dbt run in `home`."""
    latest = max(home.glob("dbt/*/run_results.json"), key=lambda path: path.stat().st_mtime)
    results = json.loads(latest.read_text())["results"]
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("model.", "seed.")))
    return models, tests, len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="a simulated lake folder (e.g. benchmarks/build.py --keep DIR's DIR/lake)")
    parser.add_argument("--checkout", action="append", required=True, metavar="NAME=PATH",
                        help="a checkout to measure (give two or more)")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/streamloop-build-ab", help="scratch folder (emptied first)")
    args = parser.parse_args()
    checkouts = {name: Path(path).resolve() for name, path in (item.split("=", 1) for item in args.checkout)}
    lake, work = Path(args.lake), Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    held_day = checkout_module(next(iter(checkouts.values()))).day_to_hold_back(lake / "events")

    prepared = {}  # (checkout, door) -> (checkout path, build body, home, snapshot)
    for name, checkout in checkouts.items():
        module = checkout_module(checkout)
        for door, body in (("dbt alone", module.DBT_BUILD), ("streamloop build", module.BUILD)):
            home = work / name / door.replace(" ", "_") / "home"
            shutil.copytree(lake, home / "lake")
            held = home.parent / "held"
            held.mkdir()
            shutil.move(str(home / "lake" / "events" / held_day), str(held / held_day))
            full = run_step(checkout, body.format(full_refresh=True), home, args.threads)
            print(f"{name}, {door}: full build {full['cpu']:.1f} CPU-s", file=sys.stderr, flush=True)
            shutil.move(str(held / held_day), str(home / "lake" / "events" / held_day))
            snapshot = home.parent / "snapshot"
            shutil.copytree(home, snapshot)
            prepared[(name, door)] = (checkout, body, home, snapshot)

    rows = []
    for trial in range(args.trials):
        for key in (list(prepared) if trial % 2 == 0 else list(reversed(list(prepared)))):
            checkout, body, home, snapshot = prepared[key]
            shutil.rmtree(home)
            shutil.copytree(snapshot, home)
            step = run_step(checkout, body.format(full_refresh=False), home, args.threads)
            models, tests, nodes = node_times(home)
            row = {"checkout": key[0], "door": key[1], "trial": trial, "wall": round(step["wall"], 1),
                   "cpu": round(step["cpu"], 1), "models_s": round(models, 1), "tests_s": round(tests, 1), "nodes": nodes}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"incremental build (+1 day, {held_day}), medians of {args.trials} trials:")
    for key in prepared:
        mine = [row for row in rows if (row["checkout"], row["door"]) == key]
        medians = {field: statistics.median(row[field] for row in mine) for field in ("wall", "cpu", "models_s", "tests_s")}
        print(f"  {key[0]:<10} {key[1]:<17} wall {medians['wall']:6.1f} s  cpu {medians['cpu']:6.1f} s  "
              f"node time: models {medians['models_s']:5.1f} s, tests {medians['tests_s']:5.1f} s  ({mine[0]['nodes']} nodes)")


if __name__ == "__main__":
    main()
