-- a recount of whole tables, which only a logic change can break: whole-table builds run it (the nightly
-- schedule, --whole-table-tests, --full-refresh), a daily build leaves it out (orchestration/dbt_runner.py)
-- shown in Dagster as a check of profile_features (it reads several models)
{{ config(tags=['whole_table_only'], meta={'dagster': {'ref': {'name': 'profile_features'}}}) }}
-- Point-in-time audit of profile_features: recount a sample of features for every row straight from
-- the `plays` and `events` marts, keeping only what happened before snapshot_date 00:00 UTC
-- (timestamps, not the daily aggregates). Any row returned is a feature that saw the future or
-- missed the past.

with

snapshots as (

    select snapshot_date, cast(snapshot_date as timestamp) as snapshot_at
    from {{ ref('feature_snapshots') }}

),

features as (

    select profile_id, snapshot_date, plays_7d, watch_seconds_90d, searches_28d, days_since_last_play
    from {{ ref('profile_features') }}

),

plays as (

    select profile_id, ended_at, watch_seconds from {{ ref('plays') }}
    where profile_id is not null

),

searches as (

    select profile_id, occurred_at from {{ ref('events') }}
    where event_type = 'search' and profile_id is not null

),

play_recount as (

    select
        plays.profile_id,
        snapshots.snapshot_date,
        sum(case when plays.ended_at >= snapshots.snapshot_at - interval '7' day then 1 else 0 end) as plays_7d,
        sum(case when plays.ended_at >= snapshots.snapshot_at - interval '90' day
                then plays.watch_seconds
            else 0
        end) as watch_seconds_90d,
        max(cast(plays.ended_at as date)) as last_play_date
    from plays
    inner join snapshots
        on plays.ended_at < snapshots.snapshot_at
    group by plays.profile_id, snapshots.snapshot_date

),

search_recount as (

    select searches.profile_id, snapshots.snapshot_date, count(*) as searches_28d
    from searches
    inner join snapshots
        on searches.occurred_at < snapshots.snapshot_at
        and searches.occurred_at >= snapshots.snapshot_at - interval '28' day
    group by searches.profile_id, snapshots.snapshot_date

),

mismatches as (

    select
        features.*,
        play_recount.plays_7d as recount_plays_7d,
        play_recount.watch_seconds_90d as recount_watch_seconds_90d,
        search_recount.searches_28d as recount_searches_28d,
        play_recount.last_play_date as recount_last_play_date
    from features
    left join play_recount
        on features.profile_id = play_recount.profile_id
        and features.snapshot_date = play_recount.snapshot_date
    left join search_recount
        on features.profile_id = search_recount.profile_id
        and features.snapshot_date = search_recount.snapshot_date
    where features.plays_7d <> coalesce(play_recount.plays_7d, 0)
        or features.watch_seconds_90d <> coalesce(play_recount.watch_seconds_90d, 0)
        or features.searches_28d <> coalesce(search_recount.searches_28d, 0)
        or coalesce(features.days_since_last_play, -1) <> coalesce(
            {{ features_days_between('play_recount.last_play_date', 'features.snapshot_date') }}, -1
        )

)

select * from mismatches
