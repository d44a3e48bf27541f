"""Exposures are never lost: the Lambda handler lands the exposures of a request before it returns."""
from __future__ import annotations

import duckdb
from test_functions_lambda import LambdaContext, api, function_url_event  # noqa: F401 (api is a fixture)
from test_functions_support import API_KEY

from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings


def _landed_exposures() -> list[tuple]:
    files = Lake(get_settings().lake_root).files("events")
    if not files:
        return []
    rows = duckdb.sql(f"select raw from read_parquet({files!r})").fetchall()
    return [r for (r,) in rows if '"experiment_exposure"' in r]


def test_each_invocation_lands_its_exposures_before_returning(api, monkeypatch):  # noqa: F811 (the fixture)
    # GIVEN the API Lambda on a day the row-order bandit runs (every page logs an exposure)
    monkeypatch.setenv("STREAMLOOP_NOW", "2026-12-01T12:00:00Z")
    # (the page also runs the Top Picks A/B test: two exposures per page)
    for n in range(2):
        # WHEN a warm container serves a home page
        response = api.handler(function_url_event("GET", "/v1/profiles/adult/home", {"country": "US"},
                                                  headers={"x-api-key": API_KEY}), LambdaContext())
        assert response["statusCode"] == 200
        # THEN its exposure is in the lake when the handler returns, before any flush timer or shutdown
        landed = _landed_exposures()
        assert len(landed) == 2 * (n + 1)
        assert sum('"home_row_order"' in raw for raw in landed) == n + 1
