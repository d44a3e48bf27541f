"""Batch scoring, then publication, each its own job.

Publication is kept out of the scoring run on purpose: within a run, an asset whose upstream was
skipped is skipped too, and a data set without subscriptions (no churn model, so no scores) must
still publish its profiles, titles and recommendations.
"""
import dagster as dg

from orchestration.defs.messaging.assets import messaging_audience_snapshot
from orchestration.defs.serving.assets import (
    account_scores,
    online_store_publication,
    profile_scores,
    recommender_outputs,
)

batch_scoring_job = dg.define_asset_job(
    "batch_scoring",
    selection=dg.AssetSelection.assets(account_scores, profile_scores, recommender_outputs),
    description="Score the latest snapshot and write candidates with the `production` models.",
)

publication_job = dg.define_asset_job(
    "publication",
    selection=dg.AssetSelection.assets(online_store_publication, messaging_audience_snapshot),
    description="Publish profiles, titles, candidates, similar titles and lists to the online store, and the "
                "messaging audience to the lake (for the lifecycle Lambda).",
)
