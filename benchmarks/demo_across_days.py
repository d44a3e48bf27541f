"""Two `streamloop demo` runs on different calendar days print the same metrics (issue #10).

    .venv/bin/python benchmarks/demo_across_days.py [--day 2027-03-15] [--profiles 400 --days 240 --seed 7]

Runs the demo twice in fresh STREAMLOOP_HOMEs: once on today's clock and once with the whole process tree
(Python, DuckDB, dbt's subprocesses) moved to another day by libfaketime (`apt install faketime`; the
script exits 2 with that hint when it is missing). It then compares every printed line with timings and
throughputs blanked (they vary with machine load). The demo's service ends on 2026-01-01 whatever day
it runs, so simulation, build summary, model metrics, gates, scores and campaign results must match line
for line. Only the example home page may differ: its row order comes from a Thompson-sampling bandit
(`experiments/home_row_order.yml`) that draws an arm per request, by design. Exits 1 on any other
difference and prints it.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREAMLOOP = ROOT / ".venv" / "bin" / "streamloop"
# lines whose numbers are timings or rates: they change with load, not with the data
TIMING = re.compile(r"\b\d+(\.\d+)?\s*(s|ms)\b|[\d,]+ events/s|^\s+\d+ of \d+ |Running with dbt|Registered adapter")
# the example page (stdout, up to the campaigns' lines): its rows are ordered by the bandit's draw
PAGE_START, PAGE_END = "home page for ", "campaigns at "


def run_demo(home: Path, args: argparse.Namespace, faketime_day: str | None) -> tuple[list[str], float]:
    command = [str(STREAMLOOP), "demo", "--profiles", str(args.profiles), "--days", str(args.days),
               "--seed", str(args.seed)]
    if faketime_day:
        command = ["faketime", f"{faketime_day} 10:00:00", *command]
    # the embedded defaults: no STREAMLOOP_* setting of the caller's leaks in
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLOOP_")} | {"STREAMLOOP_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"demo failed ({' '.join(command)}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout.replace(str(home), "<home>").splitlines(), time.perf_counter() - started


def comparable(lines: list[str]) -> tuple[list[str], list[str]]:
    """(metric lines with timings blanked, the example page's lines)."""
    metrics, page, in_page = [], [], False
    for line in lines:
        in_page = (in_page or line.startswith(PAGE_START)) and not line.startswith(PAGE_END)
        if in_page:
            page.append(line)
        elif not TIMING.search(line):
            metrics.append(line.replace(str(ROOT), "<root>"))
    return metrics, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", default="2027-03-15", help="the other calendar day (faketime)")
    parser.add_argument("--profiles", type=int, default=400)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("faketime") is None:
        print("needs libfaketime: apt install faketime", file=sys.stderr)
        sys.exit(2)
    with tempfile.TemporaryDirectory() as tmp:
        today, today_s = run_demo(Path(tmp) / "today", args, None)
        other, other_s = run_demo(Path(tmp) / "other", args, args.day)
    (metrics_a, page_a), (metrics_b, page_b) = comparable(today), comparable(other)
    print(f"demo today: {today_s:.0f} s; demo on {args.day}: {other_s:.0f} s")
    print(f"compared {len(metrics_a)} metric lines; example page {len(page_a)} vs {len(page_b)} lines")
    difference = list(difflib.unified_diff(metrics_a, metrics_b, "today", args.day, lineterm=""))
    if difference:
        print("\n".join(difference))
        sys.exit(1)
    print("same metrics on both days" + ("" if page_a == page_b else
                                         " (the example page's row order differs: the bandit's draw)"))


if __name__ == "__main__":
    main()
