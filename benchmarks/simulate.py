"""Benchmark of the simulator: events per second and peak memory for a ~10-million-event run.

    .venv/bin/python benchmarks/simulate.py                         # 2,700 profiles × 90 days ≈ 10M events
    .venv/bin/python benchmarks/simulate.py --profiles 300 --days 14

2,700 profiles × 90 days (seed 7) yields about 10 million events (≈ 40 events per profile-day,
≈ 100–150 per active profile-day; heartbeats and impressions dominate). The run lands in a temporary
STREAMLOOP_HOME (or --home) and reports events, records landed (events + duplicate deliveries +
malformed records), wall seconds, events/s, CPU seconds (the fair number on a shared machine), the
lake's size on disk and the peak RSS of this process and of its worker processes.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _cpu_seconds() -> float:
    """User+system CPU of this process and its finished workers (the wall time suffers on a busy machine)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=2700)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU")
    parser.add_argument("--home", default=None, help="STREAMLOOP_HOME to use (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="streamloop-bench-") as tmp:
        os.environ["STREAMLOOP_HOME"] = args.home or tmp
        from streamloop.core.settings import get_settings
        from streamloop.core.simulate import SimulationConfig, run_simulation

        get_settings.cache_clear()
        config = SimulationConfig(profiles=args.profiles, days=args.days, seed=args.seed,
                                  start_date="2026-01-05", workers=args.workers)
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        summary = run_simulation(config)
        seconds, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_began
        lake = Path(get_settings().lake_root)
        files = list(lake.rglob("*.parquet"))
        size_mb = sum(f.stat().st_size for f in files) / 2**20

    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"profiles × days:  {args.profiles:,} × {args.days} (seed {args.seed}, {os.cpu_count()} CPUs, "
          f"workers {args.workers or 'auto'})")
    print(f"events:           {summary.events:,}")
    print(f"records landed:   {summary.records:,} in {len(files):,} files, {size_mb:,.0f} MiB")
    print(f"seconds:          {seconds:.1f}")
    print(f"events/s:         {summary.events / seconds:,.0f}")
    print(f"CPU seconds:      {cpu:.1f} (user+sys, all processes; {summary.events / cpu:,.0f} events per CPU-second)")
    print(f"peak RSS:         {peak_self:,.0f} MiB (this process), {peak_children:,.0f} MiB (largest worker)")


if __name__ == "__main__":
    main()
