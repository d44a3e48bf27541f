"""Benchmark of a privacy deletion (`streamloop privacy forget`) on a built warehouse of ~10M events.

    .venv/bin/python benchmarks/privacy_forget.py --home PATH          # a simulated, built STREAMLOOP_HOME
    .venv/bin/python benchmarks/privacy_forget.py --profiles 300 --days 14   # simulate and build a small one

Measures, each in its own process (wall, CPU = user + system, peak RSS): the floor — one DuckDB scan of
the lake's raw text looking for the id — then forgetting the busiest profile, then an account with
several profiles. A deletion's own cost; the full-refresh build it leaves for the next run is measured
by benchmarks/build.py. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STEP = """
import json, resource, time
began = time.perf_counter()
{body}
own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"wall": time.perf_counter() - began, "cpu": own.ru_utime + own.ru_stime + children.ru_utime
                   + children.ru_stime, "rss_mb": max(own.ru_maxrss, children.ru_maxrss) / 1024, "result": result}}))
"""

PICK = """
import duckdb
from streamloop.core.settings import get_settings
con = duckdb.connect(str(get_settings().warehouse_file), read_only=True)
profile = con.execute("select profile_id from events where profile_id is not null group by 1 order by count(*) desc limit 1").fetchone()[0]
account = con.execute("select account_id from profiles where account_id is not null group by 1 having count(*) > 1 order by count(*) desc, 1 limit 1").fetchone()[0]
result = {"profile": profile, "account": account, "events": con.execute("select count(*) from events").fetchone()[0]}
"""

SCAN = """
import duckdb
from streamloop.core.settings import get_settings
glob = get_settings().lake_root + "/events/*/*.parquet"
result = duckdb.sql(f"select count(*) from read_parquet('{{glob}}') where contains(raw, '\\"{ident}\\"')").fetchall()[0][0]
"""

FORGET = """
from streamloop.app.privacy import run_forget
report = run_forget({profile!r}, {account!r})
result = report.to_json()
"""


def _step(body: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", STEP.format(body=body)], env=env, cwd=REPO, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="a built STREAMLOOP_HOME (it is modified: copy it first)")
    parser.add_argument("--profiles", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="streamloop-forget-bench-")) / "home"
    env = dict(os.environ, STREAMLOOP_HOME=str(home), PYTHONPATH=str(REPO))
    if args.home is None:
        _step(f"from streamloop.core.simulate import SimulationConfig, run_simulation\n"
              f"run_simulation(SimulationConfig(profiles={args.profiles}, days={args.days}, seed=11))\n"
              f"from streamloop.app.build import run_build\nrun_build()\nresult = None", env)
    picked = _step(PICK, env)["result"]
    report = {"events": picked["events"],
              "scan_floor": _step(SCAN.format(ident=picked["profile"]), env),
              "forget_profile": _step(FORGET.format(profile=picked["profile"], account=None), env),
              "forget_account": _step(FORGET.format(profile=None, account=picked["account"]), env)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
