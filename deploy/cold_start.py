"""Cold start of a packaged function: a fresh interpreter that sees only the unpacked artifact.

Each run is a new process started with `-S -E -B` (no site-packages, no PYTHON* variables, no bytecode
writes — /var/task is read-only on Lambda) whose sys.path is the artifact's folder plus the standard
library, so a dependency missing from the package fails here as it would on Lambda. It imports the
handler and answers the real payloads in deploy/payloads/ (Function URL 2.0 for the API, an EventBridge
"Scheduled Event" for lifecycle), timing import and first response; CPU time is reported beside wall
time because the machine is shared.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent / "payloads"
API_KEY = "cold-start-key"  # the key in the Function URL payloads

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
task_root, module_name, payload_files = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, task_root)
import importlib
handler = importlib.import_module(module_name).handler
t_import = time.perf_counter()

class Context:
    function_name = "cold-start"
    aws_request_id = "cold-start"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
    def get_remaining_time_in_millis(self):
        return 30000

responses, marks = [], []
for name in payload_files:
    with open(name) as handle:
        responses.append(handler(json.load(handle), Context()))
    marks.append(time.perf_counter())
outside = sorted({f.split("/site-packages/")[0] for f in (getattr(m, "__file__", None) or "" for m in list(sys.modules.values()))
                  if "/site-packages/" in f})
print(json.dumps({"import_s": t_import - t0, "first_response_s": marks[0] - t0,
                  "all_responses_s": marks[-1] - t0, "cpu_s": time.process_time(),
                  "responses": responses, "site_packages_used": outside}, default=str))
"""


@dataclass(frozen=True)
class ColdStart:
    function: str
    runs: int
    import_ms: float
    first_response_ms: float
    all_responses_ms: float
    cpu_ms: float
    worst_first_response_ms: float
    last_responses: list

    def line(self) -> str:
        return (f"{self.function}: import {self.import_ms:.0f} ms, import + first response {self.first_response_ms:.0f} ms "
                f"(worst {self.worst_first_response_ms:.0f} ms), all payloads {self.all_responses_ms:.0f} ms, "
                f"process CPU {self.cpu_ms:.0f} ms — median of {self.runs} fresh processes")


def payloads_for(function: str) -> list[Path]:
    if function == "api":
        return [PAYLOADS / "function_url_home.json", PAYLOADS / "function_url_events.json"]
    return [PAYLOADS / "eventbridge_scheduled.json"]


def unpack(artifact: Path, into: Path) -> Path:
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(into)
    return into


def measure(task_root: Path, function: str, module: str, runs: int = 5) -> ColdStart:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="cold-start-home-") as home:
            # only what Lambda would set: settings for a local SQLite store and lake under a fresh /tmp home
            env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "STREAMLOOP_HOME": home,
                   "STREAMLOOP_API_KEYS": API_KEY, "AWS_REGION": "us-east-1", "TZ": "UTC"}
            completed = subprocess.run(
                [sys.executable, "-S", "-E", "-B", "-c", CHILD, str(task_root), module,
                 *map(str, payloads_for(function))],
                check=False, cwd=home, env=env, capture_output=True, text=True, timeout=120)
            if completed.returncode != 0:
                raise RuntimeError(f"{function} failed from its artifact: {completed.stderr.strip()[-3000:]}")
            results.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    leaked = sorted({path for r in results for path in r["site_packages_used"]})
    if leaked:
        raise RuntimeError(f"{function} imported modules from outside its artifact: {leaked}")

    def median_ms(key: str) -> float:
        return statistics.median(r[key] for r in results) * 1000

    return ColdStart(function, runs, median_ms("import_s"), median_ms("first_response_s"), median_ms("all_responses_s"),
                     median_ms("cpu_s"), max(r["first_response_s"] for r in results) * 1000, results[-1]["responses"])
