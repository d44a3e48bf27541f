"""GET /recommendations and /similar: one ranked list each, after the same filters as the home page.

Recommendations are the serving model's candidates (learned or baseline, as published); popular titles
only when no model can serve the profile. Either way the profile's seen titles are excluded.
"""
from __future__ import annotations

import uuid

from functions.home_reads import DEGRADED, Context, Reads
from functions.home_rows import Page, Rows, genre_neighbours
from streamloop.core.store.values import served_model_version


class PicksService:
    def __init__(self, reads: Reads, rows: Rows):
        self.reads = reads
        self.rows = rows
        self.titles = reads.titles

    def recommendations(self, profile_id: str, country: str | None, items: int, request_id: str | None = None) -> dict:
        ctx = Context(profile_id, country, None)
        self.reads.profile(ctx)
        self.reads.details(ctx, [])
        page = Page(ctx, self.titles, items)
        # a profile that declined personalization gets the popular list, never its model picks
        candidates = (ctx.candidates or {}) if ctx.profiling_allowed else {}
        picked = page.take(candidates.get("items", []), lambda tid, t: "")
        model_version = served_model_version(candidates)
        if not picked:
            picked = self.rows.popular_fallback(ctx, page, "")
            model_version = "popularity"
        return {"request_id": request_id or uuid.uuid4().hex, "profile_id": profile_id, "model_version": model_version,
                "items": [{"title_id": i["title_id"], "score": i["score"]} for i in picked]}

    def similar(self, title_id: str, country: str | None, items: int, profile_id: str | None,
                request_id: str | None = None) -> dict | None:
        """Similar titles, or None when the title is unknown (and the store answered)."""
        ctx = Context(profile_id or "", country, None)
        similar = self.reads.similar_of(ctx, title_id)
        source = self.titles.lookup(title_id)
        if source is None and ctx.degraded != DEGRADED:
            return None
        if not profile_id:  # no profile: no maturity limit beyond the catalog's own
            ctx.state = {"maturity_rating": "18+"}
        page = Page(ctx, self.titles, items)
        page.claimed.add((source or {}).get("series_id") or title_id)
        if similar and similar.get("items"):
            picked, model_version = page.take(similar["items"], lambda tid, t: ""), served_model_version(similar)
        else:
            picked = page.take(genre_neighbours(source, self.rows.lists.get("popular"), self.titles),
                               lambda tid, t: "")
            model_version = "genre_popularity"
        return {"request_id": request_id or uuid.uuid4().hex, "title_id": title_id, "model_version": model_version,
                "items": [{"title_id": i["title_id"], "score": i["score"]} for i in picked]}
