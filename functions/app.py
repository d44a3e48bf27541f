"""The one FastAPI app (CONTRACT §6), served by `streamloop serve` (uvicorn) and on Lambda (Mangum)."""
from __future__ import annotations

import logging
import time
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException

from functions.logs import configure_logging, request_id_var
from functions.openapi_models import document_security_and_errors
from functions.responses import error_response, install_response_schemas
from functions.routers import admin, events, health, home, messages, titles
from functions.services import Services
from streamloop.core.settings import Settings, get_settings

log = logging.getLogger("streamloop.api")


class RequestContext:
    """Pure ASGI middleware: a request id per request (body, `x-request-id` header, every log line),
    one structured access log line, and a JSON 500 without internals for any unhandled error (the trace
    is logged under the request id). Pure ASGI because BaseHTTPMiddleware costs ~100 µs a request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = {"code": None}

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", request_id.encode())]
            await send(message)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")
            if status["code"] is not None:
                raise  # the response already started; the server closes the connection
            await error_response(500, "internal error; quote the request_id when reporting it",
                                 request_id)(scope, receive, send_with_id)
        finally:
            log.info("request", extra={"fields": {
                "method": scope["method"], "path": scope["path"], "status": status["code"],
                "duration_ms": round((time.perf_counter() - start) * 1000, 3)}})
            request_id_var.reset(token)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where}: {error.get('msg')}")
    return "invalid request: " + "; ".join(parts)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The API app. Tests pass `settings` or ready `services`; otherwise settings come from the environment."""
    configure_logging()
    services = services or Services(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        try:
            services.close()
        except Exception:
            log.exception("shutdown could not flush everything")

    app = FastAPI(title="streamloop", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    for router in (health.router, events.router, home.router, titles.router, messages.apps, messages.public,
                   admin.router):
        app.include_router(router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), request.scope.get("state", {}).get("request_id"),
                              headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return error_response(422, _validation_message(exc), request.scope.get("state", {}).get("request_id"))

    def openapi() -> dict:
        # built once: FastAPI's schema plus the security and errors the routes enforce by hand
        if app.openapi_schema is None:
            app.openapi_schema = document_security_and_errors(get_openapi(
                title=app.title, version=app.version, routes=app.routes, description=app.description))
        return app.openapi_schema

    app.openapi = openapi
    install_response_schemas(app)  # the read routes' response schemas, added when /openapi.json is built
    app.add_middleware(RequestContext)
    return app
