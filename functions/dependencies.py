"""FastAPI dependencies: the process's services and API-key authentication."""
from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import HTTPException, Request

from functions.services import Services

NOT_CONFIGURED = ("the server has no API keys configured: set STREAMLOOP_API_KEYS (comma-separated), "
                  "or STREAMLOOP_ALLOW_OPEN=1 to serve without authentication")


def get_services(request: Request) -> Services:
    return request.app.state.services


def _presented_key(request: Request) -> str | None:
    """The key from `x-api-key`, or from HTTP Basic auth (user = key), which Segment destinations send."""
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            return base64.b64decode(auth[6:].strip(), validate=True).decode().split(":", 1)[0] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


async def require_api_key(request: Request) -> None:
    # async: FastAPI would run a plain `def` dependency on a worker thread, ~100 µs a request
    settings = get_services(request).settings
    keys = settings.api_key_list
    if not keys:
        if settings.allow_open:
            return
        raise HTTPException(401, NOT_CONFIGURED, headers={"WWW-Authenticate": "ApiKey"})
    presented = _presented_key(request)
    if presented is None:
        raise HTTPException(401, "missing API key: send it in the x-api-key header",
                            headers={"WWW-Authenticate": "ApiKey"})
    valid = False
    for key in keys:  # every key is compared, in constant time, so timing reveals nothing
        valid |= hmac.compare_digest(presented.encode(), key.encode())
    if not valid:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "ApiKey"})
