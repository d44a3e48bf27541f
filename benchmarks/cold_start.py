"""Cold start of the API Lambda: a fresh Python process imports the handler, opens the store and answers.

    .venv/bin/python benchmarks/cold_start.py [--runs 7]

Each run is a new interpreter (like a new Lambda execution environment) calling
functions.api.handler.handler with a Function URL payload 2.0 event; it reports the import time, the first
home page, and the first POST /v1/events. The first home invocation ends by landing its exposure events
(functions/api/handler.py flushes them before Lambda freezes the process), which imports pyarrow — and
pyarrow's `pa.array` imports pandas when it is installed: the "first home page" figure includes both.
It exits 1 if the home invocation loads xgboost or duckdb, which it never needs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, sys, time
t0 = time.perf_counter()
from functions.api.handler import handler
t_import = time.perf_counter()

def url_event(method, path, query="", body=None):
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"x-api-key": "bench", "content-type": "application/json", "host": "x.lambda-url.us-east-1.on.aws"},
            "requestContext": {"accountId": "123456789012", "apiId": "x", "domainName": "x.lambda-url.us-east-1.on.aws",
                               "domainPrefix": "x", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "bench"}, "requestId": "r", "routeKey": "$default",
                               "stage": "$default", "time": "28/Nov/2026:06:40:00 +0000", "timeEpoch": 0},
            "body": body, "isBase64Encoded": False}

class Ctx:
    aws_request_id = "r"
    def get_remaining_time_in_millis(self): return 30000

r = handler(url_event("GET", "/v1/profiles/p1/home", "country=US&device_type=tv"), Ctx())
t_home = time.perf_counter()
cpu_home = time.process_time()
assert r["statusCode"] == 200, r
heavy = sorted(m for m in ("pandas", "pyarrow", "numpy", "xgboost", "duckdb") if m in sys.modules)
import uuid
event = {"event_id": uuid.uuid4().hex, "event_type": "app_open", "occurred_at": "2026-11-28T06:00:00+00:00", "device_id": "d",
         "profile_id": "p1", "account_id": "a1", "properties": {}, "schema_version": 1,
         "context": {"country": "US", "device_type": "tv", "app_version": "1", "os": "x", "timezone": "UTC"}}
r = handler(url_event("POST", "/v1/events", "", json.dumps({"events": [event]})), Ctx())
t_post = time.perf_counter()
assert r["statusCode"] == 200, r
print(json.dumps({"import_s": t_import - t0, "first_home_s": t_home - t0, "first_home_cpu_s": cpu_home, "home_only_s": t_home - t_import,
                  "first_post_after_home_s": t_post - t_home, "heavy_modules_on_home_path": heavy}))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--store", default=None, help="existing SQLite online store to open (default: a small one)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, STREAMLOOP_HOME=home, STREAMLOOP_API_KEYS="bench", PYTHONDONTWRITEBYTECODE="0")
        if args.store:
            env["STREAMLOOP_ONLINE_STORE_PATH"] = args.store
        for run in range(args.runs + 1):
            out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                                 check=True)
            if run:  # run 0 only compiles bytecode, like a deployed package that ships .pyc files
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r[k] for r in results) for k in ("import_s", "first_home_s", "home_only_s",
                                                                   "first_post_after_home_s", "first_home_cpu_s")}
    worst = max(r["first_home_s"] for r in results)
    print(f"cold start over {args.runs} fresh processes (median):")
    print(f"  import handler (FastAPI app built)   {med['import_s'] * 1000:7.0f} ms")
    print(f"  import + first home page            {med['first_home_s'] * 1000:7.0f} ms   (worst {worst * 1000:.0f} ms)")
    print(f"  CPU time of the process to then      {med['first_home_cpu_s'] * 1000:7.0f} ms   (what an idle core would take)")
    print(f"  then first POST /v1/events          {med['first_post_after_home_s'] * 1000:7.0f} ms")
    heavy = results[0]["heavy_modules_on_home_path"]
    print(f"  heavy modules loaded by the home path: {heavy or 'none'}")
    never = [m for m in heavy if m in ("xgboost", "duckdb")]
    if never:  # training and warehouse stacks have no business on a request path: a regression
        raise SystemExit(f"error: the home invocation imports {', '.join(never)}")


if __name__ == "__main__":
    main()
