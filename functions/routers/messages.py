"""Messaging routes: in-app messages for apps, one-click unsubscribe (RFC 8058), SES feedback through SNS.

Logic lives in messaging/ (inbox.py, feedback.py); these handlers parse, authenticate and answer.
"""
from __future__ import annotations

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from functions.dependencies import get_services, require_api_key, require_profile_access
from functions.openapi_models import error_responses
from functions.responses import json_response
from functions.routers.params import path_id, query_int
from messaging import feedback, inbox
from messaging.records import MessagingState
from messaging.state import open_ledger
from streamloop.core import clock

# a profile's inbox is read (and marked delivered) only by its own account when profile tokens are on
apps = APIRouter(prefix="/v1/profiles", dependencies=[Depends(require_api_key), Depends(require_profile_access)])
public = APIRouter()


def ledger(request: Request) -> MessagingState:
    """One messaging state per app (SQLite connections are per thread inside it; a boto3 client is thread-safe)."""
    state = request.app.state
    if getattr(state, "messaging_ledger", None) is None:
        state.messaging_ledger = open_ledger(get_services(request).settings)
    return state.messaging_ledger


@apps.get("/{profile_id}/messages", responses=error_responses(
    e401="Missing/invalid API key or profile token.", e403="The profile token's account does not own this profile.",
    e422="A path or query parameter is invalid."))
def pending_messages(request: Request):
    """Pending in-app messages (oldest first, at most `limit`, 1-50, default 20), marked delivered when fetched."""
    profile_id = path_id(request, "profile_id")
    messages = inbox.fetch_pending(ledger(request), profile_id, clock.now(), query_int(request, "limit", 20, 1, 50))
    return json_response({"profile_id": profile_id, "messages": messages})


_CONFIRM = """<!doctype html><html><body><form method="post">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<p>Stop these messages?</p><button type="submit">Unsubscribe</button></form></body></html>"""


@public.get("/v1/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str):
    """A page with a button: a GET never unsubscribes (mail scanners follow links), per RFC 8058."""
    return HTMLResponse(_CONFIRM)


@public.post("/v1/unsubscribe/{token}", responses=error_responses(e404="Unknown or invalid unsubscribe link."))
def unsubscribe(request: Request, token: str):
    """One-click unsubscribe (RFC 8058 POST `List-Unsubscribe=One-Click`); the signed token is the credential."""
    settings = get_services(request).settings
    done = inbox.unsubscribe(ledger(request), settings.messaging_unsubscribe_secret, token, clock.now())
    if done is None:
        raise HTTPException(404, "unknown or invalid unsubscribe link")
    return json_response({"unsubscribed": True, "channel": done["channel"]})


_SNS_BODY = {"requestBody": {"required": True, "description": "An SNS HTTPS notification (SNS sends it as text/plain).",
                             "content": {"text/plain": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}}}}}


@public.post("/v1/messaging/ses-feedback", openapi_extra=_SNS_BODY, responses=error_responses(
    e400="The body is not an SNS message (JSON object).", e403="The SNS signature or topic does not verify."))
async def ses_feedback(request: Request):
    """SES event notifications delivered by an SNS HTTPS subscription; the SNS signature is the credential."""
    settings = get_services(request).settings
    try:
        message = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise HTTPException(400, "body is not JSON") from None
    if not isinstance(message, dict):
        raise HTTPException(400, "body is not an SNS message")
    fetch = getattr(request.app.state, "sns_cert_fetcher", None) or feedback.fetch_certificate
    try:
        feedback.verify(message, settings.sns_feedback_topic_arn, fetch, settings.aws_region)
    except feedback.FeedbackRejected as exc:
        raise HTTPException(403, f"rejected SNS message: {exc}") from None
    if message["Type"] == "SubscriptionConfirmation":
        # confirming means visiting SubscribeURL; an operator does it (or terraform), never this endpoint
        return json_response({"type": "SubscriptionConfirmation", "confirm_with": message.get("SubscribeURL")})
    result = feedback.handle(ledger(request), message, clock.now(), settings.messaging_contact_secret)
    return json_response(result)
