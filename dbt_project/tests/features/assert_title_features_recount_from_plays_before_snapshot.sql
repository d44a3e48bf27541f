-- a recount of whole tables, which only a logic change can break: whole-table builds run it (the nightly
-- schedule, --whole-table-tests, --full-refresh), a daily build leaves it out (orchestration/dbt_runner.py)
-- shown in Dagster as a check of title_features (it reads several models)
{{ config(tags=['whole_table_only'], meta={'dagster': {'ref': {'name': 'title_features'}}}) }}
-- Point-in-time audit of title_features: plays and unique viewers over 28 days recounted from the
-- `plays` mart by timestamp (ended before snapshot_date 00:00 UTC, at most 28 days before it).

with

snapshots as (

    select snapshot_date, cast(snapshot_date as timestamp) as snapshot_at
    from {{ ref('feature_snapshots') }}

),

features as (

    select title_id, snapshot_date, plays_28d, unique_viewers_28d from {{ ref('title_features') }}

),

plays as (

    select content_id, coalesce(profile_id, 'device:' || device_id) as viewer_id, ended_at
    from {{ ref('plays') }}

),

recount as (

    select
        plays.content_id as title_id,
        snapshots.snapshot_date,
        count(*) as plays_28d,
        count(distinct plays.viewer_id) as unique_viewers_28d
    from plays
    inner join snapshots
        on plays.ended_at < snapshots.snapshot_at
        and plays.ended_at >= snapshots.snapshot_at - interval '28' day
    group by plays.content_id, snapshots.snapshot_date

)

select features.*, recount.plays_28d as recount_plays_28d, recount.unique_viewers_28d as recount_unique_viewers_28d
from features
left join recount
    on features.title_id = recount.title_id
    and features.snapshot_date = recount.snapshot_date
where features.plays_28d <> coalesce(recount.plays_28d, 0)
    or features.unique_viewers_28d <> coalesce(recount.unique_viewers_28d, 0)
