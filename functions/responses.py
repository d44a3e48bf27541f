"""JSON responses serialized with orjson (fast, and the page dicts are already JSON-shaped), and the
response models that describe them in `/openapi.json`.

The read routes return ready orjson `Response`s (no validation or re-serialization: the hand-tuned path keeps
its speed, docs/benchmarks.md "Serving"). Their response schemas are added to the OpenAPI document when it
is first requested (`describe` + `install_response_schemas`, models in functions/schemas.py, imported then)
rather than with `response_model=`: FastAPI checks every declared model against pydantic.v1, importing it,
which costs a Lambda cold start ~150 ms of CPU. tests/test_functions_openapi.py checks served bodies
against the models.
"""
from __future__ import annotations

import orjson
from fastapi import Response


def json_response(body, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers)


def error_response(status_code: int, message: str, request_id: str | None, headers: dict | None = None,
                   **extra) -> Response:
    return json_response({"error": message, "request_id": request_id, **extra}, status_code, headers)


_DESCRIBED: dict[tuple[str, str], str] = {}


def describe(path: str, method: str, model: str) -> None:
    """Documents functions.schemas.<model> as the 200 response of a route (its errors are documented for
    every route by functions.openapi_models.document_security_and_errors)."""
    _DESCRIBED[(path, method)] = model


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

    from functions import schemas

    models = {getattr(schemas, name) for name in _DESCRIBED.values()}
    refs, top = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
                                   ref_template="#/components/schemas/{model}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))

    def content(model):
        return {"application/json": {"schema": refs[(model, "serialization")]}}
    for (path, method), name in _DESCRIBED.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation.setdefault("responses", {})["200"] = {"description": "Successful Response",
                                                            "content": content(getattr(schemas, name))}


def query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    """An OpenAPI query parameter, for routes that parse their parameters by hand (routers/params.py)."""
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}
