"""How much do late arrivals change the features? (issue #10.6)

A snapshot at d counts events that *occurred* before d. In production a snapshot computed at d can
only see events *received* before d; the events that occurred before d but arrived later are the gap
between what training saw and what serving could have seen. This measures it on a built warehouse:
for every snapshot date and the 28-day window the engagement features use, the share of windowed
events received on or after d, and how many profile snapshot rows would have a different count.

    PYTHONPATH=$PWD python benchmarks/late_arrivals.py [--warehouse PATH]
"""
from __future__ import annotations

import argparse

import duckdb

SQL = """
with snapshots as (select distinct snapshot_date from profile_features),
windowed as (
    select s.snapshot_date, e.profile_id,
           count(*) as events,
           count(*) filter (where e.received_at >= s.snapshot_date) as late
    from snapshots s
    join events e
      on e.occurred_at >= s.snapshot_date - interval 28 day and e.occurred_at < s.snapshot_date
    where e.profile_id is not null {only}
    group by all
)
select sum(events), sum(late), count(*) filter (where late > 0), count(*),
       (select count(*) from profile_features), count(distinct snapshot_date)
from windowed
"""


def measure(warehouse: str, event_type: str | None = None) -> dict:
    only = "and e.event_type = ?" if event_type else ""
    with duckdb.connect(warehouse, read_only=True) as con:
        row = con.execute(SQL.format(only=only), [event_type] if event_type else []).fetchone()
    events, late, rows_changed, rows_with_events, profile_rows, snapshots = row
    return {"windowed_events": int(events or 0), "late_events": int(late or 0),
            "profile_rows_changed": int(rows_changed or 0), "profile_rows_with_events": int(rows_with_events or 0),
            "profile_rows": int(profile_rows), "snapshot_dates": int(snapshots or 0)}


def main() -> None:
    from streamloop.core.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default=str(get_settings().warehouse_file))
    warehouse = parser.parse_args().warehouse
    for event_type in (None, "play_start"):  # every event (heartbeats dominate), then plays (plays_28d)
        m = measure(warehouse, event_type)
        share = m["late_events"] / m["windowed_events"] if m["windowed_events"] else 0.0
        print(f"{event_type or 'all events'}: {m['snapshot_dates']} snapshot dates, 28-day windows: "
              f"{m['late_events']:,} of {m['windowed_events']:,} windowed events arrive on or after their snapshot "
              f"({share:.2%}); {m['profile_rows_changed']:,} of {m['profile_rows']:,} profile snapshot rows would "
              f"count differently if only events received before d counted")


if __name__ == "__main__":
    main()
