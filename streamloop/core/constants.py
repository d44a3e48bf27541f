"""Facts of the product that several layers share, each defined once here (docs/architecture.md).

Python code imports them from here; dbt receives them as the `streamloop_*` vars of
`dbt_project/dbt_project.yml`, which `tests/test_warehouse_constants.py` checks against this module.
Facts of the event contract (event types, device types, the future-skew limit) live in the contract
schema and are re-exported here so readers have one place to look.
"""
from __future__ import annotations

from streamloop.core.contract import DEVICE_TYPES, MAX_FUTURE_SKEW_SECONDS

__all__ = [
    "COMPLETION_THRESHOLD",
    "DEVICE_TYPES",
    "GENRE_ROW_PREFIX",
    "HOME_ROW_KINDS",
    "MAX_FUTURE_SKEW_SECONDS",
    "SESSION_GAP_MINUTES",
    "SURFACE_HOME_ROW_ORDER",
    "SURFACE_TOP_PICKS",
    "genre_of_row_id",
    "genre_row_id",
]

# A play counts as completed on play_complete or when its position reaches this share of the runtime (CONTRACT §3).
COMPLETION_THRESHOLD = 0.9

# Gaps under this many minutes continue a session; a gap of exactly this long starts a new one (CONTRACT §3).
SESSION_GAP_MINUTES = 30

# Kinds of home-page rows (bandit arms order them). Row ids are the kind, except genre rows: `genre:<genre>`.
HOME_ROW_KINDS = ("continue_watching", "top_picks", "because_you_watched", "trending", "genre", "new_releases",
                  "popular")
GENRE_ROW_PREFIX = "genre:"

# Surfaces an experiment or bandit in experiments/*.yml can target (its `surface` field).
SURFACE_TOP_PICKS = "home.top_picks"
SURFACE_HOME_ROW_ORDER = "home.row_order"


def genre_row_id(genre: str) -> str:
    """The row id of a genre row as served and logged in impressions: `genre:comedy`."""
    return f"{GENRE_ROW_PREFIX}{genre}"


def genre_of_row_id(row_id: str) -> str | None:
    """The genre of a genre row id, else None."""
    return row_id[len(GENRE_ROW_PREFIX):] if row_id.startswith(GENRE_ROW_PREFIX) else None
