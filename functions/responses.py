"""JSON responses serialized with orjson (fast, and the page dicts are already JSON-shaped), and the
response models that describe them in `/openapi.json`.

The GET routes declare `response_model` for the schema only: they return a ready `Response`, which FastAPI
passes through without validating or re-serializing it, so the hand-tuned path keeps its speed
(docs/benchmarks.md, "Serving"). tests/test_functions_openapi.py checks real responses against the models.
"""
from __future__ import annotations

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field


def json_response(body, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers)


def error_response(status_code: int, message: str, request_id: str | None, headers: dict | None = None,
                   **extra) -> Response:
    return json_response({"error": message, "request_id": request_id, **extra}, status_code, headers)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a served field the schema does not describe fails the tests


class ErrorBody(_Strict):
    error: str = Field(description="What went wrong, in one line (names the parameter or field at fault).")
    request_id: str | None = Field(description="Quote it when reporting a problem; also in `x-request-id`.")


class RowItem(_Strict):
    title_id: str
    score: float
    reason: str = Field(description="Why this title is here, for display.")
    propensity: float | None = Field(None, description="Probability of the row order shown (bandit arms only).")


class Row(_Strict):
    row_id: str = Field(description='Stable id, e.g. "top_picks", "genre:drama", "because_you_watched:m1".')
    kind: str = Field(description="continue_watching, top_picks, because_you_watched, trending, genre, "
                                  "new_releases or popular.")
    title: str
    reason: str
    items: list[RowItem]
    source_title_id: str | None = Field(None, description="because_you_watched rows: the finished title.")


class Exposure(_Strict):
    experiment_id: str
    variant: str


class HomePage(_Strict):
    request_id: str
    profile_id: str
    personalized: bool = Field(description="False for a profile we know nothing about (or a degraded page).")
    model_version: str = Field(description='What ranked Top Picks: the registry version ("recommender-v3"), '
                                           'marked ":baseline:<name>" for a baseline, or "popularity".')
    generated_at: str
    experiments: list[Exposure]
    rows: list[Row]


class Scored(_Strict):
    title_id: str
    score: float


class Recommendations(_Strict):
    request_id: str
    profile_id: str
    model_version: str | None = Field(description='As on the home page; "popularity" when no model serves.')
    items: list[Scored]


class SimilarTitles(_Strict):
    request_id: str
    title_id: str
    model_version: str | None = Field(description='The version of the model, or "genre_popularity" without one.')
    items: list[Scored]


def errors(*codes: int) -> dict:
    """`responses=` for a route: the API's JSON error body under each status code."""
    text = {400: "Bad request", 401: "Missing or invalid API key", 403: "Key not allowed here",
            404: "Not found", 413: "Body too large", 422: "Invalid parameter", 503: "Retry later"}
    return {code: {"model": ErrorBody, "description": text.get(code, "Error")} for code in codes}


def query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    """An OpenAPI query parameter, for routes that parse their parameters by hand (routers/params.py)."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
