"""`streamloop demo`: the whole loop on the embedded defaults, in one command.

simulate → build (dbt on DuckDB) → train (churn, LTV, recommender; gated promotion; publish) →
one personalized home page served by the real FastAPI app in-process → one campaign run (what it sent and held).
"""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from datetime import time as dt_time

from streamloop.core.progress import say, step
from streamloop.core.settings import get_settings


def run_demo(profiles: int, days: int, seed: int) -> None:
    from streamloop.app.build import run_build
    from streamloop.app.train import run_training
    from streamloop.core import clock
    from streamloop.core.simulate import SimulationConfig, run_simulation

    settings = get_settings()
    config = SimulationConfig(profiles=profiles, days=days, seed=seed)
    # the simulated service lives on its own (fixed) calendar: experiments, trending and (later) campaigns
    # read the clock, so it stands at the start of the day after the last simulated one
    clock.set_now(datetime.combine(config.end_date, dt_time(0), UTC))
    started = time.perf_counter()
    say(f"streamloop demo — state in {settings.home_dir}")
    with step(f"simulate {profiles} profiles × {days} days"):
        print(run_simulation(config).render())
    with step("build the warehouse (dbt on DuckDB)"):
        print(run_build(full_refresh=False).render())
    with step("train, gate and publish models"):
        print(run_training(None).render())
    with step("serve one home page in-process"):
        print(_sample_home_page(settings))
    with step("run the lifecycle campaigns (campaigns/*.yml) into the local outbox"):
        from streamloop.app.campaigns import run as run_campaigns

        print(run_campaigns(dry_run=False, at=None).render())
    say(f"demo finished in {time.perf_counter() - started:.0f}s. Next: `streamloop serve`, `streamloop ui`.")


def _showcase(profiles: list[tuple[str, str]]) -> tuple[str, str]:
    """The most active profile that the Top Picks experiment shows the recommender to (half of the
    profiles see the popularity control), so the demo shows the model at work; else the most active."""
    from streamloop.core.constants import SURFACE_TOP_PICKS
    from streamloop.core.experiments import load_experiments
    from streamloop.core.settings import REPO_ROOT

    test = load_experiments(REPO_ROOT / "experiments").test_for(SURFACE_TOP_PICKS)  # at the clock's now
    treated = [p for p in profiles if test is not None and test.assign(p[0]) == "ranker"]
    return (treated or profiles)[0]


def _sample_home_page(settings) -> str:
    """Calls the real app through its ASGI interface for the most active profile."""
    import logging
    import warnings

    import duckdb

    with warnings.catch_warnings():  # starlette's note about its httpx-based test client is not for demo users
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    logging.getLogger("streamloop.api").setLevel(logging.WARNING)  # the per-request JSON log line is noise here

    from functions.app import create_app

    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        by_activity = ("select p.profile_id, p.country from plays join profiles p using (profile_id) "
                       "group by all order by count(*) desc, p.profile_id limit 50")
        profile_id, country = _showcase(con.execute(by_activity).fetchall())
    key = (settings.api_key_list or ["demo-key"])[0]
    os.environ.setdefault("STREAMLOOP_API_KEYS", key)
    get_settings.cache_clear()
    client = TestClient(create_app())
    page = client.get(f"/v1/profiles/{profile_id}/home", params={"country": country, "rows": 6, "items": 6},
                      headers={"x-api-key": key}).json()
    header = (f"home page for {profile_id} ({country}) personalized={page.get('personalized')} "
              f"model={page.get('model_version')}")
    lines = [header]
    for row in page.get("rows", []):
        titles = ", ".join(item["title_id"] for item in row["items"][:6])
        lines.append(f"  [{row['kind']}] {row['title']}: {titles}")
        lines.append(f"      why: {row['reason']}")
    lines.append(f"  experiments: {json.dumps(page.get('experiments', []))}")
    return "\n".join(lines)
