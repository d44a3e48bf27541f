"""How long the Dagster code location takes to load (what `streamloop ui` and every run pay).

Cold: no dbt manifest, so loading runs `dbt parse` first. Warm: the manifest is up to date. Each load
runs in a fresh Python process, as a code server does.

    .venv/bin/python benchmarks/dagster_definitions.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "dbt_project" / "target" / "manifest.json"
LOAD = ("from orchestration.definitions import defs; import dagster as dg; d = defs(); "
        "dg.Definitions.validate_loadable(d); g = d.resolve_asset_graph(); "
        "print(len(g.get_all_asset_keys()), len(list(g.asset_check_keys)))")


def load_once() -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", LOAD], cwd=REPO, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout.split("\n")[-2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cold = []
    for _ in range(args.repeat):
        backup = MANIFEST.with_suffix(".json.bench")
        shutil.move(MANIFEST, backup) if MANIFEST.exists() else None
        seconds, counts = load_once()
        cold.append(seconds)
        backup.unlink(missing_ok=True)  # the load wrote a fresh manifest
    warm = [load_once()[0] for _ in range(args.repeat)]
    assets, checks = map(int, counts.split())
    print(json.dumps({"assets": assets, "asset_checks": checks,
                      "cold_load_seconds_median": round(statistics.median(cold), 2),
                      "warm_load_seconds_median": round(statistics.median(warm), 2)}, indent=2))


if __name__ == "__main__":
    main()
