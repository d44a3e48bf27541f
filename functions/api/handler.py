"""Lambda entry point for the HTTP API (Function URL, payload format 2.0).

Every log line of an invocation carries the Lambda request id and whether this invocation was the
execution environment's cold start (functions/logs.py), so slow first requests can be told apart.

Lifespan stays off: Mangum runs an ASGI lifespan around every invocation, and our shutdown closes the
services' pools, which a warm container reuses. But Lambda freezes the process as soon as the handler
returns, so exposures buffered for a later batch might never land (and the SRM check would see the
loss): each invocation lands what it buffered before returning.
"""
from __future__ import annotations

from mangum import Mangum

from functions.app import create_app
from functions.logs import invocation_var

app = create_app()
_asgi = Mangum(app, lifespan="off")
_cold = True


def handler(event, context):
    global _cold
    cold, _cold = _cold, False
    token = invocation_var.set({"aws_request_id": getattr(context, "aws_request_id", None), "cold_start": cold})
    try:
        return _asgi(event, context)
    finally:
        app.state.services.exposures.flush()
        invocation_var.reset(token)
