"""Cost of the closed loop (`streamloop loop`) as a multiple of one `streamloop build`, measured in the same run.

Floor: the same service simulated in one go (`streamloop simulate`) and built once (incremental build of an
empty warehouse, as `streamloop build` does first), in a fresh STREAMLOOP_HOME. Then the loop over the same
profiles × days, in another fresh home, with the given schedule. Wall and CPU seconds (this process and its
children) of each, and their ratio.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/twin.py --profiles 400 --days 90
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this folder comes first on sys.path, and benchmarks/messaging.py would shadow the
# product's `messaging` package that the loop's campaign runner imports
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _fresh_home(prefix: str) -> str:
    from streamloop.core.settings import get_settings

    home = tempfile.mkdtemp(prefix=prefix)
    os.environ["STREAMLOOP_HOME"] = home
    get_settings.cache_clear()
    return home


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--build-every", type=int, default=7)
    parser.add_argument("--train-every", type=int, default=28)
    parser.add_argument("--campaigns-every", type=int, default=7)
    args = parser.parse_args()

    from streamloop.app.build import run_build
    from streamloop.app.twin.loop import Schedule, TwinLoop
    from streamloop.core.simulate import SimulationConfig, run_simulation

    config = SimulationConfig(profiles=args.profiles, days=args.days, seed=args.seed, workers=1)
    _fresh_home("streamloop-bench-twin-build-")
    run_simulation(config)
    wall, cpu = time.perf_counter(), _cpu()
    run_build()
    build_wall, build_cpu = time.perf_counter() - wall, _cpu() - cpu

    _fresh_home("streamloop-bench-twin-loop-")
    schedule = Schedule(args.build_every, args.train_every, args.campaigns_every)
    wall, cpu = time.perf_counter(), _cpu()
    result = TwinLoop(config, schedule).run()
    loop_wall, loop_cpu = time.perf_counter() - wall, _cpu() - cpu

    work = [d.product for d in result.days]
    builds = sum("build" in w for w in work)
    trains = sum("train" in w for w in work)
    campaigns = sum("campaigns" in w for w in work)
    print(f"{args.profiles} profiles × {args.days} days, seed {args.seed}; schedule build/train/campaigns every "
          f"{args.build_every}/{args.train_every}/{args.campaigns_every} days "
          f"({builds} builds, {trains} trainings, {campaigns} campaign runs)")
    print(f"one streamloop build (floor): {build_wall:.1f}s wall, {build_cpu:.1f}s CPU")
    print(f"closed loop: {loop_wall:.1f}s wall, {loop_cpu:.1f}s CPU "
          f"= {loop_wall / build_wall:.1f}× build wall, {loop_cpu / build_cpu:.1f}× build CPU")
    print(f"  per simulated day: {loop_wall / args.days:.2f}s wall; pages served by the product: "
          f"{sum(d.served_by_product for d in result.days):,}; messages sent: "
          f"{sum(d.messages_sent for d in result.days):,}")
    print(result.render())


if __name__ == "__main__":
    main()
