"""Lambda entry point for the HTTP API (Function URL, payload format 2.0).

Every log line of an invocation carries the Lambda request id and whether this invocation was the
execution environment's cold start (functions/logs.py), so slow first requests can be told apart.
"""
from __future__ import annotations

from mangum import Mangum

from functions.app import create_app
from functions.logs import invocation_var

_app = Mangum(create_app(), lifespan="off")
_cold = True


def handler(event, context):
    global _cold
    cold, _cold = _cold, False
    token = invocation_var.set({"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": cold})
    try:
        return _app(event, context)
    finally:
        invocation_var.reset(token)
