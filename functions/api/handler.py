"""Lambda entry point for the HTTP API (Function URL, payload format 2.0).

Lifespan stays off: Mangum runs an ASGI lifespan around every invocation, and our shutdown closes the
services' pools, which a warm container reuses. But Lambda freezes the process as soon as the handler
returns, so exposures buffered for a later batch might never land (and the SRM check would see the
loss): each invocation lands what it buffered before returning.
"""
from mangum import Mangum

from functions.app import create_app

app = create_app()
_asgi = Mangum(app, lifespan="off")


def handler(event, context):
    try:
        return _asgi(event, context)
    finally:
        app.state.services.exposures.flush()
