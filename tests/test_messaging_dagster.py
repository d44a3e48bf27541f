"""The messaging assets: lineage scores → audiences → runs → sends → performance, and in-process
materialization of the run on a real warehouse file, as of the schedule tick that started it."""
from __future__ import annotations

import sqlite3

import dagster as dg
import duckdb
import pytest
from support.messaging import not_in_control, profile_row, write_warehouse

from streamloop.core.settings import get_settings


@pytest.fixture(scope="module")
def graph():
    from orchestration.definitions import defs

    return defs().resolve_asset_graph()


def _parents(graph, key):
    return {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}


def test_lineage_runs_from_scores_to_campaign_performance(graph):
    assert {"profile_scores", "messaging_profiles"} <= _parents(graph, "campaign_audiences")
    assert _parents(graph, "campaign_runs") == {"campaign_audiences"}
    assert _parents(graph, "stg_messaging__ledger") == {"campaign_runs"}
    assert "stg_messaging__ledger" in _parents(graph, "campaign_sends")
    assert "campaign_sends" in _parents(graph, "campaign_performance_stats")
    assert _parents(graph, "campaign_performance") == {"campaign_performance_stats"}


def test_campaign_run_asset_runs_as_of_the_schedule_tick(streamloop_home):
    from orchestration.defs.messaging.assets import campaign_audiences, campaign_runs

    ids = not_in_control(6, percent=5.0)
    write_warehouse(get_settings().warehouse_file, [profile_row(p, preferred_hour_local=17) for p in ids])
    result = dg.materialize([campaign_audiences, campaign_runs], selection=[campaign_runs],
                            tags={"dagster/scheduled_execution_time": "2026-11-23T17:00:00+00:00"})
    assert result.success
    metadata = result.asset_materializations_for_node("campaign_runs")[0].metadata
    assert metadata["at"].value == "2026-11-23T17:00:00Z"
    assert metadata["sent"].value > 0 and metadata["exported_events"].value == metadata["sent"].value
    with sqlite3.connect(get_settings().outbox_file) as con:
        decided = {r[0] for r in con.execute("select distinct decided_at from messages")}
    assert decided == {"2026-11-23T17:00:00+00:00"}


def test_campaign_performance_asset_writes_rates_and_interval(streamloop_home):
    from orchestration.defs.messaging.assets import campaign_performance
    from orchestration.defs.resources import WarehouseResource

    path = get_settings().warehouse_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("""create table campaign_performance_stats as select * from (values
            ('c1', '2026-W48', 'treated', 1000, 990, 10, 960, 300, 90, 5, 1500.0, 4200.0, 1000, 450),
            ('c1', '2026-W48', 'holdout', 1000, 0, 0, 0, 0, 0, 0, 1200.0, 3500.0, 1000, 350),
            ('c1', '2026-W48', 'control', 50, 0, 0, 0, 0, 0, 0, 60.0, 170.0, 50, 17))
            as t(campaign_id, period, assignment, messages, sent, failed, delivered, opened, clicked, unsubscribed,
                 plays_7d_sum, plays_7d_sum_squares, mature_30d, retained_30d)""")
    result = dg.materialize([campaign_performance], resources={"warehouse": WarehouseResource(path=str(path))})
    assert result.success
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("select reach, holdout, control, delivery_rate, open_rate, retention_30d_lift, "
                          "retention_30d_lift_low, retention_30d_lift_high, plays_7d_lift from campaign_performance"
                          ).fetchone()
    reach, holdout, control, delivery, opens, lift, low, high, plays_lift = row
    assert (reach, holdout, control) == (990, 1000, 50)
    assert delivery == pytest.approx(960 / 990) and opens == pytest.approx(300 / 990)
    assert lift == pytest.approx(0.10) and low < 0.10 < high and low > 0.05
    assert plays_lift == pytest.approx(0.3)
