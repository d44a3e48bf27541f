"""Schema-driven fuzzing of the API (schemathesis) against the real server: uvicorn on loopback.

    .venv/bin/python benchmarks/fuzz_api.py [--examples 1000] [--seed 0]

For every operation of /openapi.json, schemathesis generates requests from the document — valid ones
(positive) and ones that break it (negative) — sends them with a valid API key, and checks each
response: no 5xx, a documented status code, the documented content type, headers and body schema.
Not checked: `negative_data_rejection` (a body that breaks the event schema is still a well-formed
batch: the API answers 200 and reports the record in `rejected`, CONTRACT §2) and
`positive_data_acceptance` (a schema-valid event can still break the contract's per-type rules).
tests/test_openapi_fuzz.py runs this on a small budget; here the budget is large.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance")


def fuzz(base_url: str, api_key: str, examples: int, seed: int = 0, progress=None, admin_key: str | None = None) -> dict:
    """Fuzzes every operation in both generation modes; returns counts and failures (empty: all good).
    Admin routes get `admin_key` (with the app key they would only ever answer 403)."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import checks

    selected = [getattr(checks, name) for name in CHECK_NAMES]
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    statuses: Counter = Counter()
    failures: list[str] = []
    def test_for(operation, mode):
        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=seed == 0)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            key = admin_key if admin_key and operation.path.startswith("/v1/admin/") else api_key
            response = case.call(base_url=base_url, headers={"x-api-key": key}, timeout=30)
            statuses[(operation.label, mode.value, response.status_code)] += 1
            case.validate_response(response, checks=selected)
        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:
            run = test_for(operation, mode)
            try:
                run()
            except Unsatisfiable:  # nothing to break (e.g. GET /healthz has no parameters): no negative case
                continue
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - any failure is the report
                failures.append(f"{operation.label} [{mode.value}]: {str(exc).strip()[:2000]}")
            if progress is not None:
                done = {k[2]: n for k, n in statuses.items() if k[:2] == (operation.label, mode.value)}
                progress(f"  {operation.label:45} {mode.value:8} {done}")
    return {"statuses": statuses, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=1000, help="per operation and generation mode")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from support.functions import ADMIN_KEY, API_KEY, LiveServer, make_services

    from functions.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        services = make_services(Path(tmp), admin_keys=ADMIN_KEY)
        app = create_app(services=services)
        logging.getLogger("streamloop.api").setLevel(logging.WARNING)  # no access log line per request
        with LiveServer(app) as server:
            start, cpu = time.perf_counter(), time.process_time()
            report = fuzz(server.url, API_KEY, args.examples, args.seed, progress=lambda line: print(line, flush=True),
                          admin_key=ADMIN_KEY)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    requests = sum(report["statuses"].values())
    print(f"{requests:,} requests in {wall:.0f} s wall ({cpu:.0f} s CPU, client and server in one process)")
    print(f"failures: {len(report['failures'])}")
    for failure in report["failures"]:
        print(f"  {failure}")
    sys.exit(1 if report["failures"] else 0)


if __name__ == "__main__":
    main()
