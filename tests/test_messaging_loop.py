"""The closed loop end to end: simulate → build → campaigns run → the simulator reacts to the outbox →
build → campaign_sends and campaign_performance, whose retention lift recovers the simulator's known effect."""
from __future__ import annotations

import duckdb
import pytest
from support.messaging import campaign, runner

from orchestration.dbt_runner import run_dbt
from orchestration.defs.messaging.performance import write_campaign_performance
from streamloop.core.lake import Lake
from streamloop.core.settings import get_settings
from streamloop.core.simulate import SimulationConfig, run_simulation
from streamloop.core.simulate.messages import MessageReaction, react_to_messages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # ~4 min on 2 idle cores; dbt runs twice


def test_campaign_performance_recovers_the_simulated_effect(streamloop_home):
    from streamloop.app.build import run_build

    run_simulation(SimulationConfig(profiles=600, days=40, seed=5, start_date="2026-01-01", workers=1))
    run_build()
    settings = get_settings()
    with duckdb.connect(str(settings.warehouse_file), read_only=True) as con:
        end = con.execute("select max(occurred_at) from events").fetchone()[0]
    at = (end.replace(microsecond=0)).isoformat() + "+00:00"
    everyone = campaign(id="loop_test", audience="subscription_status = 'active'", holdout_percent=50,
                        channel="in_app", send_time="immediate", quiet_hours=None)
    from datetime import datetime

    summary = runner(settings.home_dir, [everyone], lake=Lake(settings.lake_root)).run(datetime.fromisoformat(at))
    result = summary.campaigns[0]
    assert result.sent > 150 and result.suppressed["campaign_holdout"] > 150
    reaction = MessageReaction(base_return=0.35, uplift=0.15)
    react_to_messages(settings.lake_root, settings.warehouse_file, reaction)
    run_dbt(["run", "--select", "+campaign_performance_stats"])
    with duckdb.connect(str(settings.warehouse_file)) as con:
        write_campaign_performance(con)
        sends = con.execute("select assignment, status, count(*), count(delivered_at), count(opened_at) "
                            "from campaign_sends group by all order by all").fetchall()
        row = con.execute("select reach, holdout, delivery_rate, retention_30d_n_treated, retention_30d_n_holdout, "
                          "retention_30d_lift, retention_30d_lift_low, retention_30d_lift_high "
                          "from campaign_performance where campaign_id = 'loop_test'").fetchone()
        message_events = con.execute("select count(*) from events where event_type = 'message_sent' "
                                     "and campaign_id = 'loop_test'").fetchone()[0]
    by_assignment = {(a, s): (n, d, o) for a, s, n, d, o in sends}
    assert by_assignment[("treated", "sent")][0] == result.sent == message_events == row[0]
    assert by_assignment[("holdout", "holdout")][0] == result.suppressed["campaign_holdout"] == row[1]
    assert 0.9 < row[2] <= 1.0  # the simulator delivers 97 %
    # every message's 30-day window is over, so every message counts toward retention
    assert (row[3], row[4]) == (result.sent, result.suppressed["campaign_holdout"])
    lift, low, high = row[5], row[6], row[7]
    assert low < reaction.uplift < high and low > 0, (lift, low, high)
