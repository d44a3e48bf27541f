"""An asset that had nothing to do this run says why, where people and programs can read it.

The reason is logged and recorded as an AssetObservation carrying `skipped` metadata: the UI shows
it on the asset's page, and `streamloop train` reads it back to report the skip in one line.
"""
from __future__ import annotations

import dagster as dg

SKIPPED = "skipped"


def skipped(context: dg.AssetExecutionContext, reason, asset_key: dg.AssetKey | None = None) -> dg.AssetObservation:
    key = asset_key or context.asset_key
    context.log.warning(f"{key.to_user_string()} skipped: {reason}")
    return dg.AssetObservation(asset_key=key, metadata={SKIPPED: str(reason)})


def skip_reasons(events) -> dict[str, str]:
    """Asset name → skip reason, from a run's events (ExecuteInProcessResult.all_events)."""
    reasons = {}
    for event in events:
        if event.event_type_value == "ASSET_OBSERVATION":
            observation = event.event_specific_data.asset_observation
            if SKIPPED in observation.metadata:
                reasons[observation.asset_key.to_user_string()] = observation.metadata[SKIPPED].value
    return reasons
