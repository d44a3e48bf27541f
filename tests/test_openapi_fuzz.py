"""The OpenAPI document describes every route (parameters, bodies, responses, errors), and a schema-driven
fuzzer (schemathesis) finds no 5xx and no response that breaks the document, against the real server
(uvicorn on loopback). Small budget here; benchmarks/fuzz_api.py runs the same with a large one."""
from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from test_functions_support import API_KEY, LiveServer, make_services

from functions.app import create_app
from functions.openapi_models import MAX_RECORDS
from functions.routers.events import MAX_EVENTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from fuzz_api import fuzz


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    services = make_services(tmp_path_factory.mktemp("fuzz"))
    with LiveServer(create_app(services=services)) as live:
        yield live


def test_the_document_describes_every_route_with_its_errors(server):
    doc = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path != "/healthz":
                assert {"200", "401", "403"} <= codes, (method, path)
                assert operation["security"], (method, path)
            for name in [n.strip("{}") for n in path.split("/") if n.startswith("{")]:
                assert name in {p["name"] for p in operation["parameters"] if p["in"] == "path"}, (path, name)
            if method == "post":
                assert {"400", "413", "503"} <= codes
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                key = body["required"][0]
                assert body["properties"][key]["maxItems"] == MAX_RECORDS == MAX_EVENTS
                ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
                assert ok.endswith("SegmentIngestResponse" if "segment" in path else "IngestResponse")
    errors = doc["components"]["schemas"]["ErrorResponse"]
    assert set(errors["required"]) == {"error", "request_id"}
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "SegmentBasic"}


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(server):
    report = fuzz(server.url, API_KEY, examples=12)
    assert report["failures"] == []
    # both routes were exercised with valid and broken bodies, and broken ones got 400s
    statuses = report["statuses"]
    for label in ("POST /v1/events", "POST /v1/segment/batch"):
        assert statuses[(label, "positive", 200)] > 0
        assert statuses[(label, "negative", 400)] > 0, label
