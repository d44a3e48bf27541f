"""Benchmark of the feature layer alone: daily aggregates, snapshots, profile/account/title features.

It writes synthetic *mart-shaped* tables (`events`, `plays`, `sessions`, `profiles`, `accounts`,
`titles`) equivalent to a warehouse of N events straight into a DuckDB file, then times
`dbt run` of only the feature models (upstream marts are not rebuilt; `ref()` resolves to the
hand-made tables). This isolates what the feature layer adds to a full build.

    .venv/bin/python benchmarks/bench_features.py --events 10000000

The end-to-end number (lake → every table) belongs to the build benchmark; this one answers
"how much of the 60 s budget do the features use".
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
FEATURE_SELECTOR = "path:models/intermediate/features path:models/features daily_engagement"


def make_marts(con: duckdb.DuckDBPyConnection, n_events: int, days: int = 120, seed: int = 7) -> None:
    """Creates mart-shaped tables with the agreed columns; volumes scale with `n_events`.

    Roughly 20 events per session (heartbeats dominate), 1.5 plays per session.
    """
    n_sessions = max(n_events // 20, 10)
    n_profiles = max(n_sessions // 12, 4)
    con.execute(f"select setseed({seed / 100})")
    con.execute("""
        create or replace table titles as
        with genre_list as (
            select ['drama','comedy','action','thriller','documentary','animation','romance','sci_fi',
                    'horror','crime','family','fantasy','adventure','mystery','music'] as genres
        ),
        movies as (
            select 'm' || i as title_id, 'movie' as kind, null::varchar as series_id, null::integer as season,
                   null::integer as episode, i
            from range(3000) t(i)
        ),
        series as (
            select 's' || i as title_id, 'series' as kind, null::varchar, null::integer, null::integer, 10000 + i
            from range(300) t(i)
        ),
        episodes as (
            select 's' || s || 'e' || e as title_id, 'episode' as kind, 's' || s, 1, e::integer, 10000 + s
            from range(300) t(s), range(1, 11) u(e)
        ),
        all_titles as (select * from movies union all select * from series union all select * from episodes)
        select title_id, 'Title ' || title_id as name, kind, series_id, season, episode,
               [genres[1 + (i % 15)], genres[1 + ((i * 7 + 3) % 15)]] as genres,
               ['calm'] as moods, ['someone'] as "cast",
               (['all','7+','13+','16+','18+'])[1 + (i % 5)] as maturity_rating,
               case when kind = 'series' then null else 1800 + (i % 60) * 60 end as runtime_s,
               date '2020-01-01' + (i % 1500)::integer as release_date,
               ['*'] as available_countries
        from all_titles, genre_list
    """)
    con.execute(f"""
        create or replace table profiles as
        select 'p' || i as profile_id, 'a' || (i // 2) as account_id, (i % 9 = 0) as is_kids,
               case when i % 9 = 0 then '7+' else '18+' end as maturity_rating,
               (['America/New_York','Europe/Berlin','Asia/Tokyo','UTC'])[1 + (i % 4)] as timezone,
               (['US','DE','JP','GB'])[1 + (i % 4)] as country, 'en' as language,
               timestamp '2026-01-01' + to_seconds((random() * 86400 * {days // 2})::bigint) as first_seen_at,
               timestamp '2026-01-01' + to_days({days}) as last_seen_at
        from range({n_profiles}) t(i)
    """)
    con.execute(f"""
        create or replace table sessions as
        select 'x' || i as session_id, 'd' || (i % {n_profiles}) as device_id, p.profile_id, p.account_id,
               p.first_seen_at + to_seconds((random() * 86400 * ({days} - 1 - {days // 2}))::bigint) as started_at,
               null::timestamp as ended_at, 0::bigint as duration_seconds, 20::bigint as event_count,
               0::bigint as play_count, 0::bigint as watch_seconds, p.country,
               (['tv','mobile','web','tablet','console'])[1 + (i % 5)] as device_type
        from range({n_sessions}) t(i)
        join profiles p on p.profile_id = 'p' || (i % {n_profiles})
    """)
    con.execute("update sessions set ended_at = started_at + interval 2 hour, duration_seconds = 7200")
    con.execute("""
        create or replace table plays as
        with numbered as (
            select s.*, k, (hash(s.session_id) % 3300)::integer as pick
            from sessions s, range(1 + (hash(session_id) % 3)::integer) t(k)
        )
        select md5(session_id || k) as play_id, device_id, profile_id, account_id, session_id,
               case when pick < 3000 then 'm' || pick else 's' || (pick - 3000) || 'e' || (k + 1) end as title_id,
               case when pick < 3000 then 'm' || pick else 's' || (pick - 3000) end as content_id,
               started_at + to_minutes(k * 50) as started_at,
               started_at + to_minutes(k * 50 + 45) as ended_at,
               cast(started_at + to_minutes(k * 50) as date) as play_date,
               2700::bigint as watch_seconds, 2700 as max_position_s, 3000 as duration_s,
               (hash(play_id) % 3 = 0) as is_completed, 'stop' as end_reason, country, device_type,
               true as is_title_in_catalog
        from numbered
    """)
    # events: play events for each play plus heartbeats to reach n_events, and the sparse types features read
    con.execute(f"""
        create or replace table events as
        with play_events as (
            select p.*, h
            from plays p, range(greatest(1, ({n_events} // (select count(*) from plays)) - 1)::integer) t(h)
        ),
        typed as (
            select md5(play_id || h) as event_id,
                   case when h = 0 then 'play_start' when h % 7 = 1 then 'search'
                        when h % 11 = 2 then 'add_to_list' when h % 13 = 3 then 'rating'
                        when h % 5 = 4 then 'impression' when h % 17 = 5 then 'click'
                        else 'heartbeat' end as event_type,
                   started_at + to_seconds(h * 60) as occurred_at,
                   device_id, profile_id, account_id, session_id, country, device_type, title_id, content_id
            from play_events
        )
        select event_id, event_type, occurred_at, cast(occurred_at as date) as occurred_date,
               occurred_at as received_at, device_id, profile_id as raw_profile_id, profile_id, account_id,
               'explicit' as identity_rule, session_id, country, device_type, '1.0' as app_version, 'os' as os,
               (['America/New_York','Europe/Berlin','Asia/Tokyo','UTC'])[1 + (hash(device_id) % 4)::integer] as timezone,
               title_id, content_id, true as is_title_in_catalog, 0 as position_s, null::integer as duration_s,
               'row' as row_id, 1 as rank, 'r' as request_id, null::double as propensity,
               null::varchar as search_query, null::integer as results_count,
               case when event_type = 'rating' then (case when hash(event_id) % 4 = 0 then -1 else 1 end) end
                   as rating_value,
               null::varchar as plan, null::integer as price_cents, null::varchar as currency,
               null::boolean as is_trial, null::integer as amount_cents, null::varchar as cancel_reason,
               null::varchar as campaign_id, null::varchar as message_id, null::varchar as channel,
               null::boolean as is_granted, null::varchar as experiment_id, null::varchar as variant,
               null::boolean as is_kids, null::varchar as maturity_rating, null::varchar as language,
               null::varchar as profile_timezone
        from typed
    """)
    # subscriptions: each account starts at its first profile's first sighting, pays monthly, some cancel
    con.execute(f"""
        create or replace table billing as
        with starts as (
            select account_id, min(first_seen_at) - interval 1 hour as started_at
            from profiles group by 1
        ),
        months as (
            select account_id, started_at, m, started_at + to_days(30 * m) as paid_at
            from starts, range(0, {days} // 30 + 1) t(m)
            where started_at + to_days(30 * m) < timestamp '2026-01-01' + to_days({days})
        )
        select account_id, 'subscription_started' as event_type, started_at as occurred_at, 999 as cents
        from starts
        union all
        select account_id, case when hash(account_id || m) % 10 = 0 then 'payment_failed'
                                else 'payment_succeeded' end, paid_at, 999
        from months
        union all
        select account_id, 'subscription_canceled', started_at + to_days(40 + (hash(account_id) % 40)::integer), null
        from starts where hash(account_id) % 6 = 0
    """)
    con.execute("""
        insert into events by name
        select md5(account_id || event_type || occurred_at) as event_id, event_type, occurred_at,
               cast(occurred_at as date) as occurred_date, occurred_at as received_at, 'billing' as device_id,
               account_id, 'explicit' as identity_rule, 'US' as country, 'web' as device_type,
               'UTC' as timezone, case when event_type = 'subscription_started' then 'standard' end as plan,
               case when event_type = 'subscription_started' then cents end as price_cents,
               case when event_type = 'subscription_started' then 'USD' end as currency,
               case when event_type = 'subscription_started' then false end as is_trial,
               case when event_type like 'payment%' then cents end as amount_cents
        from billing
    """)
    con.execute("""
        create or replace table accounts as
        select account_id, 'US' as country, 'standard' as plan, 999 as price_cents, 'USD' as currency,
               false as is_trial, min(occurred_at) as subscribed_at, null::timestamp as canceled_at,
               'active' as status, 2 as profile_count, 0 as failed_payments_total
        from events where event_type = 'subscription_started' group by 1
    """)
    con.execute("drop table billing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--db", type=Path, default=None,
                        help="keep the synthetic warehouse here and reuse it when it exists (default: a tmp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "warehouse.duckdb"
        if not db.exists():
            start = time.perf_counter()
            with duckdb.connect(str(db)) as con:
                make_marts(con, args.events)
            print(f"synthetic marts in {time.perf_counter() - start:.1f}s", file=sys.stderr)
        with duckdb.connect(str(db), read_only=True) as con:
            counts = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                      for t in ("events", "plays", "sessions", "profiles", "accounts", "titles")}
        print(f"inputs: {counts}", file=sys.stderr)
        env = dict(os.environ, STREAMLOOP_WAREHOUSE_PATH=str(db), STREAMLOOP_THREADS=str(args.threads))
        dbt = str(Path(sys.executable).with_name("dbt"))
        target = Path(tmp) / "target"
        start, cpu_start = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([dbt, "run", "--select", *FEATURE_SELECTOR.split(), "--project-dir", str(REPO / "dbt_project"),
                        "--profiles-dir", str(REPO / "dbt_project"), "--target-path", str(target), "--quiet"],
                       env=env, check=True)
        elapsed = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = usage.ru_utime + usage.ru_stime - cpu_start.ru_utime - cpu_start.ru_stime
        results = json.loads((target / "run_results.json").read_text())["results"]
        for result in sorted(results, key=lambda r: -r["execution_time"]):
            print(f"  {result['unique_id'].split('.')[-1]:<28} {result['execution_time']:6.1f}s")
        with duckdb.connect(str(db), read_only=True) as con:
            rows = {t: con.execute(f"select count(*) from {t}").fetchone()[0]
                    for t in ("daily_engagement", "profile_features", "account_features", "title_features")}
        # CPU seconds too: on a shared machine wall time depends on the neighbours, CPU time much less
        print(f"feature layer (dbt run, {args.threads} threads): {elapsed:.1f}s wall, {cpu:.1f}s CPU "
              f"(load average {os.getloadavg()[0]:.1f}) for {counts['events']:,} events; rows {rows}")


if __name__ == "__main__":
    main()
