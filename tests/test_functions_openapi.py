"""/openapi.json describes the read routes' parameters and responses, and what they serve matches it."""
from __future__ import annotations

import httpx
import pytest
from test_functions_support import API_KEY, event, serve

from functions.openapi_models import ErrorResponse
from functions.schemas import HomePage, Recommendations, SimilarTitles

AUTH = {"x-api-key": API_KEY}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("openapi")) as pair:
        yield pair


def test_openapi_documents_read_routes_parameters_and_responses(live):
    base, _ = live
    spec = httpx.get(base + "/openapi.json", timeout=10).json()
    home = spec["paths"]["/v1/profiles/{profile_id}/home"]["get"]
    assert [p["name"] for p in home["parameters"]] == ["profile_id", "country", "device_type", "rows", "items"]
    assert home["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HomePage"}
    assert set(home["responses"]) == {"200", "401", "403", "422"}
    similar = spec["paths"]["/v1/titles/{title_id}/similar"]["get"]
    assert set(similar["responses"]) == {"200", "401", "403", "404", "422"}
    recs = spec["paths"]["/v1/profiles/{profile_id}/recommendations"]["get"]
    assert recs["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Recommendations")
    assert {"HomePage", "Row", "RowItem", "ErrorResponse"} <= set(spec["components"]["schemas"])


def test_served_bodies_match_their_documented_models(live):
    base, services = live
    services.collector.ingest([event("play_complete", title_id="m1", position_s=6000),
                               event("play_start", title_id="m2", position_s=30, duration_s=6000)])
    page = httpx.get(base + "/v1/profiles/adult/home?country=US&device_type=tv", headers=AUTH, timeout=10).json()
    model = HomePage.model_validate(page)  # extra fields are forbidden: the schema describes every one
    assert {row.kind for row in model.rows} >= {"continue_watching", "because_you_watched", "top_picks"}
    Recommendations.model_validate(httpx.get(base + "/v1/profiles/adult/recommendations", headers=AUTH,
                                             timeout=10).json())
    SimilarTitles.model_validate(httpx.get(base + "/v1/titles/m1/similar", headers=AUTH, timeout=10).json())
    for path, status in (("/v1/titles/nope/similar", 404), ("/v1/profiles/adult/home?rows=99", 422)):
        r = httpx.get(base + path, headers=AUTH, timeout=10)
        assert r.status_code == status and ErrorResponse.model_validate(r.json()).request_id == r.headers["x-request-id"]
    r = httpx.get(base + "/v1/profiles/adult/home", timeout=10)
    assert r.status_code == 401 and ErrorResponse.model_validate(r.json())
