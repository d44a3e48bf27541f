"""FastAPI dependencies: the process's services, API-key scopes and profile-token checks (functions/access.py)."""
from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException, Request

from functions.access import AccessDenied, KeyRing, TokenVerifier, check_profile_owner
from functions.services import Services
from streamloop.core.store import StoreError

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


def _keyring(request: Request) -> KeyRing:
    services = get_services(request)
    ring = getattr(services, "_keyring", None)
    if ring is None:  # hashed once per process
        ring = services._keyring = KeyRing.from_config(services.settings.api_key_list,
                                                       services.settings.admin_key_list)
    return ring


def _scope(request: Request) -> str:
    """'app', 'admin' or 'open' for the presented key; 401 when there is none or it is unknown."""
    settings = get_services(request).settings
    ring = _keyring(request)
    if not ring.configured:
        if settings.allow_open:
            return "open"
        raise HTTPException(401, NOT_CONFIGURED, headers={"WWW-Authenticate": "ApiKey"})
    presented = _presented_key(request)
    if presented is None:
        raise HTTPException(401, "missing API key: send it in the x-api-key header",
                            headers={"WWW-Authenticate": "ApiKey"})
    scope = ring.scope_of(presented)
    if scope is None:
        raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "ApiKey"})
    return scope


async def require_api_key(request: Request) -> None:
    """App routes: any valid key (app or admin)."""
    # async: FastAPI would run a plain `def` dependency on a worker thread, ~100 µs a request
    _scope(request)


async def require_admin_key(request: Request) -> None:
    """Admin routes (/v1/admin/*): an admin key; an app key gets 403."""
    if _scope(request) == "app":
        raise HTTPException(403, "this route needs an admin key (STREAMLOOP_ADMIN_KEYS); app keys cannot call it")


def _token_verifier(request: Request) -> TokenVerifier | None:
    services = get_services(request)
    if not hasattr(services, "_token_verifier"):
        s = services.settings
        if s.profile_token_public_key:
            verifier = TokenVerifier(s.profile_token_public_key, ("RS256", "ES256"), s.profile_token_issuer,
                                     s.profile_token_audience)
        elif s.profile_token_secret:
            verifier = TokenVerifier(s.profile_token_secret, ("HS256",), s.profile_token_issuer,
                                     s.profile_token_audience)
        else:
            verifier = None
        services._token_verifier = verifier
    return services._token_verifier


def require_profile_access(request: Request) -> None:
    """Profile reads: when profile tokens are configured, the token's account must own the profile it
    names (path or query); a request naming no profile needs only the key.

    A plain `def` (FastAPI runs it in the threadpool) because it may read the online store.
    """
    verifier = _token_verifier(request)
    # the profile in the path (/v1/profiles/{id}/...) or the query (?profile_id= on similar titles)
    profile_id = request.path_params.get("profile_id") or request.query_params.get("profile_id")
    if verifier is None or not profile_id:
        return
    try:
        account_id, listed = verifier.account_of(request.headers.get("authorization"))
        services = get_services(request)
        try:  # the profile as the current publication wrote it (keys under its generation)
            store = services.get_store()
            services.published.refresh(store.get_many)
            value = store.get("profile", services.published.key("profile", profile_id))
        except StoreError:
            value = None  # store down: only the token's own profiles claim can vouch
        owner = value.get("account_id") if isinstance(value, dict) else None
        check_profile_owner(account_id, listed, profile_id, owner)
    except AccessDenied as denied:
        headers = {"WWW-Authenticate": "Bearer"} if denied.status == 401 else None
        raise HTTPException(denied.status, denied.message, headers=headers) from None
