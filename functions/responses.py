"""JSON responses serialized with orjson (fast, and the page dicts are already JSON-shaped), and the
response models that describe them in `/openapi.json`.

The read routes return ready orjson `Response`s (no validation or re-serialization: the hand-tuned path keeps
its speed, docs/benchmarks.md "Serving"). Their response schemas are added to the OpenAPI document when it
is first requested (`describe` + `install_response_schemas`) rather than with `response_model=`: FastAPI
checks every declared model against pydantic.v1, importing it, which costs a Lambda cold start ~150 ms of
CPU. tests/test_functions_openapi.py checks served bodies against the models.
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


ERROR_TEXT = {400: "Bad request", 401: "Missing or invalid API key", 403: "Key not allowed here",
              404: "Not found", 413: "Body too large", 422: "Invalid parameter", 503: "Retry later"}
_DESCRIBED: dict[tuple[str, str], tuple[type[BaseModel], tuple[int, ...]]] = {}


def describe(path: str, method: str, model: type[BaseModel], *error_codes: int) -> None:
    """Documents `model` as the 200 response of a route (and ErrorBody under each error code)."""
    _DESCRIBED[(path, method)] = (model, error_codes)


def install_response_schemas(app) -> None:
    """Adds the described response schemas to `app`'s OpenAPI document on its first generation."""
    default = app.openapi

    def openapi() -> dict:
        first = app.openapi_schema is None
        schema = default()
        if first:
            _add_responses(schema)
        return schema
    app.openapi = openapi


def _add_responses(schema: dict) -> None:
    from pydantic.json_schema import models_json_schema  # only when the document is generated

    models = {model for model, _ in _DESCRIBED.values()} | {ErrorBody}
    refs, top = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
                                   ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))

    def content(model):
        return {"application/json": {"schema": refs[(model, "serialization")]}}
    for (path, method), (model, codes) in _DESCRIBED.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        responses = operation.setdefault("responses", {})
        responses["200"] = {"description": "Successful Response", "content": content(model)}
        for code in codes:
            responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": content(ErrorBody)}


def query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    """An OpenAPI query parameter, for routes that parse their parameters by hand (routers/params.py)."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
