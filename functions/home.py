"""The home page (CONTRACT §6): reads (home_reads.py), then rows built by kind (home_rows.BUILDERS) in a
fixed claim priority, displayed in the order chosen by the row-order bandit (or the default).

Rows claim their titles in priority order (fresh and personal signals first, so the rows the contract
promises are never emptied by a generic row). Any store failure degrades the page to cached lists, never
to a 5xx. `model_version` says which model produced Top Picks ("popularity" when none could).
"""
from __future__ import annotations

import random
import time
import uuid

import orjson

from functions.experiments import Bandit, Experiments, encode_decision
from functions.exposures import ExposureLog
from functions.home_reads import MAX_BECAUSE_ROWS, Context, Reads, log
from functions.home_rows import BUILDERS, Page, Rows
from streamloop.core import clock
from streamloop.core.constants import SURFACE_HOME_ROW_ORDER
from streamloop.core.store import StoreError
from streamloop.core.store.values import BanditValue

DEFAULT_ORDER = ("continue_watching", "because_you_watched", "top_picks", "genre", "trending", "new_releases",
                 "popular")
CLAIM_PRIORITY = ("continue_watching", "because_you_watched", "top_picks", "genre", "new_releases", "trending",
                  "popular")
CLAIM_PRIORITY_UNKNOWN = ("new_releases", "trending", "popular", "genre")  # genre rows are generic then
# a profile that declined personalization: what it is watching, then rows that profile nobody
CLAIM_PRIORITY_DECLINED = ("continue_watching", *CLAIM_PRIORITY_UNKNOWN)


class HomeService:
    def __init__(self, reads: Reads, rows: Rows, experiments: Experiments, exposures: ExposureLog | None,
                 bandit_ttl_s: float = 1.0):
        self.reads = reads
        self.rows = rows
        self.titles = reads.titles
        self.experiments = experiments
        self.exposures = exposures
        self.bandit_ttl_s = bandit_ttl_s
        self._bandit_counts: dict[str, tuple[float, BanditValue | dict]] = {}
        self._probabilities: dict[str, tuple[bytes, list[float]]] = {}

    def _bandit_counts_for(self, bandit: Bandit) -> BanditValue | dict:
        cached = self._bandit_counts.get(bandit.id)
        if cached and time.monotonic() - cached[0] < self.bandit_ttl_s:
            return cached[1]
        try:
            counts = self.reads.budget.run(lambda: self.reads.store.get("bandit", bandit.id)) or {}
        except StoreError as exc:
            log.warning("bandit %s uses its last known counts: %s", bandit.id, exc)
            counts = cached[1] if cached else {}
        self._bandit_counts[bandit.id] = (time.monotonic(), counts)
        return counts

    def _choose_arm(self, bandit: Bandit, request_id: str):
        counts = self._bandit_counts_for(bandit)
        key = orjson.dumps(counts.get("arms", {}), option=orjson.OPT_SORT_KEYS)
        cached = self._probabilities.get(bandit.id)
        if cached is None or cached[0] != key:
            cached = (key, bandit.thompson_probabilities(counts))
            self._probabilities[bandit.id] = cached
        return bandit.choose(counts, random.Random(request_id), cached[1])

    def home(self, profile_id: str, country: str | None, device_type: str | None, rows: int, items: int,
             request_id: str | None = None) -> dict:
        now = clock.now()
        request_id = request_id or uuid.uuid4().hex
        ctx = Context(profile_id, country, device_type, now=now, max_rows=rows)
        self.reads.profile(ctx)
        for c in ctx.completed:  # the newest finished titles, each once, are what because_you_watched is about
            if c["title_id"] not in ctx.sources:
                ctx.sources.append(c["title_id"])
        ctx.sources = ctx.sources[:MAX_BECAUSE_ROWS]
        series = [c["series_id"] for c in ctx.completed[:MAX_BECAUSE_ROWS] if c.get("series_id")]
        self.reads.details(ctx, ctx.sources + series)
        page = Page(ctx, self.titles, items)

        order, propensity = DEFAULT_ORDER, None
        bandit = self.experiments.bandit_for(SURFACE_HOME_ROW_ORDER, now)
        if bandit is not None:
            arm, propensity = self._choose_arm(bandit, request_id)
            order = arm.order
            request_id = encode_decision(request_id, bandit, arm)
            ctx.experiments.append({"experiment_id": bandit.id, "variant": arm.name,
                                    "propensity": round(propensity, 4)})

        allowed = ctx.profiling_allowed
        kinds = (CLAIM_PRIORITY if allowed else CLAIM_PRIORITY_DECLINED) if ctx.known else CLAIM_PRIORITY_UNKNOWN
        by_kind = {kind: BUILDERS[kind](self.rows, ctx, page) for kind in kinds}
        built = [row for kind in order for row in by_kind.get(kind, [])][:rows]
        if ctx.degraded:
            for row in built:
                row["reason"] = f"{row['reason']}. {ctx.degraded}."
        if propensity is not None:
            propensity = round(propensity, 4)
            for row in built:
                for item in row["items"]:
                    item["propensity"] = propensity
        self._log_exposures(ctx)
        return {
            "request_id": request_id,
            "profile_id": profile_id,
            "personalized": ctx.known and allowed,
            "model_version": ctx.model_version,
            "generated_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "experiments": [{"experiment_id": e["experiment_id"], "variant": e["variant"]} for e in ctx.experiments],
            "rows": built,
        }

    def _log_exposures(self, ctx: Context) -> None:
        if self.exposures is None:
            return
        source = ctx.state or ctx.profile or {}
        for e in ctx.experiments:
            self.exposures.record(profile_id=ctx.profile_id, account_id=(ctx.profile or {}).get("account_id"),
                                  experiment_id=e["experiment_id"], variant=e["variant"], country=ctx.country,
                                  device_type=ctx.device_type, timezone_name=source.get("timezone"),
                                  model_version=ctx.model_version)
