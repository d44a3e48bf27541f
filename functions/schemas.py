"""Response models of the read routes, for `/openapi.json` and the tests (functions/responses.py explains why
they are not declared with `response_model=`). Imported only when the OpenAPI document is built."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a served field the schema does not describe fails the tests


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
    model_version: str | None = Field(None, description=(
        'The model that produced this row\'s items (as HomePage.model_version, e.g. "recommender-v3", '
        '"itemknn@7"); absent for rows not ranked by a model. Apps copy it into the row\'s impression '
        'events (properties.model_version).'))


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
