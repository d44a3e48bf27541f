"""Admin routes (/v1/admin/*): admin keys only (an app key gets 403)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, model_validator

from functions.dependencies import get_services, require_admin_key
from functions.responses import error_response
from streamloop.core.privacy.subjects import Subject

router = APIRouter(prefix="/v1/admin", dependencies=[Depends(require_admin_key)], tags=["admin"])


def _load_store_erasers() -> None:
    """Stores beside core that this process can reach register their erasers on import."""
    try:
        import messaging.privacy  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name != "messaging.privacy":
            raise


class ForgetRequest(BaseModel):
    profile_id: str | None = Field(None, min_length=1, description="forget one profile")
    account_id: str | None = Field(None, min_length=1, description="forget an account and all its profiles")

    @model_validator(mode="after")
    def exactly_one(self):
        if (self.profile_id is None) == (self.account_id is None):
            raise ValueError("give exactly one of profile_id or account_id")
        return self


class ForgetResponse(BaseModel):
    deletion_id: str
    requested_at: str
    subject_kind: str
    profiles: int
    stores: dict[str, int] = Field(description="rows or items removed per store")
    remaining: dict[str, int] = Field(description="rows still naming the person per store (all 0 when complete)")
    unreached: dict[str, str] = Field(default_factory=dict, description=(
        "stores this process could not erase, with why (e.g. the warehouse, seen from the API Lambda): "
        "empty when complete"))
    suppressed_ids: int
    backups_retained_days: int
    seconds: float
    complete: bool


class ForgetIncomplete(BaseModel):
    error: str = Field(description="why the deletion is incomplete: rows left, or stores not reached and why")
    request_id: str | None
    report: ForgetResponse = Field(description="what was erased where (complete is false)")


@router.post("/privacy/forget", response_model=ForgetResponse,
             responses={401: {"description": "missing or invalid key"}, 403: {"description": "not an admin key"},
                        500: {"model": ForgetIncomplete, "description": (
                            "incomplete: rows still found (run it again), or a store this process cannot "
                            "reach (run `streamloop privacy forget` where it is reachable); never a success")}})
async def privacy_forget(body: ForgetRequest, request: Request):
    """Erases the person from every store this process reaches and suppresses their late events. Answers 200
    only when every store was erased; a store it could not reach makes the deletion incomplete (500)."""
    from streamloop.core.privacy.forget import forget  # pyarrow and the erasers: not on the serving path

    services = get_services(request)
    _load_store_erasers()
    subject = Subject("profile", body.profile_id) if body.profile_id else Subject("account", body.account_id)
    # erasure scans files and tables: off the event loop, and one at a time per process
    loop = asyncio.get_running_loop()
    report = await loop.run_in_executor(services.ingest_executor, lambda: forget(
        subject, services.settings, store=services.get_store()))
    if not report.complete:
        advice = "run it again" if not report.unreached else "finish it with `streamloop privacy forget` where " \
                                                               "those stores are reachable"
        return error_response(500, f"deletion {report.deletion_id} incomplete: {report.problems()}; {advice}",
                              request.scope.get("state", {}).get("request_id"), report=report.to_json())
    return report.to_json()
